/* sigmoid: y = 1 / (1 + exp(-x)). Backward reads the saved output:
 * dy/dx = y (1 - y). */
#include "op_util.h"

static inline float sigmoid_of(float x) { return 1.0f / (1.0f + expf(-x)); }

static float sigmoid_value(const pith_node *nd, float x)
{
    (void)nd;
    return sigmoid_of(x);
}

static void sigmoid_forward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_ew_args *a = arg;
    for (size_t i = lo; i < hi; i++)
        a->y[i] = sigmoid_of(a->x[i]);
}

static void sigmoid_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    pith_ew_args a = {.x = c->x[0], .y = nd->y};
    pith_parallel_for(n, PITH_GRAIN, sigmoid_forward_range, &a);
}

/* here x is the op's output y */
static void sigmoid_backward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_ew_args *a = arg;
    for (size_t i = lo; i < hi; i++)
        a->dx[i] = (a->ow ? 0.0f : a->dx[i]) + a->dy[i] * a->x[i] * (1.0f - a->x[i]);
}

static void sigmoid_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    pith_ew_args a = {.x = nd->y, .dy = nd->dy, .dx = c->dx[0], .ow = c->dx_overwrite[0]};
    pith_parallel_for(n, PITH_GRAIN, sigmoid_backward_range, &a);
}

const pith_op pith_op_sigmoid = {
    .name = "sigmoid", .min_in = 1, .max_in = 1,
    .shape = pith_shape_same, .forward = sigmoid_forward, .backward = sigmoid_backward, .overwrite_dx = 1,
    .value = sigmoid_value,
};
