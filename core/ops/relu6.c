/* relu6: y = min(max(x, 0), 6). */
#include "op_util.h"

static void relu6_forward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_ew_args *a = arg;
    for (size_t i = lo; i < hi; i++)
        a->y[i] = a->x[i] > 0.0f ? (a->x[i] < 6.0f ? a->x[i] : 6.0f) : 0.0f;
}

static void relu6_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    pith_ew_args a = {.x = c->x[0], .y = nd->y};
    pith_parallel_for(n, PITH_GRAIN, relu6_forward_range, &a);
}

static void relu6_backward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_ew_args *a = arg;
    for (size_t i = lo; i < hi; i++)
        a->dx[i] = (a->ow ? 0.0f : a->dx[i]) + ((a->x[i] > 0.0f && a->x[i] < 6.0f) ? a->dy[i] : 0.0f);
}

static void relu6_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    pith_ew_args a = {.x = c->x[0], .dy = nd->dy, .dx = c->dx[0], .ow = c->dx_overwrite[0]};
    pith_parallel_for(n, PITH_GRAIN, relu6_backward_range, &a);
}

const pith_op pith_op_relu6 = {
    .name = "relu6", .min_in = 1, .max_in = 1,
    .shape = pith_shape_same, .forward = relu6_forward, .backward = relu6_backward, .overwrite_dx = 1,
};
