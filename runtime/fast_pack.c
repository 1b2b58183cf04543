/* Load time of the fast path: weights into the microkernels' panel layout
 * (codebooks decoded, packed int4/int2/int1 codes widened), the int8 layers'
 * per-channel constants, and each op's scratch. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fast.h"
#include "internal.h"

static size_t up(size_t v, size_t a) { return (v + a - 1) / a * a; }

static const void *cst(const pithrt_model *m, int t) { return t >= 0 ? m->blob + m->tensors[t].offset : NULL; }

/* Output channel oc's weights (per values) as int8 or float, into row. */
static void weight_row(const pithrt_model *m, const pithrt_op *o, int s8, int oc, int per, void *row)
{
    const pithrt_tensor *w = &m->tensors[o->weight];
    size_t first = (size_t)oc * (size_t)per;
    if (s8)
        pithrt_weights_unpack_s8(cst(m, o->weight), w->dtype, first, (size_t)per, row);
    else if (w->dtype == PITHRT_F32)
        memcpy(row, (const float *)cst(m, o->weight) + first, (size_t)per * sizeof(float));
    else
        pithrt_weights_decode_f32(cst(m, o->weight), w->dtype, cst(m, o->aux), first, (size_t)per, row);
}

static void fill_rq(const pithrt_model *m, const pithrt_op *o, int oc, const int8_t *row, int per, int32_t offset,
                    pithrt_rq_ch *ch)
{
    const int32_t *p = cst(m, o->requant), *bias = cst(m, o->bias);
    int64_t sum = 0, mag = 0;
    for (int i = 0; i < per; i++) {
        sum += row[i];
        mag += row[i] < 0 ? -row[i] : row[i];
    }
    int64_t zx = m->tensors[o->in[0]].zero_point;
    /* modular, like the accumulator it is added to */
    ch->bias = (int32_t)(uint32_t)((uint64_t)(bias ? bias[oc] : 0) - (uint64_t)((zx + offset) * sum));
    ch->lo = INT32_MIN;
    ch->hi = INT32_MAX;
    if (o->act == PITHRT_ACT_RELU || o->act == PITHRT_ACT_RELU6) {
        ch->lo = 0;
        if (o->act == PITHRT_ACT_RELU6)
            ch->hi = p[3 * oc + 2];
    }
    ch->mult = p[3 * oc];
    ch->left = p[3 * oc + 1] > 0 ? p[3 * oc + 1] : 0;
    ch->right = p[3 * oc + 1] > 0 ? 0 : -p[3 * oc + 1];
    /* the kernels' accumulators: sum w x over codes x in [-128, 127], or + offset (128) */
    const int64_t most = mag * (offset ? 255 : 128), b = ch->bias;
    ch->fold = most + (b < 0 ? -b : b) < INT32_MAX;
}

/* fp32 3x3 stride-1 dense convs with enough channels for the transforms to
 * pay run as Winograd F(2x2, 3x3): 16 multiplications per 2x2 outputs and
 * input channel instead of 36. The rounding differs from the direct sum by
 * a few units in the last place of the largest terms (measured: within 1e-6
 * of the largest output). */
static int is_winograd(const pithrt_model *m, const pithrt_op *o)
{
    const pithrt_tensor *x = &m->tensors[o->in[0]], *y = &m->tensors[o->out];
    return o->type == PITHRT_OP_CONV2D && x->dtype == PITHRT_F32 && o->groups == 1 && o->kh == 3 && o->kw == 3 &&
           o->sh == 1 && o->sw == 1 && o->dh == 1 && o->dw == 1 && x->dims[0] >= 64 && y->dims[0] >= 64 &&
           y->dims[1] >= 4 && y->dims[2] >= 4;
}

/* U = G g G^T for each output and input channel, as 16 matrices [O][C]:
 * G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. */
static float *wino_weights(const pithrt_model *m, const pithrt_op *o, int oc, int ic)
{
    float *u = malloc((size_t)16 * oc * ic * sizeof *u), *w = malloc((size_t)9 * ic * sizeof *w);
    if (!u || !w) {
        free(u);
        free(w);
        return NULL;
    }
    static const float G[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
    for (int k = 0; k < oc; k++) {
        weight_row(m, o, 0, k, 9 * ic, w); /* output channel k: ic blocks of 3 x 3 */
        for (int c = 0; c < ic; c++) {
            const float *g = w + 9 * c;
            float t[4][3];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 3; j++)
                    t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    u[((size_t)(i * 4 + j) * oc + k) * ic + c] =
                        t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
        }
    }
    free(w);
    return u;
}

