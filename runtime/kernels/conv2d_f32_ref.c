/* conv2d, float32: any kernel, stride, padding, dilation and groups (depthwise
 * when groups == channels). Weights [o][c / groups][kh][kw]. */
#include "../pithrt.h"
#include "kernels.h"

void pithrt_conv2d_f32_ref(const float *x, int c, int h, int w, const float *wt, const float *bias, float *y, int o,
                           int oh, int ow, const pithrt_geom *g, int act)
{
    const int cg = c / g->groups, og = o / g->groups;
    for (int oc = 0; oc < o; oc++) {
        const int c0 = oc / og * cg;
        const float *wo = wt + (size_t)oc * cg * g->kh * g->kw;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                float s = bias ? bias[oc] : 0.0f;
                for (int ic = 0; ic < cg; ic++) {
                    const float *xc = x + (size_t)(c0 + ic) * h * w;
                    const float *wc = wo + (size_t)ic * g->kh * g->kw;
                    for (int u = 0; u < g->kh; u++) {
                        int yy = i * g->sh - g->ph + u * g->dh;
                        if (yy < 0 || yy >= h)
                            continue;
                        for (int v = 0; v < g->kw; v++) {
                            int xx = j * g->sw - g->pw + v * g->dw;
                            if (xx >= 0 && xx < w)
                                s += xc[yy * w + xx] * wc[u * g->kw + v];
                        }
                    }
                }
                y[((size_t)oc * oh + i) * ow + j] = pithrt_apply_act(s, act);
            }
    }
}
