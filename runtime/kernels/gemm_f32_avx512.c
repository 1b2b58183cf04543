/* fp32 GEMM microkernel, AVX-512: an 8 x 32 tile in 16 zmm accumulators;
 * per k, two vector loads of B, eight broadcasts of A, sixteen FMAs. */
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ROW(r)                                                                                                       \
    {                                                                                                                \
        __m512 ar = _mm512_set1_ps(a[r]);                                                                            \
        c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0);                                                                  \
        c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1);                                                                  \
    }
#define STORE(r)                                                                                                     \
    _mm512_storeu_ps(c + r * ldc, c##r##0);                                                                           \
    _mm512_storeu_ps(c + r * ldc + 16, c##r##1);
#define LOAD(r)                                                                                                      \
    c##r##0 = _mm512_loadu_ps(c + r * ldc);                                                                            \
    c##r##1 = _mm512_loadu_ps(c + r * ldc + 16);

__attribute__((target("avx512f"))) void
pithrt_gemm_f32_avx512(int k, const float *a, const float *b, float *c, size_t ldc, int acc)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    if (acc) { /* continue a sum over an earlier block of k */
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6) LOAD(7)
    }
    for (int i = 0; i < k; i++) {
        PITHRT_MCA_BEGIN("gemm_f32_avx512");
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
        a += 8;
        b += 32;
        PITHRT_MCA_END();
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
}
#endif
