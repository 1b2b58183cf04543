/* Depthwise conv, int8, AVX2, one channel on the wide grid (ukernel.h).
 * Products of raw codes fit int16 (|x * w| <= 128 * 128), so stride 1 takes
 * sixteen outputs per step with VPMULLW and widens them; stride 2 takes eight,
 * with VPMADDWD on the byte pairs (x[2t + v], x[2t + v + 1]) of taps v, v + 1. */
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

static inline int32_t one(const int8_t *xp, int pw, const int8_t *w, int k, int s, int t)
{
    int32_t a = 0;
    for (int u = 0; u < k; u++)
        for (int v = 0; v < k; v++)
            a += (int32_t)w[u * k + v] * xp[(size_t)s * t + (size_t)u * pw + v];
    return a;
}

__attribute__((target("avx2"))) void pithrt_dw_s8_avx2(const int8_t *xp, int pw, const int8_t *w, int k, int s,
                                                        int32_t *acc, int n)
{
    int t = 0;
    if (s == 1) {
        __m256i wv[25];
        for (int i = 0; i < k * k; i++)
            wv[i] = _mm256_set1_epi16(w[i]);
        for (; t + 16 <= n; t += 16) {
            __m256i a0 = _mm256_setzero_si256(), a1 = a0;
            for (int u = 0; u < k; u++) {
                const int8_t *r = xp + (size_t)u * pw + t;
                for (int v = 0; v < k; v++) {
                    __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(r + v)));
                    __m256i p = _mm256_mullo_epi16(x, wv[u * k + v]);
                    a0 = _mm256_add_epi32(a0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(p)));
                    a1 = _mm256_add_epi32(a1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(p, 1)));
                }
            }
            _mm256_storeu_si256((__m256i *)(void *)(acc + t), a0);
            _mm256_storeu_si256((__m256i *)(void *)(acc + t + 8), a1);
        }
    } else {
        __m256i wp[5][3];
        for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v += 2) {
                /* the tap past the kernel's edge has weight 0 */
                int16_t w0 = w[u * k + v], w1 = v + 1 < k ? w[u * k + v + 1] : 0;
                wp[u][v / 2] = _mm256_set1_epi32((int32_t)((uint32_t)(uint16_t)w0 | (uint32_t)(uint16_t)w1 << 16));
            }
        for (; t + 8 <= n; t += 8) {
            __m256i a0 = _mm256_setzero_si256();
            for (int u = 0; u < k; u++) {
                const int8_t *r = xp + (size_t)u * pw + 2 * (size_t)t;
                for (int v = 0; v < k; v += 2) {
                    __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(r + v)));
                    a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x, wp[u][v / 2]));
                }
            }
            _mm256_storeu_si256((__m256i *)(void *)(acc + t), a0);
        }
    }
    for (; t < n; t++)
        acc[t] = one(xp, pw, w, k, s, t);
}
#endif
