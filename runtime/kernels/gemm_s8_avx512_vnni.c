/* int8 GEMM microkernel, AVX-512 VNNI: an 8 x 32 tile in 16 zmm int32
 * accumulators. VPDPBUSD multiplies four unsigned bytes of B (code + 128)
 * by four signed bytes of A and adds the four products to each lane, exactly
 * (no intermediate saturation, unlike VPMADDUBSW). Panels: [k/4][rows][4]. */
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define ROW(r)                                                                                                       \
    {                                                                                                                \
        int32_t w;                                                                                                   \
        memcpy(&w, a + 4 * r, 4);                                                                                    \
        __m512i ar = _mm512_set1_epi32(w);                                                                           \
        c##r##0 = _mm512_dpbusd_epi32(c##r##0, b0, ar);                                                              \
        c##r##1 = _mm512_dpbusd_epi32(c##r##1, b1, ar);                                                              \
    }
#define STORE(r)                                                                                                     \
    _mm512_storeu_si512((void *)(c + r * ldc), c##r##0);                                                              \
    _mm512_storeu_si512((void *)(c + r * ldc + 16), c##r##1);
#define LOAD(r)                                                                                                      \
    c##r##0 = _mm512_loadu_si512((const void *)(c + r * ldc));                                                         \
    c##r##1 = _mm512_loadu_si512((const void *)(c + r * ldc + 16));

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void
pithrt_gemm_s8_avx512_vnni(int kgroups, const void *ap, const void *bp, int32_t *c, size_t ldc, int acc)
{
    const int8_t *a = ap;
    const uint8_t *b = bp;
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
            c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    if (acc) { /* continue a sum over an earlier block of k */
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6) LOAD(7)
    }
    for (int i = 0; i < kgroups; i++) {
        PITHRT_MCA_BEGIN("gemm_s8_avx512_vnni");
        __m512i b0 = _mm512_loadu_si512((const void *)b), b1 = _mm512_loadu_si512((const void *)(b + 64));
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
        a += 32;
        b += 128;
        PITHRT_MCA_END();
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
}

/* The same tile with B read in place (pithrt_ukr_s8_ind): k-group i's 32
 * columns are the 128 bytes at b + boff[i], four channels of one pixel after
 * another, so no B panel is packed. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void
pithrt_gemm_s8_avx512_vnni_ind(int kgroups, const void *ap, const uint8_t *b, const int32_t *boff, int32_t *c,
                               size_t ldc, int acc)
{
    const int8_t *a = ap;
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
            c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    if (acc) {
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6) LOAD(7)
    }
    for (int i = 0; i < kgroups; i++) {
        const uint8_t *bi = b + boff[i];
        __m512i b0 = _mm512_loadu_si512((const void *)bi), b1 = _mm512_loadu_si512((const void *)(bi + 64));
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
        a += 32;
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
}
#endif
