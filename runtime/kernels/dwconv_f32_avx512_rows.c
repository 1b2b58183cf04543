/* Depthwise conv, fp32, AVX-512: one channel, straight into its output
 * rows. The input is copied into a padded plane (vector copies; only the
 * border is filled), then each output row takes sixteen outputs per step:
 * at stride 1 a window tap is a shifted load; at stride 2 the row's two
 * vectors are split into even and odd columns (VPERMT2PS), the third tap
 * being the even columns one further on. The last vector of a row is
 * stored under a mask, so nothing is computed twice or copied out. */
#include <string.h>

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

/* one output row; KH, KW, ST constants where the caller can make them so */
static inline __attribute__((target("avx512f"), always_inline)) void
dw_row(const float *plane, int wp, int i, const __m512 *wv, float bias, int act, int ow, float *yr, const int KH,
       const int KW, const int ST)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int j = 0; j < ow; j += 16) {
        const __mmask16 k = ow - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ow - j)) - 1u);
        __m512 a = _mm512_set1_ps(bias);
        for (int u = 0; u < KH; u++) {
            const float *r = plane + (size_t)(i * ST + u) * wp + (size_t)ST * j;
            if (ST == 1) {
                for (int v = 0; v < KW; v++)
                    a = _mm512_fmadd_ps(_mm512_loadu_ps(r + v), wv[u * KW + v], a);
            } else { /* taps 2q from the even columns at r + 2q, 2q + 1 from the odd ones */
                for (int v = 0; v < KW; v += 2) {
                    __m512 lo = _mm512_loadu_ps(r + v), hi = _mm512_loadu_ps(r + v + 16);
                    a = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo, even, hi), wv[u * KW + v], a);
                    if (v + 1 < KW)
                        a = _mm512_fmadd_ps(_mm512_permutex2var_ps(lo, odd, hi), wv[u * KW + v + 1], a);
                }
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
    pad_plane(x, h, w, ph, pw, plane);
    __m512 wv[25];
    for (int t = 0; t < kh * kw && t < 25; t++)
        wv[t] = _mm512_set1_ps(wt[t]);
    for (int i = 0; i < oh; i++) {
        float *yr = y + (size_t)i * ow;
        if (kh == 3 && kw == 3 && st == 1)
            dw_row(plane, wp, i, wv, bias, act, ow, yr, 3, 3, 1);
        else if (kh == 3 && kw == 3)
            dw_row(plane, wp, i, wv, bias, act, ow, yr, 3, 3, 2);
        else if (kh == 5 && kw == 5 && st == 1)
            dw_row(plane, wp, i, wv, bias, act, ow, yr, 5, 5, 1);
        else if (kh == 5 && kw == 5)
            dw_row(plane, wp, i, wv, bias, act, ow, yr, 5, 5, 2);
    }
}
#endif
