/* Depthwise conv, fp32, AVX-512, one channel on the wide grid (ukernel.h):
 * sixteen outputs per step; stride 2 takes the even columns of two loads
 * with one VPERMT2PS. */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) void pithrt_dw_f32_avx512(const float *xp, int pw, const float *w, int k, int s,
                                                              float bias, int act, float *y, int n)
{
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    __m512 wv[25];
    for (int i = 0; i < k * k; i++)
        wv[i] = _mm512_set1_ps(w[i]);
    int t = 0;
    for (; t + 16 <= n; t += 16) {
        __m512 a = _mm512_set1_ps(bias);
        for (int u = 0; u < k; u++) {
            const float *r = xp + (size_t)u * pw + (size_t)s * t;
            for (int v = 0; v < k; v++) {
                __m512 x = s == 1 ? _mm512_loadu_ps(r + v)
                                  : _mm512_permutex2var_ps(_mm512_loadu_ps(r + v), even, _mm512_loadu_ps(r + v + 16));
                a = _mm512_fmadd_ps(x, wv[u * k + v], a);
            }
        }
        if (act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6)
            a = _mm512_max_ps(a, zero);
        if (act == PITHRT_ACT_RELU6)
            a = _mm512_min_ps(a, six);
        _mm512_storeu_ps(y + t, a);
        if (act == PITHRT_ACT_HARDSWISH)
            for (int q = 0; q < 16; q++)
                y[t + q] = pithrt_apply_act(y[t + q], act);
    }
    if (t < n)
        pithrt_dw_f32_c(xp + (size_t)s * t, pw, w, k, s, bias, act, y + t, n - t);
}
#endif
