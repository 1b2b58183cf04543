/* conv2d, int8: acc = bias + sum (x - zx) * w over the window (padding is
 * the zero point, i.e. real 0, and contributes nothing), relu / relu6 as a
 * clamp of the accumulator, then fixed-point requantization per channel.
 * The accumulation runs tap by tap over an int32 plane (see conv2d_f32_ref.c;
 * integer sums do not depend on the order). */
#include "../pithrt.h"
#include "kernels.h"
#include "requant.h"

int32_t pithrt_acc_act(int32_t acc, const pithrt_requant *rq, int ch)
{
    if (rq->act == PITHRT_ACT_RELU || rq->act == PITHRT_ACT_RELU6) {
        acc = acc > 0 ? acc : 0;
        if (rq->act == PITHRT_ACT_RELU6 && acc > rq->p[3 * ch + 2])
            acc = rq->p[3 * ch + 2];
    }
    return acc;
}

size_t pithrt_conv2d_s8_scratch(int c, int groups, int kh, int kw, int oh, int ow)
{
    size_t row = (size_t)(c / groups) * kh * kw;
    return (row + 15) / 16 * 16 + (size_t)oh * ow * sizeof(int32_t);
}

void pithrt_conv2d_s8_ref(const int8_t *x, int c, int h, int w, pithrt_qact xq, const uint8_t *wt, int wdtype,
                          const int32_t *bias, int8_t *y, int o, int oh, int ow, pithrt_qact yq,
                          const pithrt_requant *rq, const pithrt_geom *g, int8_t *scratch)
{
    const int cg = c / g->groups, og = o / g->groups, kk = g->kh * g->kw;
    const int32_t zx = xq.zero_point;
    int8_t *row = scratch;
    /* sums modulo 2^32 (an int32 accumulator that wraps, defined): a bias near the int32 range's
     * end must give the same result here as in every fast kernel */
    uint32_t *acc = (uint32_t *)(void *)(scratch + ((size_t)cg * kk + 15) / 16 * 16);
    for (int oc = 0; oc < o; oc++) {
        const int c0 = oc / og * cg;
        const int8_t *wr = (const int8_t *)wt + (size_t)oc * cg * kk;
        if (wdtype != PITHRT_S8) { /* int8 codes are read in place, packed ones widened */
            pithrt_weights_unpack_s8(wt, wdtype, (size_t)oc * cg * kk, (size_t)cg * kk, row);
            wr = row;
        }
        const uint32_t b = bias ? (uint32_t)bias[oc] : 0u;
        for (int i = 0; i < oh * ow; i++)
            acc[i] = b;
        for (int ic = 0; ic < cg; ic++) {
            const int8_t *xc = x + (size_t)(c0 + ic) * h * w;
            for (int u = 0; u < g->kh; u++)
                for (int v = 0; v < g->kw; v++) {
                    const int32_t wv = wr[ic * kk + u * g->kw + v];
                    if (!wv)
                        continue;
                    int lo, hi;
                    pithrt_col_range(ow, w, g->sw, g->pw, v * g->dw, &lo, &hi);
                    for (int i = 0; i < oh; i++) {
                        int yy = i * g->sh - g->ph + u * g->dh;
                        if (yy < 0 || yy >= h)
                            continue;
                        const int8_t *xr = xc + (size_t)yy * w; /* tap v of column j: xr[j s + off] (never before the row) */
                        const int off = v * g->dw - g->pw;
                        uint32_t *ar = acc + (size_t)i * ow;
                        if (g->sw == 1)
                            for (int j = lo; j <= hi; j++)
                                ar[j] += (uint32_t)(wv * ((int32_t)xr[j + off] - zx));
                        else
                            for (int j = lo; j <= hi; j++)
                                ar[j] += (uint32_t)(wv * ((int32_t)xr[j * g->sw + off] - zx));
                    }
                }
        }
        int8_t *yp = y + (size_t)oc * oh * ow;
        const int32_t m = rq->p[3 * oc], sh = rq->p[3 * oc + 1];
        for (int i = 0; i < oh * ow; i++)
            yp[i] = (int8_t)pithrt_requantize(pithrt_acc_act((int32_t)acc[i], rq, oc), m, sh, yq.zero_point, yq.qmin,
                                              yq.qmax);
    }
}
