/* The convolution tasks of the fast path: im2col (or the input rows
 * themselves) into packed panels, the microkernel over them, requantization
 * or bias and activation as each tile leaves the registers; the swapped
 * GEMM of narrow layers; Winograd F(2x2, 3x3). */
#include <string.h>

#include "fast_job.h"

/* n consecutive output pixels (from pixel p0) of im2col row (c, u, v), padded with fill. */
/* The columns t of a segment whose input column x0 + t * s lies in [0, w):
 * [*t0, *t1), both clamped to the segment. */
static void valid_cols(int x0, int s, int w, int seg, int *t0, int *t1)
{
    pithrt_col_range(seg, w, s, 0, x0, t0, t1);
    *t0 = *t0 < seg ? *t0 : seg;
    *t1 = *t1 + 1 < *t0 ? *t0 : *t1 + 1;
}

#define IM2COL_SPAN(NAME, T)                                                                                         \
    static void NAME(const T *xc, int h, int w, int ow, const pithrt_op *o, int u, int v, int p0, int n, T fill,    \
                     T *dst)                                                                                         \
    {                                                                                                                \
        int i = p0 / ow, j = p0 % ow;                                                                                \
        while (n > 0) {                                                                                              \
            int seg = ow - j < n ? ow - j : n;                                                                       \
            int yy = i * o->sh - o->ph + u * o->dh;                                                                  \
            if (yy < 0 || yy >= h) {                                                                                 \
                for (int t = 0; t < seg; t++)                                                                        \
                    dst[t] = fill;                                                                                   \
            } else {                                                                                                 \
                const T *xr = xc + (size_t)yy * w;                                                                   \
                int x0 = j * o->sw - o->pw + v * o->dw, t0, t1;                                                      \
                valid_cols(x0, o->sw, w, seg, &t0, &t1);                                                             \
                for (int t = 0; t < t0; t++)                                                                         \
                    dst[t] = fill;                                                                                   \
                if (o->sw == 1) {                                                                                    \
                    memcpy(dst + t0, xr + x0 + t0, (size_t)(t1 - t0) * sizeof(T));                                   \
                } else if (o->sw == 2) { /* a constant stride the vectorizer can gather */                           \
                    const T *src = xr + x0;                                                                          \
                    for (int t = t0; t < t1; t++)                                                                    \
                        dst[t] = src[2 * t];                                                                         \
                } else {                                                                                             \
                    const T *src = xr + x0;                                                                          \
                    for (int t = t0; t < t1; t++)                                                                    \
                        dst[t] = src[t * o->sw];                                                                     \
                }                                                                                                    \
                for (int t = t1; t < seg; t++)                                                                       \
                    dst[t] = fill;                                                                                   \
            }                                                                                                        \
            dst += seg;                                                                                              \
            n -= seg;                                                                                                \
            j = 0;                                                                                                   \
            i++;                                                                                                     \
        }                                                                                                            \
    }
IM2COL_SPAN(span_s8, int8_t)
IM2COL_SPAN(span_f32, float)

/* Column q of a tile starting at B column at: where it lands in the output
 * plane, and how many columns from there are contiguous there (the wide grid
 * drops the pw - ow columns past each row's end); *rows > 1 when whole
 * output rows follow from there (pw columns apart in C, ow in the output). */
static int out_run(const pithrt_job *J, size_t at, int q, int nv, size_t *dst, int *rows)
{
    size_t t = at + (size_t)q;
    *rows = 1;
    if (J->f->mode != PITHRT_B_WIDE) {
        *dst = t;
        return nv - q;
    }
    int i = (int)(t / (size_t)J->wp), j = (int)(t % (size_t)J->wp);
    if (j >= J->ow) {
        *dst = 0;
        return -(J->wp - j); /* columns to skip */
    }
    *dst = (size_t)i * J->ow + j;
    if (j == 0 && nv - q >= J->ow)
        *rows = (nv - q - J->ow) / J->wp + 1;
    return J->ow - j < nv - q ? J->ow - j : nv - q;
}

/* fp32 tiles that leave the microkernel finished (f32_ukr_out): one block
 * of k, output columns contiguous, an activation it applies */
