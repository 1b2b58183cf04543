/* Run time of the fast path. A convolution's output pixels are cut into
 * column tiles of nc pixels; a task unfolds its tile (im2col, or the input
 * rows themselves for a 1x1 stride-1 convolution), packs it into nr-wide
 * panels in its thread's scratch, and runs the microkernel over every panel
 * of mr output channels and every column panel, requantizing (int8) or
 * adding the bias and activation (fp32) as each tile leaves the registers.
 * When there are fewer tiles than threads, the output channels are split too. */
#include <string.h>

#include "fast_job.h"
#include "kernels/resize_coord.h"

/* Sixteen depthwise channels of a small plane at once (dw_f32_c16, dw_s8_c16) */
static void dw16_task(void *arg, int g, int thread)
{
    const pithrt_job *J = arg;
    const pithrt_op *o = J->o;
    const size_t hw = (size_t)J->h * J->w, ohw = (size_t)J->oh * J->ow;
    const int c = J->c - 16 * g < 16 ? J->c - 16 * g : 16, taps = o->kh * o->kw;
    const float *bias = pithrt_cst(J->m, o->bias);
    if (J->f->s8) {
        const size_t per = (size_t)o->kh * ((o->kw + 3) / 4) * 64;
        J->K->dw_s8_c16((const int8_t *)J->x + 16 * g * hw, c, J->h, J->w, J->m->tensors[o->in[0]].zero_point, o->ph,
                        o->pw, o->sh, (const int8_t *)J->f->w + (size_t)g * per, &J->f->rq16[g], J->out, o->kh, o->kw,
                        J->oh, J->ow, J->scratch + (size_t)thread * J->stride, (int8_t *)J->y + 16 * g * ohw);
        return;
    }
    J->K->dw_f32_c16((const float *)J->x + 16 * g * hw, c, J->h, J->w, o->ph, o->pw, o->sh,
                     (const float *)J->f->w + (size_t)g * taps * 16, bias ? bias + 16 * g : NULL, o->kh, o->kw,
                     o->act, J->oh, J->ow, (float *)(void *)(J->scratch + (size_t)thread * J->stride),
                     (float *)J->y + 16 * g * ohw);
}

/* A channel laid out for shifted copies (ukernel.h): a padded plane at stride
 * 1, its four phase planes at stride 2; padding is the zero point or 0. */
#define DW_LAYOUT(NAME, T)                                                                                           \
    static void NAME(const T *x, int h, int w, int padh, int padw, int st, int hp, int wp, T fill, T *dst)           \
    {                                                                                                                \
        size_t plane = (size_t)hp * wp;                                                                              \
        for (size_t i = 0; i < (st == 1 ? 1 : 4) * plane; i++)                                                       \
            dst[i] = fill;                                                                                           \
        for (int i = 0; i < h; i++) {                                                                                \
            const T *src = x + (size_t)i * w;                                                                        \
            int yy = i + padh;                                                                                       \
            if (st == 1) {                                                                                           \
                memcpy(dst + (size_t)yy * wp + padw, src, (size_t)w * sizeof(T));                                    \
                continue;                                                                                            \
            }                                                                                                        \
            /* padded column xx = j + padw goes to phase plane (yy % 2, xx % 2), column xx / 2 */                    \
            T *even = dst + (size_t)(yy % 2) * 2 * plane + (size_t)(yy / 2) * wp;                                    \
            T *odd = even + plane;                                                                                   \
            int j = 0;                                                                                               \
            if (padw % 2) { /* column 0 is odd */                                                                    \
                odd[padw / 2] = src[0];                                                                              \
                j = 1;                                                                                               \
            }                                                                                                        \
            int c0 = (j + padw) / 2, pairs = (w - j) / 2;                                                            \
            for (int q = 0; q < pairs; q++) {                                                                        \
                even[c0 + q] = src[j + 2 * q];                                                                       \
                odd[c0 + q] = src[j + 2 * q + 1];                                                                    \
            }                                                                                                        \
            if (j + 2 * pairs < w)                                                                                   \
                even[c0 + pairs] = src[w - 1];                                                                       \
        }                                                                                                            \
    }
