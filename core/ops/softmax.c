/* softmax along one axis of the per-sample shape (attribute axis: 0, 1, 2
 * of C x H x W, 0 of a vector; 3: the whole sample, ONNX's opset < 13
 * flattening). Backward: dx = y (dy - sum(dy y)) along the axis, from the
 * saved output. */
#include "op_util.h"

/* the axis as (outer, len, inner) strides of the sample */
static void split(const pith_node *nd, const pith_shape *s, size_t *outer, size_t *len, size_t *inner)
{
    int d[3] = {1, 1, 1};
    if (s->ndim == 3)
        d[0] = s->d[0], d[1] = s->d[1], d[2] = s->d[2];
    else
        d[2] = s->d[0];
    int ax = s->ndim == 1 && nd->a.axis == 0 ? 2 : nd->a.axis;
    if (ax == 3) {
        *outer = 1, *len = (size_t)d[0] * d[1] * d[2], *inner = 1;
        return;
    }
    *outer = 1, *inner = 1;
    for (int k = 0; k < ax; k++)
        *outer *= (size_t)d[k];
    *len = (size_t)d[ax];
    for (int k = ax + 1; k < 3; k++)
        *inner *= (size_t)d[k];
}

static int softmax_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    int ok = nd->a.axis == 3 || (in[0].ndim == 3 ? nd->a.axis >= 0 && nd->a.axis <= 2 : nd->a.axis == 0);
    if (!ok)
        return pith_error(PITH_EINVAL, "softmax '%s': axis %d of a %d-d sample", nd->name, nd->a.axis, in[0].ndim);
    *out = in[0];
    return PITH_OK;
}

static void softmax_forward(pith_node *nd, const pith_ctx *c)
{
    size_t outer, len, inner;
    split(nd, &c->in[0], &outer, &len, &inner);
    const size_t n = pith_shape_size(&c->in[0]);
    for (int b = 0; b < c->batch; b++)
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < inner; i++) {
                const float *x = c->x[0] + b * n + o * len * inner + i;
                float *y = nd->y + b * n + o * len * inner + i;
                float mx = -INFINITY, s = 0.0f;
                for (size_t k = 0; k < len; k++)
                    mx = x[k * inner] > mx ? x[k * inner] : mx;
                for (size_t k = 0; k < len; k++)
                    s += y[k * inner] = expf(x[k * inner] - mx);
                for (size_t k = 0; k < len; k++)
                    y[k * inner] /= s;
            }
}

static void softmax_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    size_t outer, len, inner;
    split(nd, &c->in[0], &outer, &len, &inner);
    const size_t n = pith_shape_size(&c->in[0]);
    for (int b = 0; b < c->batch; b++)
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < inner; i++) {
                size_t at = b * n + o * len * inner + i;
                const float *y = nd->y + at, *dy = nd->dy + at;
                float *dx = c->dx[0] + at, dot = 0.0f;
                for (size_t k = 0; k < len; k++)
                    dot += dy[k * inner] * y[k * inner];
                for (size_t k = 0; k < len; k++)
                    dx[k * inner] += y[k * inner] * (dy[k * inner] - dot);
            }
}

const pith_op pith_op_softmax = {
    .name = "softmax", .min_in = 1, .max_in = 1,
    .shape = softmax_shape, .forward = softmax_forward, .backward = softmax_backward,
};
