/* The int8 epilogue, AVX2, eight accumulators at a time (a last partial
 * eight through a buffer): bias, activation
 * clamp, then pithrt_requantize's arithmetic. The doubling high multiply
 * round(x * m / 2^31) is floor((x * m + 2^30) / 2^31) for either sign (which
 * is why ARM's SQRDMULH implements it too); the rounding right shift adds one
 * when the remainder exceeds half the divisor (half, for negative x). A
 * channel with a left shift, a right shift over 31 or the multiplier
 * INT32_MIN takes the portable path. */
#include <string.h>

#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2"))) void pithrt_requant_s8_avx2(const int32_t *acc, size_t lda, int n, int rows,
                                                            const pithrt_rq_ch *ch, pithrt_rq_out out, int8_t *y,
                                                            size_t ldy)
{
    if (ch->left || ch->right > 31 || ch->mult == INT32_MIN) {
        pithrt_requant_s8_c(acc, lda, n, rows, ch, out, y, ldy);
        return;
    }
    {
        const __m256i bias = _mm256_set1_epi32(ch->bias), lo = _mm256_set1_epi32(ch->lo),
                      hi = _mm256_set1_epi32(ch->hi), m = _mm256_set1_epi32(ch->mult),
                      nudge = _mm256_set1_epi64x(1LL << 30), zp = _mm256_set1_epi32(out.zero_point),
                      qmin = _mm256_set1_epi32(out.qmin - out.zero_point),
                      qmax = _mm256_set1_epi32(out.qmax - out.zero_point);
        const int32_t mk = (int32_t)(((uint32_t)1 << ch->right) - 1u);
        const __m256i mask = _mm256_set1_epi32(mk), half = _mm256_set1_epi32(mk >> 1);
        const __m128i e = _mm_cvtsi32_si128(ch->right);
        const __m256i pick = _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0);
        for (int row = 0; row < rows; row++, acc += lda, y += ldy)
            for (int i = 0; i < n; i += 8) {
                int32_t tail[8];
                const int32_t *a = acc + i;
                if (n - i < 8) { /* a partial eight, through a buffer */
                    memcpy(tail, a, (size_t)(n - i) * sizeof(int32_t));
                    memset(tail + (n - i), 0, (size_t)(8 - (n - i)) * sizeof(int32_t));
                    a = tail;
                }
                __m256i x = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(const void *)a), bias);
                x = _mm256_min_epi32(_mm256_max_epi32(x, lo), hi);
                __m256i ev = _mm256_add_epi64(_mm256_mul_epi32(x, m), nudge);
                __m256i od = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), m), nudge);
                x = _mm256_blend_epi32(_mm256_srli_epi64(ev, 31), _mm256_slli_epi64(od, 1), 0xAA);
                __m256i rem = _mm256_and_si256(x, mask), thr = _mm256_add_epi32(half, _mm256_srli_epi32(x, 31));
                x = _mm256_sub_epi32(_mm256_sra_epi32(x, e), _mm256_cmpgt_epi32(rem, thr));
                x = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(x, qmin), qmax),
                                     zp); /* zp last: no overflow */
                x = _mm256_packs_epi32(x, x);
                x = _mm256_packs_epi16(x, x);
                x = _mm256_permutevar8x32_epi32(x, pick);
                if (n - i >= 8) {
                    _mm_storel_epi64((__m128i *)(void *)(y + i), _mm256_castsi256_si128(x));
                } else {
                    int8_t codes[8];
                    _mm_storel_epi64((__m128i *)(void *)codes, _mm256_castsi256_si128(x));
                    memcpy(y + i, codes, (size_t)(n - i));
                }
            }
    }
}
#endif
