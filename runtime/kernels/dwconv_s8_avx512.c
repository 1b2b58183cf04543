/* Depthwise conv, int8, AVX-512 (BW), one channel on the wide grid
 * (ukernel.h): dwconv_s8_avx2.c's method on zmm registers, thirty-two
 * outputs per step at stride 1 and sixteen at stride 2. */
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f,avx512bw"))) void pithrt_dw_s8_avx512(const int8_t *xp, int pw, const int8_t *w, int k,
                                                                      int s, int32_t *acc, int n)
{
    int t = 0;
    if (s == 1) {
        __m512i wv[25];
        for (int i = 0; i < k * k; i++)
            wv[i] = _mm512_set1_epi16(w[i]);
        for (; t + 32 <= n; t += 32) {
            __m512i a0 = _mm512_setzero_si512(), a1 = a0;
            for (int u = 0; u < k; u++) {
                const int8_t *r = xp + (size_t)u * pw + t;
                for (int v = 0; v < k; v++) {
                    __m512i x = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(r + v)));
                    __m512i p = _mm512_mullo_epi16(x, wv[u * k + v]);
                    a0 = _mm512_add_epi32(a0, _mm512_cvtepi16_epi32(_mm512_castsi512_si256(p)));
                    a1 = _mm512_add_epi32(a1, _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(p, 1)));
                }
            }
            _mm512_storeu_si512((void *)(acc + t), a0);
            _mm512_storeu_si512((void *)(acc + t + 16), a1);
        }
    } else {
        __m512i wp[5][3];
        for (int u = 0; u < k; u++)
            for (int v = 0; v < k; v += 2) {
                int16_t w0 = w[u * k + v], w1 = v + 1 < k ? w[u * k + v + 1] : 0;
                wp[u][v / 2] = _mm512_set1_epi32((int32_t)((uint32_t)(uint16_t)w0 | (uint32_t)(uint16_t)w1 << 16));
            }
        for (; t + 16 <= n; t += 16) {
            __m512i a0 = _mm512_setzero_si512();
            for (int u = 0; u < k; u++) {
                const int8_t *r = xp + (size_t)u * pw + 2 * (size_t)t;
                for (int v = 0; v < k; v += 2) {
                    __m512i x = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(r + v)));
                    a0 = _mm512_add_epi32(a0, _mm512_madd_epi16(x, wp[u][v / 2]));
                }
            }
            _mm512_storeu_si512((void *)(acc + t), a0);
        }
    }
    if (t < n)
        pithrt_dw_s8_c(xp + (size_t)s * t, pw, w, k, s, acc + t, n - t);
}
#endif
