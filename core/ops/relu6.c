/* relu6: y = min(max(x, 0), 6). */
#include "op_util.h"

static void relu6_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    const float *x = c->x[0];
    float *y = nd->y;
#pragma omp parallel for schedule(static) if (n > PITH_OMP_MIN)
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? (x[i] < 6.0f ? x[i] : 6.0f) : 0.0f;
}

static void relu6_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const int ow = c->dx_overwrite[0];
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    const float *x = c->x[0], *dy = nd->dy;
    float *dx = c->dx[0];
#pragma omp parallel for schedule(static) if (n > PITH_OMP_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] = (ow ? 0.0f : dx[i]) + ((x[i] > 0.0f && x[i] < 6.0f) ? dy[i] : 0.0f);
}

const pith_op pith_op_relu6 = {
    .name = "relu6", .min_in = 1, .max_in = 1,
    .shape = pith_shape_same, .forward = relu6_forward, .backward = relu6_backward, .overwrite_dx = 1,
};
