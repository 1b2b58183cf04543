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

static void dropout_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    float *mask = nd->ws;
    const float p = nd->a.p, keep = 1.0f / (1.0f - p);
    const int active = c->training && p > 0.0f;
    const uint64_t seed = c->seed;
#pragma omp parallel for schedule(static) if (n > PITH_OMP_MIN)
    for (size_t i = 0; i < n; i++) {
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

static void dropout_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const int ow = c->dx_overwrite[0];
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    const float *mask = nd->ws;
#pragma omp parallel for schedule(static) if (n > PITH_OMP_MIN)
    for (size_t i = 0; i < n; i++)
        c->dx[0][i] = (ow ? 0.0f : c->dx[0][i]) + nd->dy[i] * mask[i];
}

const pith_op pith_op_dropout = {
    .name = "dropout", .min_in = 1, .max_in = 1,
    .shape = dropout_shape, .workspace = dropout_workspace,
    .forward = dropout_forward, .backward = dropout_backward, .overwrite_dx = 1,
};
