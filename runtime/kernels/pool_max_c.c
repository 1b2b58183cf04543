/* Max pooling for the fast path, portable C written for the vectorizer:
 * each output row starts at the identity (-infinity, or the lowest code) and
 * takes the maximum with one window tap at a time over the columns whose tap
 * is inside the input, so the inner loop has no branch. The result is the
 * reference's: the same comparison (x > best), so NaN never wins and among
 * equal values (-0.0, +0.0) the first tap in (u, v) order stays. */
#include <math.h>

#include "ukernel.h"

#define MAXPOOL(NAME, T, LOWEST)                                                                                     \
    void NAME(const T *x, int c, int h, int w, T *y, int oh, int ow, const pithrt_geom *g)                          \
    {                                                                                                                \
        for (int ch = 0; ch < c; ch++)                                                                               \
            for (int i = 0; i < oh; i++) {                                                                           \
                T *yr = y + ((size_t)ch * oh + i) * ow;                                                              \
                for (int j = 0; j < ow; j++)                                                                         \
                    yr[j] = LOWEST;                                                                                  \
                for (int u = 0; u < g->kh; u++) {                                                                    \
                    int yy = i * g->sh - g->ph + u;                                                                  \
                    if (yy < 0 || yy >= h)                                                                           \
                        continue;                                                                                    \
                    for (int v = 0; v < g->kw; v++) {                                                                \
                        int lo, hi; /* the columns whose tap v reads inside the input */                             \
                        pithrt_col_range(ow, w, g->sw, g->pw, v, &lo, &hi);                                          \
                        const T *xr = x + ((size_t)ch * h + yy) * w + v - g->pw;                                     \
                        if (g->sw == 1)                                                                              \
                            for (int j = lo; j <= hi; j++)                                                            \
                                yr[j] = xr[j] > yr[j] ? xr[j] : yr[j];                                               \
                        else if (g->sw == 2) /* a constant stride the vectorizer can gather */                       \
                            for (int j = lo; j <= hi; j++)                                                            \
                                yr[j] = xr[2 * j] > yr[j] ? xr[2 * j] : yr[j];                                       \
                        else                                                                                         \
                            for (int j = lo; j <= hi; j++)                                                            \
                                yr[j] = xr[j * g->sw] > yr[j] ? xr[j * g->sw] : yr[j];                               \
                    }                                                                                                \
                }                                                                                                    \
            }                                                                                                        \
    }

MAXPOOL(pithrt_maxpool_s8_c, int8_t, -128)
MAXPOOL(pithrt_maxpool_f32_c, float, -INFINITY)