DW_LAYOUT(dw_layout_s8, int8_t)
DW_LAYOUT(dw_layout_f32, float)

/* The wide grid's input for a GEMM: each channel laid out like a depthwise
 * one (a padded plane, or four phase planes at stride 2), in shared scratch. */
static void pad_task(void *arg, int ch, int thread)
{
    const pithrt_job *J = arg;
    const pithrt_op *o = J->o;
    (void)thread;
    if (J->f->c4) /* task: four channels */
        J->K->s8_pad_c4((const int8_t *)J->x + (size_t)4 * ch * J->h * J->w, J->h, J->w, o->ph, o->pw, o->sh, J->hp,
                        J->wp, J->m->tensors[o->in[0]].zero_point, J->shared + (size_t)4 * ch * J->chan);
    else if (J->f->s8)
        dw_layout_s8((const int8_t *)J->x + (size_t)ch * J->h * J->w, J->h, J->w, o->ph, o->pw, o->sh, J->hp, J->wp,
                     (int8_t)J->m->tensors[o->in[0]].zero_point, (int8_t *)J->shared + (size_t)ch * J->chan);
    else /* PITHRT_B_PAD: a plain padded plane at any stride */
        dw_layout_f32((const float *)J->x + (size_t)ch * J->h * J->w, J->h, J->w, o->ph, o->pw,
                      J->f->mode == PITHRT_B_PAD ? 1 : o->sh, J->hp, J->wp, 0.0f,
                      (float *)(void *)J->shared + (size_t)ch * J->chan);
}

/* One depthwise channel: laid out, run on the wide grid, the first ow
 * outputs of each row kept. */
static void dw_task(void *arg, int ch, int thread)
{
    const pithrt_job *J = arg;
    const pithrt_op *o = J->o;
    const pithrt_fast_op *f = J->f;
    const int kk = o->kh * o->kw, st = o->sh, pw = J->w + 2 * o->pw, ph = J->h + 2 * o->ph;
    const int wp = st == 1 ? pw : (pw + 1) / 2, hp = st == 1 ? ph : (ph + 1) / 2;
    const int n = (J->oh * wp + 31) / 32 * 32; /* whole vectors; the extra outputs read slack and are dropped */
    const size_t esz = f->s8 ? 1 : sizeof(float), planes = (size_t)(st == 1 ? 1 : 4) * hp * wp;
    uint8_t *sc = J->scratch + (size_t)thread * J->stride;
    void *wide = sc + ((planes + (size_t)wp + 128) * esz + 63) / 64 * 64;
    if (f->s8 && J->K->dw_s8_quads) {
        const int8_t *xc = (const int8_t *)J->x + (size_t)ch * J->h * J->w;
        int32_t *acc = (int32_t *)(void *)(sc + ((size_t)ph * pw + 192 + 63) / 64 * 64);
        const int8_t *wq = (const int8_t *)f->w + (size_t)ch * o->kh * ((o->kw + 3) / 4) * 4;
        const size_t lda = (size_t)J->K->dw_s8_quads(xc, J->h, J->w, J->m->tensors[o->in[0]].zero_point, o->ph, o->pw,
                                                     st, wq, o->kh, o->kw, J->oh, J->ow, sc, acc);
        J->K->requant(acc, lda, J->ow, J->oh, &f->rq[ch], J->out, (int8_t *)J->y + (size_t)ch * J->oh * J->ow,
                      (size_t)J->ow);
    } else if (!f->s8 && J->K->dw_f32_rows) {
        const float *bias = pithrt_cst(J->m, o->bias);
        J->K->dw_f32_rows((const float *)J->x + (size_t)ch * J->h * J->w, J->h, J->w, o->ph, o->pw, st,
                          (const float *)f->w + (size_t)ch * kk, o->kh, o->kw, bias ? bias[ch] : 0.0f, o->act, J->oh,
                          J->ow, (float *)(void *)sc, (float *)J->y + (size_t)ch * J->oh * J->ow);
    } else if (f->s8) {
        int32_t *acc = wide;
        dw_layout_s8((const int8_t *)J->x + (size_t)ch * J->h * J->w, J->h, J->w, o->ph, o->pw, st, hp, wp,
                     (int8_t)J->m->tensors[o->in[0]].zero_point, (int8_t *)sc);
        J->K->dw_s8((const int8_t *)sc, f->offs, (const int8_t *)f->w + (size_t)ch * kk, kk, acc, n);
        int8_t *y = (int8_t *)J->y + (size_t)ch * J->oh * J->ow;
        J->K->requant(acc, (size_t)wp, J->ow, J->oh, &f->rq[ch], J->out, y, (size_t)J->ow);
    } else {
        const float *bias = pithrt_cst(J->m, o->bias);
        float *acc = wide, *y = (float *)J->y + (size_t)ch * J->oh * J->ow;
        dw_layout_f32((const float *)J->x + (size_t)ch * J->h * J->w, J->h, J->w, o->ph, o->pw, st, hp, wp, 0.0f,
                      (float *)(void *)sc);
        J->K->dw_f32((const float *)(void *)sc, f->offs, (const float *)f->w + (size_t)ch * kk, kk,
                     bias ? bias[ch] : 0.0f, o->act, acc, n);
        for (int i = 0; i < J->oh; i++)
            memcpy(y + (size_t)i * J->ow, acc + (size_t)i * wp, (size_t)J->ow * sizeof(float));
    }
}

