/* Depthwise conv, fp32, AVX2 + FMA, one channel on the wide grid (ukernel.h):
 * eight outputs per step; stride 2 gathers the even columns from two loads. */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static inline __m256 even8(const float *p)
{
    __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    __m256 e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
}

__attribute__((target("avx2,fma"))) void pithrt_dw_f32_avx2(const float *xp, int pw, const float *w, int k, int s,
                                                             float bias, int act, float *y, int n)
{
    const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6.0f);
    __m256 wv[25];
    for (int i = 0; i < k * k; i++)
        wv[i] = _mm256_set1_ps(w[i]);
    int t = 0;
    for (; t + 8 <= n; t += 8) {
        __m256 a = _mm256_set1_ps(bias);
        for (int u = 0; u < k; u++) {
            const float *r = xp + (size_t)u * pw + (size_t)s * t;
            for (int v = 0; v < k; v++)
                a = _mm256_fmadd_ps(s == 1 ? _mm256_loadu_ps(r + v) : even8(r + v), wv[u * k + v], a);
        }
        if (act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6)
            a = _mm256_max_ps(a, zero);
        if (act == PITHRT_ACT_RELU6)
            a = _mm256_min_ps(a, six);
        _mm256_storeu_ps(y + t, a);
        if (act == PITHRT_ACT_HARDSWISH)
            for (int q = 0; q < 8; q++)
                y[t + q] = pithrt_apply_act(y[t + q], act);
    }
    if (t < n)
        pithrt_dw_f32_c(xp + (size_t)s * t, pw, w, k, s, bias, act, y + t, n - t);
}
#endif
