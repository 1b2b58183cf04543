/* Depthwise conv, int8, AVX2, one channel over its padded plane: int32
 * accumulators of w * (x - zx). Stride 1: sixteen outputs per step, the
 * product (|x - zx| <= 255, |w| <= 128) fits int16 and is widened. Stride 2:
 * eight outputs per step; taps v and v + 1 of an output are adjacent bytes,
 * so VPMADDWD takes both at once. Edge columns use the portable loop. */
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

static void tail(const int8_t *xp, int pw, int32_t zx, const int8_t *w, int k, int s, int32_t *acc, int i, int j0,
                 int ow)
{
    for (int j = j0; j < ow; j++) {
        int32_t a = 0;
        for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v++)
                a += (int32_t)w[u * k + v] * ((int32_t)xp[(size_t)(i * s + u) * pw + j * s + v] - zx);
        acc[(size_t)i * ow + j] = a;
    }
}

__attribute__((target("avx2"))) void pithrt_dw_s8_avx2(const int8_t *xp, int pw, int32_t zx, const int8_t *w, int k,
                                                        int s, int32_t *acc, int oh, int ow)
{
    const __m256i z16 = _mm256_set1_epi16((short)zx);
    for (int i = 0; i < oh; i++) {
        int j = 0;
        if (s == 1) {
            for (; j + 16 <= ow; j += 16) {
                __m256i a0 = _mm256_setzero_si256(), a1 = a0;
                for (int u = 0; u < k; u++) {
                    const int8_t *r = xp + (size_t)(i + u) * pw + j;
                    for (int v = 0; v < k; v++) {
                        __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(r + v)));
                        __m256i p = _mm256_mullo_epi16(_mm256_sub_epi16(x, z16), _mm256_set1_epi16(w[u * k + v]));
                        a0 = _mm256_add_epi32(a0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(p)));
                        a1 = _mm256_add_epi32(a1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(p, 1)));
                    }
                }
                _mm256_storeu_si256((__m256i *)(void *)(acc + (size_t)i * ow + j), a0);
                _mm256_storeu_si256((__m256i *)(void *)(acc + (size_t)i * ow + j + 8), a1);
            }
        } else {
            for (; j + 8 <= ow; j += 8) {
                __m256i a0 = _mm256_setzero_si256();
                for (int u = 0; u < k; u++) {
                    const int8_t *r = xp + (size_t)(i * 2 + u) * pw + 2 * j;
                    for (int v = 0; v < k; v += 2) {
                        /* pairs (x[2j' + v], x[2j' + v + 1]) of eight outputs j'; the
                         * second tap is 0 past the kernel (the byte read is slack) */
                        __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(r + v)));
                        int16_t w0 = w[u * k + v], w1 = v + 1 < k ? w[u * k + v + 1] : 0;
                        __m256i wp = _mm256_set1_epi32((int32_t)((uint32_t)(uint16_t)w0 | (uint32_t)(uint16_t)w1 << 16));
                        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_sub_epi16(x, z16), wp));
                    }
                }
                _mm256_storeu_si256((__m256i *)(void *)(acc + (size_t)i * ow + j), a0);
            }
        }
        tail(xp, pw, zx, w, k, s, acc, i, j, ow);
    }
}
#endif