#define FC_ROWS 64

static void fc_task(void *arg, int task, int thread)
{
    const pithrt_job *J = arg;
    const pithrt_fast_op *f = J->f;
    const int k = J->c, r0 = task * FC_ROWS, r1 = r0 + FC_ROWS < J->n ? r0 + FC_ROWS : J->n;
    (void)thread;
    if (f->s8) {
        for (int r = r0; r < r1; r++) {
            int32_t acc = J->K->dot_s8(J->x, (const int8_t *)f->w + (size_t)r * k, k);
            J->K->requant(&acc, 1, 1, 1, &f->rq[r], J->out, (int8_t *)J->y + r, 1);
        }
    } else {
        const float *bias = pithrt_cst(J->m, J->o->bias);
        for (int r = r0; r < r1; r++) {
            float v = J->K->dot_f32(J->x, (const float *)f->w + (size_t)r * k, k) + (bias ? bias[r] : 0.0f);
            ((float *)J->y)[r] = pithrt_apply_act(v, J->o->act);
        }
    }
}

/* Elementwise ops and max pooling, split in chunks over the threads; int8
 * bilinear resize and binary ops, one channel a task. */
#define EW_CHUNK 16384

typedef struct ew_job {
    const pithrt_model *m;
    const pithrt_op *o;
    uint8_t *arena;
    size_t n;
    pithrt_operand first, second; /* PITHRT_OP_BINARY */
    int32_t yd[3];
} ew_job;

static pithrt_qact qact_of(const pithrt_tensor *t)
{
    pithrt_qact q = {t->zero_point, t->qmin, t->qmax, t->scale};
    return q;
}

