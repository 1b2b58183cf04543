/* Max pooling, int8, AVX-512 (BW), for the 3-wide, stride-2 window of
 * ResNet's stem (any height and padding up to 1; other shapes go to the
 * AVX2 build of pool_max_body.h). Per output row: the maximum down the
 * window's rows into a buffer that starts at input column -pw (the border
 * holds the lowest code), then z[t] = max(buf[t], buf[t + 1], buf[t + 2])
 * by two shifted loads, and the even bytes of z (VPMOVWB keeps the low byte
 * of each word) are the outputs. Signed maxima are exact, so this is the
 * reference's result byte for byte. */
#include <string.h>

#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

void pithrt_maxpool_s8_avx2(const int8_t *x, int c, int h, int w, int8_t *y, int oh, int ow, const pithrt_geom *g);

__attribute__((target("avx512f,avx512bw,avx512vl"))) void
pithrt_maxpool_s8_avx512(const int8_t *x, int c, int h, int w, int8_t *y, int oh, int ow, const pithrt_geom *g)
{
    /* the buffer: pw + w columns and two vectors of border; outputs read up to column 2 ow + 1 */
    if (g->kw != 3 || g->sw != 2 || g->pw > 1 || w + 2 * 64 + 1 > PITHRT_MAXPOOL_SPAN || 2 * ow + 2 > w + 64) {
        pithrt_maxpool_s8_avx2(x, c, h, w, y, oh, ow, g);
        return;
    }
    int8_t buf[PITHRT_MAXPOOL_SPAN];
    const __m512i lowest = _mm512_set1_epi8(-128);
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < oh; i++) {
            int u0 = i * g->sh - g->ph, u1 = u0 + g->kh;
            u0 = u0 < 0 ? 0 : u0;
            u1 = u1 > h ? h : u1;
            memset(buf, -128, (size_t)g->pw);
            int8_t *b = buf + g->pw;
            for (int j = 0; j < w + 64; j += 64) {
                const __mmask64 k = j >= w ? 0 : w - j >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (w - j)) - 1;
                __m512i m = lowest;
                for (int u = u0; u < u1 && k; u++) /* (no pointer past the row's end when nothing is read) */
                    m = _mm512_max_epi8(m, _mm512_mask_loadu_epi8(lowest, k, x + ((size_t)ch * h + u) * w + j));
                _mm512_storeu_si512((void *)(b + j), m);
            }
            int8_t *yr = y + ((size_t)ch * oh + i) * ow;
            for (int j = 0; j < ow; j += 32) { /* outputs j .. j + 31 read buf[2j .. 2j + 65] */
                const __m512i a = _mm512_loadu_si512((const void *)(buf + 2 * j));
                const __m512i b1 = _mm512_loadu_si512((const void *)(buf + 2 * j + 1));
                const __m512i b2 = _mm512_loadu_si512((const void *)(buf + 2 * j + 2));
                const __m256i z = _mm512_cvtepi16_epi8(_mm512_max_epi8(_mm512_max_epi8(a, b1), b2));
                const __mmask32 k = ow - j >= 32 ? ~(__mmask32)0 : ((__mmask32)1 << (ow - j)) - 1;
                _mm256_mask_storeu_epi8(yr + j, k, z);
            }
        }
}
#endif
