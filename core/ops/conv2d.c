/* conv2d: kernel, stride, padding, dilation, groups; optional bias.
 *
 * General case: im2col + SGEMM one image at a time, images spread over the
 * workbench's threads. Each thread's columns stay in its cache (a batch-wide
 * column matrix does not, and moving it through memory cost more than the
 * GEMM). Depthwise (groups == C > 1) uses its own direct kernel. */
#include <cblas.h>

#include "conv2d_f32_depthwise.h"
#include "op_util.h"

typedef struct geom {
    int n, c, h, w, oc, oh, ow, ohw, groups, cg, ocg, kk, rows; /* rows = cg * kk */
} geom;

static geom make_geom(const pith_node *nd, const pith_shape *in, int batch)
{
    const pith_attrs *a = &nd->a;
    geom g;
    g.n = batch;
    g.c = in->d[0];
    g.h = in->d[1];
    g.w = in->d[2];
    g.oc = a->out;
    g.oh = conv_out_dim(g.h, a->kh, a->sh, a->ph, a->dh);
    g.ow = conv_out_dim(g.w, a->kw, a->sw, a->pw, a->dw);
    g.ohw = g.oh * g.ow;
    g.groups = a->groups;
    g.cg = g.c / g.groups;
    g.ocg = g.oc / g.groups;
    g.kk = a->kh * a->kw;
    g.rows = g.cg * g.kk;
    return g;
}

static int is_depthwise(const pith_node *nd, const pith_shape *in)
{
    return nd->a.groups > 1 && nd->a.groups == in->d[0];
}

static int conv_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    const pith_attrs *a = &nd->a;
    if (in[0].ndim != 3)
        return pith_error(PITH_ESHAPE, "conv2d '%s': input must be CxHxW, got %d dims", nd->name,
                          in[0].ndim);
    if (a->out <= 0 || a->kh <= 0 || a->kw <= 0 || a->sh <= 0 || a->sw <= 0 || a->dh <= 0 ||
        a->dw <= 0 || a->ph < 0 || a->pw < 0 || a->groups <= 0)
        return pith_error(PITH_EINVAL,
                          "conv2d '%s': out, kernel, stride, dilation and groups must be >= 1 and "
                          "padding >= 0",
                          nd->name);
    if (in[0].d[0] % a->groups || a->out % a->groups)
        return pith_error(PITH_ESHAPE,
                          "conv2d '%s': groups=%d must divide input channels (%d) and output "
                          "channels (%d)",
                          nd->name, a->groups, in[0].d[0], a->out);
    int oh = conv_out_dim(in[0].d[1], a->kh, a->sh, a->ph, a->dh);
    int ow = conv_out_dim(in[0].d[2], a->kw, a->sw, a->pw, a->dw);
    if (oh <= 0 || ow <= 0)
        return pith_error(PITH_ESHAPE, "conv2d '%s': a %dx%d input is too small for this kernel",
                          nd->name, in[0].d[1], in[0].d[2]);
    if (nd->n_params) {
        int ws[4] = {a->out, in[0].d[0] / a->groups, a->kh, a->kw};
        int rc = check_param_shape(nd, 0, 4, ws);
        if (!rc && a->bias)
            rc = check_param_shape(nd, 1, 1, &a->out);
        if (rc)
            return rc;
    }
    out->ndim = 3;
    out->d[0] = a->out;
    out->d[1] = oh;
    out->d[2] = ow;
    return PITH_OK;
}

static int conv_init(pith_node *nd, const pith_shape *in, pith_rng *rng)
{
    const pith_attrs *a = &nd->a;
    int ws[4] = {a->out, in[0].d[0] / a->groups, a->kh, a->kw};
    pith_param *w = pith_node_new_param(nd, "weight", 4, ws, 1);
    if (!w)
        return PITH_ENOMEM;
    /* PyTorch's default: kaiming_uniform(a=sqrt(5)) gives U(+-1/sqrt(fan_in)). */
    float bound = 1.0f / sqrtf((float)(ws[1] * ws[2] * ws[3]));
    pith_fill_uniform(w->data, w->size, bound, rng);
    if (a->bias) {
        pith_param *b = pith_node_new_param(nd, "bias", 1, &a->out, 1);
        if (!b)
            return PITH_ENOMEM;
        pith_fill_uniform(b->data, b->size, bound, rng);
    }
    return PITH_OK;
}