static void ew_task(void *arg, int task, int thread)
{
    const ew_job *E = arg;
    const pithrt_model *m = E->m;
    const pithrt_op *o = E->o;
    const pithrt_tensor *x = &m->tensors[o->in[0]], *y = &m->tensors[o->out];
    uint8_t *xp = E->arena + m->act_offset[o->in[0]], *yp = E->arena + m->act_offset[o->out];
    (void)thread;
    if (o->type == PITHRT_OP_RESIZE) { /* task: one channel */
        const size_t in = (size_t)x->dims[1] * x->dims[2], out = (size_t)y->dims[1] * y->dims[2];
        const float *sc = pithrt_cst(m, o->aux);
        if (x->dtype == PITHRT_S8)
            pithrt_resize_s8_c((const int8_t *)xp + task * in, qact_of(x), 1, x->dims[1], x->dims[2],
                               (int8_t *)yp + task * out, qact_of(y), y->dims[1], y->dims[2], o->flags, sc);
        else
            pithrt_resize_f32_c((const float *)(const void *)xp + task * in, 1, x->dims[1], x->dims[2],
                                (float *)(void *)yp + task * out, y->dims[1], y->dims[2], o->flags, sc);
        return;
    }
    if (o->type == PITHRT_OP_BINARY) {
        pithrt_binary_s8_c(o->flags & 3, &E->first, &E->second, (int8_t *)yp, qact_of(y), E->yd, o->act, task,
                           task + 1);
        return;
    }
    if (o->type == PITHRT_OP_MAXPOOL) { /* task: one channel */
        pithrt_geom g = {o->kh, o->kw, o->sh, o->sw, o->ph, o->pw, o->dh, o->dw, o->groups};
        size_t in = (size_t)x->dims[1] * x->dims[2], out = (size_t)y->dims[1] * y->dims[2];
        if (x->dtype == PITHRT_S8)
            m->kernels->maxpool_s8((const int8_t *)xp + task * in, 1, x->dims[1], x->dims[2], (int8_t *)yp + task * out,
                                y->dims[1], y->dims[2], &g);
        else
            m->kernels->maxpool_f32((const float *)(const void *)xp + task * in, 1, x->dims[1], x->dims[2],
                                 (float *)(void *)yp + task * out, y->dims[1], y->dims[2], &g);
        return;
    }
    size_t i0 = (size_t)task * EW_CHUNK, n = E->n - i0 < EW_CHUNK ? E->n - i0 : EW_CHUNK;
    if (o->type == PITHRT_OP_QUANTIZE) {
        m->kernels->quantize_s8((const float *)(const void *)xp + i0, (int8_t *)yp + i0, n, qact_of(y), o->act);
    } else if (x->dtype == PITHRT_F32) {
        const float *b = (const float *)(const void *)(E->arena + m->act_offset[o->in[1]]);
        m->kernels->add_f32((const float *)(const void *)xp + i0, b + i0, (float *)(void *)yp + i0, n, o->act);
    } else {
        const pithrt_tensor *b = &m->tensors[o->in[1]];
        const int8_t *bp = (const int8_t *)(E->arena + m->act_offset[o->in[1]]);
        m->kernels->add_s8((const int8_t *)xp + i0, qact_of(x), bp + i0, qact_of(b), (int8_t *)yp + i0, qact_of(y), n,
                           o->act);
    }
}

static int run_elementwise(const pithrt_model *m, const pithrt_op *o, uint8_t *arena, pithrt_pool *pool)
{
    const pithrt_tensor *x = &m->tensors[o->in[0]], *y = &m->tensors[o->out];
    ew_job E = {m, o, arena, pithrt_tensor_elems(y), {0}, {0}, {0}};
    if (o->type == PITHRT_OP_RESIZE && (x->dtype == PITHRT_F32 || (o->flags & 1) == PITHRT_RESIZE_LINEAR)) {
        pithrt_parallel(pool, x->dims[0], ew_task, &E);
    } else if (o->type == PITHRT_OP_BINARY && y->dtype == PITHRT_S8) {
        pithrt_binary_s8_operands(m, o, arena, &E.first, &E.second, E.yd);
        pithrt_parallel(pool, E.yd[0], ew_task, &E);
    } else if (o->type == PITHRT_OP_MAXPOOL && o->kw <= PITHRT_MAXPOOL_SPAN && !o->flags)
        pithrt_parallel(pool, x->dims[0], ew_task, &E);
    else if (o->type == PITHRT_OP_QUANTIZE || o->type == PITHRT_OP_ADD)
        pithrt_parallel(pool, (int)((E.n + EW_CHUNK - 1) / EW_CHUNK), ew_task, &E);
    else
        return 0;
    return 1;
}

