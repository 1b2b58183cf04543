/* leaky_relu: y = x > 0 ? x : alpha x. */
#include "op_util.h"

typedef struct leaky_args {
    pith_ew_args e;
    float alpha;
} leaky_args;

static inline float leaky_of(float x, float alpha) { return x > 0.0f ? x : alpha * x; }

static float leaky_value(const pith_node *nd, float x) { return leaky_of(x, nd->a.alpha); }

static void leaky_forward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const leaky_args *a = arg;
    for (size_t i = lo; i < hi; i++)
        a->e.y[i] = leaky_of(a->e.x[i], a->alpha);
}

static void leaky_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    leaky_args a = {{.x = c->x[0], .y = nd->y}, nd->a.alpha};
    pith_parallel_for(n, PITH_GRAIN, leaky_forward_range, &a);
}

static void leaky_backward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const leaky_args *a = arg;
    for (size_t i = lo; i < hi; i++)
        a->e.dx[i] = (a->e.ow ? 0.0f : a->e.dx[i]) + (a->e.x[i] > 0.0f ? 1.0f : a->alpha) * a->e.dy[i];
}

static void leaky_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    leaky_args a = {{.x = c->x[0], .dy = nd->dy, .dx = c->dx[0], .ow = c->dx_overwrite[0]}, nd->a.alpha};
    pith_parallel_for(n, PITH_GRAIN, leaky_backward_range, &a);
}

const pith_op pith_op_leaky_relu = {
    .name = "leaky_relu", .min_in = 1, .max_in = 1, .overwrite_dx = 1,
    .shape = pith_shape_same, .forward = leaky_forward, .backward = leaky_backward,
    .value = leaky_value,
};
