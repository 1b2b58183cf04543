/* silu (swish): y = x * sigmoid(x) (EfficientNet). PyTorch's ONNX export
 * spells it Sigmoid + Mul; the importer recognises the pair as this one op. */
#include "op_util.h"

static inline float silu_of(float x) { return x / (1.0f + expf(-x)); }

static float silu_value(const pith_node *nd, float x)
{
    (void)nd;
    return silu_of(x);
}

static void silu_forward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_ew_args *a = arg;
    for (size_t i = lo; i < hi; i++)
        a->y[i] = silu_of(a->x[i]);
}

static void silu_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    pith_ew_args a = {.x = c->x[0], .y = nd->y};
    pith_parallel_for(n, PITH_GRAIN, silu_forward_range, &a);
}

/* d/dx x s(x) = s(x) (1 + x (1 - s(x))) */
static void silu_backward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_ew_args *a = arg;
    for (size_t i = lo; i < hi; i++) {
        float v = a->x[i], s = 1.0f / (1.0f + expf(-v));
        a->dx[i] = (a->ow ? 0.0f : a->dx[i]) + a->dy[i] * s * (1.0f + v * (1.0f - s));
    }
}

static void silu_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    pith_ew_args a = {.x = c->x[0], .dy = nd->dy, .dx = c->dx[0], .ow = c->dx_overwrite[0]};
    pith_parallel_for(n, PITH_GRAIN, silu_backward_range, &a);
}

const pith_op pith_op_silu = {
    .name = "silu", .min_in = 1, .max_in = 1,
    .shape = pith_shape_same, .forward = silu_forward, .backward = silu_backward, .overwrite_dx = 1,
    .value = silu_value,
};