/* Workspace: a header with the thread count fixed at compile time; per
 * thread, scratch for one image's columns [c * kk, oh * ow] and its output
 * gradient transposed [oh * ow, oc]; then per image chunk a partial gradient
 * of the weights (as [oc, rows], or transposed per group [rows, oc / groups])
 * and bias. Backward hands chunks to threads dynamically (the VM's cores do
 * not run at an even pace) and sums the chunk partials in chunk order, so the
 * result does not depend on the thread count or on who took which chunk. */
#define CONV_CHUNKS 16

typedef struct ws_layout {
    int threads, chunks;
    size_t col, dyt, scratch, dw; /* floats */
} ws_layout;

static ws_layout layout_of(const geom *g, int threads)
{
    ws_layout l;
    l.threads = threads;
    l.chunks = g->n < CONV_CHUNKS ? g->n : CONV_CHUNKS;
    l.col = ((size_t)g->c * g->kk * g->ohw + 15) & ~(size_t)15;
    l.dyt = ((size_t)g->ohw * g->oc + 15) & ~(size_t)15;
    l.scratch = l.col + l.dyt;
    l.dw = (((size_t)g->oc * g->rows + g->oc) + 15) & ~(size_t)15;
    return l;
}

static size_t conv_workspace(const pith_node *nd, const pith_shape *in, int batch)
{
    if (is_depthwise(nd, in))
        return 0;
    geom g = make_geom(nd, in, batch);
    ws_layout l = layout_of(&g, pith_get_threads());
    return 64 + ((size_t)l.threads * l.scratch + (size_t)l.chunks * l.dw) * sizeof(float);
}

static void conv_prepare(pith_node *nd, const pith_shape *in, int batch)
{
    (void)batch;
    if (!is_depthwise(nd, in))
        *(int *)nd->ws = pith_get_threads();
}

static float *thread_block(void *ws, const ws_layout *l, int t)
{
    return (float *)((char *)ws + 64) + (size_t)t * l->scratch;
}

static float *chunk_partial(void *ws, const ws_layout *l, int q)
{
    return (float *)((char *)ws + 64) + (size_t)l->threads * l->scratch + (size_t)q * l->dw;
}

/* Stride 1 with output width == input width ("same" padding): each (c, ki, kj)
 * block is the input plane shifted by a constant offset, so it is one
 * contiguous copy over the rows that exist, after which the columns that
 * wrapped around a row edge are zeroed. */
static int is_shift(const pith_attrs *a, const geom *g)
{
    return a->sh == 1 && a->sw == 1 && g->ow == g->w;
}

/* Valid output rows [*r0, *r1) and columns [*lo, *hi) of block (ki, kj). */
static void shift_bounds(const pith_attrs *a, const geom *g, int ki, int kj, int *r0, int *r1,
                         int *lo, int *hi)
{
    const int dy = ki * a->dh - a->ph, dx = kj * a->dw - a->pw;
    *r0 = dy < 0 ? -dy : 0;
    *r1 = g->h - dy < g->oh ? g->h - dy : g->oh;
    *lo = dx < 0 ? -dx : 0;
    *hi = g->w - dx < g->ow ? g->w - dx : g->ow;
    if (*r1 < *r0)
        *r1 = *r0;
    if (*hi < *lo)
        *hi = *lo;
}

static void im2col_shift(const pith_attrs *a, const geom *g, const float *restrict x,
                         float *restrict col)
{
    const int w = g->w;
    for (int c = 0; c < g->c; c++) {
        const float *xp = x + (size_t)c * g->h * w;
        for (int ki = 0; ki < a->kh; ki++)
            for (int kj = 0; kj < a->kw; kj++) {
                float *cp = col + ((size_t)c * g->kk + ki * a->kw + kj) * g->ohw;
                int r0, r1, lo, hi;
                shift_bounds(a, g, ki, kj, &r0, &r1, &lo, &hi);
                const long off = (long)(ki * a->dh - a->ph) * w + (kj * a->dw - a->pw);
                for (int f = 0; f < r0 * w; f++)
                    cp[f] = 0.0f;
                /* flat copy of rows r0..r1; the source stays inside the plane
                 * except at the wrapped columns, which are clipped here */
                int f0 = r0 * w + lo, f1 = (r1 - 1) * w + hi;
                for (int f = r0 * w; f < f0; f++)
                    cp[f] = 0.0f;
                for (int f = f0; f < f1; f++)
                    cp[f] = xp[f + off];
                for (int f = f1 < r0 * w ? r0 * w : f1; f < g->ohw; f++)
                    cp[f] = 0.0f;
                for (int r = r0; r < r1; r++) {
                    for (int q = 0; q < lo; q++)
                        cp[r * w + q] = 0.0f;
                    for (int q = hi; q < w; q++)
                        cp[r * w + q] = 0.0f;
                }
            }
    }
}

