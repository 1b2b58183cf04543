/* int8 GEMM microkernel, AVX-512 VNNI: an 8 x 32 tile in 16 zmm int32
 * accumulators. VPDPBUSD multiplies four unsigned bytes of B (code + 128)
 * by four signed bytes of A and adds the four products to each lane, exactly
 * (no intermediate saturation, unlike VPMADDUBSW). Panels: [k/4][rows][4]. */
#include "requant_fold_avx512.h"
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

/* The same tile requantized as it leaves the registers (pithrt_ukr_s8_out):
 * row r with its channel's folded constants (requant_fold_avx512.h), 32
 * codes stored (the first n). */
#define OUT(r)                                                                                                       \
    {                                                                                                                \
        const pithrt_fold_v k = pithrt_fold_v_of(rq + r, out);                                                       \
        const __m128i y0 = pithrt_fold16(&k, c##r##0, neg, act, 0);                                                  \
        const __m128i y1 = pithrt_fold16(&k, c##r##1, neg, act, 0);                                                  \
        if (n == 32) {                                                                                               \
            _mm_storeu_si128((__m128i *)(void *)(y + r * ldy), y0);                                                  \
            _mm_storeu_si128((__m128i *)(void *)(y + r * ldy + 16), y1);                                             \
        } else {                                                                                                     \
            _mm_mask_storeu_epi8(y + r * ldy, k0, y0);                                                               \
            _mm_mask_storeu_epi8(y + r * ldy + 16, k1, y1);                                                          \
        }                                                                                                            \
    }

static inline __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"), always_inline)) void
tile_out(int kgroups, const int8_t *a, const uint8_t *b, int8_t *y, size_t ldy, const pithrt_rq_fold *rq, int n,
         const int neg, const int act)
{
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
            c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int i = 0; i < kgroups; i++) {
        __m512i b0 = _mm512_loadu_si512((const void *)b), b1 = _mm512_loadu_si512((const void *)(b + 64));
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
        a += 32;
        b += 128;
    }
    const __mmask16 k0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u),
                    k1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1u);
    const pithrt_rq_out out = {0, -128, 127}; /* full-range codes (the loader's condition) */
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7)
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void
pithrt_gemm_s8_avx512_vnni_out(int kgroups, const void *ap, const void *bp, int8_t *y, size_t ldy,
                               const pithrt_rq_fold *rq, int neg, int act, int n)
{
    if (neg)
        tile_out(kgroups, ap, bp, y, ldy, rq, n, 1, 1);
    else if (act)
        tile_out(kgroups, ap, bp, y, ldy, rq, n, 0, 1);
    else
        tile_out(kgroups, ap, bp, y, ldy, rq, n, 0, 0);
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

/* Pixels on the A side (pithrt_ukr_s8_swap): C[R pixels][32 channels], R 8
 * or 7 (a 7x7 plane is 7 panels of 7, none padded). Row r broadcasts the
 * four channel codes of its pixel, px[r] + boff[i], against 32 output
 * channels' four weights; the pixels may lie anywhere, so a 7x7 output runs
 * as 49 rows instead of 63 wide-grid columns. */
#define PXROW(r)                                                                                                     \
    if ((r) < R) {                                                                                                   \
        int32_t q;                                                                                                   \
        memcpy(&q, p##r + off, 4);                                                                                   \
        __m512i ar = _mm512_set1_epi32(q);                                                                           \
        c##r##0 = _mm512_dpbusd_epi32(c##r##0, ar, b0);                                                              \
        c##r##1 = _mm512_dpbusd_epi32(c##r##1, ar, b1);                                                              \
    }
#define STORE_IF(r)                                                                                                  \
    if ((r) < R) {                                                                                                   \
        STORE(r)                                                                                                     \
    }
#define LOAD_IF(r)                                                                                                   \
    if ((r) < R) {                                                                                                   \
        LOAD(r)                                                                                                      \
    }

static inline __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"), always_inline)) void
swap_tile(int kgroups, const uint8_t *const *px, const int32_t *boff, const int8_t *w, int32_t *c, int acc,
          const int R)
{
    const uint8_t *p0 = px[0], *p1 = px[1], *p2 = px[2], *p3 = px[3], *p4 = px[4], *p5 = px[5], *p6 = px[6],
                  *p7 = px[R - 1];
    const size_t ldc = 32;
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
            c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    if (acc) {
        LOAD_IF(0) LOAD_IF(1) LOAD_IF(2) LOAD_IF(3) LOAD_IF(4) LOAD_IF(5) LOAD_IF(6) LOAD_IF(7)
    }
    for (int i = 0; i < kgroups; i++) {
        PITHRT_MCA_BEGIN("gemm_s8_avx512_vnni_swap");
        const size_t off = (size_t)boff[i];
        __m512i b0 = _mm512_loadu_si512((const void *)w), b1 = _mm512_loadu_si512((const void *)(w + 64));
        PXROW(0) PXROW(1) PXROW(2) PXROW(3) PXROW(4) PXROW(5) PXROW(6) PXROW(7)
        w += 128;
        PITHRT_MCA_END();
    }
    STORE_IF(0) STORE_IF(1) STORE_IF(2) STORE_IF(3) STORE_IF(4) STORE_IF(5) STORE_IF(6) STORE_IF(7)
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void
pithrt_gemm_s8_avx512_vnni_swap(int kgroups, int rows, const uint8_t *const *px, const int32_t *boff, const void *w,
                                int32_t *c, int acc)
{
    if (rows == 7)
        swap_tile(kgroups, px, boff, w, c, acc, 7);
    else
        swap_tile(kgroups, px, boff, w, c, acc, 8);
}

/* The swapped tiles' products as channel rows: c = [npp][8][32] (pixel
 * panels of 8 rows x 32 channels; int32, or float moved as its bits) to
 * rows[ch * ld + pp * step + r] for ch < cv, by 8 x 8 transposes (unpack
 * 32- and 64-bit halves, then swap 128-bit lanes). With panels of 7 pixels
 * (step 7) a panel's unused eighth row lands where the next panel's first
 * goes, and is overwritten by it (ld leaves room for the last one). */
__attribute__((target("avx2"))) void pithrt_swap_rows_s32_avx2(const int32_t *c, int npp, int step, int cv,
                                                                int32_t *rows, size_t ld)
{
    for (int pp = 0; pp < npp; pp++, c += 8 * 32)
        for (int cb = 0; cb < cv; cb += 8) {
            __m256i r[8], t[8], u[8];
            for (int i = 0; i < 8; i++)
                r[i] = _mm256_loadu_si256((const __m256i *)(const void *)(c + i * 32 + cb));
            for (int i = 0; i < 8; i += 2) {
                t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
                t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
            }
            for (int i = 0; i < 8; i += 4) {
                u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
                u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
                u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
                u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
            }
            /* u[j] (j < 4) holds channels cb + j (low lane) and cb + j + 4 (high lane) of pixels 0-3,
             * u[j + 4] the same for pixels 4-7 */
            for (int j = 0; j < 4; j++) {
                __m256i lo = _mm256_permute2x128_si256(u[j], u[j + 4], 0x20);
                __m256i hi = _mm256_permute2x128_si256(u[j], u[j + 4], 0x31);
                if (cb + j < cv)
                    _mm256_storeu_si256((__m256i *)(void *)(rows + (size_t)(cb + j) * ld + pp * step), lo);
                if (cb + j + 4 < cv)
                    _mm256_storeu_si256((__m256i *)(void *)(rows + (size_t)(cb + j + 4) * ld + pp * step), hi);
            }
        }
}
#endif
