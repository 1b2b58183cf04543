#include "conv2d_f32_depthwise.h"

#include <stddef.h>

#include "../threads.h"

/* The arguments of the loops below, handed to their pieces. */
typedef struct dw_call {
    const pith_dw_geom *g;
    const float *x, *w, *b, *dy;
    float *y, *dx, *dw, *db;
} dw_call;

/* Pieces of (image, output channel) pairs: about DW_GRAIN outputs each. */
#define DW_GRAIN 16384
static size_t grain_of(size_t per) { return per < DW_GRAIN ? DW_GRAIN / per : 1; }

static void forward_planes(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const dw_call *a = arg;
    const pith_dw_geom *g = a->g;
    const float *x = a->x, *w = a->w, *b = a->b;
    float *y = a->y;
    const int oc_n = g->c * g->mult, ohw = g->oh * g->ow, hw = g->h * g->w;
    for (size_t item = lo; item < hi; item++) {
        const int n = (int)(item / oc_n), oc = (int)(item % oc_n);
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

void pith_conv2d_f32_depthwise_forward(const pith_dw_geom *g, const float *x, const float *w,
                                       const float *b, float *y)
{
    dw_call a = {.g = g, .x = x, .w = w, .b = b, .y = y};
    pith_parallel_for((size_t)g->n * g->c * g->mult, grain_of((size_t)g->oh * g->ow), forward_planes, &a);
}

/* Weight gradient: one output channel per item, batch summed inside, so the
 * reduction order does not depend on the thread count. */
static void weight_grad_channels(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const dw_call *a = arg;
    const pith_dw_geom *g = a->g;
    const float *x = a->x, *dy = a->dy;
    float *dw = a->dw, *db = a->db;
    const int oc_n = g->c * g->mult, ohw = g->oh * g->ow, hw = g->h * g->w;
    const int kk = g->kh * g->kw;
    for (int oc = (int)lo; oc < (int)hi; oc++) {
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
}

/* Input gradient: one (image, input channel) plane per item. */
static void input_grad_planes(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const dw_call *a = arg;
    const pith_dw_geom *g = a->g;
    const float *w = a->w, *dy = a->dy;
    float *dx = a->dx;
    const int oc_n = g->c * g->mult, ohw = g->oh * g->ow, hw = g->h * g->w;
    const int kk = g->kh * g->kw;
    for (size_t item = lo; item < hi; item++) {
        const int n = (int)(item / (size_t)g->c), ic = (int)(item % (size_t)g->c);
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

void pith_conv2d_f32_depthwise_backward(const pith_dw_geom *g, const float *x, const float *w,
                                        const float *dy, float *dx, float *dw, float *db)
{
    dw_call a = {.g = g, .x = x, .w = w, .dy = dy, .dx = dx, .dw = dw, .db = db};
    const size_t ohw = (size_t)g->oh * g->ow;
    pith_parallel_for((size_t)g->c * g->mult, grain_of(ohw * g->n), weight_grad_channels, &a);
    if (dx)
        pith_parallel_for((size_t)g->n * g->c, grain_of(ohw * g->mult), input_grad_planes, &a);
}
