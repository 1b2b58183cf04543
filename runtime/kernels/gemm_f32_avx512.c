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

/* Pixels on the A side with the epilogue in registers (pithrt_ukr_f32_swap_out):
 * the R x 32 sums get each channel's bias (a vector: channels are the
 * lanes) and the activation, then 8 x 8 transposes (on both 256-bit halves
 * at once) turn pixel rows into channel rows, stored straight to
 * y + ch * ldy, the first n of the R pixels, for the first cv channels. */
static inline __attribute__((target("avx512f,avx512dq,avx512vl"), always_inline)) void
transpose8x2(__m512 r[8])
{
    __m512 t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    /* r[4g + j], 128-bit lane L: rows 4g .. 4g + 3 of column 4 (L % 2) + j of half L / 2 */
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (int j = 0; j < 4; j++) {
        t[j] = _mm512_castpd_ps(_mm512_permutex2var_pd(_mm512_castps_pd(r[j]), lo, _mm512_castps_pd(r[4 + j])));
        t[4 + j] = _mm512_castpd_ps(_mm512_permutex2var_pd(_mm512_castps_pd(r[j]), hi, _mm512_castps_pd(r[4 + j])));
    }
    for (int i = 0; i < 8; i++)
        r[i] = t[i];
}

static inline __attribute__((target("avx512f,avx512dq,avx512vl"), always_inline)) void
swap_out(int k, const float *const *px, const int32_t *off, const float *b, const float *bias, int act, float *y,
         size_t ldy, int cv, int n, const int R)
{
    const float *p0 = px[0], *p1 = px[1], *p2 = px[2], *p3 = px[3], *p4 = px[4], *p5 = px[5], *p6 = px[6],
                *p7 = px[R - 1];
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int i = 0; i < k; i++) {
        const int32_t o = off[i];
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        PXROW(0) PXROW(1) PXROW(2) PXROW(3) PXROW(4) PXROW(5) PXROW(6) PXROW(7)
        b += 32;
    }
    const __mmask16 k0 = cv >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cv) - 1u),
                    k1 = cv >= 32 ? (__mmask16)0xFFFF : cv <= 16 ? 0 : (__mmask16)((1u << (cv - 16)) - 1u);
    const __m512 bv0 = bias ? _mm512_maskz_loadu_ps(k0, bias) : _mm512_setzero_ps(),
                 bv1 = bias ? _mm512_maskz_loadu_ps(k1, bias + 16) : _mm512_setzero_ps();
    __m512 lo[8] = {c00, c10, c20, c30, c40, c50, c60, c70}, hi[8] = {c01, c11, c21, c31, c41, c51, c61, c71};
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f);
    for (int r = 0; r < 8; r++) {
        lo[r] = _mm512_add_ps(lo[r], bv0);
        hi[r] = _mm512_add_ps(hi[r], bv1);
        if (act != PITHRT_ACT_NONE) {
            lo[r] = _mm512_max_ps(lo[r], zero);
            hi[r] = _mm512_max_ps(hi[r], zero);
        }
        if (act == PITHRT_ACT_RELU6) {
            lo[r] = _mm512_min_ps(lo[r], six);
            hi[r] = _mm512_min_ps(hi[r], six);
        }
    }
    transpose8x2(lo);
    transpose8x2(hi);
    /* lo[j]: channel j (low half) and channel 8 + j (high half), pixels 0 .. 7 */
    const __mmask8 pm = (__mmask8)((1u << n) - 1u); /* the pixels stored (n <= R) */
    for (int j = 0; j < 8; j++) {
        const int c[4] = {j, 8 + j, 16 + j, 24 + j};
        const __m256 v[4] = {_mm512_castps512_ps256(lo[j]), _mm512_extractf32x8_ps(lo[j], 1),
                             _mm512_castps512_ps256(hi[j]), _mm512_extractf32x8_ps(hi[j], 1)};
        for (int q = 0; q < 4; q++)
            if (c[q] < cv)
                _mm256_mask_storeu_ps(y + (size_t)c[q] * ldy, pm, v[q]);
    }
}

__attribute__((target("avx512f,avx512dq,avx512vl"))) void
pithrt_gemm_f32_avx512_swap_out(int k, int rows, const float *const *px, const int32_t *off, const float *w,
                                const float *bias, int act, float *y, size_t ldy, int cv, int n)
{
    if (rows == 7)
        swap_out(k, px, off, w, bias, act, y, ldy, cv, n, 7);
    else
        swap_out(k, px, off, w, bias, act, y, ldy, cv, n, 8);
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
