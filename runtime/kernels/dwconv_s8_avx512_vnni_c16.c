/* Depthwise conv, int8, AVX-512 VNNI, sixteen channels at once (planes up
 * to 64 x 64, where one channel's rows fill vectors poorly):
 *   1. the group's input is transposed into a padded pixel-major buffer, a
 *      pixel being its 16 channels' codes + 128 (16 x 16 byte transposes;
 *      the border holds the zero point + 128);
 *   2. each pixel's "quad" is built: per channel, the codes of that pixel
 *      and the next three in its row, so that one VPDPBUSD multiplies four
 *      taps of a window row by their weights in every channel at once;
 *   3. an output pixel is then kh (3x3) or 2 kh (5x5) dot products, four
 *      pixels in flight; the sums are requantized with each lane's own
 *      channel constants (pithrt_rq16: pithrt_requantize in one 64-bit
 *      rounding, as in requant_s8_avx512.c), and sixteen output pixels'
 *      codes are transposed back into the channels' planes.
 * The sums are the raw-code sums of dw_s8_quads, so the result is the
 * reference's, byte for byte. */
#include <string.h>

#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define C16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"), always_inline)) static inline

/* r[i] (16 bytes: row i) becomes column i */
C16_TARGET void transpose16x16_u8(__m128i r[16])
{
    __m128i a[16], b[16];
    for (int i = 0; i < 16; i += 2) {
        a[i] = _mm_unpacklo_epi8(r[i], r[i + 1]);
        a[i + 1] = _mm_unpackhi_epi8(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        b[i] = _mm_unpacklo_epi16(a[i], a[i + 2]);
        b[i + 1] = _mm_unpackhi_epi16(a[i], a[i + 2]);
        b[i + 2] = _mm_unpacklo_epi16(a[i + 1], a[i + 3]);
        b[i + 3] = _mm_unpackhi_epi16(a[i + 1], a[i + 3]);
    }
    for (int i = 0; i < 16; i += 8)
        for (int j = 0; j < 4; j++) {
            a[i + 2 * j] = _mm_unpacklo_epi32(b[i + j], b[i + 4 + j]);
            a[i + 2 * j + 1] = _mm_unpackhi_epi32(b[i + j], b[i + 4 + j]);
        }
    for (int j = 0; j < 8; j++) {
        r[2 * j] = _mm_unpacklo_epi64(a[j], a[8 + j]);
        r[2 * j + 1] = _mm_unpackhi_epi64(a[j], a[8 + j]);
    }
}

/* A group's requantization constants in registers (from pithrt_rq16) */
typedef struct rq16v {
    __m512i bias, lo, hi, m, m_od, c_ev, c_od, thr_ev, thr_od, s_ev, s_od, zp, qlo, qhi;
} rq16v;

C16_TARGET rq16v rq16_load(const pithrt_rq16 *q, pithrt_rq_out out)
{
    rq16v v;
    v.bias = _mm512_loadu_si512((const void *)q->bias);
    v.lo = _mm512_loadu_si512((const void *)q->lo);
    v.hi = _mm512_loadu_si512((const void *)q->hi);
    v.m = _mm512_loadu_si512((const void *)q->mult);
    v.m_od = _mm512_srli_epi64(v.m, 32);
    v.c_ev = _mm512_loadu_si512((const void *)q->c[0]);
    v.c_od = _mm512_loadu_si512((const void *)q->c[1]);
    v.thr_ev = _mm512_loadu_si512((const void *)q->thr[0]);
    v.thr_od = _mm512_loadu_si512((const void *)q->thr[1]);
    v.s_ev = _mm512_loadu_si512((const void *)q->shift[0]);
    v.s_od = _mm512_loadu_si512((const void *)q->shift[1]);
    /* folded: the zero point is in c, and the codes are clamped as they are narrowed */
    v.zp = _mm512_set1_epi32(q->fold ? 0 : out.zero_point);
    v.qlo = _mm512_set1_epi32(q->fold ? out.qmin : out.qmin - out.zero_point);
    v.qhi = _mm512_set1_epi32(q->fold ? out.qmax : out.qmax - out.zero_point);
    return v;
}

/* 16 sums (one per channel) to 16 codes, with each lane's constants; fold:
 * the bias and the zero point are in the constants (requant_s8_avx512.c);
 * neg: some product can fall under -2^30; act: clamp the sums; clamp: narrow
 * codes */
C16_TARGET __m128i requant16(__m512i x, const rq16v *v, const int fold, const int neg, const int act,
                             const int clamp)
{
    const __m512i lows = _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    const __m512i two31 = _mm512_set1_epi64(1LL << 31);
    if (!fold)
        x = _mm512_add_epi32(x, v->bias);
    if (act)
        x = _mm512_min_epi32(_mm512_max_epi32(x, v->lo), v->hi);
    __m512i ev = _mm512_add_epi64(_mm512_mul_epi32(x, v->m), v->c_ev);
    __m512i od = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), v->m_od), v->c_od);
    if (neg) {
        ev = _mm512_mask_sub_epi64(ev, _mm512_cmplt_epi64_mask(ev, v->thr_ev), ev, two31);
        od = _mm512_mask_sub_epi64(od, _mm512_cmplt_epi64_mask(od, v->thr_od), od, two31);
    }
    x = _mm512_permutex2var_epi32(_mm512_srav_epi64(ev, v->s_ev), lows, _mm512_srav_epi64(od, v->s_od));
    if (clamp)
        x = _mm512_min_epi32(_mm512_max_epi32(x, v->qlo), v->qhi);
    if (!fold)
        x = _mm512_add_epi32(x, v->zp);
    return _mm512_cvtsepi32_epi8(x);
}

