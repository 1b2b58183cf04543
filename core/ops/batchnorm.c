/* batchnorm over channels: 2d on CxHxW, 1d on features (a 1x1 plane).
 * Training normalises with the biased batch variance and updates the running
 * statistics with the unbiased one, as PyTorch does. Eval mode uses the
 * running statistics, and its backward is that of the fixed affine map. */
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

/* Saved for backward: xhat (N*C*HW) and per-channel inverse std. */
static size_t bn_workspace(const pith_node *nd, const pith_shape *in, int batch)
{
    (void)nd;
    return (pith_shape_size(in) * (size_t)batch + (size_t)in->d[0]) * sizeof(float);
}

static void bn_forward(pith_node *nd, const pith_ctx *c)
{
    bn_geom g = geom_of(&c->in[0], c->batch);
    const float *gamma = pith_param_value(&nd->params[0]);
    const float *beta = pith_param_value(&nd->params[1]);
    float *rm = nd->params[2].data, *rv = nd->params[3].data;
    float *xhat = nd->ws, *invstd = xhat + (size_t)g.n * g.c * g.hw;
    const float eps = nd->a.eps, mom = nd->a.momentum;
    const size_t m = (size_t)g.n * g.hw;
    const int training = c->training;
#pragma omp parallel for schedule(static) if (m * g.c > PITH_OMP_MIN)
    for (int ch = 0; ch < g.c; ch++) {
        float mean, var;
        if (training) {
            double s = 0.0, ss = 0.0;
            for (int n = 0; n < g.n; n++) {
                const float *xp = c->x[0] + ((size_t)n * g.c + ch) * g.hw;
                for (int p = 0; p < g.hw; p++)
                    s += xp[p];
            }
            mean = (float)(s / (double)m);
            for (int n = 0; n < g.n; n++) {
                const float *xp = c->x[0] + ((size_t)n * g.c + ch) * g.hw;
                for (int p = 0; p < g.hw; p++) {
                    double d = xp[p] - mean;
                    ss += d * d;
                }
            }
            var = (float)(ss / (double)m);
            float unbiased = m > 1 ? (float)(ss / (double)(m - 1)) : var;
            rm[ch] = (1.0f - mom) * rm[ch] + mom * mean;
            rv[ch] = (1.0f - mom) * rv[ch] + mom * unbiased;
        } else {
            mean = rm[ch];
            var = rv[ch];
        }
        float is = 1.0f / sqrtf(var + eps);
        invstd[ch] = is;
        for (int n = 0; n < g.n; n++) {
            size_t off = ((size_t)n * g.c + ch) * g.hw;
            const float *xp = c->x[0] + off;
            float *hp = xhat + off, *yp = nd->y + off;
            for (int p = 0; p < g.hw; p++) {
                float h = (xp[p] - mean) * is;
                hp[p] = h;
                yp[p] = gamma[ch] * h + beta[ch];
            }
        }
    }
}

static void bn_backward(pith_node *nd, const pith_ctx *c)
{
    bn_geom g = geom_of(&c->in[0], c->batch);
    const float *gamma = pith_param_value(&nd->params[0]);
    float *dgamma = nd->params[0].grad, *dbeta = nd->params[1].grad;
    const float *xhat = nd->ws, *invstd = xhat + (size_t)g.n * g.c * g.hw;
    const size_t m = (size_t)g.n * g.hw;
    const int training = c->training;
    float *dx = c->dx[0];
#pragma omp parallel for schedule(static) if (m * g.c > PITH_OMP_MIN)
    for (int ch = 0; ch < g.c; ch++) {
        double sdy = 0.0, sdyh = 0.0;
        for (int n = 0; n < g.n; n++) {
            size_t off = ((size_t)n * g.c + ch) * g.hw;
            const float *gp = nd->dy + off, *hp = xhat + off;
            for (int p = 0; p < g.hw; p++) {
                sdy += gp[p];
                sdyh += (double)gp[p] * hp[p];
            }
        }
        dgamma[ch] += (float)sdyh;
        dbeta[ch] += (float)sdy;
        if (!dx)
            continue;
        const float k = gamma[ch] * invstd[ch];
        const float mdy = training ? (float)(sdy / (double)m) : 0.0f;
        const float mdyh = training ? (float)(sdyh / (double)m) : 0.0f;
        for (int n = 0; n < g.n; n++) {
            size_t off = ((size_t)n * g.c + ch) * g.hw;
            const float *gp = nd->dy + off, *hp = xhat + off;
            float *dxp = dx + off;
            for (int p = 0; p < g.hw; p++)
                dxp[p] += k * (gp[p] - mdy - hp[p] * mdyh);
        }
    }
}

const pith_op pith_op_batchnorm = {
    .name = "batchnorm", .min_in = 1, .max_in = 1,
    .shape = bn_shape, .init = bn_init, .workspace = bn_workspace,
    .forward = bn_forward, .backward = bn_backward,
};
