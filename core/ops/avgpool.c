/* avgpool: window mean; padded positions count as zeros in the divisor
 * (PyTorch's count_include_pad=True), or are left out of it (pool_ext bit 1,
 * ONNX's default). With ceil mode or end padding (ONNX) a window's divisor
 * is the part of it inside the padded input, as PyTorch and ONNX Runtime
 * count. */
#include "pool_geom.h"

static int avgpool_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    return pool_shape("avgpool", nd, in, out);
}

static void avgpool_forward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    const pith_attrs *a = &nd->a;
    const int h = c->in[0].d[1], w = c->in[0].d[2];
    const int oh = nd->out.d[1], ow = nd->out.d[2];
    const float inv = 1.0f / (float)(a->kh * a->kw);
    const int ext = a->pool_ext, eh = pool_end_h(a), ew = pool_end_w(a);
    for (int pl = (int)lo; pl < (int)hi; pl++) {
        const float *xp = c->x[0] + (size_t)pl * h * w;
        float *yp = nd->y + (size_t)pl * oh * ow;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                float s = 0.0f;
                for (int ki = 0; ki < a->kh; ki++) {
                    int ih = i * a->sh - a->ph + ki;
                    if (ih < 0 || ih >= h)
                        continue;
                    for (int kj = 0; kj < a->kw; kj++) {
                        int iw = j * a->sw - a->pw + kj;
                        if (iw >= 0 && iw < w)
                            s += xp[ih * w + iw];
                    }
                }
                yp[i * ow + j] = ext ? s / (float)pithrt_pool_count(i * a->sh - a->ph, j * a->sw - a->pw, a->kh, a->kw,
                                                                    h, w, eh, ew, a->ph, a->pw, ext & POOL_EXCLUDE_PAD)
                                     : s * inv;
            }
    }
}

static void avgpool_forward(pith_node *nd, const pith_ctx *c)
{
    pith_for_planes(nd, c, avgpool_forward_range);
}

static void avgpool_backward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    if (!c->dx[0])
        return;
    const pith_attrs *a = &nd->a;
    const int h = c->in[0].d[1], w = c->in[0].d[2];
    const int oh = nd->out.d[1], ow = nd->out.d[2];
    const float inv = 1.0f / (float)(a->kh * a->kw);
    const int ext = a->pool_ext, eh = pool_end_h(a), ew = pool_end_w(a);
    for (int pl = (int)lo; pl < (int)hi; pl++) {
        float *dxp = c->dx[0] + (size_t)pl * h * w;
        const float *gp = nd->dy + (size_t)pl * oh * ow;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                float gv = ext ? gp[i * ow + j] / (float)pithrt_pool_count(i * a->sh - a->ph, j * a->sw - a->pw, a->kh,
                                                                           a->kw, h, w, eh, ew, a->ph, a->pw,
                                                                           ext & POOL_EXCLUDE_PAD)
                               : gp[i * ow + j] * inv;
                for (int ki = 0; ki < a->kh; ki++) {
                    int ih = i * a->sh - a->ph + ki;
                    if (ih < 0 || ih >= h)
                        continue;
                    for (int kj = 0; kj < a->kw; kj++) {
                        int iw = j * a->sw - a->pw + kj;
                        if (iw >= 0 && iw < w)
                            dxp[ih * w + iw] += gv;
                    }
                }
            }
    }
}

static void avgpool_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    pith_for_planes(nd, c, avgpool_backward_range);
}

const pith_op pith_op_avgpool = {
    .name = "avgpool", .min_in = 1, .max_in = 1,
    .shape = avgpool_shape, .forward = avgpool_forward, .backward = avgpool_backward,
};
