/* The int8 epilogue, AVX-512, sixteen accumulators at a time: the same
 * arithmetic as requant_s8_avx2.c (which explains it), on zmm registers with
 * VPMOVSDB narrowing. */
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f,avx512bw,avx512vl"))) void
pithrt_requant_row_avx512(const int32_t *acc, int n, const pithrt_rq_ch *ch, pithrt_rq_out out, int8_t *y)
{
    int i = 0;
    if (!ch->left && ch->right <= 31 && ch->mult != INT32_MIN) {
        const __m512i bias = _mm512_set1_epi32(ch->bias), lo = _mm512_set1_epi32(ch->lo),
                      hi = _mm512_set1_epi32(ch->hi), m = _mm512_set1_epi32(ch->mult),
                      nudge = _mm512_set1_epi64(1LL << 30), zp = _mm512_set1_epi32(out.zero_point),
                      qmin = _mm512_set1_epi32(out.qmin), qmax = _mm512_set1_epi32(out.qmax);
        const int32_t mk = (int32_t)(((uint32_t)1 << ch->right) - 1u);
        const __m512i mask = _mm512_set1_epi32(mk), half = _mm512_set1_epi32(mk >> 1);
        const __m128i e = _mm_cvtsi32_si128(ch->right);
        for (; i + 16 <= n; i += 16) {
            __m512i x = _mm512_add_epi32(_mm512_loadu_si512((const void *)(acc + i)), bias);
            x = _mm512_min_epi32(_mm512_max_epi32(x, lo), hi);
            __m512i ev = _mm512_add_epi64(_mm512_mul_epi32(x, m), nudge);
            __m512i od = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), m), nudge);
            x = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(ev, 31), _mm512_slli_epi64(od, 1));
            __m512i rem = _mm512_and_si512(x, mask), thr = _mm512_add_epi32(half, _mm512_srli_epi32(x, 31));
            x = _mm512_sra_epi32(x, e);
            x = _mm512_mask_add_epi32(x, _mm512_cmpgt_epi32_mask(rem, thr), x, _mm512_set1_epi32(1));
            x = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(x, zp), qmin), qmax);
            _mm_storeu_si128((__m128i *)(void *)(y + i), _mm512_cvtsepi32_epi8(x));
        }
    }
    if (i < n)
        pithrt_requant_row_c(acc + i, n - i, ch, out, y + i);
}
#endif
