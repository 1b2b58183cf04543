/* batchnorm over channels: 2d on CxHxW, 1d on features (a 1x1 plane).
 * Training normalises with the biased batch variance and updates the running
 * statistics with the unbiased one, as PyTorch does. Eval mode uses the
 * running statistics, and its backward is that of the fixed affine map.
 * Forward saves only the per-channel mean and 1/std; backward recomputes
 * x-hat from the input, which is cheaper than writing and re-reading it.
 * When the graph compiler fuses a following relu/relu6 into this node
 * (nd->fused_act), forward clamps its output and backward masks the incoming
 * gradient with that output, so the activation costs no pass of its own. */
#include <omp.h>

#include "op_util.h"

typedef struct bn_geom {
    int n, c, hw;
} bn_geom;

static bn_geom geom_of(const pith_shape *in, int batch)
{
    bn_geom g = {batch, in->d[0], in->ndim == 3 ? in->d[1] * in->d[2] : 1};
    return g;
}

static int bn_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    if (!(nd->a.eps > 0.0f) || !(nd->a.momentum >= 0.0f && nd->a.momentum <= 1.0f))
        return pith_error(PITH_EINVAL, "batchnorm '%s': eps must be > 0 and momentum in [0, 1]",
                          nd->name);
    if (nd->n_params) {
        for (int j = 0; j < 4; j++) {
            int rc = check_param_shape(nd, j, 1, &in[0].d[0]);
            if (rc)
                return rc;
        }
    }
    *out = in[0];
    return PITH_OK;
}

static int bn_init(pith_node *nd, const pith_shape *in, pith_rng *rng)
{
    (void)rng;
    const int *c = &in[0].d[0];
    pith_param *gamma = pith_node_new_param(nd, "weight", 1, c, 1);
    pith_param *beta = gamma ? pith_node_new_param(nd, "bias", 1, c, 1) : NULL;
    pith_param *rm = beta ? pith_node_new_param(nd, "running_mean", 1, c, 0) : NULL;
    pith_param *rv = rm ? pith_node_new_param(nd, "running_var", 1, c, 0) : NULL;
    if (!rv)
        return PITH_ENOMEM;
    for (int i = 0; i < *c; i++) {
        gamma->data[i] = 1.0f;
        rv->data[i] = 1.0f;
    }
    return PITH_OK;
}

/* Workspace: the planned thread count (first 64 bytes), then the per-channel
 * mean and inverse std saved for backward. */
#define BN_HEAD 16 /* floats */

static size_t bn_workspace(const pith_node *nd, const pith_shape *in, int batch)
{
    (void)nd;
    (void)batch;
    return (BN_HEAD + 2 * (size_t)in->d[0]) * sizeof(float);
}

static void bn_prepare(pith_node *nd, const pith_shape *in, int batch)
{
    (void)in;
    (void)batch;
    *(int *)nd->ws = omp_get_max_threads();
}

/* The fused activation passes the gradient where 0 < v (and v < 6 for relu6),
 * v = x * scale + shift computed exactly as in forward (this file is built
 * without floating-point contraction, so both compute the same v). */
static inline float pass(float x, float scale, float shift, float hi)
{
    float v = x * scale + shift;
    return (v > 0.0f && v < hi) ? 1.0f : 0.0f;
}

static void masked_sums(const float *restrict dy, const float *restrict x, int n, float scale,
                        float shift, int act, float *s1, float *s2)
{
    const float hi = act == 2 ? 6.0f : INFINITY;
    float a1[16] = {0}, a2[16] = {0};
    int p = 0;
    for (; p + 16 <= n; p += 16)
        for (int k = 0; k < 16; k++) {
            float g = pass(x[p + k], scale, shift, hi) != 0.0f ? dy[p + k] : 0.0f;
            a1[k] += g;
            a2[k] += g * x[p + k];
        }
    float t1 = 0.0f, t2 = 0.0f;
    for (; p < n; p++) {
        float g = pass(x[p], scale, shift, hi) != 0.0f ? dy[p] : 0.0f;
        t1 += g;
        t2 += g * x[p];
    }
    for (int k = 0; k < 16; k++) {
        t1 += a1[k];
        t2 += a2[k];
    }
    *s1 = t1;
    *s2 = t2;
}

static void masked_dx(const float *restrict dy, const float *restrict x, float *restrict dx, int n,
                      float scale, float shift, int act, float k, float a, float b, int overwrite)
{
    const float hi = act == 2 ? 6.0f : INFINITY;
    for (int p = 0; p < n; p++) {
        float g = pass(x[p], scale, shift, hi) != 0.0f ? dy[p] : 0.0f;
        float v = k * g - a * x[p] + b;
        dx[p] = overwrite ? v : dx[p] + v;
    }
}

/* 1-d inputs have one value per (sample, channel): a strided reduction. */
static void channel_stats(const float *x, bn_geom g, int ch, float *mean, float *var)
{
    const size_t m = (size_t)g.n * g.hw;
    double s = 0.0, ss = 0.0;
    for (int n = 0; n < g.n; n++) {
        const float *xp = x + ((size_t)n * g.c + ch) * g.hw;
        s += g.hw > 1 ? sum_f32(xp, g.hw) : xp[0];
    }
    float mu = (float)(s / (double)m);
    for (int n = 0; n < g.n; n++) {
        const float *xp = x + ((size_t)n * g.c + ch) * g.hw;
        ss += g.hw > 1 ? sum_sqdev_f32(xp, mu, g.hw) : (xp[0] - mu) * (xp[0] - mu);
    }
    *mean = mu;
    *var = (float)ss; /* sum of squared deviations; caller divides */
}