static void col2im_shift_add(const pith_attrs *a, const geom *g, float *restrict col,
                             float *restrict dx)
{
    const int w = g->w;
    for (int c = 0; c < g->c; c++) {
        float *xp = dx + (size_t)c * g->h * w;
        for (int ki = 0; ki < a->kh; ki++)
            for (int kj = 0; kj < a->kw; kj++) {
                float *cp = col + ((size_t)c * g->kk + ki * a->kw + kj) * g->ohw;
                int r0, r1, lo, hi;
                shift_bounds(a, g, ki, kj, &r0, &r1, &lo, &hi);
                if (r1 <= r0 || hi <= lo)
                    continue;
                const long off = (long)(ki * a->dh - a->ph) * w + (kj * a->dw - a->pw);
                /* columns that would wrap onto the neighbouring row carry no gradient */
                for (int r = r0; r < r1; r++) {
                    for (int q = 0; q < lo; q++)
                        cp[r * w + q] = 0.0f;
                    for (int q = hi; q < w; q++)
                        cp[r * w + q] = 0.0f;
                }
                const int f0 = r0 * w + lo, f1 = (r1 - 1) * w + hi;
                for (int f = f0; f < f1; f++)
                    xp[f + off] += cp[f];
            }
    }
}

/* Columns of one image: row c * kk + ki * kw + kj, column oh * OW + ow.
 * Rows are short (a 14-pixel row is 56 bytes), so copies are plain loops the
 * compiler vectorises, not memcpy/memset calls. */
static void im2col(const pith_attrs *a, const geom *g, const float *restrict x,
                   float *restrict col)
{
    if (is_shift(a, g)) {
        im2col_shift(a, g, x, col);
        return;
    }
    for (int c = 0; c < g->c; c++) {
        const float *xp = x + (size_t)c * g->h * g->w;
        for (int ki = 0; ki < a->kh; ki++)
            for (int kj = 0; kj < a->kw; kj++) {
                float *cp = col + ((size_t)c * g->kk + ki * a->kw + kj) * g->ohw;
                const int iw0 = -a->pw + kj * a->dw;
                /* stride 1: valid outputs are lo <= ow < hi */
                int lo = iw0 < 0 ? -iw0 : 0, hi = g->w - iw0 < g->ow ? g->w - iw0 : g->ow;
                if (hi < lo)
                    hi = lo;
                for (int oh = 0; oh < g->oh; oh++) {
                    const int ih = oh * a->sh - a->ph + ki * a->dh;
                    float *row = cp + oh * g->ow;
                    if (ih < 0 || ih >= g->h) {
                        for (int ow = 0; ow < g->ow; ow++)
                            row[ow] = 0.0f;
                        continue;
                    }
                    const float *xr = xp + (size_t)ih * g->w;
                    if (a->sw == 1) {
                        for (int ow = 0; ow < lo; ow++)
                            row[ow] = 0.0f;
                        for (int ow = lo; ow < hi; ow++)
                            row[ow] = xr[iw0 + ow];
                        for (int ow = hi; ow < g->ow; ow++)
                            row[ow] = 0.0f;
                        continue;
                    }
                    for (int ow = 0; ow < g->ow; ow++) {
                        int iw = ow * a->sw + iw0;
                        row[ow] = (iw >= 0 && iw < g->w) ? xr[iw] : 0.0f;
                    }
                }
            }
    }
}

/* dx += fold(col) for one image (col is scratch: the shift path clears parts of it). */
static void col2im_add(const pith_attrs *a, const geom *g, float *restrict col,
                       float *restrict dx)
{
    if (is_shift(a, g)) {
        col2im_shift_add(a, g, col, dx);
        return;
    }
    for (int c = 0; c < g->c; c++) {
        float *xp = dx + (size_t)c * g->h * g->w;
        for (int ki = 0; ki < a->kh; ki++)
            for (int kj = 0; kj < a->kw; kj++) {
                const float *cp = col + ((size_t)c * g->kk + ki * a->kw + kj) * g->ohw;
                const int iw0 = -a->pw + kj * a->dw;
                const int lo = iw0 < 0 ? -iw0 : 0, hi = g->w - iw0 < g->ow ? g->w - iw0 : g->ow;
                for (int oh = 0; oh < g->oh; oh++) {
                    const int ih = oh * a->sh - a->ph + ki * a->dh;
                    if (ih < 0 || ih >= g->h)
                        continue;
                    const float *row = cp + oh * g->ow;
                    float *xr = xp + (size_t)ih * g->w;
                    if (a->sw == 1) {
                        for (int ow = lo; ow < hi; ow++)
                            xr[iw0 + ow] += row[ow];
                        continue;
                    }
                    for (int ow = 0; ow < g->ow; ow++) {
                        int iw = ow * a->sw + iw0;
                        if (iw >= 0 && iw < g->w)
                            xr[iw] += row[ow];
                    }
                }
            }
    }
}

