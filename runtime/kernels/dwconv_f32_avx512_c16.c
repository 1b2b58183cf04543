/* Depthwise conv, fp32, AVX-512, sixteen channels at once, for small planes
 * (14x14, 7x7), where one channel's rows give a vector too few outputs to
 * fill. The group's input is transposed into a padded pixel-major buffer
 * (each pixel a vector of its 16 channels: border pixels zero), so an
 * output pixel is the bias plus kh x kw FMAs of whole vectors, in (u, v)
 * order; sixteen output pixels are transposed back into the channels'
 * planes. Transposes are 16 x 16 in registers (unpack 32- and 64-bit
 * halves, then exchange 128-bit lanes twice). */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define C16_TARGET __attribute__((target("avx512f"), always_inline)) static inline

/* r[i] (row i of a 16 x 16 block) becomes column i */
C16_TARGET void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    /* r[4g + j] now holds, in 128-bit lane L, elements 4L .. 4L + 3 of column 4L' + j of rows 4g ..:
     * gather lane L of the four groups */
    for (int j = 0; j < 4; j++) {
        __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), b = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
        __m512 c = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88),
               d = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
        t[j] = _mm512_shuffle_f32x4(a, c, 0x88);
        t[8 + j] = _mm512_shuffle_f32x4(a, c, 0xDD);
        t[4 + j] = _mm512_shuffle_f32x4(b, d, 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(b, d, 0xDD);
    }
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}

/* the outputs, sixteen pixels at a time, into the channels' planes */
C16_TARGET void c16_out(const float *buf, int wp, int st, const float *wq, __m512 b, int act, int c, int oh, int ow,
                        float *y, const int KH, const int KW)
{
    const int ohw = oh * ow;
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f);
    __m512 wv[25];
    for (int t = 0; t < KH * KW; t++)
        wv[t] = _mm512_loadu_ps(wq + t * 16);
    int i = 0, j = 0; /* the next output pixel */
    for (int o0 = 0; o0 < ohw; o0 += 16) {
        __m512 r[16];
        const float *p[16];
        for (int q = 0; q < 16; q++) { /* past the plane's end: its last pixel again */
            p[q] = buf + ((size_t)i * st * wp + (size_t)j * st) * 16;
            if (o0 + q + 1 < ohw && ++j == ow) {
                j = 0;
                i++;
            }
        }
        /* four pixels' sums at a time, so that four FMA chains are in flight */
        for (int q = 0; q < 16; q += 4) {
            __m512 a0 = b, a1 = b, a2 = b, a3 = b;
            for (int u = 0; u < KH; u++)
                for (int v = 0; v < KW; v++) {
                    const size_t off = ((size_t)u * wp + v) * 16;
                    const __m512 wt = wv[u * KW + v];
                    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(p[q] + off), wt, a0);
                    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(p[q + 1] + off), wt, a1);
                    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(p[q + 2] + off), wt, a2);
                    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(p[q + 3] + off), wt, a3);
                }
            r[q] = a0;
            r[q + 1] = a1;
            r[q + 2] = a2;
            r[q + 3] = a3;
        }
        for (int q = 0; q < 16; q++) {
            if (act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6)
                r[q] = _mm512_max_ps(r[q], zero);
            if (act == PITHRT_ACT_RELU6)
                r[q] = _mm512_min_ps(r[q], six);
        }
        transpose16(r);
        const __mmask16 k = ohw - o0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ohw - o0)) - 1u);
        for (int ch = 0; ch < c; ch++) {
            float *yc = y + (size_t)ch * ohw + o0;
            _mm512_mask_storeu_ps(yc, k, r[ch]);
            if (act == PITHRT_ACT_HARDSWISH)
                for (int q = 0; q < 16 && o0 + q < ohw; q++)
                    yc[q] = pithrt_apply_act(yc[q], act);
        }
    }
}

__attribute__((target("avx512f"))) void pithrt_dw_f32_avx512_c16(const float *x, int c, int h, int w, int ph, int pw,
                                                                 int st, const float *wq, const float *bias, int kh,
                                                                 int kw, int act, int oh, int ow, float *buf,
                                                                 float *y)
{
    const int hp = h + 2 * ph, wp = w + 2 * pw, hw = h * w;
    const __mmask16 lanes = (__mmask16)((1u << c) - 1u);
    const __m512 zero = _mm512_setzero_ps();
    /* the border pixels: zero (top and bottom rows, then the sides) */
    for (int r = 0; r < hp; r++) {
        const int whole = r < ph || r >= ph + h;
        for (int q = 0; q < wp; q = !whole && q == pw - 1 ? pw + w : q + 1)
            if (whole || q < pw || q >= pw + w)
                _mm512_storeu_ps(buf + ((size_t)r * wp + q) * 16, zero);
    }
    /* the input, sixteen pixels (of the flattened plane) at a time */
    int i = 0, j = 0; /* the next input pixel */
    for (int p0 = 0; p0 < hw; p0 += 16) {
        const __mmask16 k = hw - p0 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (hw - p0)) - 1u);
        __m512 r[16];
        for (int ch = 0; ch < 16; ch++)
            r[ch] = ch < c ? _mm512_maskz_loadu_ps(k, x + (size_t)ch * hw + p0) : zero;
        transpose16(r);
        for (int q = 0; q < 16 && p0 + q < hw; q++) {
            _mm512_storeu_ps(buf + ((size_t)(i + ph) * wp + j + pw) * 16, r[q]);
            if (++j == w) {
                j = 0;
                i++;
            }
        }
    }
    const __m512 b = bias ? _mm512_maskz_loadu_ps(lanes, bias) : zero;
    if (kh == 3 && kw == 3)
        c16_out(buf, wp, st, wq, b, act, c, oh, ow, y, 3, 3);
    else
        c16_out(buf, wp, st, wq, b, act, c, oh, ow, y, 5, 5);
}
#endif