static int fused_ok(const pithrt_job *J)
{
    const pithrt_fast_op *f = J->f;
    return !f->s8 && f->kc >= f->kp && f->mode != PITHRT_B_WIDE &&
           (J->act == PITHRT_ACT_NONE || J->act == PITHRT_ACT_RELU || J->act == PITHRT_ACT_RELU6);
}

void pithrt_gemm_task(void *arg, int task, int thread)
{
    const pithrt_job *J = arg;
    const pithrt_op *o = J->o;
    const pithrt_fast_op *f = J->f;
    const pithrt_kernels *K = J->K;
    const int s8 = f->s8;
    const int mr = s8 ? K->s8_mr : K->f32_mr, nr = s8 ? K->s8_nr : K->f32_nr, ku = s8 ? K->s8_ku : 1;
    const int ae = s8 ? K->s8_esize : 4;
    const size_t xe = s8 ? 1 : sizeof(float);
    const int chunk = task % J->mchunks, t = task / J->mchunks % J->tiles, g = task / J->mchunks / J->tiles;
    const int n0 = t * f->nc, nc = J->cols - n0 < f->nc ? J->cols - n0 : f->nc;
    const int kk = o->kh * o->kw;
    uint8_t *sc = J->scratch + (size_t)thread * J->stride;
    uint8_t *panels = sc;
    size_t panel_bytes = (size_t)f->kp * nr * ae;
    int32_t *tile = (int32_t *)(void *)(sc + (f->c4 ? 0 : ((size_t)f->nc * f->kp * ae + 63) / 64 * 64));
    uint8_t *rows = (uint8_t *)tile + ((size_t)mr * f->nc * 4 + 63) / 64 * 64;
    const int npan = (nc + nr - 1) / nr;

    /* B's rows: base + offs[r] (input planes, the padded planes, or im2col rows) */
    const uint8_t *base;
    if (f->mode == PITHRT_B_DIRECT) {
        base = (const uint8_t *)J->x + ((size_t)g * J->cg * J->n + n0) * xe;
    } else if (f->mode == PITHRT_B_WIDE) {
        base = J->shared + ((size_t)g * J->cg * J->chan + n0) * xe;
    } else {
        base = rows;
        const uint8_t *x = (const uint8_t *)J->x + (size_t)g * J->cg * J->h * J->w * xe;
        for (int r = 0; r < f->k; r++) {
            int ic = r / kk, u = r % kk / o->kw, v = r % o->kw;
            if (s8)
                span_s8((const int8_t *)x + (size_t)ic * J->h * J->w, J->h, J->w, J->ow, o, u, v, n0, nc,
                        (int8_t)J->m->tensors[o->in[0]].zero_point, (int8_t *)rows + (size_t)r * f->nc);
            else
                span_f32((const float *)(const void *)x + (size_t)ic * J->h * J->w, J->h, J->w, J->ow, o, u, v, n0,
                         nc, 0.0f, (float *)(void *)rows + (size_t)r * f->nc);
        }
    }
    /* fp32 1x1 into the fused epilogue (every channel panel whole): whole B panels are read in
     * place (rows n apart) */
    const int inplace = !s8 && f->mode == PITHRT_B_DIRECT && K->f32_ukr_out && fused_ok(J) && J->og % mr == 0;
    for (int p = 0; p < npan && !f->c4; p++) {
        int nv = nc - p * nr < nr ? nc - p * nr : nr;
        if (inplace && nv == nr)
            continue;
        uint8_t *dst = panels + p * panel_bytes;
        if (s8 && K->s8_pack_b) {
            K->s8_pack_b((const int8_t *)base + p * nr, f->offs, f->k, nv, dst);
        } else if (s8) {
            pithrt_pack_b_s8_c((const int8_t *)base + p * nr, f->offs, f->k, nv, dst, nr, ku, ae, K->s8_b_offset);
        } else {
            K->f32_pack_b((const float *)(const void *)base + p * nr, f->offs, f->k, nv, (float *)(void *)dst);
        }
    }

    /* the output channels of this chunk */
    const int per = (f->mpanels + J->mchunks - 1) / J->mchunks;
    const int mp0 = chunk * per, mp1 = mp0 + per < f->mpanels ? mp0 + per : f->mpanels;
    const float *bias = J->bias;
    const int nblk = (f->kp + f->kc - 1) / f->kc;
    const size_t ldc = (size_t)f->nc; /* a row of C: the tile's columns, all panels side by side */
    size_t rows_bytes = f->mode == PITHRT_B_IM2COL ? ((size_t)f->k * f->nc * xe + 63) / 64 * 64 : 0;
    int32_t *cbuf = (int32_t *)(void *)(rows + rows_bytes); /* C of every panel row (k blocked) */
    const int fuse = !s8 && K->f32_ukr_out && fused_ok(J);
    for (int kb = 0; kb < nblk; kb++) {
        const int k0 = kb * f->kc, kn = f->kp - k0 < f->kc ? f->kp - k0 : f->kc;
        for (int mp = mp0; mp < mp1; mp++) {
            const uint8_t *a = (const uint8_t *)f->w + (size_t)g * f->a_group + ((size_t)mp * f->kp + k0) * mr * ae;
            int32_t *c = nblk > 1 ? cbuf + (size_t)(mp - mp0) * mr * ldc : tile;
            const int c0 = mp * mr, mv = J->og - c0 < mr ? J->og - c0 : mr;
            if (s8 && f->rqf && nblk == 1 && mv == mr && f->mode == PITHRT_B_DIRECT) {
                /* int8 1x1, one block of k, whole panel of channels: requantized in the microkernel */
                const int ch0 = g * J->og + c0;
                for (int p = 0; p < npan; p++)
                    K->s8_ukr_out(kn / ku, a, panels + p * panel_bytes,
                                  (int8_t *)J->y + (size_t)ch0 * J->n + n0 + p * nr, (size_t)J->n, f->rqf + ch0,
                                  f->rqf_neg, f->rqf_act, nc - p * nr < nr ? nc - p * nr : nr);
                continue;
            }
            if (fuse && mv == mr) { /* fp32, one block of k, whole panel of channels: straight to the output */
                const int ch0 = g * J->og + c0;
                for (int p = 0; p < npan; p++) {
                    const int nv = nc - p * nr < nr ? nc - p * nr : nr;
                    const float *b = (const float *)(const void *)(panels + p * panel_bytes);
                    size_t ldb = (size_t)nr;
                    if (inplace && nv == nr) {
                        b = (const float *)(const void *)base + p * nr;
                        ldb = (size_t)J->n;
                    }
                    K->f32_ukr_out(kn, (const float *)(const void *)a, b, ldb,
                                   (float *)J->y + (size_t)ch0 * J->n + n0 + p * nr, (size_t)J->n,
                                   bias ? bias + ch0 : NULL, J->act, nv);
                }
                continue;
            }
            for (int p = 0; p < npan; p++) {
                const uint8_t *b = panels + p * panel_bytes + (size_t)k0 * nr * ae;
                if (f->c4) /* B in place: the tile's pixels, four channels each */
                    K->s8_ukr_ind(kn / ku, a, J->shared + ((size_t)n0 + (size_t)p * nr) * 4, f->offs + k0 / ku,
                                  c + p * nr, ldc, kb > 0);
                else if (s8)
                    K->s8_ukr(kn / ku, a, b, c + p * nr, ldc, kb > 0);
                else
                    K->f32_ukr(kn, (const float *)(const void *)a, (const float *)(const void *)b,
                               (float *)(void *)(c + p * nr), ldc, kb > 0);
            }
            if (kb < nblk - 1)
                continue;
            /* the epilogue, a whole row of the tile at a time */
            for (int r = 0; r < mv; r++) {
                const int ch = g * J->og + c0 + r;
                const int32_t *cr = c + (size_t)r * ldc;
                for (int q = 0; q < nc;) {
                    size_t d;
                    int nrow, len = out_run(J, (size_t)n0, q, nc, &d, &nrow);
                    if (len <= 0) {
                        q -= len;
                        continue;
                    }
                    if (s8)
                        K->requant(cr + q, (size_t)J->wp, len, nrow, &f->rq[ch], J->out,
                                   (int8_t *)J->y + (size_t)ch * J->n + d, (size_t)J->ow);
                    else
                        for (int i = 0; i < nrow; i++)
                            K->f32_bias_act((const float *)(const void *)cr + q + (size_t)i * J->wp, len,
                                            bias ? bias[ch] : 0.0f, J->act,
                                            (float *)J->y + (size_t)ch * J->n + d + (size_t)i * J->ow);
                    q += (nrow - 1) * J->wp + len;
                }
            }
        }
    }
}