static pith_dw_geom dw_geom(const pith_node *nd, const pith_shape *in, int batch)
{
    const pith_attrs *a = &nd->a;
    pith_dw_geom d = {batch, in->d[0], in->d[1], in->d[2], a->out / in->d[0],
                      conv_out_dim(in->d[1], a->kh, a->sh, a->ph, a->dh),
                      conv_out_dim(in->d[2], a->kw, a->sw, a->pw, a->dw),
                      a->kh, a->kw, a->sh, a->sw, a->ph, a->pw, a->dh, a->dw};
    return d;
}

/* One image's forward: im2col into this thread's columns, one GEMM per group. */
static void conv_forward_image(void *arg, int n, int thread)
{
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    const float *w = pith_param_value(&nd->params[0]);
    const float *b = nd->a.bias ? pith_param_value(&nd->params[1]) : NULL;
    const geom g = make_geom(nd, &c->in[0], c->batch);
    const ws_layout l = layout_of(&g, *(int *)nd->ws);
    float *col = thread_block(nd->ws, &l, thread);
    im2col(&nd->a, &g, c->x[0] + (size_t)n * g.c * g.h * g.w, col);
    float *yn = nd->y + (size_t)n * g.oc * g.ohw;
    for (int gi = 0; gi < g.groups; gi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.ocg, g.ohw, g.rows, 1.0f,
                    w + (size_t)gi * g.ocg * g.rows, g.rows, col + (size_t)gi * g.rows * g.ohw, g.ohw,
                    0.0f, yn + (size_t)gi * g.ocg * g.ohw, g.ohw);
    if (b)
        for (int o = 0; o < g.oc; o++) {
            float *yp = yn + (size_t)o * g.ohw;
            for (int p = 0; p < g.ohw; p++)
                yp[p] += b[o];
        }
}

static void conv_forward(pith_node *nd, const pith_ctx *c)
{
    const float *w = pith_param_value(&nd->params[0]);
    const float *b = nd->a.bias ? pith_param_value(&nd->params[1]) : NULL;
    if (is_depthwise(nd, &c->in[0])) {
        pith_dw_geom d = dw_geom(nd, &c->in[0], c->batch);
        pith_conv2d_f32_depthwise_forward(&d, c->x[0], w, b, nd->y);
        return;
    }
    /* each image is independent: any thread may take it */
    pith_op_call call = {nd, c};
    pith_parallel(c->batch, *(int *)nd->ws, conv_forward_image, &call);
}

/* One chunk of images' backward: its own partial weight and bias gradient
 * (summed in chunk order afterwards), and the images' input gradients. */
