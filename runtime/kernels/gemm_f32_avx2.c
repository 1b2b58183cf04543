/* fp32 GEMM microkernel, AVX2 + FMA: a 4 x 16 tile in 8 ymm accumulators. */
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ROW(r)                                                                                                       \
    {                                                                                                                \
        __m256 ar = _mm256_broadcast_ss(a + r);                                                                      \
        c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);                                                                  \
        c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);                                                                  \
    }
#define STORE(r)                                                                                                     \
    _mm256_storeu_ps(c + r * ldc, c##r##0);                                                                           \
    _mm256_storeu_ps(c + r * ldc + 8, c##r##1);
#define LOAD(r)                                                                                                      \
    c##r##0 = _mm256_loadu_ps(c + r * ldc);                                                                            \
    c##r##1 = _mm256_loadu_ps(c + r * ldc + 8);

__attribute__((target("avx2,fma"))) void
pithrt_gemm_f32_avx2(int k, const float *a, const float *b, float *c, size_t ldc, int acc)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    if (acc) { /* continue a sum over an earlier block of k */
        LOAD(0) LOAD(1) LOAD(2) LOAD(3)
    }
    for (int i = 0; i < k; i++) {
        PITHRT_MCA_BEGIN("gemm_f32_avx2");
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        ROW(0) ROW(1) ROW(2) ROW(3)
        a += 4;
        b += 16;
        PITHRT_MCA_END();
    }
    STORE(0) STORE(1) STORE(2) STORE(3)
}
#endif
