/* global_maxpool: C x H x W -> C x 1 x 1, the maximum of each plane.
 * Backward routes the gradient to the plane's first maximum. */
#include "op_util.h"

static int gmax_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    if (in[0].ndim != 3)
        return pith_error(PITH_ESHAPE, "global_maxpool '%s': the input must be C x H x W", nd->name);
    *out = (pith_shape){3, {in[0].d[0], 1, 1}};
    return PITH_OK;
}

static size_t argmax(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static void gmax_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t planes = (size_t)c->batch * c->in[0].d[0], n = (size_t)c->in[0].d[1] * c->in[0].d[2];
    for (size_t p = 0; p < planes; p++)
        nd->y[p] = c->x[0][p * n + argmax(c->x[0] + p * n, n)];
}

static void gmax_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const size_t planes = (size_t)c->batch * c->in[0].d[0], n = (size_t)c->in[0].d[1] * c->in[0].d[2];
    for (size_t p = 0; p < planes; p++)
        c->dx[0][p * n + argmax(c->x[0] + p * n, n)] += nd->dy[p];
}

const pith_op pith_op_global_maxpool = {
    .name = "global_maxpool", .min_in = 1, .max_in = 1,
    .shape = gmax_shape, .forward = gmax_forward, .backward = gmax_backward,
};
