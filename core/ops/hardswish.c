/* hardswish: y = x * relu6(x + 3) / 6 (MobileNetV3). */
#include "op_util.h"

static void hardswish_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    const float *x = c->x[0];
    float *y = nd->y;
#pragma omp parallel for schedule(static) if (n > PITH_OMP_MIN)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = v <= -3.0f ? 0.0f : v >= 3.0f ? v : v * (v + 3.0f) / 6.0f;
    }
}

static void hardswish_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const int ow = c->dx_overwrite[0];
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    const float *x = c->x[0], *dy = nd->dy;
    float *dx = c->dx[0];
    /* PyTorch's convention at the kinks: x < -3 -> 0, -3 <= x <= 3 -> x/3 + 1/2. */
#pragma omp parallel for schedule(static) if (n > PITH_OMP_MIN)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float d = v < -3.0f ? 0.0f : v <= 3.0f ? v / 3.0f + 0.5f : 1.0f;
        dx[i] = (ow ? 0.0f : dx[i]) + d * dy[i];
    }
}

const pith_op pith_op_hardswish = {
    .name = "hardswish", .min_in = 1, .max_in = 1,
    .shape = pith_shape_same, .forward = hardswish_forward, .backward = hardswish_backward, .overwrite_dx = 1,
};
