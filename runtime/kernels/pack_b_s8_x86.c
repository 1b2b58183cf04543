/* B panels for the x86 int8 microkernels, from k rows of codes:
 * VNNI: [k/4][32][4] bytes, code + 128 (four rows interleaved bytewise);
 * AVX2: [k/2][16][2] int16 (two rows widened and interleaved). */
#include <string.h>

#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

static const int8_t zeros[64];

/* row r of the panel's source, n codes padded to width with zeros */
static const int8_t *src_row(const int8_t *base, const int32_t *offs, int k, int n, int r, int width, int8_t *tmp)
{
    if (r >= k)
        return zeros;
    const int8_t *p = base + offs[r];
    if (n == width)
        return p;
    memset(tmp, 0, (size_t)width);
    memcpy(tmp, p, (size_t)n);
    return tmp;
}

__attribute__((target("avx2"))) void pithrt_pack_b_s8_vnni(const int8_t *base, const int32_t *offs, int k, int n,
                                                           void *panel)
{
    int8_t tmp[4][32];
    uint8_t *d = panel;
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (int g = 0; g < (k + 3) / 4; g++) {
        const int8_t *r[4];
        for (int t = 0; t < 4; t++)
            r[t] = src_row(base, offs, k, n, 4 * g + t, 32, tmp[t]);
        /* 32 columns of four rows: bytes interleaved, then words; each 128-bit lane holds
         * columns of both halves, which the lane exchanges put in order */
        __m256i x0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)r[0]), flip);
        __m256i x1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)r[1]), flip);
        __m256i x2 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)r[2]), flip);
        __m256i x3 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)r[3]), flip);
        __m256i a0 = _mm256_unpacklo_epi8(x0, x1), a1 = _mm256_unpackhi_epi8(x0, x1);
        __m256i b0 = _mm256_unpacklo_epi8(x2, x3), b1 = _mm256_unpackhi_epi8(x2, x3);
        __m256i q0 = _mm256_unpacklo_epi16(a0, b0), q1 = _mm256_unpackhi_epi16(a0, b0); /* 0-3 | 16-19, 4-7 | 20-23 */
        __m256i q2 = _mm256_unpacklo_epi16(a1, b1),
                q3 = _mm256_unpackhi_epi16(a1, b1); /* 8-11 | 24-27, 12-15 | 28-31 */
        __m256i *o = (__m256i *)(void *)d;
        _mm256_storeu_si256(o + 0, _mm256_permute2x128_si256(q0, q1, 0x20));
        _mm256_storeu_si256(o + 1, _mm256_permute2x128_si256(q2, q3, 0x20));
        _mm256_storeu_si256(o + 2, _mm256_permute2x128_si256(q0, q1, 0x31));
        _mm256_storeu_si256(o + 3, _mm256_permute2x128_si256(q2, q3, 0x31));
        d += 128;
    }
}

__attribute__((target("avx2"))) void pithrt_pack_b_s8_avx2(const int8_t *base, const int32_t *offs, int k, int n,
                                                           void *panel)
{
    int8_t tmp[2][16];
    int16_t *d = panel;
    for (int g = 0; g < (k + 1) / 2; g++) {
        const int8_t *r0 = src_row(base, offs, k, n, 2 * g, 16, tmp[0]);
        const int8_t *r1 = src_row(base, offs, k, n, 2 * g + 1, 16, tmp[1]);
        __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)r0));
        __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)r1));
        __m256i lo = _mm256_unpacklo_epi16(x0, x1), hi = _mm256_unpackhi_epi16(x0, x1);
        _mm256_storeu_si256((__m256i *)(void *)d, _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256((__m256i *)(void *)(d + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
        d += 32;
    }
}

/* Sixteen pixels of four channel rows as quads (the four codes of a pixel
 * side by side, + 128): q[0] pixels 0-3 .. q[3] pixels 12-15 */
static inline void quads16(const int8_t *s0, const int8_t *s1, const int8_t *s2, const int8_t *s3, __m128i q[4])
{
    const __m128i flip = _mm_set1_epi8((char)0x80);
    __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)s0);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)s1);
    __m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)s2);
    __m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)s3);
    __m128i a0 = _mm_unpacklo_epi8(x0, x1), a1 = _mm_unpackhi_epi8(x0, x1);
    __m128i b0 = _mm_unpacklo_epi8(x2, x3), b1 = _mm_unpackhi_epi8(x2, x3);
    q[0] = _mm_xor_si128(_mm_unpacklo_epi16(a0, b0), flip);
    q[1] = _mm_xor_si128(_mm_unpackhi_epi16(a0, b0), flip);
    q[2] = _mm_xor_si128(_mm_unpacklo_epi16(a1, b1), flip);
    q[3] = _mm_xor_si128(_mm_unpackhi_epi16(a1, b1), flip);
}