static int is_depthwise(const pithrt_model *m, const pithrt_op *o)
{
    int c = m->tensors[o->in[0]].dims[0], oc = m->tensors[o->out].dims[0];
    return o->groups == c && c == oc && o->kh == o->kw && (o->kh == 3 || o->kh == 5) && o->sh == o->sw &&
           (o->sh == 1 || o->sh == 2) && o->dh == 1 && o->dw == 1;
}

/* Swapped panels of 7 pixels rather than 8: when n pixels fill them exactly
 * and need no more of them (7x7: 7 panels, none padded; at 14x14, 28
 * panels of 7 would stream the weights past more often than 25 of 8, and
 * measured slower) */
static int seven_rows(int n) { return n % 8 && n % 7 == 0 && (n + 6) / 7 <= (n + 7) / 8; }

/* int8 depthwise sixteen channels at a time (dw_s8_c16): from the per-channel
 * quads ([C][kh][quads][4]) and constants, the groups' [kh][quads][16][4]
 * weights and lane-wise requantization. 0 when a channel needs the
 * portable requantization (a left shift, a right shift over 31, the
 * multiplier INT32_MIN): the layer then stays one channel at a time. */
static int pack_dw_s8_c16(pithrt_fast_op *f, const pithrt_op *o, int oc, const pithrt_tensor *y)
{
    const int quads = (o->kw + 3) / 4, groups = (oc + 15) / 16, per = o->kh * quads * 4;
    if (oc < 1 || per < 1)
        return 0;
    for (int c = 0; c < oc; c++)
        if (f->rq[c].left || f->rq[c].right > 31 || f->rq[c].mult == INT32_MIN)
            return 0;
    int8_t *wq = calloc((size_t)groups * per * 16, 1);
    pithrt_rq16 *rq = calloc((size_t)groups, sizeof *rq);
    if (!wq || !rq) {
        free(wq);
        free(rq);
        return PITHRT_ENOMEM;
    }
    for (int c = 0; c < oc; c++) {
        const int g = c / 16, l = c % 16;
        for (int t = 0; t < per / 4; t++) /* (u, quad) t of channel c: lane l of that vector */
            memcpy(wq + ((size_t)g * per + (size_t)t * 4) * 16 + l * 4, (const int8_t *)f->w + (size_t)c * per + t * 4,
                   4);
        const pithrt_rq_ch *ch = &f->rq[c];
        pithrt_rq16 *q = &rq[g];
        const int e = ch->right;
        q->bias[l] = ch->bias;
        q->lo[l] = ch->lo;
        q->hi[l] = ch->hi;
        q->mult[l] = ch->mult;
        q->c[l % 2][l / 2] = (1LL << 30) + (e ? 1LL << (30 + e) : 0);
        q->thr[l % 2][l / 2] = e ? 1LL << (30 + e) : INT64_MIN;
        q->shift[l % 2][l / 2] = 31 + e;
    }
    for (int g = 0; g < groups; g++) /* lanes past the last channel: anything that cannot overflow */
        for (int l = oc - 16 * g; l < 16; l++)
            rq[g].shift[l % 2][l / 2] = 31;
    /* the folded form (requant_s8_avx512.c) when every channel allows it */
    int fold = 1, neg = 0;
    pithrt_rq_fold q;
    for (int c = 0; c < oc; c++) {
        fold &= pithrt_rq_fold_of(&f->rq[c], y->zero_point, &q);
        neg |= f->rq[c].lo < 0;
    }
    for (int c = 0; fold && c < oc; c++) {
        const int l = c % 16;
        pithrt_rq16 *g16 = &rq[c / 16];
        pithrt_rq_fold_of(&f->rq[c], y->zero_point, &q);
        g16->lo[l] = q.lo;
        g16->hi[l] = q.hi;
        g16->c[l % 2][l / 2] = q.c;
        g16->thr[l % 2][l / 2] = q.thr;
    }
    for (int g = 0; g < groups; g++) {
        rq[g].fold = fold;
        rq[g].neg = neg;
    }
    free(f->w);
    f->w = wq;
    f->rq16 = rq;
    f->c16 = 1;
    return 1;
}

