/* clip: y = min(max(x, alpha), beta), any bounds (ONNX Clip; relu and relu6
 * are the clips pith fuses into layers). The gradient passes strictly
 * inside the bounds. */
#include "op_util.h"

typedef struct clip_args {
    pith_ew_args e;
    float lo, hi;
} clip_args;

static int clip_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    if (!(nd->a.alpha <= nd->a.beta))
        return pith_error(PITH_EINVAL, "clip '%s': bounds [%g, %g]", nd->name, (double)nd->a.alpha,
                          (double)nd->a.beta);
    *out = in[0];
    return PITH_OK;
}

static inline float clip_of(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

static float clip_value(const pith_node *nd, float x) { return clip_of(x, nd->a.alpha, nd->a.beta); }

static void clip_forward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const clip_args *a = arg;
    for (size_t i = lo; i < hi; i++)
        a->e.y[i] = clip_of(a->e.x[i], a->lo, a->hi);
}

static void clip_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    clip_args a = {{.x = c->x[0], .y = nd->y}, nd->a.alpha, nd->a.beta};
    pith_parallel_for(n, PITH_GRAIN, clip_forward_range, &a);
}

static void clip_backward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const clip_args *a = arg;
    for (size_t i = lo; i < hi; i++) {
        float v = a->e.x[i];
        a->e.dx[i] = (a->e.ow ? 0.0f : a->e.dx[i]) + (v > a->lo && v < a->hi ? a->e.dy[i] : 0.0f);
    }
}

static void clip_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    clip_args a = {{.x = c->x[0], .dy = nd->dy, .dx = c->dx[0], .ow = c->dx_overwrite[0]}, nd->a.alpha, nd->a.beta};
    pith_parallel_for(n, PITH_GRAIN, clip_backward_range, &a);
}

const pith_op pith_op_clip = {
    .name = "clip", .min_in = 1, .max_in = 1, .overwrite_dx = 1,
    .shape = clip_shape, .forward = clip_forward, .backward = clip_backward,
    .value = clip_value,
};
