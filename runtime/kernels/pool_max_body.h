/* Max pooling for the fast path (the body of pool_max_c.c and
 * pool_max_x86.c, compiled once per instruction set), portable C written for the vectorizer, in
 * two passes per output row: the maximum down the window's rows, over the
 * input columns the row's windows cover (contiguous loads), then across the
 * window's columns (one strided pass instead of one per tap). Every maximum
 * is the reference's comparison (x > best, best starting at -infinity or the
 * lowest code), so NaN never wins and the result is the reference's value;
 * only among equal values of different sign (-0.0, +0.0) may a different tap
 * stay, since the order is rows first, then columns. */
#ifndef PITHRT_POOL_MAX_BODY_H
#define PITHRT_POOL_MAX_BODY_H

#include <math.h>

#include "ukernel.h"

#define PITHRT_MAXPOOL(ATTR, NAME, T, LOWEST)                                                                        \
    ATTR void NAME(const T *x, int c, int h, int w, T *y, int oh, int ow, const pithrt_geom *g)                      \
    {                                                                                                                \
        T col[PITHRT_MAXPOOL_SPAN];                                                                                  \
        /* output columns per pass: their windows span at most PITHRT_MAXPOOL_SPAN input columns */                  \
        const int step = (PITHRT_MAXPOOL_SPAN - g->kw) / g->sw + 1;                                                  \
        for (int ch = 0; ch < c; ch++)                                                                               \
            for (int i = 0; i < oh; i++) {                                                                           \
                T *yr = y + ((size_t)ch * oh + i) * ow;                                                              \
                int u0 = i * g->sh - g->ph, u1 = u0 + g->kh;                                                         \
                u0 = u0 < 0 ? 0 : u0;                                                                                \
                u1 = u1 > h ? h : u1;                                                                                \
                for (int j0 = 0; j0 < ow; j0 += step) {                                                              \
                    const int jn = ow - j0 < step ? ow - j0 : step;                                                  \
                    /* input columns [x0, x1) of these windows, inside the input */                                  \
                    int x0 = j0 * g->sw - g->pw, x1 = (j0 + jn - 1) * g->sw - g->pw + g->kw;                         \
                    x0 = x0 < 0 ? 0 : x0;                                                                            \
                    x1 = x1 > w ? w : x1;                                                                            \
                    for (int t = 0; t < x1 - x0; t++)                                                                \
                        col[t] = LOWEST;                                                                             \
                    for (int u = u0; u < u1; u++) {                                                                  \
                        const T *xr = x + ((size_t)ch * h + u) * w + x0;                                             \
                        for (int t = 0; t < x1 - x0; t++)                                                            \
                            col[t] = xr[t] > col[t] ? xr[t] : col[t];                                                \
                    }                                                                                                \
                    T *yo = yr + j0;                                                                                 \
                    for (int j = 0; j < jn; j++)                                                                     \
                        yo[j] = LOWEST;                                                                              \
                    for (int v = 0; v < g->kw; v++) {                                                                \
                        int lo, hi; /* the columns whose tap v reads inside [x0, x1) */                              \
                        pithrt_col_range(jn, x1 - x0, g->sw, x0 - j0 * g->sw + g->pw, v, &lo, &hi);                  \
                        const int off = v - (x0 - j0 * g->sw + g->pw); /* col[j s + off]: tap v */                   \
                        if (g->sw == 1)                                                                              \
                            for (int j = lo; j <= hi; j++)                                                           \
                                yo[j] = col[j + off] > yo[j] ? col[j + off] : yo[j];                                 \
                        else if (g->sw == 2)                                                                         \
                            for (int j = lo; j <= hi; j++)                                                           \
                                yo[j] = col[2 * j + off] > yo[j] ? col[2 * j + off] : yo[j];                         \
                        else                                                                                         \
                            for (int j = lo; j <= hi; j++)                                                           \
                                yo[j] = col[j * g->sw + off] > yo[j] ? col[j * g->sw + off] : yo[j];                 \
                    }                                                                                                \
                }                                                                                                    \
            }                                                                                                        \
    }

#endif
