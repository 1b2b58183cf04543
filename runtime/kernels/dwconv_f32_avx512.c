/* Depthwise conv, fp32, AVX-512, one channel as shifted copies (ukernel.h):
 * sixteen outputs per step. */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) void pithrt_dw_f32_avx512(const float *x, const int32_t *off, const float *w,
                                                              int taps, float bias, int act, float *y, int n)
{
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f);
    int t = 0;
    for (; t + 16 <= n; t += 16) {
        __m512 a = _mm512_set1_ps(bias);
        for (int k = 0; k < taps; k++)
            a = _mm512_fmadd_ps(_mm512_loadu_ps(x + off[k] + t), _mm512_set1_ps(w[k]), a);
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
        pithrt_dw_f32_c(x + t, off, w, taps, bias, act, y + t, n - t);
}
#endif
