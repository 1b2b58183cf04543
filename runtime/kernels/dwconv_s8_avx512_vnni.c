/* Depthwise conv, int8, AVX-512 VNNI: one channel, a window row of up to
 * four taps per VPDPBUSD. For sixteen outputs j of a row, the four input
 * bytes under taps v .. v + 3 (x[s j + v ..]) are gathered into lane j by a
 * VPERMD (each 128-bit lane takes the four dwords its four outputs read)
 * and a VPSHUFB (byte v + s * (j % 4) of the lane), so a 3x3 window costs
 * three loads, shuffles and dot products per sixteen outputs instead of
 * nine widening multiplies. The input is the channel's padded plane with
 * the codes stored + 128 (VPDPBUSD multiplies unsigned by signed; the
 * channel's bias carries -128 * sum(w)); weights are packed [kh][quads][4]
 * with zeros past kw, so the bytes a quad reads past the window count 0. */
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void
pithrt_dw_s8_avx512_vnni(const uint8_t *x, int wp, int st, const int8_t *wq, int kh, int kw, int oh, int ow,
                         int32_t *acc, int lda)
{
    const int quads = (kw + 3) / 4;
    /* lane L (outputs 4L .. 4L + 3) takes dwords s L .. s L + 3 of the load; its
     * output t reads bytes s t .. s t + 3 of them */
    const __m512i dw1 = _mm512_setr_epi32(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6);
    const __m512i dw2 = _mm512_setr_epi32(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9);
    const __m512i by1 = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6));
    const __m512i by2 = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9));
    const __m512i dsel = st == 1 ? dw1 : dw2, bsel = st == 1 ? by1 : by2;
    __m512i w[8 * 2]; /* kh <= 8, quads <= 2 */
    for (int u = 0; u < kh; u++)
        for (int q = 0; q < quads; q++) {
            int32_t v;
            __builtin_memcpy(&v, wq + (u * quads + q) * 4, 4);
            w[u * quads + q] = _mm512_set1_epi32(v);
        }
    for (int i = 0; i < oh; i++) {
        const uint8_t *row = x + (size_t)i * st * wp;
        int32_t *a = acc + (size_t)i * lda;
        for (int j = 0; j < ow; j += 16) {
            __m512i s = _mm512_setzero_si512();
            for (int u = 0; u < kh; u++)
                for (int q = 0; q < quads; q++) {
                    __m512i v = _mm512_loadu_si512((const void *)(row + (size_t)u * wp + (size_t)st * j + 4 * q));
                    v = _mm512_shuffle_epi8(_mm512_permutexvar_epi32(dsel, v), bsel);
                    s = _mm512_dpbusd_epi32(s, v, w[u * quads + q]);
                }
            _mm512_storeu_si512((void *)(a + j), s);
        }
    }
}
#endif
