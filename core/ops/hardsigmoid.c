/* hardsigmoid: y = clamp(alpha x + beta, 0, 1), alpha and beta as ONNX
 * defines them (PyTorch's nn.Hardsigmoid exports alpha 1/6, beta 1/2). The
 * gradient is alpha strictly inside the ramp and 0 outside, as PyTorch's. */
#include "op_util.h"

typedef struct hsig_args {
    pith_ew_args e;
    float alpha, beta;
} hsig_args;

static int hardsigmoid_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    if (!(nd->a.alpha > 0.0f) || !isfinite(nd->a.alpha) || !isfinite(nd->a.beta))
        return pith_error(PITH_EINVAL, "hardsigmoid '%s': alpha must be > 0 and beta finite (alpha %g, beta %g)",
                          nd->name, (double)nd->a.alpha, (double)nd->a.beta);
    *out = in[0];
    return PITH_OK;
}

static inline float hardsigmoid_of(float x, float alpha, float beta)
{
    float v = alpha * x + beta;
    return v <= 0.0f ? 0.0f : v >= 1.0f ? 1.0f : v;
}

static float hardsigmoid_value(const pith_node *nd, float x) { return hardsigmoid_of(x, nd->a.alpha, nd->a.beta); }

static void hardsigmoid_forward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const hsig_args *a = arg;
    for (size_t i = lo; i < hi; i++)
        a->e.y[i] = hardsigmoid_of(a->e.x[i], a->alpha, a->beta);
}

static void hardsigmoid_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    hsig_args a = {{.x = c->x[0], .y = nd->y}, nd->a.alpha, nd->a.beta};
    pith_parallel_for(n, PITH_GRAIN, hardsigmoid_forward_range, &a);
}

static void hardsigmoid_backward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const hsig_args *a = arg;
    for (size_t i = lo; i < hi; i++) {
        float v = a->alpha * a->e.x[i] + a->beta;
        float d = v > 0.0f && v < 1.0f ? a->alpha : 0.0f;
        a->e.dx[i] = (a->e.ow ? 0.0f : a->e.dx[i]) + d * a->e.dy[i];
    }
}

static void hardsigmoid_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    hsig_args a = {{.x = c->x[0], .dy = nd->dy, .dx = c->dx[0], .ow = c->dx_overwrite[0]}, nd->a.alpha, nd->a.beta};
    pith_parallel_for(n, PITH_GRAIN, hardsigmoid_backward_range, &a);
}

const pith_op pith_op_hardsigmoid = {
    .name = "hardsigmoid", .min_in = 1, .max_in = 1,
    .shape = hardsigmoid_shape, .forward = hardsigmoid_forward, .backward = hardsigmoid_backward,
    .overwrite_dx = 1,
    .value = hardsigmoid_value,
};
