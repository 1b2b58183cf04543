/* Pools on int8. Max compares codes (dequantization is monotone). Averages
 * are computed as the workbench computes them on the dequantized values, in
 * float32 in the same order, then quantized to the output grid: the board
 * gives the workbench's numbers exactly. */
#include "../pithrt.h"
#include "kernels.h"
#include "pool_dims.h"

void pithrt_maxpool_s8_ref(const int8_t *x, int c, int h, int w, int8_t *y, int oh, int ow, const pithrt_geom *g)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                int best = -129;
                for (int u = 0; u < g->kh; u++)
                    for (int v = 0; v < g->kw; v++) {
                        int yy = i * g->sh - g->ph + u, xx = j * g->sw - g->pw + v;
                        if (yy >= 0 && yy < h && xx >= 0 && xx < w && x[((size_t)ch * h + yy) * w + xx] > best)
                            best = x[((size_t)ch * h + yy) * w + xx];
                    }
                y[((size_t)ch * oh + i) * ow + j] = (int8_t)(best < -128 ? -128 : best);
            }
}

/* The dequantized values of output (i, j)'s window of plane x, summed in
 * the window's row-major order (padding skipped), as the f32 kernels sum. */
static float window_sum(const int8_t *x, int h, int w, pithrt_qact xq, const pithrt_geom *g, int i, int j)
{
    float s = 0.0f;
    for (int u = 0; u < g->kh; u++)
        for (int v = 0; v < g->kw; v++) {
            int yy = i * g->sh - g->ph + u, xx = j * g->sw - g->pw + v;
            if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                s += (float)(x[(size_t)yy * w + xx] - xq.zero_point) * xq.scale;
        }
    return s;
}

void pithrt_avgpool_s8_ref(const int8_t *x, int c, int h, int w, pithrt_qact xq, int8_t *y, int oh, int ow,
                           pithrt_qact yq, const pithrt_geom *g, int act)
{
    const float inv = 1.0f / (float)(g->kh * g->kw);
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
                y[((size_t)ch * oh + i) * ow + j] =
                    (int8_t)pithrt_quantize_value(window_sum(x + (size_t)ch * h * w, h, w, xq, g, i, j) * inv, yq, act);
}

/* ONNX's average (ceil mode, end padding, count without the padding): the
 * f32 kernel's sum and divisor on the dequantized values, then quantized. */
void pithrt_avgpool_ext_s8_ref(const int8_t *x, int c, int h, int w, pithrt_qact xq, int8_t *y, int oh, int ow,
                               pithrt_qact yq, const pithrt_geom *g, int eh, int ew, int exclude_pad, int act)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                const int n = pithrt_pool_count(i * g->sh - g->ph, j * g->sw - g->pw, g->kh, g->kw, h, w, eh, ew,
                                                g->ph, g->pw, exclude_pad);
                const float s = window_sum(x + (size_t)ch * h * w, h, w, xq, g, i, j);
                y[((size_t)ch * oh + i) * ow + j] = (int8_t)pithrt_quantize_value(s / (float)n, yq, act);
            }
}

void pithrt_gavgpool_s8_ref(const int8_t *x, int c, int hw, pithrt_qact xq, int8_t *y, pithrt_qact yq, int act)
{
    const float inv = 1.0f / (float)hw;
    for (int ch = 0; ch < c; ch++) {
        float s = 0.0f;
        for (int k = 0; k < hw; k++)
            s += (float)(x[(size_t)ch * hw + k] - xq.zero_point) * xq.scale;
        y[ch] = (int8_t)pithrt_quantize_value(s * inv, yq, act);
    }
}