C16_TARGET void c16_out(const uint8_t *quad, int wp, int st, const int8_t *wq, const pithrt_rq16 *rq,
                        pithrt_rq_out out, int c, int oh, int ow, int8_t *y, const int KH, const int Q, const int fold,
                        const int neg, const int act, const int clamp)
{
    const rq16v v = rq16_load(rq, out);
    const int ohw = oh * ow;
    __m512i wv[5 * 2];
    for (int t = 0; t < KH * Q; t++)
        wv[t] = _mm512_loadu_si512((const void *)(wq + t * 64));
    int i = 0, j = 0; /* the next output pixel */
    for (int o0 = 0; o0 < ohw; o0 += 16) {
        __m128i r[16];
        const uint8_t *p[16];
        for (int q = 0; q < 16; q++) { /* past the plane's end: its last pixel again */
            p[q] = quad + ((size_t)i * st * wp + (size_t)j * st) * 64;
            if (o0 + q + 1 < ohw && ++j == ow) {
                j = 0;
                i++;
            }
        }
        for (int q = 0; q < 16; q += 4) {
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
            for (int u = 0; u < KH; u++)
                for (int g = 0; g < Q; g++) {
                    const size_t off = ((size_t)u * wp + 4 * g) * 64;
                    const __m512i wt = wv[u * Q + g];
                    a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512((const void *)(p[q] + off)), wt);
                    a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512((const void *)(p[q + 1] + off)), wt);
                    a2 = _mm512_dpbusd_epi32(a2, _mm512_loadu_si512((const void *)(p[q + 2] + off)), wt);
                    a3 = _mm512_dpbusd_epi32(a3, _mm512_loadu_si512((const void *)(p[q + 3] + off)), wt);
                }
            r[q] = requant16(a0, &v, fold, neg, act, clamp);
            r[q + 1] = requant16(a1, &v, fold, neg, act, clamp);
            r[q + 2] = requant16(a2, &v, fold, neg, act, clamp);
            r[q + 3] = requant16(a3, &v, fold, neg, act, clamp);
        }
        transpose16x16_u8(r);
        const __mmask16 k = ohw - o0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ohw - o0)) - 1u);
        for (int ch = 0; ch < c; ch++)
            _mm_mask_storeu_epi8(y + (size_t)ch * ohw + o0, k, r[ch]);
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void
pithrt_dw_s8_avx512_vnni_c16(const int8_t *x, int c, int h, int w, int zx, int ph, int pw, int st, const int8_t *wq,
                             const pithrt_rq16 *rq, pithrt_rq_out out, int kh, int kw, int oh, int ow, uint8_t *buf,
                             int8_t *y)
{
    const int hp = h + 2 * ph, wp = w + 2 * pw, hw = h * w;
    const size_t npix = (size_t)hp * wp;
    uint8_t *px = buf, *quad = buf + (npix + 4) * 16; /* pixel-major codes + 128, then the quads */
    const __m128i fill = _mm_set1_epi8((char)(zx + 128)), flip = _mm_set1_epi8((char)0x80);
    /* 1. the border pixels (and four past the end, read by the last quads), then the input */
    for (int r = 0; r < hp; r++) {
        const int whole = r < ph || r >= ph + h;
        for (int q = 0; q < wp; q = !whole && q == pw - 1 ? pw + w : q + 1)
            if (whole || q < pw || q >= pw + w)
                _mm_storeu_si128((__m128i *)(void *)(px + ((size_t)r * wp + q) * 16), fill);
    }
    for (int q = 0; q < 4; q++)
        _mm_storeu_si128((__m128i *)(void *)(px + (npix + (size_t)q) * 16), fill);
    int i = 0, j = 0; /* the next input pixel */
    for (int p0 = 0; p0 < hw; p0 += 16) {
        const __mmask16 k = hw - p0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (hw - p0)) - 1u);
        __m128i r[16];
        for (int ch = 0; ch < 16; ch++)
            r[ch] = ch < c ? _mm_xor_si128(_mm_maskz_loadu_epi8(k, x + (size_t)ch * hw + p0), flip) : fill;
        transpose16x16_u8(r);
        for (int q = 0; q < 16 && p0 + q < hw; q++) {
            _mm_storeu_si128((__m128i *)(void *)(px + ((size_t)(i + ph) * wp + j + pw) * 16), r[q]);
            if (++j == w) {
                j = 0;
                i++;
            }
        }
    }
    /* 2. quads: lane (channel) c of pixel p holds the codes of pixels p .. p + 3 */
    for (size_t p = 0; p < npix; p++) {
        const uint8_t *s = px + p * 16;
        __m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)s);
        __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
        __m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(s + 32));
        __m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(s + 48));
        __m128i a0 = _mm_unpacklo_epi8(x0, x1), a1 = _mm_unpackhi_epi8(x0, x1);
        __m128i b0 = _mm_unpacklo_epi8(x2, x3), b1 = _mm_unpackhi_epi8(x2, x3);
        __m128i *d = (__m128i *)(void *)(quad + p * 64);
        _mm_storeu_si128(d, _mm_unpacklo_epi16(a0, b0));
        _mm_storeu_si128(d + 1, _mm_unpackhi_epi16(a0, b0));
        _mm_storeu_si128(d + 2, _mm_unpacklo_epi16(a1, b1));
        _mm_storeu_si128(d + 3, _mm_unpackhi_epi16(a1, b1));
    }
    /* 3. the outputs: the folded requantization's common cases, and the general one */
    const int narrow = out.qmin > -128 || out.qmax < 127;
    if (kh == 3 && kw == 3 && rq->fold && !rq->neg && !narrow)
        c16_out(quad, wp, st, wq, rq, out, c, oh, ow, y, 3, 1, 1, 0, 1, 0);
    else if (kh == 3 && kw == 3 && rq->fold)
        c16_out(quad, wp, st, wq, rq, out, c, oh, ow, y, 3, 1, 1, 1, 1, 1);
    else if (kh == 3 && kw == 3)
        c16_out(quad, wp, st, wq, rq, out, c, oh, ow, y, 3, 1, 0, 1, 1, 1);
    else
        c16_out(quad, wp, st, wq, rq, out, c, oh, ow, y, 5, 2, rq->fold, 1, 1, 1);
}
#endif
