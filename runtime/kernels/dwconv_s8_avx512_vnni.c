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

/* 16 outputs of a row: kh window rows of quads dot products each */
#define DW_QUADS(KH, Q)                                                                                             \
    {                                                                                                                \
        __m512i s = _mm512_setzero_si512();                                                                          \
        for (int u = 0; u < (KH); u++)                                                                               \
            for (int q = 0; q < (Q); q++) {                                                                          \
                __m512i v = _mm512_loadu_si512((const void *)(src + (size_t)u * wp + 4 * q));                       \
                v = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(dsel, v), bsel);                                    \
                s = _mm512_dpbusd_epi32(s, v, wv[u * (Q) + q]);                                                      \
            }                                                                                                        \
        _mm512_storeu_si512((void *)(a + j), s);                                                                     \
    }

__attribute__((target("avx512f,avx512bw,avx512vnni"))) int
pithrt_dw_s8_avx512_vnni(const int8_t *xc, int h, int w, int zx, int ph, int pw, int st, const int8_t *wq, int kh,
                         int kw, int oh, int ow, uint8_t *plane, int32_t *acc)
{
    const int wp = w + 2 * pw, quads = (kw + 3) / 4;
    pad_plane(xc, h, w, zx, ph, pw, plane);
    /* lane L (outputs 4L .. 4L + 3) takes dwords s L .. s L + 3 of the load; its
     * output t reads bytes s t .. s t + 3 of them */
    const __m512i dw1 = _mm512_setr_epi32(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6);
    const __m512i dw2 = _mm512_setr_epi32(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9);
    const __m512i by1 = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6));
    const __m512i by2 = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9));
    const __m512i dsel = st == 1 ? dw1 : dw2, bsel = st == 1 ? by1 : by2;
    __m512i wv[8 * 2]; /* kh <= 8, quads <= 2 */
    for (int u = 0; u < kh; u++)
        for (int q = 0; q < quads; q++) {
            int32_t v;
            memcpy(&v, wq + (u * quads + q) * 4, 4);
            wv[u * quads + q] = _mm512_set1_epi32(v);
        }
    if (st == 1) { /* the wide grid: output t = i wp + j reads plane[t + u wp + v], rows back to back */
        for (int t = 0; t < oh * wp; t += 16) {
            const uint8_t *src = plane + t;
            int32_t *a = acc;
            const int j = t;
            if (kh == 3 && quads == 1)
                DW_QUADS(3, 1)
            else if (kh == 5 && quads == 2)
                DW_QUADS(5, 2)
            else
                DW_QUADS(kh, quads)
        }
        return wp;
    }
    const int lda = (ow + 15) / 16 * 16;
    for (int i = 0; i < oh; i++) {
        const uint8_t *row = plane + (size_t)i * st * wp;
        int32_t *a = acc + (size_t)i * lda;
        for (int j = 0; j < ow; j += 16) {
            const uint8_t *src = row + (size_t)st * j;
            if (kh == 3 && quads == 1)
                DW_QUADS(3, 1)
            else if (kh == 5 && quads == 2)
                DW_QUADS(5, 2)
            else
                DW_QUADS(kh, quads)
        }
    }
    return lda;
}
#endif
