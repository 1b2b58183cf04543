/* Depthwise conv, int8, AVX-512 VNNI: one channel, a window row of up to
 * four taps per VPDPBUSD. For sixteen outputs j of a row, the four input
 * bytes under taps v .. v + 3 (x[s j + v ..]) are gathered into lane j by a
 * VPERMD (each 128-bit lane takes the four dwords its four outputs read)
 * and a VPSHUFB (byte v + s * (j % 4) of the lane), so a 3x3 window costs
 * three loads, shuffles and dot products per sixteen outputs instead of
 * nine widening multiplies. At stride 1 the outputs run on the wide grid
 * (rows of wp, the last wp - ow of each dropped), so a 7-wide row does not
 * take a vector of its own. The input is first copied into a padded plane
 * with the codes stored + 128 (VPDPBUSD multiplies unsigned by signed; the
 * channel's bias carries -128 * sum(w)); weights are packed [kh][quads][4]
 * with zeros past kw, so the bytes a quad reads past the window count 0. */
#include <string.h>

#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* the channel's padded plane, codes + 128, the border the zero point + 128.
 * Rows are stored in whole vectors (Zen 4's masked byte stores are slow), so
 * a row's last store runs into the next row, which is written after it; the
 * right border and the bottom rows go in last, the plane's slack takes the
 * rest. */
__attribute__((target("avx512f,avx512bw"))) static void pad_plane(const int8_t *x, int h, int w, int zx, int ph,
                                                                  int pw, uint8_t *dst)
{
    const int wp = w + 2 * pw;
    const uint8_t fill = (uint8_t)(zx + 128);
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    memset(dst, fill, (size_t)ph * wp + (size_t)pw);
    for (int i = 0; i < h; i++) {
        uint8_t *d = dst + (size_t)(ph + i) * wp + pw;
        const int8_t *s = x + (size_t)i * w;
        for (int j = 0; j < w; j += 64) {
            const __mmask64 k = w - j >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (w - j)) - 1;
            _mm512_storeu_si512((void *)(d + j), _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, s + j), flip));
        }
        for (int j = w; j < w + 2 * pw; j++) /* this row's right border, the next one's left */
            d[j] = fill;
    }
    if (ph)
        memset(dst + (size_t)(ph + h) * wp + pw, fill, (size_t)ph * wp - (size_t)pw);
}

/* 16 outputs from their window rows' first bytes: kh rows of Q quads */
static inline __attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) __m512i
quads16(const uint8_t *const *r, const __m512i *wv, __m512i dsel, __m512i bsel, const int KH, const int Q)
{
    __m512i s = _mm512_setzero_si512();
    for (int u = 0; u < KH; u++)
        for (int q = 0; q < Q; q++) {
            __m512i v = _mm512_loadu_si512((const void *)(r[u] + 4 * q));
            v = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(dsel, v), bsel);
            s = _mm512_dpbusd_epi32(s, v, wv[u * Q + q]);
        }
    return s;
}

/* stride 1 on the wide grid: output t = i wp + j reads plane[t + u wp + v], rows back to back;
 * two vectors a step, two chains of dot products in flight */
static inline __attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) void
wide_s1(const uint8_t *plane, int wp, int oh, const __m512i *wv, __m512i dsel, __m512i bsel, int32_t *acc,
        const int KH, const int Q)
{
    for (int t = 0; t < oh * wp; t += 32) {
        const uint8_t *r0[8], *r1[8];
        for (int u = 0; u < KH; u++) {
            r0[u] = plane + t + (size_t)u * wp;
            r1[u] = r0[u] + 16;
        }
        const __m512i s0 = quads16(r0, wv, dsel, bsel, KH, Q), s1 = quads16(r1, wv, dsel, bsel, KH, Q);
        _mm512_storeu_si512((void *)(acc + t), s0);
        _mm512_storeu_si512((void *)(acc + t + 16), s1);
    }
}

/* stride 2 from the input itself: window row u of output row i is input row 2 i - ph + u, its
 * bytes from column 2 j - pw; a 64-byte load covers sixteen outputs' taps, the bytes outside the
 * input masked to the zero point (and rows outside it all zero point), then + 128 */
static inline __attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) void
direct_s2(const int8_t *x, int h, int w, int zx, int ph, int pw, int oh, int ow, const __m512i *wv, __m512i dsel,
          __m512i bsel, int32_t *acc, int lda, const int KH, const int Q)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80), zp = _mm512_set1_epi8((char)zx);
    const __m512i fill = _mm512_xor_si512(zp, flip);
    for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j += 16) {
            const int c0 = 2 * j - pw; /* the first column of the vector's windows */
            __m512i s = _mm512_setzero_si512();
            for (int u = 0; u < KH; u++) {
                const int yy = 2 * i - ph + u;
                for (int q = 0; q < Q; q++) {
                    __m512i v = fill;
                    if (yy >= 0 && yy < h) {
                        /* bytes b with 0 <= c0 + 4 q + b < w */
                        const int lo = -(c0 + 4 * q), hi = w - (c0 + 4 * q);
                        __mmask64 k = ~(__mmask64)0;
                        if (lo > 0)
                            k = lo >= 64 ? 0 : k << lo;
                        if (hi < 64)
                            k &= hi <= 0 ? 0 : (((__mmask64)1 << hi) - 1);
                        /* the address in integers: the vector may start before the row (masked off),
                         * where a pointer may not point */
                        const int8_t *p = (const int8_t *)((uintptr_t)x + (uintptr_t)((intptr_t)yy * w + c0 + 4 * q));
                        v = _mm512_xor_si512(_mm512_mask_loadu_epi8(zp, k, p), flip);
                    }
                    v = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(dsel, v), bsel);
                    s = _mm512_dpbusd_epi32(s, v, wv[u * Q + q]);
                }
            }
            _mm512_storeu_si512((void *)(acc + (size_t)i * lda + j), s);
        }
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) int
pithrt_dw_s8_avx512_vnni(const int8_t *xc, int h, int w, int zx, int ph, int pw, int st, const int8_t *wq, int kh,
                         int kw, int oh, int ow, uint8_t *plane, int32_t *acc)
{
    const int wp = w + 2 * pw, quads = (kw + 3) / 4;
    /* lane L (outputs 4L .. 4L + 3) takes dwords s L .. s L + 3 of the load; its
     * output t reads bytes s t .. s t + 3 of them */
    const __m512i dw1 = _mm512_setr_epi32(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6);
    const __m512i dw2 = _mm512_setr_epi32(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9);
    const __m512i by1 = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6));
    const __m512i by2 = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9));
    __m512i wv[5 * 2]; /* kh <= 5, quads <= 2 */
    for (int u = 0; u < kh; u++)
        for (int q = 0; q < quads; q++) {
            int32_t v;
            memcpy(&v, wq + (u * quads + q) * 4, 4);
            wv[u * quads + q] = _mm512_set1_epi32(v);
        }
    if (st == 1) {
        pad_plane(xc, h, w, zx, ph, pw, plane);
        if (kh == 3)
            wide_s1(plane, wp, oh, wv, dw1, by1, acc, 3, 1);
        else
            wide_s1(plane, wp, oh, wv, dw1, by1, acc, 5, 2);
        return wp;
    }
    const int lda = (ow + 15) / 16 * 16;
    if (kh == 3)
        direct_s2(xc, h, w, zx, ph, pw, oh, ow, wv, dw2, by2, acc, lda, 3, 1);
    else
        direct_s2(xc, h, w, zx, ph, pw, oh, ow, wv, dw2, by2, acc, lda, 5, 2);
    return lda;
}
#endif
