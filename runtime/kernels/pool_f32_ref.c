/* Pools on float32 (window geometry as conv2d's, no dilation). */
#include <math.h>

#include "../pithrt.h"
#include "kernels.h"
#include "pool_dims.h"

void pithrt_maxpool_f32_ref(const float *x, int c, int h, int w, float *y, int oh, int ow, const pithrt_geom *g)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                float best = -INFINITY;
                for (int u = 0; u < g->kh; u++)
                    for (int v = 0; v < g->kw; v++) {
                        int yy = i * g->sh - g->ph + u, xx = j * g->sw - g->pw + v;
                        if (yy >= 0 && yy < h && xx >= 0 && xx < w && x[((size_t)ch * h + yy) * w + xx] > best)
                            best = x[((size_t)ch * h + yy) * w + xx];
                    }
                y[((size_t)ch * oh + i) * ow + j] = best;
            }
}

void pithrt_avgpool_f32_ref(const float *x, int c, int h, int w, float *y, int oh, int ow, const pithrt_geom *g)
{
    const float inv = 1.0f / (float)(g->kh * g->kw);
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                float s = 0.0f;
                for (int u = 0; u < g->kh; u++)
                    for (int v = 0; v < g->kw; v++) {
                        int yy = i * g->sh - g->ph + u, xx = j * g->sw - g->pw + v;
                        if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                            s += x[((size_t)ch * h + yy) * w + xx];
                    }
                y[((size_t)ch * oh + i) * ow + j] = s * inv;
            }
}

void pithrt_avgpool_ext_f32_ref(const float *x, int c, int h, int w, float *y, int oh, int ow, const pithrt_geom *g,
                                int eh, int ew, int exclude_pad)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                float s = 0.0f;
                for (int u = 0; u < g->kh; u++)
                    for (int v = 0; v < g->kw; v++) {
                        int yy = i * g->sh - g->ph + u, xx = j * g->sw - g->pw + v;
                        if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                            s += x[((size_t)ch * h + yy) * w + xx];
                    }
                y[((size_t)ch * oh + i) * ow + j] =
                    s / (float)pithrt_pool_count(i * g->sh - g->ph, j * g->sw - g->pw, g->kh, g->kw, h, w, eh, ew, g->ph,
                                                 g->pw, exclude_pad);
            }
}

void pithrt_gavgpool_f32_ref(const float *x, int c, int hw, float *y)
{
    const float inv = 1.0f / (float)hw;
    for (int ch = 0; ch < c; ch++) {
        float s = 0.0f;
        for (int k = 0; k < hw; k++)
            s += x[(size_t)ch * hw + k];
        y[ch] = s * inv;
    }
}
