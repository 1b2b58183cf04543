#include "conv2d_f32_depthwise.h"

#include <stddef.h>

void pith_conv2d_f32_depthwise_forward(const pith_dw_geom *g, const float *x, const float *w,
                                       const float *b, float *y)
{
    const int oc_n = g->c * g->mult, ohw = g->oh * g->ow, hw = g->h * g->w;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < g->n; n++)
        for (int oc = 0; oc < oc_n; oc++) {
            const float *xp = x + ((size_t)n * g->c + oc / g->mult) * hw;
            const float *wp = w + (size_t)oc * g->kh * g->kw;
            float *yp = y + ((size_t)n * oc_n + oc) * ohw;
            const float bias = b ? b[oc] : 0.0f;
            for (int oh = 0; oh < g->oh; oh++)
                for (int ow = 0; ow < g->ow; ow++) {
                    float acc = bias;
                    for (int i = 0; i < g->kh; i++) {
                        int ih = oh * g->sh - g->ph + i * g->dh;
                        if (ih < 0 || ih >= g->h)
                            continue;
                        for (int j = 0; j < g->kw; j++) {
                            int iw = ow * g->sw - g->pw + j * g->dw;
                            if (iw >= 0 && iw < g->w)
                                acc += xp[ih * g->w + iw] * wp[i * g->kw + j];
                        }
                    }
                    yp[oh * g->ow + ow] = acc;
                }
        }
}

void pith_conv2d_f32_depthwise_backward(const pith_dw_geom *g, const float *x, const float *w,
                                        const float *dy, float *dx, float *dw, float *db)
{
    const int oc_n = g->c * g->mult, ohw = g->oh * g->ow, hw = g->h * g->w;
    const int kk = g->kh * g->kw;
    /* Weight gradient: one output channel per iteration, batch summed inside,
     * so the reduction order does not depend on the thread count. */
#pragma omp parallel for schedule(static)
    for (int oc = 0; oc < oc_n; oc++) {
        float *dwp = dw + (size_t)oc * kk;
        float dbias = 0.0f;
        for (int n = 0; n < g->n; n++) {
            const float *xp = x + ((size_t)n * g->c + oc / g->mult) * hw;
            const float *gp = dy + ((size_t)n * oc_n + oc) * ohw;
            for (int oh = 0; oh < g->oh; oh++)
                for (int ow = 0; ow < g->ow; ow++) {
                    float gv = gp[oh * g->ow + ow];
                    dbias += gv;
                    for (int i = 0; i < g->kh; i++) {
                        int ih = oh * g->sh - g->ph + i * g->dh;
                        if (ih < 0 || ih >= g->h)
                            continue;
                        for (int j = 0; j < g->kw; j++) {
                            int iw = ow * g->sw - g->pw + j * g->dw;
                            if (iw >= 0 && iw < g->w)
                                dwp[i * g->kw + j] += gv * xp[ih * g->w + iw];
                        }
                    }
                }
        }
        if (db)
            db[oc] += dbias;
    }
    if (!dx)
        return;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < g->n; n++)
        for (int ic = 0; ic < g->c; ic++) {
            float *dxp = dx + ((size_t)n * g->c + ic) * hw;
            for (int m = 0; m < g->mult; m++) {
                int oc = ic * g->mult + m;
                const float *wp = w + (size_t)oc * kk;
                const float *gp = dy + ((size_t)n * oc_n + oc) * ohw;
                for (int oh = 0; oh < g->oh; oh++)
                    for (int ow = 0; ow < g->ow; ow++) {
                        float gv = gp[oh * g->ow + ow];
                        for (int i = 0; i < g->kh; i++) {
                            int ih = oh * g->sh - g->ph + i * g->dh;
                            if (ih < 0 || ih >= g->h)
                                continue;
                            for (int j = 0; j < g->kw; j++) {
                                int iw = ow * g->sw - g->pw + j * g->dw;
                                if (iw >= 0 && iw < g->w)
                                    dxp[ih * g->w + iw] += gv * wp[i * g->kw + j];
                            }
                        }
                    }
            }
        }
}
