/* linear: y = x W^T + b, x [N, in], W [out, in]. */
#include <cblas.h>

#include "op_util.h"

static int linear_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    if (in[0].ndim != 1)
        return pith_error(PITH_ESHAPE,
                          "linear '%s': input must be a feature vector (add a flatten), got %d dims",
                          nd->name, in[0].ndim);
    if (nd->a.out <= 0)
        return pith_error(PITH_EINVAL, "linear '%s': out features must be >= 1", nd->name);
    if (nd->n_params) {
        int ws[2] = {nd->a.out, in[0].d[0]};
        int rc = check_param_shape(nd, 0, 2, ws);
        if (!rc && nd->a.bias)
            rc = check_param_shape(nd, 1, 1, &nd->a.out);
        if (rc)
            return rc;
    }
    out->ndim = 1;
    out->d[0] = nd->a.out;
    return PITH_OK;
}

static int linear_init(pith_node *nd, const pith_shape *in, pith_rng *rng)
{
    int ws[2] = {nd->a.out, in[0].d[0]};
    pith_param *w = pith_node_new_param(nd, "weight", 2, ws, 1);
    if (!w)
        return PITH_ENOMEM;
    float bound = 1.0f / sqrtf((float)in[0].d[0]);
    pith_fill_uniform(w->data, w->size, bound, rng);
    if (nd->a.bias) {
        pith_param *b = pith_node_new_param(nd, "bias", 1, &nd->a.out, 1);
        if (!b)
            return PITH_ENOMEM;
        pith_fill_uniform(b->data, b->size, bound, rng);
    }
    return PITH_OK;
}

static void linear_forward(pith_node *nd, const pith_ctx *c)
{
    const int n = c->batch, fin = c->in[0].d[0], fout = nd->a.out;
    const float *w = pith_param_value(&nd->params[0]);
    float *y = nd->y;
    if (nd->a.bias) {
        const float *b = pith_param_value(&nd->params[1]);
        for (int i = 0; i < n; i++)
            memcpy(y + (size_t)i * fout, b, (size_t)fout * sizeof(float));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, fout, fin, 1.0f, c->x[0], fin, w, fin,
                nd->a.bias ? 1.0f : 0.0f, y, fout);
}

static void linear_backward(pith_node *nd, const pith_ctx *c)
{
    const int n = c->batch, fin = c->in[0].d[0], fout = nd->a.out;
    pith_param *wp = &nd->params[0];
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, fout, fin, n, 1.0f, nd->dy, fout, c->x[0],
                fin, 1.0f, wp->grad, fin);
    if (nd->a.bias) {
        float *db = nd->params[1].grad;
        for (int i = 0; i < n; i++) {
            const float *g = nd->dy + (size_t)i * fout;
            for (int o = 0; o < fout; o++)
                db[o] += g[o];
        }
    }
    if (c->dx[0])
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, fin, fout, 1.0f, nd->dy, fout,
                    pith_param_value(wp), fin, c->dx_overwrite[0] ? 0.0f : 1.0f, c->dx[0], fin);
}

static int64_t linear_macs(const pith_node *nd, const pith_shape *in)
{
    return (int64_t)nd->a.out * in[0].d[0];
}

const pith_op pith_op_linear = {
    .name = "linear", .min_in = 1, .max_in = 1,
    .shape = linear_shape, .init = linear_init,
    .forward = linear_forward, .backward = linear_backward, .overwrite_dx = 1, .macs = linear_macs,
};
