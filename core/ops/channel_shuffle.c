/* channel_shuffle: ShuffleNet's regrouping of C = g x k channels. Input
 * channel i*k + j becomes output channel j*g + i (PyTorch's view(g, k) ->
 * transpose -> view, which its ONNX export spells Reshape, Transpose,
 * Reshape). Attribute: groups. Backward is the inverse permutation. */
#include "op_util.h"

static int shuffle_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    if (in[0].ndim != 3 || nd->a.groups < 1 || in[0].d[0] % nd->a.groups)
        return pith_error(PITH_ESHAPE, "channel_shuffle '%s': %d groups for a %s input", nd->name, nd->a.groups,
                          in[0].ndim == 3 ? "C x H x W input whose channels they do not divide" : "vector");
    *out = in[0];
    return PITH_OK;
}

/* out channel of input channel c */
static inline int dest(int c, int g, int k) { return (c % k) * g + c / k; }

static void shuffle_forward(pith_node *nd, const pith_ctx *c)
{
    const int C = c->in[0].d[0], g = nd->a.groups, k = C / g;
    const size_t plane = (size_t)c->in[0].d[1] * c->in[0].d[2];
    for (int b = 0; b < c->batch; b++)
        for (int ch = 0; ch < C; ch++)
            memcpy(nd->y + ((size_t)b * C + dest(ch, g, k)) * plane, c->x[0] + ((size_t)b * C + ch) * plane,
                   plane * sizeof(float));
}

static void shuffle_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const int C = c->in[0].d[0], g = nd->a.groups, k = C / g;
    const size_t plane = (size_t)c->in[0].d[1] * c->in[0].d[2];
    for (int b = 0; b < c->batch; b++)
        for (int ch = 0; ch < C; ch++) {
            float *dx = c->dx[0] + ((size_t)b * C + ch) * plane;
            const float *dy = nd->dy + ((size_t)b * C + dest(ch, g, k)) * plane;
            for (size_t i = 0; i < plane; i++)
                dx[i] = (c->dx_overwrite[0] ? 0.0f : dx[i]) + dy[i];
        }
}

const pith_op pith_op_channel_shuffle = {
    .name = "channel_shuffle", .min_in = 1, .max_in = 1, .overwrite_dx = 1,
    .shape = shuffle_shape, .forward = shuffle_forward, .backward = shuffle_backward,
};
