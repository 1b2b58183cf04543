/* Depthwise conv, int8, AVX2, one channel as shifted copies (ukernel.h):
 * sixteen outputs per step. A product of raw codes fits int16
 * (|x * w| <= 128 * 128), so VPMULLW then a widening add into int32. */
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2"))) void pithrt_dw_s8_avx2(const int8_t *x, const int32_t *off, const int8_t *w, int taps,
                                                        int32_t *acc, int n)
{
    __m256i wv[25];
    for (int k = 0; k < taps && k < 25; k++)
        wv[k] = _mm256_set1_epi16(w[k]);
    int t = 0;
    for (; taps <= 25 && t + 16 <= n; t += 16) {
        __m256i a0 = _mm256_setzero_si256(), a1 = a0;
        for (int k = 0; k < taps; k++) {
            __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(x + off[k] + t)));
            __m256i p = _mm256_mullo_epi16(v, wv[k]);
            a0 = _mm256_add_epi32(a0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(p)));
            a1 = _mm256_add_epi32(a1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(p, 1)));
        }
        _mm256_storeu_si256((__m256i *)(void *)(acc + t), a0);
        _mm256_storeu_si256((__m256i *)(void *)(acc + t + 8), a1);
    }
    if (t < n)
        pithrt_dw_s8_c(x + t, off, w, taps, acc + t, n - t);
}
#endif
