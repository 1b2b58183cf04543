/* conv2d, int8: acc = bias + sum (x - zx) * w over the window (padding is
 * the zero point, i.e. real 0, and contributes nothing), relu / relu6 as a
 * clamp of the accumulator, then fixed-point requantization per channel. */
#include "../pithrt.h"
#include "kernels.h"
#include "requant.h"

/* The activation folded into the accumulator, as the workbench applies it to
 * the real value before recovering the accumulator. */
int32_t pithrt_acc_act(int32_t acc, const pithrt_requant *rq, int ch);
int32_t pithrt_acc_act(int32_t acc, const pithrt_requant *rq, int ch)
{
    if (rq->act == PITHRT_ACT_RELU || rq->act == PITHRT_ACT_RELU6) {
        acc = acc > 0 ? acc : 0;
        if (rq->act == PITHRT_ACT_RELU6 && acc > rq->p[3 * ch + 2])
            acc = rq->p[3 * ch + 2];
    }
    return acc;
}

void pithrt_conv2d_s8_ref(const int8_t *x, int c, int h, int w, pithrt_qact xq, const uint8_t *wt, int wdtype,
                          const int32_t *bias, int8_t *y, int o, int oh, int ow, pithrt_qact yq,
                          const pithrt_requant *rq, const pithrt_geom *g, int8_t *row)
{
    const int cg = c / g->groups, og = o / g->groups, kk = g->kh * g->kw;
    const int32_t zx = xq.zero_point;
    for (int oc = 0; oc < o; oc++) {
        const int c0 = oc / og * cg;
        pithrt_weights_unpack_s8(wt, wdtype, (size_t)oc * cg * kk, (size_t)cg * kk, row);
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                int32_t acc = bias ? bias[oc] : 0;
                for (int ic = 0; ic < cg; ic++) {
                    const int8_t *xc = x + (size_t)(c0 + ic) * h * w;
                    const int8_t *wc = row + ic * kk;
                    for (int u = 0; u < g->kh; u++) {
                        int yy = i * g->sh - g->ph + u * g->dh;
                        if (yy < 0 || yy >= h)
                            continue;
                        for (int v = 0; v < g->kw; v++) {
                            int xx = j * g->sw - g->pw + v * g->dw;
                            if (xx >= 0 && xx < w)
                                acc += ((int32_t)xc[yy * w + xx] - zx) * wc[u * g->kw + v];
                        }
                    }
                }
                acc = pithrt_acc_act(acc, rq, oc);
                y[((size_t)oc * oh + i) * ow + j] =
                    (int8_t)pithrt_requantize(acc, rq->p[3 * oc], rq->p[3 * oc + 1], yq.zero_point, yq.qmin, yq.qmax);
            }
    }
}