/* A c4 convolution with its pixels on the microkernel's A side: a task takes
 * a tile of nc output pixels (compact, no wide-grid columns) and a chunk of
 * nr-channel weight panels; each panel's products for the tile's pixel
 * panels (k blocked) are transposed into channel rows and requantized. */
void pithrt_swap_s8_task(void *arg, int task, int thread)
{
    const pithrt_job *J = arg;
    const pithrt_fast_op *f = J->f;
    const pithrt_kernels *K = J->K;
    const int mr = K->s8_mr, nr = K->s8_nr, ku = K->s8_ku, sm = f->smr;
    const int chunk = task % J->mchunks, t = task / J->mchunks;
    const int n0 = t * f->nc, nc = J->n - n0 < f->nc ? J->n - n0 : f->nc, npp = (nc + sm - 1) / sm;
    int32_t *cbuf = (int32_t *)(void *)(J->scratch + (size_t)thread * J->stride); /* [npp][mr][nr] */
    int32_t *rows = cbuf + (size_t)f->nc / sm * mr * nr;                            /* [nr][npp sm + 1] */
    const int per = (f->mpanels + J->mchunks - 1) / J->mchunks;
    const int cp0 = chunk * per, cp1 = cp0 + per < f->mpanels ? cp0 + per : f->mpanels;
    const int nblk = (f->kp + f->kc - 1) / f->kc;
    const uint8_t *px[8];
    for (int cp = cp0; cp < cp1; cp++) {
        for (int kb = 0; kb < nblk; kb++) {
            const int k0 = kb * f->kc, kn = f->kp - k0 < f->kc ? f->kp - k0 : f->kc;
            const int8_t *w = (const int8_t *)f->w + ((size_t)cp * f->kp + k0) * nr;
            for (int pp = 0; pp < npp; pp++) {
                for (int r = 0; r < sm && r < 8; r++) { /* the pixels of this panel (past the tile: its first) */
                    int p = n0 + pp * sm + r < n0 + nc ? n0 + pp * sm + r : n0;
                    px[r] = J->shared + ((size_t)(p / J->ow) * J->wp + (size_t)(p % J->ow)) * 4;
                }
                K->s8_ukr_swap(kn / ku, sm, px, f->offs + k0 / ku, w, cbuf + (size_t)pp * mr * nr, kb > 0);
            }
        }
        const int c0 = cp * nr, cv = J->og - c0 < nr ? J->og - c0 : nr;
        const size_t ld = (size_t)npp * sm + (sm < mr);
        K->swap_rows(cbuf, npp, sm, cv, rows, ld);
        for (int ch = 0; ch < cv; ch++)
            K->requant(rows + (size_t)ch * ld, 0, nc, 1, &f->rq[c0 + ch], J->out,
                       (int8_t *)J->y + (size_t)(c0 + ch) * J->n + n0, 0);
    }
}