/* Four channel planes (h x w codes each, h * w apart) laid out for
 * pithrt_gemm_s8_avx512_vnni_ind: padded by ph / pw with the zero point, the
 * four codes of a pixel side by side, + 128; at stride 2 split into the four
 * phase planes (even / odd rows x even / odd columns) of hp x wp pixels. */
void pithrt_pad_c4_s8(const int8_t *x, int h, int w, int ph, int pw, int st, int hp, int wp, int zx, uint8_t *dst)
{
    const size_t plane = (size_t)hp * wp, hw = (size_t)h * w;
    memset(dst, zx + 128, (st == 1 ? 1 : 4) * plane * 4);
    for (int i = 0; i < h; i++) {
        const int8_t *s0 = x + (size_t)i * w, *s1 = s0 + hw, *s2 = s1 + hw, *s3 = s2 + hw;
        const int yy = i + ph;
        /* padded column xx goes to column xx / st of the plane (of phase xx % 2 at stride 2) */
        uint8_t *row = dst + (st == 1 ? (size_t)yy * wp : ((size_t)(yy % 2) * 2 * plane + (size_t)(yy / 2) * wp)) * 4;
        uint8_t *even = row, *odd = row + plane * 4;
        int j = 0;
        for (; j + 16 <= w; j += 16) {
            __m128i q[4];
            quads16(s0 + j, s1 + j, s2 + j, s3 + j, q);
            if (st == 1) {
                __m128i *o = (__m128i *)(void *)(row + (size_t)(pw + j) * 4);
                for (int t = 0; t < 4; t++)
                    _mm_storeu_si128(o + t, q[t]);
                continue;
            }
            /* stride 2: the dwords split by column parity, pixels j, j + 2, ... landing in the
             * plane of (j + pw) % 2 */
            const __m128 q0 = _mm_castsi128_ps(q[0]), q1 = _mm_castsi128_ps(q[1]), q2 = _mm_castsi128_ps(q[2]),
                         q3 = _mm_castsi128_ps(q[3]);
            const int xx = j + pw;
            uint8_t *de = (xx % 2 ? odd : even) + (size_t)(xx / 2) * 4;
            uint8_t *dn = (xx % 2 ? even : odd) + (size_t)((xx + 1) / 2) * 4;
            _mm_storeu_ps((float *)(void *)de, _mm_shuffle_ps(q0, q1, _MM_SHUFFLE(2, 0, 2, 0)));
            _mm_storeu_ps((float *)(void *)(de + 16), _mm_shuffle_ps(q2, q3, _MM_SHUFFLE(2, 0, 2, 0)));
            _mm_storeu_ps((float *)(void *)dn, _mm_shuffle_ps(q0, q1, _MM_SHUFFLE(3, 1, 3, 1)));
            _mm_storeu_ps((float *)(void *)(dn + 16), _mm_shuffle_ps(q2, q3, _MM_SHUFFLE(3, 1, 3, 1)));
        }
        for (; j < w; j++) {
            const int xx = j + pw;
            uint8_t *d = st == 1 ? row + (size_t)xx * 4 : (xx % 2 ? odd : even) + (size_t)(xx / 2) * 4;
            d[0] = (uint8_t)(s0[j] ^ 0x80);
            d[1] = (uint8_t)(s1[j] ^ 0x80);
            d[2] = (uint8_t)(s2[j] ^ 0x80);
            d[3] = (uint8_t)(s3[j] ^ 0x80);
        }
    }
}
#endif
