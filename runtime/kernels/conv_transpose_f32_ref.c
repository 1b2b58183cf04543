/* Transposed convolution, f32 (the reference kernel, and the workbench's
 * forward): each input pixel adds its value times the kernel into the
 * output window it maps to. Weights [c_in][c_out / groups][kh][kw] as ONNX
 * and PyTorch keep them. */
#include <string.h>

#include "kernels.h"

void pithrt_conv_transpose_f32_ref(const float *x, int c, int h, int w, const float *wt, const float *bias, float *y,
                                   int oc, int oh, int ow, const pithrt_geom *g)
{
    const int cg = c / g->groups, og = oc / g->groups;
    for (int o = 0; o < oc; o++)
        for (size_t q = 0; q < (size_t)oh * ow; q++)
            y[(size_t)o * oh * ow + q] = bias ? bias[o] : 0.0f;
    for (int ci = 0; ci < c; ci++) {
        const int grp = ci / cg;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                const float v = x[((size_t)ci * h + i) * w + j];
                for (int k = 0; k < og; k++) {
                    const int co = grp * og + k;
                    const float *wk = wt + ((size_t)ci * og + k) * g->kh * g->kw;
                    for (int u = 0; u < g->kh; u++) {
                        int yy = i * g->sh - g->ph + u * g->dh;
                        if (yy < 0 || yy >= oh)
                            continue;
                        for (int t = 0; t < g->kw; t++) {
                            int xx = j * g->sw - g->pw + t * g->dw;
                            if (xx >= 0 && xx < ow)
                                y[((size_t)co * oh + yy) * ow + xx] += v * wk[u * g->kw + t];
                        }
                    }
                }
            }
    }
}
