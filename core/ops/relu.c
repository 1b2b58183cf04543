/* relu: y = max(x, 0). */
#include "op_util.h"

static void relu_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    const float *x = c->x[0];
    float *y = nd->y;
#pragma omp parallel for schedule(static) if (n > PITH_OMP_MIN)
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void relu_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const int ow = c->dx_overwrite[0];
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    const float *x = c->x[0], *dy = nd->dy;
    float *dx = c->dx[0];
#pragma omp parallel for schedule(static) if (n > PITH_OMP_MIN)
    for (size_t i = 0; i < n; i++)
        dx[i] = (ow ? 0.0f : dx[i]) + (x[i] > 0.0f ? dy[i] : 0.0f);
}

const pith_op pith_op_relu = {
    .name = "relu", .min_in = 1, .max_in = 1,
    .shape = pith_shape_same, .forward = relu_forward, .backward = relu_backward, .overwrite_dx = 1,
};
