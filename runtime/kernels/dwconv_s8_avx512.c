/* Depthwise conv, int8, AVX-512 (BW), one channel as shifted copies
 * (ukernel.h): dwconv_s8_avx2.c's method on zmm registers, thirty-two
 * outputs per step. */
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f,avx512bw"))) void pithrt_dw_s8_avx512(const int8_t *x, const int32_t *off,
                                                                      const int8_t *w, int taps, int32_t *acc, int n)
{
    __m512i wv[25];
    for (int k = 0; k < taps && k < 25; k++)
        wv[k] = _mm512_set1_epi16(w[k]);
    int t = 0;
    for (; taps <= 25 && t + 32 <= n; t += 32) {
        __m512i a0 = _mm512_setzero_si512(), a1 = a0;
        for (int k = 0; k < taps; k++) {
            __m512i v = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(x + off[k] + t)));
            __m512i p = _mm512_mullo_epi16(v, wv[k]);
            a0 = _mm512_add_epi32(a0, _mm512_cvtepi16_epi32(_mm512_castsi512_si256(p)));
            a1 = _mm512_add_epi32(a1, _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(p, 1)));
        }
        _mm512_storeu_si512((void *)(acc + t), a0);
        _mm512_storeu_si512((void *)(acc + t + 16), a1);
    }
    if (t < n)
        pithrt_dw_s8_c(x + t, off, w, taps, acc + t, n - t);
}
#endif
