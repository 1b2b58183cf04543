/* flatten: CxHxW -> C*H*W features in NCHW order (index c*H*W + h*W + w). */
#include "op_util.h"

static int flatten_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)nd;
    (void)n_in;
    out->ndim = 1;
    out->d[0] = (int)pith_shape_size(&in[0]);
    return PITH_OK;
}

static void flatten_forward(pith_node *nd, const pith_ctx *c)
{
    memcpy(nd->y, c->x[0], pith_shape_size(&c->in[0]) * (size_t)c->batch * sizeof(float));
}

static void flatten_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const int ow = c->dx_overwrite[0];
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    for (size_t i = 0; i < n; i++)
        c->dx[0][i] = (ow ? 0.0f : c->dx[0][i]) + nd->dy[i];
}

const pith_op pith_op_flatten = {
    .name = "flatten", .min_in = 1, .max_in = 1,
    .shape = flatten_shape, .forward = flatten_forward, .backward = flatten_backward, .overwrite_dx = 1,
};
