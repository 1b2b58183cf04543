/* concat: joins inputs along channels (CxHxW) or features (1-d). */
#include "op_util.h"

static int concat_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    *out = in[0];
    for (int j = 1; j < n_in; j++) {
        int ok = in[j].ndim == in[0].ndim;
        for (int k = 1; ok && k < in[0].ndim; k++)
            ok = in[j].d[k] == in[0].d[k];
        if (!ok) {
            char a[48], b[48];
            pith_shape_format(&in[0], a, sizeof a);
            pith_shape_format(&in[j], b, sizeof b);
            return pith_error(PITH_ESHAPE,
                              "concat '%s': input %d is %s, which cannot join input 0 (%s) along "
                              "channels",
                              nd->name, j, b, a);
        }
        out->d[0] += in[j].d[0];
    }
    return PITH_OK;
}

static void concat_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t out_sz = pith_shape_size(&nd->out);
    for (int n = 0; n < c->batch; n++) {
        size_t off = 0;
        for (int j = 0; j < c->n_in; j++) {
            size_t sz = pith_shape_size(&c->in[j]);
            memcpy(nd->y + n * out_sz + off, c->x[j] + n * sz, sz * sizeof(float));
            off += sz;
        }
    }
}

static void concat_backward(pith_node *nd, const pith_ctx *c)
{
    const size_t out_sz = pith_shape_size(&nd->out);
    for (int n = 0; n < c->batch; n++) {
        size_t off = 0;
        for (int j = 0; j < c->n_in; j++) {
            size_t sz = pith_shape_size(&c->in[j]);
            if (c->dx[j]) {
                float *dx = c->dx[j] + n * sz;
                const float *g = nd->dy + n * out_sz + off;
                for (size_t i = 0; i < sz; i++)
                    dx[i] += g[i];
            }
            off += sz;
        }
    }
}

const pith_op pith_op_concat = {
    .name = "concat", .min_in = 2, .max_in = PITH_MAX_INPUTS,
    .shape = concat_shape, .forward = concat_forward, .backward = concat_backward,
};
