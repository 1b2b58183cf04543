/* conv2d: kernel, stride, padding, dilation, groups; optional bias.
 *
 * General case: the whole batch is unfolded (im2col) into one column matrix
 * per group, [C/g * kh * kw, N * OH * OW], so each group is a single SGEMM
 * with a long N dimension instead of N small ones. The columns are kept for
 * the weight gradient; backward reuses their storage for the input-gradient
 * columns. Depthwise (groups == C > 1) uses its own direct kernel. */
#include <cblas.h>

#include "conv2d_f32_depthwise.h"
#include "op_util.h"

typedef struct geom {
    int n, c, h, w, oc, oh, ow, groups, cg, ocg, kk, rows; /* rows = cg * kk */
    size_t ld;                                             /* n * oh * ow */
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
    g.groups = a->groups;
    g.cg = g.c / g.groups;
    g.ocg = g.oc / g.groups;
    g.kk = a->kh * a->kw;
    g.rows = g.cg * g.kk;
    g.ld = (size_t)batch * g.oh * g.ow;
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

static size_t conv_workspace(const pith_node *nd, const pith_shape *in, int batch)
{
    if (is_depthwise(nd, in))
        return 0;
    geom g = make_geom(nd, in, batch);
    return ((size_t)g.c * g.kk * g.ld + (size_t)g.oc * g.ld) * sizeof(float);
}

/* Columns for one image, rows [c * kk + ki * kw + kj], column n * OH * OW + p. */
static void im2col(const pith_attrs *a, const geom *g, const float *x, float *col)
{
    const int ohw = g->oh * g->ow;
#pragma omp parallel for collapse(2) schedule(static) if (g->ld * g->c > PITH_OMP_MIN)
    for (int n = 0; n < g->n; n++)
        for (int c = 0; c < g->c; c++) {
            const float *xp = x + ((size_t)n * g->c + c) * g->h * g->w;
            for (int ki = 0; ki < a->kh; ki++)
                for (int kj = 0; kj < a->kw; kj++) {
                    float *cp = col + ((size_t)c * g->kk + ki * a->kw + kj) * g->ld + (size_t)n * ohw;
                    for (int oh = 0; oh < g->oh; oh++) {
                        int ih = oh * a->sh - a->ph + ki * a->dh;
                        float *row = cp + oh * g->ow;
                        if (ih < 0 || ih >= g->h) {
                            memset(row, 0, (size_t)g->ow * sizeof(float));
                            continue;
                        }
                        const float *xr = xp + (size_t)ih * g->w;
                        int iw0 = -a->pw + kj * a->dw;
                        if (a->sw == 1 && iw0 >= 0 && iw0 + g->ow <= g->w) {
                            memcpy(row, xr + iw0, (size_t)g->ow * sizeof(float));
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

/* dx += fold(col); each (n, c) plane is written by one iteration only. */
static void col2im_add(const pith_attrs *a, const geom *g, const float *col, float *dx)
{
    const int ohw = g->oh * g->ow;
#pragma omp parallel for collapse(2) schedule(static) if (g->ld * g->c > PITH_OMP_MIN)
    for (int n = 0; n < g->n; n++)
        for (int c = 0; c < g->c; c++) {
            float *xp = dx + ((size_t)n * g->c + c) * g->h * g->w;
            for (int ki = 0; ki < a->kh; ki++)
                for (int kj = 0; kj < a->kw; kj++) {
                    const float *cp =
                        col + ((size_t)c * g->kk + ki * a->kw + kj) * g->ld + (size_t)n * ohw;
                    for (int oh = 0; oh < g->oh; oh++) {
                        int ih = oh * a->sh - a->ph + ki * a->dh;
                        if (ih < 0 || ih >= g->h)
                            continue;
                        const float *row = cp + oh * g->ow;
                        float *xr = xp + (size_t)ih * g->w;
                        for (int ow = 0; ow < g->ow; ow++) {
                            int iw = ow * a->sw - a->pw + kj * a->dw;
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

static void conv_forward(pith_node *nd, const pith_ctx *c)
{
    const float *w = pith_param_value(&nd->params[0]);
    const float *b = nd->a.bias ? pith_param_value(&nd->params[1]) : NULL;
    if (is_depthwise(nd, &c->in[0])) {
        pith_dw_geom d = dw_geom(nd, &c->in[0], c->batch);
        pith_conv2d_f32_depthwise_forward(&d, c->x[0], w, b, nd->y);
        return;
    }
    geom g = make_geom(nd, &c->in[0], c->batch);
    float *col = nd->ws;
    float *ycols = col + (size_t)g.c * g.kk * g.ld;
    im2col(&nd->a, &g, c->x[0], col);
    for (int gi = 0; gi < g.groups; gi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g.ocg, (int)g.ld, g.rows, 1.0f,
                    w + (size_t)gi * g.ocg * g.rows, g.rows, col + (size_t)gi * g.rows * g.ld,
                    (int)g.ld, 0.0f, ycols + (size_t)gi * g.ocg * g.ld, (int)g.ld);
    const int ohw = g.oh * g.ow;
#pragma omp parallel for collapse(2) schedule(static) if (g.ld * g.oc > PITH_OMP_MIN)
    for (int n = 0; n < g.n; n++)
        for (int o = 0; o < g.oc; o++) {
            const float *src = ycols + (size_t)o * g.ld + (size_t)n * ohw;
            float *dst = nd->y + ((size_t)n * g.oc + o) * ohw;
            float bias = b ? b[o] : 0.0f;
            for (int p = 0; p < ohw; p++)
                dst[p] = src[p] + bias;
        }
}

static void conv_backward(pith_node *nd, const pith_ctx *c)
{
    pith_param *wp = &nd->params[0];
    pith_param *bp = nd->a.bias ? &nd->params[1] : NULL;
    const float *w = pith_param_value(wp);
    if (is_depthwise(nd, &c->in[0])) {
        pith_dw_geom d = dw_geom(nd, &c->in[0], c->batch);
        pith_conv2d_f32_depthwise_backward(&d, c->x[0], w, nd->dy, c->dx[0], wp->grad,
                                           bp ? bp->grad : NULL);
        return;
    }
    geom g = make_geom(nd, &c->in[0], c->batch);
    float *col = nd->ws;
    float *dycols = col + (size_t)g.c * g.kk * g.ld;
    const int ohw = g.oh * g.ow;
#pragma omp parallel for collapse(2) schedule(static) if (g.ld * g.oc > PITH_OMP_MIN)
    for (int n = 0; n < g.n; n++)
        for (int o = 0; o < g.oc; o++)
            memcpy(dycols + (size_t)o * g.ld + (size_t)n * ohw, nd->dy + ((size_t)n * g.oc + o) * ohw,
                   (size_t)ohw * sizeof(float));
    if (bp) {
#pragma omp parallel for schedule(static) if (g.ld * g.oc > PITH_OMP_MIN)
        for (int o = 0; o < g.oc; o++) {
            const float *r = dycols + (size_t)o * g.ld;
            float s = 0.0f;
            for (size_t p = 0; p < g.ld; p++)
                s += r[p];
            bp->grad[o] += s;
        }
    }
    for (int gi = 0; gi < g.groups; gi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g.ocg, g.rows, (int)g.ld, 1.0f,
                    dycols + (size_t)gi * g.ocg * g.ld, (int)g.ld, col + (size_t)gi * g.rows * g.ld,
                    (int)g.ld, 1.0f, wp->grad + (size_t)gi * g.ocg * g.rows, g.rows);
    if (!c->dx[0])
        return;
    for (int gi = 0; gi < g.groups; gi++)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g.rows, (int)g.ld, g.ocg, 1.0f,
                    w + (size_t)gi * g.ocg * g.rows, g.rows, dycols + (size_t)gi * g.ocg * g.ld,
                    (int)g.ld, 0.0f, col + (size_t)gi * g.rows * g.ld, (int)g.ld);
    col2im_add(&nd->a, &g, col, c->dx[0]);
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
    .shape = conv_shape, .init = conv_init, .workspace = conv_workspace,
    .forward = conv_forward, .backward = conv_backward, .macs = conv_macs,
};
