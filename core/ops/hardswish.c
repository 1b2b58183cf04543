/* hardswish: y = x * relu6(x + 3) / 6 (MobileNetV3). */
#include "op_util.h"

static void hardswish_forward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_ew_args *a = arg;
    for (size_t i = lo; i < hi; i++) {
        float v = a->x[i];
        a->y[i] = v <= -3.0f ? 0.0f : v >= 3.0f ? v : v * (v + 3.0f) / 6.0f;
    }
}

static void hardswish_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    pith_ew_args a = {.x = c->x[0], .y = nd->y};
    pith_parallel_for(n, PITH_GRAIN, hardswish_forward_range, &a);
}

/* PyTorch's convention at the kinks: x < -3 -> 0, -3 <= x <= 3 -> x/3 + 1/2. */
static void hardswish_backward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_ew_args *a = arg;
    for (size_t i = lo; i < hi; i++) {
        float v = a->x[i];
        float d = v < -3.0f ? 0.0f : v <= 3.0f ? v / 3.0f + 0.5f : 1.0f;
        a->dx[i] = (a->ow ? 0.0f : a->dx[i]) + d * a->dy[i];
    }
}

static void hardswish_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    pith_ew_args a = {.x = c->x[0], .dy = nd->dy, .dx = c->dx[0], .ow = c->dx_overwrite[0]};
    pith_parallel_for(n, PITH_GRAIN, hardswish_backward_range, &a);
}

const pith_op pith_op_hardswish = {
    .name = "hardswish", .min_in = 1, .max_in = 1,
    .shape = pith_shape_same, .forward = hardswish_forward, .backward = hardswish_backward, .overwrite_dx = 1,
};
