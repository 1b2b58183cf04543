/* dropout (inverted): in training each element is kept with probability 1-p
 * and scaled by 1/(1-p); in eval mode it is the identity. The mask comes
 * from a counter-based hash of (call seed, element index), so it does not
 * depend on the thread count and a resumed run draws the same masks. */
#include "../rng.h"
#include "op_util.h"

static int dropout_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    if (!(nd->a.p >= 0.0f && nd->a.p < 1.0f))
        return pith_error(PITH_EINVAL, "dropout '%s': p must be in [0, 1), got %g", nd->name,
                          (double)nd->a.p);
    *out = in[0];
    return PITH_OK;
}

/* Saved for backward: the per-element scale (0 or 1/(1-p)). */
static size_t dropout_workspace(const pith_node *nd, const pith_shape *in, int batch)
{
    (void)nd;
    return pith_shape_size(in) * (size_t)batch * sizeof(float);
}

static void dropout_forward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    float *mask = nd->ws;
    const float p = nd->a.p, keep = 1.0f / (1.0f - p);
    const int active = c->training && p > 0.0f;
    const uint64_t seed = c->seed;
    for (size_t i = lo; i < hi; i++) {
        float m = 1.0f;
        if (active) {
            uint64_t s = seed ^ (i * 0x9E3779B97F4A7C15ull);
            float u = (float)(pith_splitmix64(&s) >> 40) * (1.0f / 16777216.0f);
            m = u < p ? 0.0f : keep;
        }
        mask[i] = m;
        nd->y[i] = c->x[0][i] * m;
    }
}

static void dropout_forward(pith_node *nd, const pith_ctx *c)
{
    pith_op_call call = {nd, c};
    pith_parallel_for(pith_shape_size(&c->in[0]) * (size_t)c->batch, PITH_GRAIN, dropout_forward_range, &call);
}

static void dropout_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    /* dx = dy * mask (+ dx): the elementwise loop of a product */
    pith_ew_args a = {.x = nd->ws, .dy = nd->dy, .dx = c->dx[0], .ow = c->dx_overwrite[0]};
    pith_parallel_for(pith_shape_size(&c->in[0]) * (size_t)c->batch, PITH_GRAIN, pith_ew_mul_range, &a);
}

const pith_op pith_op_dropout = {
    .name = "dropout", .min_in = 1, .max_in = 1,
    .shape = dropout_shape, .workspace = dropout_workspace,
    .forward = dropout_forward, .backward = dropout_backward, .overwrite_dx = 1,
};
