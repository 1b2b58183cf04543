/* slice: channels [start, start + out) of a C x H x W input, or features of a
 * vector (ONNX Split and Slice along axis 1; ShuffleNet's chunk). Attributes:
 * ph = the first channel, out = how many. */
#include "op_util.h"

static int slice_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    const int start = nd->a.ph, count = nd->a.out;
    if (start < 0 || count < 1 || start + count > in[0].d[0])
        return pith_error(PITH_ESHAPE, "slice '%s': channels [%d, %d) of %d", nd->name, start, start + count,
                          in[0].d[0]);
    *out = in[0];
    out->d[0] = count;
    return PITH_OK;
}

static size_t inner(const pith_shape *s) { return s->ndim == 3 ? (size_t)s->d[1] * s->d[2] : 1; }

static void slice_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t in = pith_shape_size(&c->in[0]), out = pith_shape_size(&nd->out);
    const size_t off = (size_t)nd->a.ph * inner(&c->in[0]);
    for (int b = 0; b < c->batch; b++)
        memcpy(nd->y + b * out, c->x[0] + b * in + off, out * sizeof(float));
}

static void slice_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const size_t in = pith_shape_size(&c->in[0]), out = pith_shape_size(&nd->out);
    const size_t off = (size_t)nd->a.ph * inner(&c->in[0]);
    for (int b = 0; b < c->batch; b++) {
        float *dx = c->dx[0] + b * in + off;
        const float *dy = nd->dy + b * out;
        for (size_t i = 0; i < out; i++)
            dx[i] += dy[i];
    }
}

const pith_op pith_op_slice = {
    .name = "slice", .min_in = 1, .max_in = 1,
    .shape = slice_shape, .forward = slice_forward, .backward = slice_backward,
};