int pithrt_fast_run(const pithrt_model *m, int k, uint8_t *arena, uint8_t *shared, uint8_t *scratch,
                    size_t scratch_stride, pithrt_pool *pool)
{
    if (!m->kernels || !m->fast)
        return 0;
    if (m->fast[k].kind == PITHRT_FAST_NONE)
        return run_elementwise(m, &m->ops[k], arena, pool);
    const pithrt_op *o = &m->ops[k];
    const pithrt_fast_op *f = &m->fast[k];
    const pithrt_tensor *x = &m->tensors[o->in[0]], *y = &m->tensors[o->out];
    pithrt_job J;
    memset(&J, 0, sizeof J);
    J.m = m;
    J.o = o;
    J.f = f;
    J.K = m->kernels;
    J.x = arena + m->act_offset[o->in[0]];
    J.y = arena + m->act_offset[o->out];
    J.mchunks = 1;
    J.shared = shared;
    J.scratch = scratch;
    J.stride = scratch_stride;
    J.out.zero_point = y->zero_point;
    J.out.qmin = y->qmin;
    J.out.qmax = y->qmax;
    int threads = pithrt_pool_threads(pool);
    if (f->kind == PITHRT_FAST_FC) {
        J.c = (int)pithrt_tensor_elems(x);
        J.n = (int)pithrt_tensor_elems(y);
        pithrt_parallel(pool, (J.n + FC_ROWS - 1) / FC_ROWS, fc_task, &J);
        return 1;
    }
    J.c = x->dims[0];
    J.h = x->dims[1];
    J.w = x->dims[2];
    J.oh = y->dims[1];
    J.ow = y->dims[2];
    J.n = J.oh * J.ow;
    if (f->kind == PITHRT_FAST_DW) {
        if (f->c16)
            pithrt_parallel(pool, (J.c + 15) / 16, dw16_task, &J);
        else
            pithrt_parallel(pool, J.c, dw_task, &J);
        return 1;
    }
    J.groups = o->groups;
    J.cg = J.c / o->groups;
    J.og = y->dims[0] / o->groups;
    J.cols = J.n;
    J.act = o->act;
    J.bias = f->s8 ? NULL : pithrt_cst(m, o->bias);
    if (f->wino) {
        /* the input padded once (zeros, and enough rows and columns for whole
         * 2x2 tiles), shared; then the fused blocks */
        J.th = (J.oh + 1) / 2;
        J.tw = (J.ow + 1) / 2;
        J.wp = 2 * J.tw + 2;
        J.hp = 2 * J.th + 2;
        J.chan = (size_t)J.hp * J.wp;
        pithrt_parallel(pool, J.c, pad_task, &J);
        const int blocks = (J.th + f->wrows - 1) / f->wrows;
        if (blocks < 2 * threads) {
            int want = (2 * threads + blocks - 1) / blocks;
            J.mchunks = want < f->mpanels ? want : f->mpanels;
        }
        pithrt_parallel(pool, blocks * J.mchunks, pithrt_wino_task, &J);
        return 1;
    }
    if (f->mode == PITHRT_B_WIDE) {
        const int pw = J.w + 2 * o->pw, ph = J.h + 2 * o->ph;
        J.wp = o->sh == 1 ? pw : (pw + 1) / 2;
        J.hp = o->sh == 1 ? ph : (ph + 1) / 2;
        J.chan = (size_t)(o->sh == 1 ? 1 : 4) * J.hp * J.wp;
        J.cols = J.oh * J.wp;
        pithrt_parallel(pool, f->c4 ? J.c / 4 : J.c, pad_task, &J);
    }
    if (f->mode == PITHRT_B_PAD) {
        J.wp = J.w + 2 * o->pw;
        J.hp = J.h + 2 * o->ph;
        J.chan = (size_t)J.hp * J.wp;
        pithrt_parallel(pool, J.c, pad_task, &J);
    }
    if (f->swap)
        J.cols = J.n;
    J.tiles = (J.cols + f->nc - 1) / f->nc;
    int jobs = J.tiles * J.groups;
    if (jobs < threads) {
        int want = (threads + jobs - 1) / jobs;
        J.mchunks = want < f->mpanels ? want : f->mpanels;
    }
    pithrt_parallel(pool, jobs * J.mchunks, !f->swap ? pithrt_gemm_task : f->s8 ? pithrt_swap_s8_task : pithrt_swap_f32_task, &J);
    return 1;
}
