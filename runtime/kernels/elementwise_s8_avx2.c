/* Quantize (fp32 -> int8) and the int8 residual add, AVX2, eight values at a
 * time with the reference's float operations in the reference's order:
 * VDIVPS and VROUNDPS (nearest, ties to even) are nearbyintf(v / scale). */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* eight floats to codes: act, / scale, round half even, + zero point, clamp */
__attribute__((target("avx2"))) static inline __m256i to_codes(__m256 v, pithrt_qact q, int act)
{
    if (act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6) {
        /* v > 0 ? v : 0, with NaN -> 0 like the reference's comparison */
        v = _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ));
        if (act == PITHRT_ACT_RELU6)
            v = _mm256_min_ps(v, _mm256_set1_ps(6.0f));
    }
    __m256 r = _mm256_div_ps(v, _mm256_set1_ps(q.scale));
    r = _mm256_round_ps(r, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_add_ps(r, _mm256_set1_ps((float)q.zero_point));
    r = _mm256_max_ps(r, _mm256_set1_ps((float)q.qmin));
    r = _mm256_min_ps(r, _mm256_set1_ps((float)q.qmax));
    return _mm256_cvtps_epi32(r);
}

__attribute__((target("avx2"))) static inline void store8(int8_t *y, __m256i c)
{
    c = _mm256_packs_epi32(c, c);
    c = _mm256_packs_epi16(c, c);
    c = _mm256_permutevar8x32_epi32(c, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));
    _mm_storel_epi64((__m128i *)(void *)y, _mm256_castsi256_si128(c));
}

__attribute__((target("avx2"))) void pithrt_quantize_s8_avx2(const float *x, int8_t *y, size_t n, pithrt_qact yq,
                                                              int act)
{
    size_t i = 0;
    if (act == PITHRT_ACT_NONE || act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6)
        for (; i + 8 <= n; i += 8) {
            __m256 v = _mm256_loadu_ps(x + i);
            /* a block with a NaN takes the reference's path */
            if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)))
                pithrt_quantize_f32_s8_ref(x + i, y + i, 8, yq, act);
            else
                store8(y + i, to_codes(v, yq, act));
        }
    if (i < n)
        pithrt_quantize_f32_s8_ref(x + i, y + i, n - i, yq, act);
}

__attribute__((target("avx2"))) void pithrt_add_s8_avx2(const int8_t *a, pithrt_qact aq, const int8_t *b,
                                                         pithrt_qact bq, int8_t *y, pithrt_qact yq, size_t n, int act)
{
    size_t i = 0;
    if (act == PITHRT_ACT_NONE || act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6) {
        const __m256i za = _mm256_set1_epi32(aq.zero_point), zb = _mm256_set1_epi32(bq.zero_point);
        const __m256 sa = _mm256_set1_ps(aq.scale), sb = _mm256_set1_ps(bq.scale);
        for (; i + 8 <= n; i += 8) {
            __m256i ca = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(a + i)));
            __m256i cb = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(b + i)));
            __m256 va = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(ca, za)), sa);
            __m256 vb = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(cb, zb)), sb);
            store8(y + i, to_codes(_mm256_add_ps(va, vb), yq, act));
        }
    }
    if (i < n)
        pithrt_add_s8_ref(a + i, aq, b + i, bq, y + i, yq, n - i, act);
}
#endif
