/* conv2d, float32: any kernel, stride, padding, dilation and groups (depthwise
 * when groups == channels). Weights [o][c / groups][kh][kw].
 *
 * Each output plane accumulates one (input channel, kernel tap) at a time
 * over the range of output columns whose input column is inside the image:
 * no bounds test in the inner loop, which a compiler vectorises at stride 1.
 * The sum's order (bias, then channel by channel, tap by tap) is part of the
 * specification of this kernel. */
#include "../pithrt.h"
#include "kernels.h"

/* Output columns j with 0 <= j * s - p + v * d < w. */
void pithrt_col_range(int ow, int w, int s, int p, int off, int *lo, int *hi)
{
    int first = p - off; /* j * s >= p - off */
    int a = first <= 0 ? 0 : (first + s - 1) / s;
    int last = w - 1 + p - off; /* j * s <= w - 1 + p - off */
    int b = last < 0 ? -1 : last / s;
    *lo = a;
    *hi = b < ow - 1 ? b : ow - 1;
}

void pithrt_conv2d_f32_ref(const float *x, int c, int h, int w, const float *wt, const float *bias, float *y, int o,
                           int oh, int ow, const pithrt_geom *g, int act)
{
    const int cg = c / g->groups, og = o / g->groups, kk = g->kh * g->kw;
    for (int oc = 0; oc < o; oc++) {
        const int c0 = oc / og * cg;
        float *yp = y + (size_t)oc * oh * ow;
        const float b = bias ? bias[oc] : 0.0f;
        for (int i = 0; i < oh * ow; i++)
            yp[i] = b;
        for (int ic = 0; ic < cg; ic++) {
            const float *xc = x + (size_t)(c0 + ic) * h * w;
            const float *wc = wt + ((size_t)oc * cg + ic) * kk;
            for (int u = 0; u < g->kh; u++)
                for (int v = 0; v < g->kw; v++) {
                    const float wv = wc[u * g->kw + v];
                    int lo, hi;
                    pithrt_col_range(ow, w, g->sw, g->pw, v * g->dw, &lo, &hi);
                    for (int i = 0; i < oh; i++) {
                        int yy = i * g->sh - g->ph + u * g->dh;
                        if (yy < 0 || yy >= h)
                            continue;
                        const float *xr = xc + (size_t)yy * w; /* tap v of column j: xr[j s + off] (never before the row) */
                        const int off = v * g->dw - g->pw;
                        float *yr = yp + (size_t)i * ow;
                        if (g->sw == 1)
                            for (int j = lo; j <= hi; j++)
                                yr[j] += wv * xr[j + off];
                        else
                            for (int j = lo; j <= hi; j++)
                                yr[j] += wv * xr[j * g->sw + off];
                    }
                }
        }
        if (act)
            for (int i = 0; i < oh * ow; i++)
                yp[i] = pithrt_apply_act(yp[i], act);
    }
}
