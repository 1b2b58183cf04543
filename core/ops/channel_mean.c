/* channel_mean: the mean over channels, C x H x W -> 1 x H x W (a vector
 * of F features -> 1): ONNX ReduceMean over axis 1. Backward spreads dy / C
 * to every channel. */
#include "op_util.h"

static int cmean_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)nd;
    (void)n_in;
    *out = in[0];
    out->d[0] = 1;
    return PITH_OK;
}

static size_t plane_of(const pith_shape *s) { return s->ndim == 3 ? (size_t)s->d[1] * s->d[2] : 1; }

static void cmean_forward(pith_node *nd, const pith_ctx *c)
{
    const int C = c->in[0].d[0];
    const size_t plane = plane_of(&c->in[0]);
    for (int b = 0; b < c->batch; b++) {
        float *y = nd->y + (size_t)b * plane;
        const float *x = c->x[0] + (size_t)b * C * plane;
        for (size_t i = 0; i < plane; i++) {
            float s = 0.0f;
            for (int ch = 0; ch < C; ch++)
                s += x[(size_t)ch * plane + i];
            y[i] = s / (float)C;
        }
    }
}

static void cmean_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const int C = c->in[0].d[0];
    const size_t plane = plane_of(&c->in[0]);
    for (int b = 0; b < c->batch; b++) {
        const float *dy = nd->dy + (size_t)b * plane;
        float *dx = c->dx[0] + (size_t)b * C * plane;
        for (int ch = 0; ch < C; ch++)
            for (size_t i = 0; i < plane; i++)
                dx[(size_t)ch * plane + i] += dy[i] / (float)C;
    }
}

const pith_op pith_op_channel_mean = {
    .name = "channel_mean", .min_in = 1, .max_in = 1,
    .shape = cmean_shape, .forward = cmean_forward, .backward = cmean_backward,
};