static void conv_backward_chunk(void *arg, int q, int thread)
{
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    const int has_bias = nd->a.bias;
    const float *w = pith_param_value(&nd->params[0]);
    const geom g = make_geom(nd, &c->in[0], c->batch);
    const ws_layout l = layout_of(&g, *(int *)nd->ws);
    const size_t nw = (size_t)g.oc * g.rows;
    const int transposed = g.rows >= g.ocg;
    float *dx = c->dx[0];
    float *col = thread_block(nd->ws, &l, thread);
    float *dyt = col + l.col;
    float *dwt = chunk_partial(nd->ws, &l, q), *db = dwt + nw;
    memset(dwt, 0, (nw + g.oc) * sizeof(float));
    const int first = (int)((long)g.n * q / l.chunks), last = (int)((long)g.n * (q + 1) / l.chunks);
    for (int n = first; n < last; n++) {
        const float *dyn = nd->dy + (size_t)n * g.oc * g.ohw;
        /* The columns are recomputed: cheaper than keeping a batch of them. */
        im2col(&nd->a, &g, c->x[0] + (size_t)n * g.c * g.h * g.w, col);
        if (transposed) {
            /* dW^T = col x dY^T is a plain (NN) product, which OpenBLAS
             * runs about 1.5x faster than dW = dY x col^T when the
             * columns have more rows than the group has output channels. */
            for (int o = 0; o < g.oc; o++)
                for (int p = 0; p < g.ohw; p++)
                    dyt[(size_t)p * g.oc + o] = dyn[(size_t)o * g.ohw + p];
            for (int gi = 0; gi < g.groups; gi++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.rows, g.ocg, g.ohw, 1.0f,
                            col + (size_t)gi * g.rows * g.ohw, g.ohw, dyt + (size_t)gi * g.ocg, g.oc,
                            1.0f, dwt + (size_t)gi * g.rows * g.ocg, g.ocg);
        } else {
            for (int gi = 0; gi < g.groups; gi++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.ocg, g.rows, g.ohw, 1.0f,
                            dyn + (size_t)gi * g.ocg * g.ohw, g.ohw, col + (size_t)gi * g.rows * g.ohw,
                            g.ohw, 1.0f, dwt + (size_t)gi * g.ocg * g.rows, g.rows);
        }
        if (has_bias)
            for (int o = 0; o < g.oc; o++)
                db[o] += sum_f32(dyn + (size_t)o * g.ohw, g.ohw);
        if (dx) {
            for (int gi = 0; gi < g.groups; gi++)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.rows, g.ohw, g.ocg, 1.0f,
                            w + (size_t)gi * g.ocg * g.rows, g.rows, dyn + (size_t)gi * g.ocg * g.ohw,
                            g.ohw, 0.0f, col + (size_t)gi * g.rows * g.ohw, g.ohw);
            col2im_add(&nd->a, &g, col, dx + (size_t)n * g.c * g.h * g.w);
        }
    }
}

/* Sums the chunk partials in chunk order into the gradients: i indexes the
 * weight gradient [oc, rows], then the bias; the transposed partials are per
 * group [rows, oc / groups]. */
static void conv_sum_partials(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const geom g = make_geom(nd, &call->c->in[0], call->c->batch);
    const ws_layout l = layout_of(&g, *(int *)nd->ws);
    const size_t nw = (size_t)g.oc * g.rows;
    const int transposed = g.rows >= g.ocg;
    float *dw = nd->params[0].grad, *db = nd->a.bias ? nd->params[1].grad : NULL;
    for (size_t i = lo; i < hi; i++) {
        size_t src = i;
        if (i < nw && transposed) {
            size_t o = i / (size_t)g.rows, r = i % (size_t)g.rows;
            size_t gi = o / (size_t)g.ocg, og = o % (size_t)g.ocg;
            src = gi * (size_t)g.rows * g.ocg + r * (size_t)g.ocg + og;
        }
        float s = 0.0f;
        for (int q = 0; q < l.chunks; q++)
            s += chunk_partial(nd->ws, &l, q)[src];
        if (i < nw)
            dw[i] += s;
        else if (db)
            db[i - nw] += s;
    }
}

static void conv_backward(pith_node *nd, const pith_ctx *c)
{
    pith_param *wp = &nd->params[0];
    pith_param *bp = nd->a.bias ? &nd->params[1] : NULL;
    if (is_depthwise(nd, &c->in[0])) {
        pith_dw_geom d = dw_geom(nd, &c->in[0], c->batch);
        pith_conv2d_f32_depthwise_backward(&d, c->x[0], pith_param_value(wp), nd->dy, c->dx[0], wp->grad,
                                           bp ? bp->grad : NULL);
        return;
    }
    const geom g = make_geom(nd, &c->in[0], c->batch);
    const ws_layout l = layout_of(&g, *(int *)nd->ws);
    pith_op_call call = {nd, c};
    pith_parallel(l.chunks, l.threads, conv_backward_chunk, &call);
    pith_parallel_for((size_t)g.oc * g.rows + (size_t)g.oc, PITH_GRAIN, conv_sum_partials, &call);
}

static int64_t conv_macs(const pith_node *nd, const pith_shape *in)
{
    const pith_attrs *a = &nd->a;
    int64_t oh = conv_out_dim(in[0].d[1], a->kh, a->sh, a->ph, a->dh);
    int64_t ow = conv_out_dim(in[0].d[2], a->kw, a->sw, a->pw, a->dw);
    return (int64_t)a->out * oh * ow * (in[0].d[0] / a->groups) * a->kh * a->kw;
}

const pith_op pith_op_conv2d = {
    .name = "conv2d", .min_in = 1, .max_in = 1,
    .shape = conv_shape, .init = conv_init, .workspace = conv_workspace, .prepare = conv_prepare,
    .forward = conv_forward, .backward = conv_backward, .macs = conv_macs,
};
