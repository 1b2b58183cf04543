/* Depthwise conv, fp32, AVX2 + FMA, one channel as shifted copies
 * (ukernel.h): eight outputs per step. */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) void pithrt_dw_f32_avx2(const float *x, const int32_t *off, const float *w,
                                                             int taps, float bias, int act, float *y, int n)
{
    const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6.0f);
    int t = 0;
    for (; t + 8 <= n; t += 8) {
        __m256 a = _mm256_set1_ps(bias);
        for (int k = 0; k < taps; k++)
            a = _mm256_fmadd_ps(_mm256_loadu_ps(x + off[k] + t), _mm256_set1_ps(w[k]), a);
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
        pithrt_dw_f32_c(x + t, off, w, taps, bias, act, y + t, n - t);
}
#endif