/* An fp32 1x1 convolution with its pixels on the microkernel's A side: a
 * task packs its tile's pixels into A panels ([k][mr] each: mr consecutive
 * pixels of every input channel), then per nr-channel weight panel runs the
 * microkernel over them (k blocked), transposes the products into channel
 * rows and adds the bias and activation on the way out. */
void pithrt_swap_f32_task(void *arg, int task, int thread)
{
    const pithrt_job *J = arg;
    const pithrt_fast_op *f = J->f;
    const pithrt_kernels *K = J->K;
    const int mr = K->f32_mr, nr = K->f32_nr, sm = f->smr;
    const int chunk = task % J->mchunks, t = task / J->mchunks;
    const int n0 = t * f->nc, nc = J->n - n0 < f->nc ? J->n - n0 : f->nc, npp = (nc + sm - 1) / sm;
    float *cbuf = (float *)(void *)(J->scratch + (size_t)thread * J->stride); /* [npp][mr][nr] */
    float *rows = cbuf + (size_t)f->nc / sm * mr * nr;                          /* [nr][npp sm + 1] */
    float *apan = rows + ((size_t)f->nc + mr) * nr;                             /* [npp][kp][mr] */
    const pithrt_ukr_f32 ukr = sm == mr ? K->f32_ukr : K->f32_ukr7;
    const float *x = J->x;
    const int pad = f->mode == PITHRT_B_PAD; /* pixels read in place from the padded planes */
    for (int pp = 0; pp < npp && !pad; pp++) {
        float *d = apan + (size_t)pp * f->kp * mr;
        const int p0 = n0 + pp * sm, pv = n0 + nc - p0 < sm ? n0 + nc - p0 : sm;
        if (pv == 8 && mr == 8) /* constant sizes, for the compiler to inline the copies */
            for (int k = 0; k < f->k; k++, d += 8)
                memcpy(d, x + (size_t)k * J->n + p0, 8 * sizeof(float));
        else if (pv == 7 && mr == 8)
            for (int k = 0; k < f->k; k++, d += 8) {
                memcpy(d, x + (size_t)k * J->n + p0, 7 * sizeof(float));
                d[7] = 0.0f;
            }
        else
            for (int k = 0; k < f->k; k++, d += mr) {
                memcpy(d, x + (size_t)k * J->n + p0, (size_t)pv * sizeof(float));
                for (int q = pv; q < mr; q++)
                    d[q] = 0.0f;
            }
    }
    const int per = (f->mpanels + J->mchunks - 1) / J->mchunks;
    const int cp0 = chunk * per, cp1 = cp0 + per < f->mpanels ? cp0 + per : f->mpanels;
    const int nblk = (f->kp + f->kc - 1) / f->kc;
    const size_t ld = (size_t)npp * sm + (sm < mr);
    /* finished in the microkernel: one block of k, an activation it applies */
    const int out = K->f32_ukr_swap_out && nblk == 1 &&
                    (J->act == PITHRT_ACT_NONE || J->act == PITHRT_ACT_RELU || J->act == PITHRT_ACT_RELU6);
    for (int cp = cp0; cp < cp1 && out; cp++) {
        const int c0 = cp * nr, cv = J->og - c0 < nr ? J->og - c0 : nr;
        const float *w = (const float *)f->w + (size_t)cp * f->kp * nr;
        for (int pp = 0; pp < npp; pp++) {
            const float *px[8];
            const int pv = n0 + nc - (n0 + pp * sm) < sm ? n0 + nc - (n0 + pp * sm) : sm;
            for (int r = 0; r < sm && r < 8; r++) {
                const int p = r < pv ? n0 + pp * sm + r : n0 + pp * sm;
                px[r] = pad ? (const float *)(const void *)J->shared + (size_t)(p / J->ow) * J->o->sh * J->wp +
                                  (size_t)(p % J->ow) * J->o->sw
                            : apan + (size_t)pp * f->kp * mr + r;
            }
            /* a last panel of fewer pixels: its rows past pv store nowhere */
            K->f32_ukr_swap_out(f->kp, sm, px, pad ? f->offs : f->offs + f->k, w, J->bias ? J->bias + c0 : NULL,
                                J->act, (float *)J->y + (size_t)c0 * J->n + n0 + pp * sm, (size_t)J->n, cv, pv);
        }
    }
    for (int cp = cp0; cp < cp1 && !out; cp++) {
        for (int kb = 0; kb < nblk; kb++) {
            const int k0 = kb * f->kc, kn = f->kp - k0 < f->kc ? f->kp - k0 : f->kc;
            const float *w = (const float *)f->w + ((size_t)cp * f->kp + k0) * nr;
            for (int pp = 0; pp < npp; pp++) {
                if (!pad) {
                    ukr(kn, apan + ((size_t)pp * f->kp + k0) * mr, w, cbuf + (size_t)pp * mr * nr, (size_t)nr,
                        kb > 0);
                    continue;
                }
                const float *px[8];
                for (int r = 0; r < sm && r < 8; r++) { /* past the tile: its first pixel */
                    const int p = n0 + pp * sm + r < n0 + nc ? n0 + pp * sm + r : n0, i = p / J->ow, j = p % J->ow;
                    px[r] = (const float *)(const void *)J->shared + (size_t)i * J->o->sh * J->wp +
                            (size_t)j * J->o->sw;
                }
                K->f32_ukr_swap(kn, sm, px, f->offs + k0, w, cbuf + (size_t)pp * mr * nr, kb > 0);
            }
        }
        const int c0 = cp * nr, cv = J->og - c0 < nr ? J->og - c0 : nr;
        K->swap_rows((const int32_t *)(const void *)cbuf, npp, sm, cv, (int32_t *)(void *)rows, ld);
        for (int ch = 0; ch < cv; ch++)
            K->f32_bias_act(rows + (size_t)ch * ld, nc, J->bias ? J->bias[c0 + ch] : 0.0f, J->act,
                            (float *)J->y + (size_t)(c0 + ch) * J->n + n0);
    }
}