static void bn_forward(pith_node *nd, const pith_ctx *c)
{
    bn_geom g = geom_of(&c->in[0], c->batch);
    const float *gamma = pith_param_value(&nd->params[0]);
    const float *beta = pith_param_value(&nd->params[1]);
    float *rm = nd->params[2].data, *rv = nd->params[3].data;
    float *saved_mean = (float *)nd->ws + BN_HEAD, *saved_invstd = saved_mean + g.c;
    const float eps = nd->a.eps, mom = nd->a.momentum;
    const size_t m = (size_t)g.n * g.hw;
    const int training = c->training, act = nd->fused_act, nt = *(int *)nd->ws;
#pragma omp parallel for schedule(static) num_threads(nt) if (m * g.c > PITH_OMP_MIN)
    for (int ch = 0; ch < g.c; ch++) {
        float mean, var;
        if (training) {
            float ssd;
            channel_stats(c->x[0], g, ch, &mean, &ssd);
            var = (float)((double)ssd / (double)m);
            float unbiased = m > 1 ? (float)((double)ssd / (double)(m - 1)) : var;
            rm[ch] = (1.0f - mom) * rm[ch] + mom * mean;
            rv[ch] = (1.0f - mom) * rv[ch] + mom * unbiased;
        } else {
            mean = rm[ch];
            var = rv[ch];
        }
        float is = 1.0f / sqrtf(var + eps);
        saved_mean[ch] = mean;
        saved_invstd[ch] = is;
        const float scale = gamma[ch] * is, shift = beta[ch] - mean * scale;
        const float hi = act == 2 ? 6.0f : INFINITY;
        for (int n = 0; n < g.n; n++) {
            size_t off = ((size_t)n * g.c + ch) * g.hw;
            const float *xp = c->x[0] + off;
            float *yp = nd->y + off;
            if (act)
                for (int p = 0; p < g.hw; p++) {
                    float v = xp[p] * scale + shift;
                    v = v > 0.0f ? v : 0.0f;
                    yp[p] = v < hi ? v : hi;
                }
            else
                for (int p = 0; p < g.hw; p++)
                    yp[p] = xp[p] * scale + shift;
        }
    }
}

static void bn_backward(pith_node *nd, const pith_ctx *c)
{
    bn_geom g = geom_of(&c->in[0], c->batch);
    const float *gamma = pith_param_value(&nd->params[0]);
    const float *beta = pith_param_value(&nd->params[1]);
    float *dgamma = nd->params[0].grad, *dbeta = nd->params[1].grad;
    const float *saved_mean = (const float *)nd->ws + BN_HEAD, *saved_invstd = saved_mean + g.c;
    const size_t m = (size_t)g.n * g.hw;
    const int training = c->training;
    float *dx = c->dx[0];
    const int ow = c->dx_overwrite[0], act = nd->fused_act, nt = *(int *)nd->ws;
#pragma omp parallel for schedule(static) num_threads(nt) if (m * g.c > PITH_OMP_MIN)
    for (int ch = 0; ch < g.c; ch++) {
        const float mean = saved_mean[ch], is = saved_invstd[ch];
        const float scale = gamma[ch] * is, shift = beta[ch] - mean * scale;
        double sdy = 0.0, sdyx = 0.0;
        for (int n = 0; n < g.n; n++) {
            size_t off = ((size_t)n * g.c + ch) * g.hw;
            const float *gp = nd->dy + off, *xp = c->x[0] + off;
            if (act) {
                /* the fused activation's backward: its mask is recomputed from
                 * x with the forward's exact arithmetic, so y need not be read */
                float s1 = 0.0f, s2 = 0.0f;
                masked_sums(gp, xp, g.hw, scale, shift, act, &s1, &s2);
                sdy += s1;
                sdyx += s2;
            } else if (g.hw > 1) {
                sdy += sum_f32(gp, g.hw);
                sdyx += dot_f32(gp, xp, g.hw);
            } else {
                sdy += gp[0];
                sdyx += (double)gp[0] * xp[0];
            }
        }
        /* sum(dy * xhat) = is * (sum(dy * x) - mean * sum(dy)) */
        const double sdyh = is * (sdyx - mean * sdy);
        dgamma[ch] += (float)sdyh;
        dbeta[ch] += (float)sdy;
        if (!dx)
            continue;
        const float k = gamma[ch] * is;
        const float mdy = training ? (float)(sdy / (double)m) : 0.0f;
        const float mdyh = training ? (float)(sdyh / (double)m) : 0.0f;
        /* dx = k * (dy - mean(dy) - xhat * mean(dy * xhat)), xhat = (x - mean) * is */
        const float a = k * mdyh * is, b = -k * mdy + k * mdyh * is * mean;
        for (int n = 0; n < g.n; n++) {
            size_t off = ((size_t)n * g.c + ch) * g.hw;
            const float *gp = nd->dy + off, *xp = c->x[0] + off;
            float *dxp = dx + off;
            if (act) {
                masked_dx(gp, xp, dxp, g.hw, scale, shift, act, k, a, b, ow);
                continue;
            }
            if (ow)
                for (int p = 0; p < g.hw; p++)
                    dxp[p] = k * gp[p] - a * xp[p] + b;
            else
                for (int p = 0; p < g.hw; p++)
                    dxp[p] += k * gp[p] - a * xp[p] + b;
        }
    }
}

const pith_op pith_op_batchnorm = {
    .name = "batchnorm", .min_in = 1, .max_in = 1,
    .shape = bn_shape, .init = bn_init, .workspace = bn_workspace, .prepare = bn_prepare,
    .forward = bn_forward, .backward = bn_backward, .overwrite_dx = 1,
};
