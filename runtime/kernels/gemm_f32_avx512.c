/* fp32 GEMM microkernel, AVX-512: an 8 x 32 tile in 16 zmm accumulators;
 * per k, two vector loads of B, eight broadcasts of A, sixteen FMAs. */
#include "../pithrt.h"
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

/* Seven rows of the same panels (A still 8 floats per k; the eighth row is
 * neither computed nor stored), for swapped tiles of 7 pixels. */
__attribute__((target("avx512f"))) void
pithrt_gemm_f32_avx512_7(int k, const float *a, const float *b, float *c, size_t ldc, int acc)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00;
    if (acc) {
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6)
    }
    for (int i = 0; i < k; i++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6)
        a += 8;
        b += 32;
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6)
}

/* Pixels on the A side, read in place (pithrt_ukr_f32_swap): C[R][32], R 8
 * or 7; row r broadcasts its pixel's input value at px[r] + off[i] (a
 * padded plane, any stride), against 32 output channels' weights. */
#define PXROW(r)                                                                                                     \
    if ((r) < R) {                                                                                                   \
        __m512 ar = _mm512_set1_ps(p##r[o]);                                                                         \
        c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0);                                                                  \
        c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1);                                                                  \
    }

static inline __attribute__((target("avx512f"), always_inline)) void
swap_tile(int k, const float *const *px, const int32_t *off, const float *b, float *c, int acc, const int R)
{
    const float *p0 = px[0], *p1 = px[1], *p2 = px[2], *p3 = px[3], *p4 = px[4], *p5 = px[5], *p6 = px[6],
                *p7 = px[R - 1];
    const size_t ldc = 32;
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    if (acc) {
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6)
        if (R == 8) {
            LOAD(7)
        }
    }
    for (int i = 0; i < k; i++) {
        PITHRT_MCA_BEGIN("gemm_f32_avx512_swap");
        const int32_t o = off[i];
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        PXROW(0) PXROW(1) PXROW(2) PXROW(3) PXROW(4) PXROW(5) PXROW(6) PXROW(7)
        b += 32;
        PITHRT_MCA_END();
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6)
    if (R == 8) {
        STORE(7)
    }
}

__attribute__((target("avx512f"))) void pithrt_gemm_f32_avx512_swap(int k, int rows, const float *const *px,
                                                                     const int32_t *off, const float *w, float *c,
                                                                     int acc)
{
    if (rows == 7)
        swap_tile(k, px, off, w, c, acc, 7);
    else
        swap_tile(k, px, off, w, c, acc, 8);
}

/* The same tile with the epilogue in registers: row r gets bias[r] and the
 * activation (none, relu, relu6) and goes straight to y + r * ldy, its first
 * n <= 32 columns (the rest masked off). B's rows are ldb apart: a packed
 * panel (32), or a 1x1 convolution's input planes read in place. */
#define OUT(r)                                                                                                       \
    {                                                                                                                \
        __m512 br = _mm512_set1_ps(bias ? bias[r] : 0.0f);                                                           \
        __m512 v0 = _mm512_add_ps(c##r##0, br), v1 = _mm512_add_ps(c##r##1, br);                                     \
        if (act != PITHRT_ACT_NONE) {                                                                                \
            v0 = _mm512_max_ps(v0, zero);                                                                            \
            v1 = _mm512_max_ps(v1, zero);                                                                            \
        }                                                                                                            \
        if (act == PITHRT_ACT_RELU6) {                                                                               \
            v0 = _mm512_min_ps(v0, six);                                                                             \
            v1 = _mm512_min_ps(v1, six);                                                                             \
        }                                                                                                            \
        _mm512_mask_storeu_ps(y + r * ldy, m0, v0);                                                                  \
        _mm512_mask_storeu_ps(y + r * ldy + 16, m1, v1);                                                             \
    }

__attribute__((target("avx512f"))) void pithrt_gemm_f32_avx512_out(int k, const float *a, const float *b, size_t ldb,
                                                                    float *y, size_t ldy, const float *bias, int act,
                                                                    int n)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int i = 0; i < k; i++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
        a += 8;
        b += ldb;
    }
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f);
    const __mmask16 m0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u),
                    m1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1u);
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7)
}
#endif
