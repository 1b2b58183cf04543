/* resize: nearest or bilinear resampling of each channel plane to oh x ow,
 * with ONNX Resize's coordinate transforms (half_pixel is PyTorch's
 * align_corners=False, align_corners its True, asymmetric its nearest).
 * The source-coordinate arithmetic is the runtime's own
 * (runtime/kernels/resize_coord.h), so both pick the same pixels. Backward
 * adds each output's gradient into the pixels it read, with the weights it
 * read them with. */
#include "op_util.h"

#include "../../runtime/kernels/resize_coord.h"

static int resize_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    const pith_attrs *a = &nd->a;
    if (in[0].ndim != 3)
        return pith_error(PITH_ESHAPE, "resize '%s': the input must be C x H x W", nd->name);
    if (a->oh < 1 || a->ow < 1 || a->oh > 65536 || a->ow > 65536 || !(a->rsh > 0.0f) || !(a->rsw > 0.0f) ||
        !isfinite(a->rsh) || !isfinite(a->rsw) || a->rmode < 0 || a->rmode > 1 || a->rcoord < 0 || a->rcoord > 3 ||
        a->rnearest < 0 || a->rnearest > 3)
        return pith_error(PITH_EINVAL, "resize '%s': output %dx%d, scales %g x %g, modes %d/%d/%d", nd->name, a->oh,
                          a->ow, (double)a->rsh, (double)a->rsw, a->rmode, a->rcoord, a->rnearest);
    *out = (pith_shape){3, {in[0].d[0], a->oh, a->ow}};
    return PITH_OK;
}

typedef pithrt_resize_tap tap;

static tap tap_of(const pith_attrs *a, int axis, int x, int in, int out)
{
    return pithrt_resize_tap_of(a->rmode, a->rcoord, a->rnearest, axis ? a->rsw : a->rsh, x, in, out);
}

static void forward_planes(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_op_call *p = arg;
    const pith_attrs *a = &p->nd->a;
    const int h = p->c->in[0].d[1], w = p->c->in[0].d[2], oh = a->oh, ow = a->ow;
    for (size_t pl = lo; pl < hi; pl++) {
        const float *x = p->c->x[0] + pl * h * w;
        float *y = p->nd->y + pl * oh * ow;
        for (int i = 0; i < oh; i++) {
            tap ty = tap_of(a, 0, i, h, oh);
            const float *r0 = x + ty.i0 * w, *r1 = x + ty.i1 * w;
            for (int j = 0; j < ow; j++) {
                y[i * ow + j] = pithrt_resize_pixel(r0, r1, ty, tap_of(a, 1, j, w, ow));
            }
        }
    }
}

static void resize_forward(pith_node *nd, const pith_ctx *c) { pith_for_planes(nd, c, forward_planes); }

static void backward_planes(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_op_call *p = arg;
    const pith_attrs *a = &p->nd->a;
    const int h = p->c->in[0].d[1], w = p->c->in[0].d[2], oh = a->oh, ow = a->ow;
    for (size_t pl = lo; pl < hi; pl++) {
        float *dx = p->c->dx[0] + pl * h * w;
        const float *dy = p->nd->dy + pl * oh * ow;
        for (int i = 0; i < oh; i++) {
            tap ty = tap_of(a, 0, i, h, oh);
            for (int j = 0; j < ow; j++) {
                tap tx = tap_of(a, 1, j, w, ow);
                float g = dy[i * ow + j];
                dx[ty.i0 * w + tx.i0] += ty.w0 * tx.w0 * g;
                dx[ty.i0 * w + tx.i1] += ty.w0 * tx.w1 * g;
                dx[ty.i1 * w + tx.i0] += ty.w1 * tx.w0 * g;
                dx[ty.i1 * w + tx.i1] += ty.w1 * tx.w1 * g;
            }
        }
    }
}

static void resize_backward(pith_node *nd, const pith_ctx *c)
{
    if (c->dx[0])
        pith_for_planes(nd, c, backward_planes);
}

const pith_op pith_op_resize = {
    .name = "resize", .min_in = 1, .max_in = 1,
    .shape = resize_shape, .forward = resize_forward, .backward = resize_backward,
};
