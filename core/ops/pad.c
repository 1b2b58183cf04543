/* pad: H and W padding of a C x H x W input, ph / pw before and ph_end /
 * pw_end after, in ONNX Pad's modes (attribute rmode: 0 constant with the
 * value alpha, 1 reflect, 2 edge; runtime/kernels/pad_index.h). Backward
 * adds each output's gradient to the input position it was copied from. */
#include "op_util.h"

#include "../../runtime/kernels/pad_index.h"

static int pad_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    const pith_attrs *a = &nd->a;
    if (in[0].ndim != 3 || a->ph < 0 || a->pw < 0 || a->ph_end < 0 || a->pw_end < 0 || a->rmode < 0 || a->rmode > 2 ||
        (a->rmode == PITHRT_PAD_REFLECT && (a->ph >= in[0].d[1] || a->ph_end >= in[0].d[1] || a->pw >= in[0].d[2] ||
                                            a->pw_end >= in[0].d[2])) ||
        !isfinite(a->alpha))
        return pith_error(PITH_EINVAL, "pad '%s': pads %d,%d,%d,%d mode %d on a %dx%d plane (reflect pads must be "
                          "below the size)", nd->name, a->ph, a->pw, a->ph_end, a->pw_end, a->rmode,
                          in[0].ndim == 3 ? in[0].d[1] : 0, in[0].ndim == 3 ? in[0].d[2] : 0);
    *out = (pith_shape){3, {in[0].d[0], in[0].d[1] + a->ph + a->ph_end, in[0].d[2] + a->pw + a->pw_end}};
    return PITH_OK;
}

static void pad_forward(pith_node *nd, const pith_ctx *c)
{
    const pith_attrs *a = &nd->a;
    const int h = c->in[0].d[1], w = c->in[0].d[2], oh = nd->out.d[1], ow = nd->out.d[2];
    const size_t planes = (size_t)c->batch * c->in[0].d[0];
    for (size_t p = 0; p < planes; p++) {
        const float *x = c->x[0] + p * h * w;
        float *y = nd->y + p * oh * ow;
        for (int i = 0; i < oh; i++) {
            int si = pithrt_pad_src(i - a->ph, h, a->rmode);
            for (int j = 0; j < ow; j++) {
                int sj = pithrt_pad_src(j - a->pw, w, a->rmode);
                y[i * ow + j] = si < 0 || sj < 0 ? a->alpha : x[si * w + sj];
            }
        }
    }
}

static void pad_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const pith_attrs *a = &nd->a;
    const int h = c->in[0].d[1], w = c->in[0].d[2], oh = nd->out.d[1], ow = nd->out.d[2];
    const size_t planes = (size_t)c->batch * c->in[0].d[0];
    for (size_t p = 0; p < planes; p++) {
        float *dx = c->dx[0] + p * h * w;
        const float *dy = nd->dy + p * oh * ow;
        for (int i = 0; i < oh; i++) {
            int si = pithrt_pad_src(i - a->ph, h, a->rmode);
            for (int j = 0; j < ow; j++) {
                int sj = pithrt_pad_src(j - a->pw, w, a->rmode);
                if (si >= 0 && sj >= 0)
                    dx[si * w + sj] += dy[i * ow + j];
            }
        }
    }
}

const pith_op pith_op_pad = {
    .name = "pad", .min_in = 1, .max_in = 1,
    .shape = pad_shape, .forward = pad_forward, .backward = pad_backward,
};
