/* Depthwise conv, fp32, AVX-512: one channel straight into its output rows,
 * sixteen outputs per step, the last vector of a row stored under a mask.
 * Stride 1: the input is copied into a padded plane (vector copies; only
 * the border filled) and a window tap is a shifted load. Stride 2: no copy
 * (measured faster; the plane pays at stride 1): each window row's two
 * vectors, columns outside the input masked off (read as 0), are split
 * into even and odd columns (VPERMT2PS), the third tap being the even
 * columns one further on; rows outside the input are skipped. */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* Rows are stored in whole vectors, so a row's last store runs into the
 * next row, which is written after it; the right border and the bottom rows
 * go in last, the plane's slack takes the rest. */
__attribute__((target("avx512f"))) static void pad_plane(const float *x, int h, int w, int ph, int pw, float *dst)
{
    const int wp = w + 2 * pw;
    for (size_t i = 0; i < (size_t)ph * wp + (size_t)pw; i++)
        dst[i] = 0.0f;
    for (int i = 0; i < h; i++) {
        float *d = dst + (size_t)(ph + i) * wp + pw;
        const float *s = x + (size_t)i * w;
        for (int j = 0; j < w; j += 16) {
            const __mmask16 k = w - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (w - j)) - 1u);
            _mm512_storeu_ps(d + j, _mm512_maskz_loadu_ps(k, s + j));
        }
        for (int j = w; j < w + 2 * pw; j++) /* this row's right border, the next one's left */
            d[j] = 0.0f;
    }
    float *bottom = dst + (size_t)(ph + h) * wp + pw;
    for (size_t i = 0; ph && i < (size_t)ph * wp - (size_t)pw; i++)
        bottom[i] = 0.0f;
}

static inline __attribute__((target("avx512f"), always_inline)) __m512 act16(__m512 a, int act)
{
    if (act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6)
        a = _mm512_max_ps(a, _mm512_setzero_ps());
    if (act == PITHRT_ACT_RELU6)
        a = _mm512_min_ps(a, _mm512_set1_ps(6.0f));
    return a;
}

/* lanes [lo, hi) of 16, clipped */
static inline __mmask16 lanes(int lo, int hi)
{
    lo = lo < 0 ? 0 : lo;
    hi = hi > 16 ? 16 : hi;
    return hi <= lo ? 0 : (__mmask16)(((1u << (hi - lo)) - 1u) << lo);
}

/* one output row at stride 1 from the padded plane */
static inline __attribute__((target("avx512f"), always_inline)) void dw_row_plane(const float *plane, int wp, int i,
                                                                                  const __m512 *wv, float bias,
                                                                                  int act, int ow, float *yr,
                                                                                  const int KH, const int KW)
{
    for (int j = 0; j < ow; j += 16) {
        const __mmask16 k = ow - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ow - j)) - 1u);
        __m512 a = _mm512_set1_ps(bias);
        for (int u = 0; u < KH; u++) {
            const float *r = plane + (size_t)(i + u) * wp + j;
            for (int v = 0; v < KW; v++)
                a = _mm512_fmadd_ps(_mm512_loadu_ps(r + v), wv[u * KW + v], a);
        }
        _mm512_mask_storeu_ps(yr + j, k, act16(a, act));
        if (act == PITHRT_ACT_HARDSWISH)
            for (int q = j; q < ow && q < j + 16; q++)
                yr[q] = pithrt_apply_act(yr[q], act);
    }
}

/* one output row at stride 2 from the input itself: tap (u, v) of output j
 * reads input column 2 j + v - pw of row 2 i - ph + u; rows outside the
 * input are skipped (their taps add 0), columns outside it are masked off
 * the load (read as 0) */
static inline __attribute__((target("avx512f"), always_inline)) void dw_row_s2(const float *x, int h, int w, int ph,
                                                                               int pw, int i, const __m512 *wv,
                                                                               float bias, int act, int ow, float *yr,
                                                                               const int KH, const int KW)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int j = 0; j < ow; j += 16) {
        const __mmask16 k = ow - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ow - j)) - 1u);
        /* the loads' valid lanes: the two vectors at 2 j + v - pw (+ 16) */
        __mmask16 m[2 * 6];
        const int c0 = 2 * j - pw;
        const int inside = c0 >= 0 && c0 + KW + 32 <= w; /* every load whole */
        for (int v = 0; v < KW + 1; v++) {
            m[2 * v] = inside ? (__mmask16)0xFFFF : lanes(-(c0 + v), w - (c0 + v));
            m[2 * v + 1] = inside ? (__mmask16)0xFFFF : lanes(-(c0 + v + 16), w - (c0 + v + 16));
        }
        __m512 a = _mm512_set1_ps(bias);
        for (int u = 0; u < KH; u++) {
            const int yy = 2 * i - ph + u;
            if (yy < 0 || yy >= h)
                continue;
            /* the address in integers: it may lie before the row (those lanes masked off), where a
             * pointer may not point */
            const float *r = (const float *)((uintptr_t)x + (uintptr_t)(((intptr_t)yy * w + c0) * 4));
            for (int v = 0; v < KW; v += 2) { /* taps 2q from the even columns at r + 2q, 2q + 1 from the odd */
                __m512 lo = _mm512_maskz_loadu_ps(m[2 * v], r + v);
                __m512 hi = _mm512_maskz_loadu_ps(m[2 * v + 1], r + v + 16);
                a = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo, even, hi), wv[u * KW + v], a);
                if (v + 1 < KW)
                    a = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo, odd, hi), wv[u * KW + v + 1], a);
            }
        }
        _mm512_mask_storeu_ps(yr + j, k, act16(a, act));
        if (act == PITHRT_ACT_HARDSWISH)
            for (int q = j; q < ow && q < j + 16; q++)
                yr[q] = pithrt_apply_act(yr[q], act);
    }
}

__attribute__((target("avx512f"))) void pithrt_dw_f32_avx512_rows(const float *x, int h, int w, int ph, int pw,
                                                                  int st, const float *wt, int kh, int kw, float bias,
                                                                  int act, int oh, int ow, float *plane, float *y)
{
    const int wp = w + 2 * pw;
    __m512 wv[25];
    for (int t = 0; t < kh * kw && t < 25; t++)
        wv[t] = _mm512_set1_ps(wt[t]);
    if (st == 1)
        pad_plane(x, h, w, ph, pw, plane);
    for (int i = 0; i < oh; i++) {
        float *yr = y + (size_t)i * ow;
        if (st == 1 && kh == 3 && kw == 3)
            dw_row_plane(plane, wp, i, wv, bias, act, ow, yr, 3, 3);
        else if (st == 1)
            dw_row_plane(plane, wp, i, wv, bias, act, ow, yr, 5, 5);
        else if (kh == 3 && kw == 3)
            dw_row_s2(x, h, w, ph, pw, i, wv, bias, act, ow, yr, 3, 3);
        else
            dw_row_s2(x, h, w, ph, pw, i, wv, bias, act, ow, yr, 5, 5);
    }
}
#endif
