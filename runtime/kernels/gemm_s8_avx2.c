/* int8 GEMM microkernel, AVX2 (no VNNI): operands widened to int16 at
 * packing, panels [k/2][rows][2]; VPMADDWD multiplies pairs and adds them
 * into int32 exactly. A 4 x 16 tile in 8 ymm accumulators. */
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define ROW(r)                                                                                                       \
    {                                                                                                                \
        int32_t w;                                                                                                   \
        memcpy(&w, a + 2 * r, 4);                                                                                    \
        __m256i ar = _mm256_set1_epi32(w);                                                                           \
        c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(b0, ar));                                              \
        c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(b1, ar));                                              \
    }
#define STORE(r)                                                                                                     \
    _mm256_storeu_si256((__m256i *)(void *)(c + r * ldc), c##r##0);                                                   \
    _mm256_storeu_si256((__m256i *)(void *)(c + r * ldc + 8), c##r##1);
#define LOAD(r)                                                                                                      \
    c##r##0 = _mm256_loadu_si256((const __m256i *)(const void *)(c + r * ldc));                                        \
    c##r##1 = _mm256_loadu_si256((const __m256i *)(const void *)(c + r * ldc + 8));

__attribute__((target("avx2"))) void
pithrt_gemm_s8_avx2(int kgroups, const void *ap, const void *bp, int32_t *c, size_t ldc, int acc)
{
    const int16_t *a = ap, *b = bp;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
            c31 = c00;
    if (acc) { /* continue a sum over an earlier block of k */
        LOAD(0) LOAD(1) LOAD(2) LOAD(3)
    }
    for (int i = 0; i < kgroups; i++) {
        PITHRT_MCA_BEGIN("gemm_s8_avx2");
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(const void *)b),
                b1 = _mm256_loadu_si256((const __m256i *)(const void *)(b + 16));
        ROW(0) ROW(1) ROW(2) ROW(3)
        a += 8;
        b += 32;
        PITHRT_MCA_END();
    }
    STORE(0) STORE(1) STORE(2) STORE(3)
}
#endif