/* The folded constants of every channel (pithrt_rq_fold), for a 1x1 int8
 * conv requantized in the microkernel; 0 (and none) unless every channel
 * allows it (accumulators that cannot wrap, a right shift of 1 to 23, a
 * non-negative multiplier) and the codes span all of int8. */
static int fold_rq(pithrt_fast_op *f, int oc, const pithrt_tensor *y)
{
    if (y->qmin != -128 || y->qmax != 127)
        return 0;
    pithrt_rq_fold q;
    for (int c = 0; c < oc; c++)
        if (!pithrt_rq_fold_of(&f->rq[c], y->zero_point, &q))
            return 0;
    f->rqf = malloc((size_t)oc * sizeof *f->rqf);
    if (!f->rqf)
        return PITHRT_ENOMEM;
    for (int c = 0; c < oc; c++) {
        const pithrt_rq_ch *ch = &f->rq[c];
        pithrt_rq_fold_of(ch, y->zero_point, &f->rqf[c]);
        f->rqf_neg |= ch->lo < 0;
        f->rqf_act |= ch->lo != INT32_MIN || ch->hi != INT32_MAX;
    }
    return 1;
}

static int prepare_op(pithrt_model *m, int k)
{
    const pithrt_kernels *K = m->kernels;
    const pithrt_op *o = &m->ops[k];
    pithrt_fast_op *f = &m->fast[k];
    if (o->type != PITHRT_OP_CONV2D && o->type != PITHRT_OP_FC)
        return PITHRT_OK;
    const pithrt_tensor *x = &m->tensors[o->in[0]], *y = &m->tensors[o->out];
    const int s8 = x->dtype == PITHRT_S8;
    const int oc = o->type == PITHRT_OP_FC ? (int)pithrt_tensor_elems(y) : y->dims[0];
    int per = (int)(pithrt_tensor_elems(&m->tensors[o->weight]) / (size_t)oc);
    const size_t esz = s8 ? 1 : sizeof(float);
    void *row = malloc((size_t)per * esz);
    if (!row)
        return PITHRT_ENOMEM;
    f->s8 = s8;
    int rc = PITHRT_OK;
    if (o->type == PITHRT_OP_FC || is_depthwise(m, o)) {
        f->kind = o->type == PITHRT_OP_FC ? PITHRT_FAST_FC : PITHRT_FAST_DW;
        f->w = malloc((size_t)oc * (size_t)per * esz);
        f->rq = s8 ? malloc((size_t)oc * sizeof *f->rq) : NULL;
        if (!f->w || (s8 && !f->rq)) {
            rc = PITHRT_ENOMEM;
        } else {
            /* int8 depthwise by 4-byte dot products: weights [kh][quads][4] */
            const int quads = f->kind == PITHRT_FAST_DW && s8 && K->dw_s8_quads ? (o->kw + 3) / 4 : 0;
            for (int c = 0; c < oc; c++) {
                void *dst = (uint8_t *)f->w + (size_t)c * per * esz;
                weight_row(m, o, s8, c, per, dst);
                /* fc and dw sum x * w over raw codes: the zero point goes into the bias */
                if (s8)
                    fill_rq(m, o, c, dst, per, quads ? 128 : 0, &f->rq[c]);
            }
            if (quads) {
                int8_t *wq = calloc((size_t)oc * o->kh * quads * 4, 1);
                if (!wq) {
                    rc = PITHRT_ENOMEM;
                } else {
                    for (int c = 0; c < oc; c++)
                        for (int u = 0; u < o->kh; u++)
                            memcpy(wq + ((size_t)c * o->kh + u) * quads * 4,
                                   (const int8_t *)f->w + (size_t)c * per + u * o->kw, (size_t)o->kw);
                    free(f->w);
                    f->w = wq;
                }
            }
        }
        /* int8: planes up to 16 x 16 (measured: MobileNet's 14 x 14 and 7 x 7 gain, 28 x 28 and
         * over lose to dw_s8_quads, which takes three taps per instruction along a row) */
        if (f->kind == PITHRT_FAST_DW && !rc && K->dw_s8_c16 && K->dw_s8_quads && s8 &&
            x->dims[1] * x->dims[2] <= 256) {
            const int got = pack_dw_s8_c16(f, o, oc, y);
            rc = got < 0 ? got : PITHRT_OK;
        }
        if (f->kind == PITHRT_FAST_DW && !rc && f->c16 && s8) {
            /* pixel-major codes (+ 4 past the end), their quads */
            const size_t npix = (size_t)(x->dims[1] + 2 * o->ph) * (x->dims[2] + 2 * o->pw);
            f->scratch = (npix + 4) * 16 + npix * 64 + 64;
        } else if (f->kind == PITHRT_FAST_DW && !rc && K->dw_s8_quads && s8) {
            /* the padded plane (+ slack for the last loads), then C */
            const int pw = x->dims[2] + 2 * o->pw, ph = x->dims[1] + 2 * o->ph;
            size_t lda = up((size_t)y->dims[2], 16);
            lda = lda > (size_t)pw ? lda : (size_t)pw;
            f->scratch = up((size_t)ph * pw + 192, 64) + ((size_t)y->dims[1] * lda + 32) * 4;
        } else if (f->kind == PITHRT_FAST_DW && !rc && K->dw_f32_c16 && !s8 && x->dims[1] * x->dims[2] <= 4096) {
            /* planes up to 64 x 64 (measured: MobileNet's 56 x 56 gain, its 112 x 112 lose):
             * sixteen channels at a time, weights [C / 16][taps][16] */
            const int pw = x->dims[2] + 2 * o->pw, ph = x->dims[1] + 2 * o->ph, taps = o->kh * o->kw;
            const int groups16 = (oc + 15) / 16;
            float *wq = calloc((size_t)groups16 * taps * 16, sizeof *wq);
            if (!wq) {
                rc = PITHRT_ENOMEM;
            } else {
                for (int c = 0; c < oc; c++)
                    for (int t = 0; t < taps; t++)
                        wq[((size_t)(c / 16) * taps + t) * 16 + c % 16] = ((const float *)f->w)[(size_t)c * per + t];
                free(f->w);
                f->w = wq;
                f->c16 = 1;
                f->scratch = (size_t)ph * pw * 16 * sizeof(float);
            }
        } else if (f->kind == PITHRT_FAST_DW && !rc && K->dw_f32_rows && !s8) {
            const int pw = x->dims[2] + 2 * o->pw, ph = x->dims[1] + 2 * o->ph;
            f->scratch = ((size_t)ph * pw + 64) * sizeof(float);
        } else if (f->kind == PITHRT_FAST_DW && !rc) {
            /* stride 1: one padded plane; stride 2: its four phase planes (ukernel.h) */
            const int kd = o->kh, st = o->sh, pw = x->dims[2] + 2 * o->pw, ph = x->dims[1] + 2 * o->ph;
            const int wp = st == 1 ? pw : (pw + 1) / 2, hp = st == 1 ? ph : (ph + 1) / 2;
            size_t planes = (size_t)(st == 1 ? 1 : 4) * hp * wp;
            size_t n = ((size_t)y->dims[1] * wp + 31) / 32 * 32;
            /* + slack: the last outputs' reads run past the planes by at most a row and a vector */
            f->scratch = up((planes + (size_t)wp + 128) * esz, 64) + n * 4;
            f->offs = malloc((size_t)kd * kd * sizeof *f->offs);
            if (!f->offs)
                rc = PITHRT_ENOMEM;
            for (int u = 0; !rc && u < kd; u++)
                for (int v = 0; v < kd; v++)
                    f->offs[u * kd + v] = st == 1 ? u * pw + v : ((u % 2) * 2 + v % 2) * hp * wp + u / 2 * wp + v / 2;
        }
        free(row);
        return rc;
    }
    /* GEMM: per group, A = [mpanels][kp / ku][mr][ku]. Winograd's 16 GEMMs
     * are 16 groups of one O x C product each. */
    const int wino = is_winograd(m, o);
    f->wino = wino;
    const int groups = wino ? 16 : o->groups, og = wino ? oc : oc / groups;
    if (wino) {
        free(row);
        row = wino_weights(m, o, oc, x->dims[0]); /* [16][O][C] */
        if (!row)
            return PITHRT_ENOMEM;
    }
    const int mr = s8 ? K->s8_mr : K->f32_mr, nr = s8 ? K->s8_nr : K->f32_nr, ku = s8 ? K->s8_ku : 1;
    const int ae = s8 ? K->s8_esize : (int)sizeof(float);
    const int n = y->dims[1] * y->dims[2], kk = o->kh * o->kw;
    const int pw = x->dims[2] + 2 * o->pw, ph = x->dims[1] + 2 * o->ph;
    f->kind = PITHRT_FAST_GEMM;
    const int st = o->sh;
    f->mode = st == 1 && o->sw == 1 && kk == 1 && !o->ph && !o->pw ? PITHRT_B_DIRECT
              : o->sw == st && (st == 1 || st == 2)                  ? PITHRT_B_WIDE
                                                                     : PITHRT_B_IM2COL;
    /* the wide grid's (phase) planes, as the depthwise layout */
    const int wp = st == 1 ? pw : (pw + 1) / 2, hp = st == 1 ? ph : (ph + 1) / 2;
    const int chan = (st == 1 ? 1 : 4) * hp * wp;
    const int tiles = ((y->dims[1] + 1) / 2) * ((y->dims[2] + 1) / 2);
    const int cols = wino ? tiles : f->mode == PITHRT_B_WIDE ? y->dims[1] * wp : n;
    if (wino) {
        f->mode = PITHRT_B_DIRECT; /* B: the transformed input, [16][C][tiles] */
        per = x->dims[0];
    }
    /* fp32 with few taps (a stem): unfolded per tile, so that the tiles leave the microkernel
     * finished (f32_ukr_out; the wide grid's dropped columns would break its rows): measured on
     * MobileNet's first layer, 0.41 -> 0.34 ms */
    if (!s8 && !wino && f->mode == PITHRT_B_WIDE && per < 64 && K->f32_ukr_out)
        f->mode = PITHRT_B_IM2COL;
    /* fp32 other than 1x1 stride 1: the input padded once, pixels read in place on the A side (from
     * 64 taps: below, the k loop is too short for the transposed epilogue; measured on MobileNet's
     * first layer, 27 taps) */
    const int padded = !s8 && !wino && K->f32_ukr_swap && K->swap_rows && f->mode != PITHRT_B_DIRECT &&
                       groups == 1 && mr == 8 && nr == 32 && per >= 64;
    if (padded) {
        f->mode = PITHRT_B_PAD;
        f->swap = 1;
        f->smr = seven_rows(n) ? 7 : 8;
    }
    f->c4 = s8 && K->s8_ukr_ind && f->mode == PITHRT_B_WIDE && groups == 1 && x->dims[0] % 4 == 0 && ku == 4;
    f->smr = padded ? f->smr : mr;
    /* c4: pixels on the A side when that pads less (no wide-grid columns) */
    if (f->c4 && K->s8_ukr_swap && mr == 8 && nr == 32) {
        f->smr = seven_rows(n) ? 7 : 8;
        size_t wide = up((size_t)og, (size_t)mr) * up((size_t)y->dims[1] * wp, (size_t)nr);
        size_t swapped = up((size_t)og, (size_t)nr) * up((size_t)n, (size_t)f->smr);
        f->swap = swapped * 100 < wide * 93;
    }
    /* fp32 1x1: pixels on the A side likewise when that pads less */
    if (!s8 && !wino && K->swap_rows && f->mode == PITHRT_B_DIRECT && groups == 1 && mr == 8 && nr == 32) {
        f->smr = K->f32_ukr7 && seven_rows(n) ? 7 : 8;
        size_t plain = up((size_t)og, (size_t)mr) * up((size_t)n, (size_t)nr);
        size_t swapped = up((size_t)og, (size_t)nr) * up((size_t)n, (size_t)f->smr);
        f->swap = swapped * 100 < plain * 93;
    }
    f->k = per;
    f->kp = (int)up((size_t)per, (size_t)ku);
    /* Winograd with fewer tiles than four panels: tiles on the A side (mr per
     * panel, less padding), output channels on the B side */
    f->wswap = wino && tiles < 4 * nr;
    const int aw = f->wswap || f->swap ? nr : mr;
    f->mpanels = (og + aw - 1) / aw;
    f->a_group = (size_t)f->mpanels * f->kp * aw * ae;
    /* a column tile's B fits 128 KB, and is at most 512 pixels wide so that
     * even a layer with a small K has tiles enough for the threads */
    size_t nc = (size_t)128 * 1024 / ((size_t)f->kp * ae) / nr * nr;
    nc = nc > 512 ? (size_t)(512 / nr * nr) : nc;
    size_t nmax = up((size_t)cols, (size_t)nr);
    if (f->c4) /* B is not packed: wide tiles, for fewer epilogues and A panels reused the longest */
        nc = 512;
    if (f->swap) { /* tiles of pixels, whole A panels of them (fp32: packed, at most 256 KB) */
        const size_t sm = (size_t)f->smr;
        nc = 256 / sm * sm;
        if (!s8 && nc * f->kp * 4 > 256 * 1024)
            nc = 256 * 1024 / ((size_t)f->kp * 4) / sm * sm;
        nc = nc < sm ? sm : nc;
        nmax = up((size_t)n, sm);
    }
    const size_t least = f->swap ? (size_t)f->smr : (size_t)nr;
    f->nc = (int)(nc < least ? least : nc > nmax ? nmax : nc);
    /* blocks of k whose slice of an A panel (mr x kc) is 16 KB: it stays in L1
     * while the tile's B panels stream past it; the partial sums wait in C */
    f->kc = 16 * 1024 / (mr * ae) / ku * ku;
    if (f->swap && !s8 && K->f32_ukr_swap_out) /* finished in the microkernel: k in one block */
        f->kc = f->kp;
    if (f->kc >= f->kp)
        f->kc = f->kp;
    /* B panels (none when read in place), a tile row of C, im2col rows, C of k-blocked panel rows;
     * swapped: C of the tile's pixel panels, then that transposed to channel rows */
    f->scratch = (f->c4 ? 0 : up((size_t)f->nc * f->kp * ae, 64)) + up((size_t)mr * f->nc * 4, 64) +
                 (f->mode == PITHRT_B_IM2COL ? up((size_t)per * f->nc * esz, 64) : 0) +
                 (f->kc < f->kp ? (size_t)f->mpanels * mr * f->nc * 4 : 0);
    if (f->swap) /* C of [panels][mr][nr], the channel rows (+ a column), fp32 1x1: the tile's A panels */
        f->scratch = ((size_t)f->nc / f->smr * mr * nr + ((size_t)f->nc + mr) * nr) * 4 +
                     (f->mode == PITHRT_B_DIRECT ? (size_t)f->nc / f->smr * mr * f->kp * 4 : 0);
    if (f->mode == PITHRT_B_PAD) { /* the padded planes, shared */
        size_t need = ((size_t)x->dims[0] * ph * pw + 64) * sizeof(float);
        m->shared_bytes = need > m->shared_bytes ? up(need, 64) : m->shared_bytes;
    }
    if (wino) {
        /* blocks of tile rows whose transformed input (16 x C x tiles floats)
         * stays within 512 KB, and at least a panel of tiles when the layer
         * has them */
        const int th = (y->dims[1] + 1) / 2, tw = (y->dims[2] + 1) / 2, C = x->dims[0];
        const int lanes = f->wswap ? mr : nr; /* tiles per panel */
        int most = 512 * 1024 / (16 * C * (int)sizeof(float)) / tw, need_rows = (lanes + tw - 1) / tw;
        most = most < need_rows ? need_rows : most;
        most = most > th ? th : most < 1 ? 1 : most;
        /* the row count in range whose tiles fill their panels best */
        int rows = 1;
        double best = 0;
        for (int r = 1; r <= most; r++) {
            double fill = (double)(r * tw) / (double)up((size_t)r * tw, (size_t)lanes);
            if (fill >= best) {
                best = fill;
                rows = r;
            }
        }
        f->wrows = rows;
        f->nc = (int)up((size_t)rows * tw, (size_t)lanes);
        /* per thread: V, the products of one channel panel, four rows; shared: the padded input */
        size_t wpp = 2 * (size_t)tw + 2, hpp = 2 * (size_t)th + 2;
        f->scratch = (16 * (size_t)C * f->nc + 16 * (size_t)aw * f->nc + 4 * wpp) * sizeof(float) + 64;
        size_t need = (size_t)C * hpp * wpp * sizeof(float) + 64;
        m->shared_bytes = need > m->shared_bytes ? up(need, 64) : m->shared_bytes;
    }
    if (f->mode == PITHRT_B_WIDE) {
        /* + slack: the last tile's columns read past the last plane by at most a row and a panel
         * (of nr pixels of four bytes each, laid out four channels together) */
        size_t need = ((size_t)x->dims[0] * chan + 2 * (size_t)wp + (size_t)o->kw * o->dw + 64) * esz;
        if (f->c4)
            need = ((size_t)x->dims[0] / 4 * chan + 2 * (size_t)wp + (size_t)o->kw * o->dw + (size_t)nr) * 4;
        m->shared_bytes = need > m->shared_bytes ? up(need, 64) : m->shared_bytes;
    }
    /* + for a 1x1 fp32 swap, k's offset in a packed pixel panel ([k][mr]) */
    const int koffs = f->swap && !s8 && f->mode == PITHRT_B_DIRECT ? f->kp : 0;
    f->offs = malloc((size_t)(per + koffs) * sizeof *f->offs);
    if (!f->offs) {
        free(row);
        return PITHRT_ENOMEM;
    }
    /* c4: k-group (channel / 4, u, v) reads the pixel's four channels in place */
    for (int r = 0; f->c4 && r < per / 4; r++) {
        int cq = r / kk, u = r % kk / o->kw, v = r % o->kw;
        f->offs[r] = 4 * (cq * chan + ((u * o->dh) % st * 2 + (v * o->dw) % st) * hp * wp + (u * o->dh / st) * wp +
                          v * o->dw / st);
    }
    for (int r = 0; r < koffs; r++)
        f->offs[per + r] = r * mr;
    for (int r = 0; !f->c4 && r < per; r++) {
        int ic = r / kk, u = r % kk / o->kw, v = r % o->kw;
        f->offs[r] = wino ? r * tiles : f->mode == PITHRT_B_DIRECT ? r * n
                     : f->mode == PITHRT_B_PAD ? ic * ph * pw + u * o->dh * pw + v * o->dw
                     : f->mode == PITHRT_B_WIDE ? ic * chan + ((u * o->dh) % st * 2 + (v * o->dw) % st) * hp * wp +
                                                      (u * o->dh / st) * wp + v * o->dw / st
                                                : r * f->nc;
    }
    f->w = calloc(1, (size_t)groups * f->a_group);
    f->rq = s8 ? malloc((size_t)oc * sizeof *f->rq) : NULL;
    if (!f->w || (s8 && !f->rq)) {
        free(row);
        return PITHRT_ENOMEM;
    }
    for (int c = 0; c < groups * og; c++) {
        if (!wino) /* Winograd's transformed rows are all there already */
            weight_row(m, o, s8, c, per, row);
        const void *src = wino ? (const void *)((const float *)row + (size_t)c * per) : row;
        if (s8)
            fill_rq(m, o, c, row, per, K->s8_b_offset, &f->rq[c]);
        /* Winograd on few tiles swaps the roles: the weights are the B side, nr channels wide */
        const int g = c / og, r = c % og, p = r / aw, ri = r % aw;
        uint8_t *panel = (uint8_t *)f->w + (size_t)g * f->a_group + (size_t)p * f->kp * aw * ae;
        for (int i = 0; i < per; i++) {
            /* c4: weight (channel, tap) of row i goes to k = ((channel / 4) kk + tap) 4 + channel % 4 */
            const int kx = f->c4 ? (i / kk / 4 * kk + i % kk) * 4 + i / kk % 4 : i;
            size_t at = ((size_t)(kx / ku) * aw + ri) * ku + kx % ku;
            if (!s8)
                ((float *)(void *)panel)[at] = ((const float *)src)[i];
            else if (ae == 1)
                ((int8_t *)panel)[at] = ((const int8_t *)row)[i];
            else
                ((int16_t *)(void *)panel)[at] = ((const int8_t *)row)[i];
        }
    }
    free(row);
    if (s8 && f->mode == PITHRT_B_DIRECT && !f->swap && K->s8_ukr_out && fold_rq(f, oc, y) < 0)
        return PITHRT_ENOMEM;
    return PITHRT_OK;
}

int pithrt_fast_prepare(pithrt_model *m)
{
    m->fast = calloc((size_t)m->n_ops, sizeof *m->fast);
    if (!m->fast)
        return PITHRT_ENOMEM;
    if (!m->kernels)
        return PITHRT_OK;
    for (int k = 0; k < m->n_ops; k++) {
        int rc = prepare_op(m, k);
        if (rc)
            return rc;
        size_t need = (m->fast[k].scratch + 63) / 64 * 64;
        if (need > m->scratch_bytes)
            m->scratch_bytes = need;
    }
    return PITHRT_OK;
}

void pithrt_fast_free(pithrt_model *m)
{
    if (!m->fast)
        return;
    for (int k = 0; k < m->n_ops; k++) {
        free(m->fast[k].w);
        free(m->fast[k].rq);
        free(m->fast[k].offs);
        free(m->fast[k].rq16);
        free(m->fast[k].rqf);
    }
    free(m->fast);
    m->fast = NULL;
}