/* Winograd F(2x2, 3x3), fused per block of tile rows so that the
 * transformed input and the products stay in cache. A task takes R rows of
 * 2x2 output tiles (nb tiles, padded to whole panels: tb) and a chunk of
 * output-channel panels:
 *   1. input transform, V = B^T d B for every tile d (4x4 input patch) and
 *      input channel, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], written
 *      straight into the microkernel's B panels: V[point][panel][c][nr];
 *   2. for each panel of mr output channels, the 16 products
 *      M[point] = U[point] (mr x C) . V[point] (C x tb), U = G g G^T packed
 *      at load;
 *   3. output transform Y = A^T m A (A^T = [1 1 1 0; 0 1 -1 -1]) + bias,
 *      activated, into the output rows.
 * The patch rows are combined over whole padded rows first (contiguous),
 * then over tiles, so that both transform loops vectorize. */
void pithrt_wino_task(void *arg, int task, int thread)
{
    const pithrt_job *J = arg;
    const pithrt_op *o = J->o;
    const pithrt_fast_op *f = J->f;
    const pithrt_kernels *K = J->K;
    /* lanes: tiles per V panel; cw: output channels per weight panel */
    const int lanes = f->wswap ? K->f32_mr : K->f32_nr, cw = f->wswap ? K->f32_nr : K->f32_mr;
    const int nr = lanes, C = J->c, tw = J->tw, R = f->wrows, tb = f->nc;
    const int chunk = task % J->mchunks, blk = task / J->mchunks;
    const int ty0 = blk * R, ty1 = ty0 + R < J->th ? ty0 + R : J->th, nb = (ty1 - ty0) * tw;
    const int npan = (nb + nr - 1) / nr;
    const size_t pc = (size_t)C * nr; /* floats in one panel */
    float *v = (float *)(void *)(J->scratch + (size_t)thread * J->stride);
    float *mbuf = v + (size_t)16 * (tb / nr) * pc; /* [16][cw][tb], or [16][tb][cw] swapped */
    float *r = mbuf + (size_t)16 * cw * tb;        /* four combined rows */
    const int wp = J->wp;

    /* 1. input transform of the block */
    for (int c = 0; c < C; c++) {
        const float *plane = (const float *)(void *)J->shared + (size_t)c * J->hp * wp;
        for (int ty = ty0; ty < ty1; ty++) {
            const float *d0 = plane + (size_t)2 * ty * wp, *d1 = d0 + wp, *d2 = d1 + wp, *d3 = d2 + wp;
            float *r0 = r, *r1 = r + wp, *r2 = r + 2 * wp, *r3 = r + 3 * wp;
            for (int j = 0; j < wp; j++) {
                r0[j] = d0[j] - d2[j];
                r1[j] = d1[j] + d2[j];
                r2[j] = d2[j] - d1[j];
                r3[j] = d1[j] - d3[j];
            }
            /* tiles tl .. tl + tw - 1 of the block, cut at panel boundaries */
            for (int t0 = 0; t0 < tw;) {
                const int tl = (ty - ty0) * tw + t0, p = tl / nr, lane = tl % nr;
                const int len = nr - lane < tw - t0 ? nr - lane : tw - t0;
                for (int i = 0; i < 4; i++) {
                    const float *ri = r + (size_t)i * wp + 2 * t0;
                    float *v0 = v + ((size_t)(4 * i) * (tb / nr) + p) * pc + (size_t)c * nr + lane;
                    float *v1 = v0 + (size_t)(tb / nr) * pc, *v2 = v1 + (size_t)(tb / nr) * pc,
                          *v3 = v2 + (size_t)(tb / nr) * pc;
                    for (int t = 0; t < len; t++) {
                        float a = ri[2 * t], b = ri[2 * t + 1], e = ri[2 * t + 2], g = ri[2 * t + 3];
                        v0[t] = a - e;
                        v1[t] = b + e;
                        v2[t] = e - b;
                        v3[t] = b - g;
                    }
                }
                t0 += len;
            }
        }
    }
    /* the panel's lanes past the block's last tile: zeros */
    if (nb % nr)
        for (int pt = 0; pt < 16; pt++)
            for (int c = 0; c < C; c++) {
                float *lane = v + ((size_t)pt * (tb / nr) + npan - 1) * pc + (size_t)c * nr;
                for (int q = nb % nr; q < nr; q++)
                    lane[q] = 0.0f;
            }

    /* 2 and 3, a panel of output channels at a time */
    const int per = (f->mpanels + J->mchunks - 1) / J->mchunks;
    const int mp0 = chunk * per, mp1 = mp0 + per < f->mpanels ? mp0 + per : f->mpanels;
    const float *bias = pithrt_cst(J->m, o->bias);
    for (int mp = mp0; mp < mp1; mp++) {
        for (int pt = 0; pt < 16; pt++) {
            const float *w = (const float *)f->w + (size_t)pt * f->a_group / sizeof(float) + (size_t)mp * C * cw;
            for (int p = 0; p < npan; p++) {
                const float *vp = v + ((size_t)pt * (tb / nr) + p) * pc;
                if (f->wswap) /* [tiles][channels] */
                    K->f32_ukr(C, vp, w, mbuf + ((size_t)pt * tb + (size_t)p * nr) * cw, (size_t)cw, 0);
                else /* [channels][tiles] */
                    K->f32_ukr(C, w, vp, mbuf + (size_t)pt * cw * tb + p * nr, (size_t)tb, 0);
            }
        }
        const int c0 = mp * cw, mv = J->og - c0 < cw ? J->og - c0 : cw;
        for (int rr = 0; rr < mv; rr++) {
            const int k = c0 + rr;
            const float b = bias ? bias[k] : 0.0f;
            float *y = (float *)J->y + (size_t)k * J->oh * J->ow;
            /* channel rr's products: tile t of point q at mk[q * ms + t * ts] */
            const float *mk = mbuf + (f->wswap ? (size_t)rr : (size_t)rr * tb);
            const size_t ms = (size_t)cw * tb, ts = f->wswap ? (size_t)cw : 1;
            for (int ty = ty0; ty < ty1; ty++) {
                float *y0 = r, *y1 = r + 2 * tw;
                const float *m0 = mk + (size_t)(ty - ty0) * tw * ts;
                for (int t = 0; t < tw; t++) {
                    float m[16], s0[4], s1[4];
                    for (int q = 0; q < 16; q++)
                        m[q] = m0[(size_t)q * ms + (size_t)t * ts];
                    for (int j = 0; j < 4; j++) {
                        s0[j] = m[j] + m[4 + j] + m[8 + j];
                        s1[j] = m[4 + j] - m[8 + j] - m[12 + j];
                    }
                    y0[2 * t] = s0[0] + s0[1] + s0[2] + b;
                    y0[2 * t + 1] = s0[1] - s0[2] - s0[3] + b;
                    y1[2 * t] = s1[0] + s1[1] + s1[2] + b;
                    y1[2 * t + 1] = s1[1] - s1[2] - s1[3] + b;
                }
                for (int i = 0; i < 2 && 2 * ty + i < J->oh; i++)
                    K->f32_bias_act(r + (size_t)i * 2 * tw, J->ow, 0.0f, o->act,
                                    y + (size_t)(2 * ty + i) * J->ow);
            }
        }
    }
}
