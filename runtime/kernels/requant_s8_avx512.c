/* The int8 epilogue, AVX-512, sixteen accumulators at a time (the last ones
 * under a mask). After the bias and the activation's clamp, the product
 * p = x * m is exact in 64 bits, and pithrt_requantize's two roundings
 * collapse into one floor division (e = the right shift, e >= 1):
 *   srdhm:   h = floor((p + 2^30) / 2^31)
 *   rshift:  r = floor((h + 2^(e-1) - [h < 0]) / 2^e)
 *          = floor((p + 2^30 + 2^(30+e) - [p < -2^30] * 2^31) / 2^(31+e))
 * (floor(floor(a / b) / c) = floor(a / (b c)), and h < 0 exactly when
 * p < -2^30). The correction term is skipped for a channel whose clamp keeps
 * x >= 0 with m >= 0 (every ReLU layer), and the final clamp when the codes
 * span all of int8 and x + zero point cannot overflow (VPMOVSDB saturates
 * the same way). A channel with a left
 * shift, a right shift over 31 or the multiplier INT32_MIN takes the
 * portable path. */
#include "requant_fold_avx512.h"
#include "ukernel.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define RQ_TARGET __attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) static inline

RQ_TARGET void rq_rows(const int32_t *acc, size_t lda, int n, int rows, const pithrt_rq_ch *ch, pithrt_rq_out out,
                       int8_t *y, size_t ldy, const int neg, const int clamp)
{
    const int e = ch->right;
    const long long c = (1LL << 30) + (e ? 1LL << (30 + e) : 0);
    const __m512i bias = _mm512_set1_epi32(ch->bias), lo = _mm512_set1_epi32(ch->lo), hi = _mm512_set1_epi32(ch->hi),
                  m = _mm512_set1_epi32(ch->mult), cv = _mm512_set1_epi64(c),
                  thr = _mm512_set1_epi64(c - (1LL << 30)), two31 = _mm512_set1_epi64(1LL << 31),
                  zp = _mm512_set1_epi32(out.zero_point), qmin = _mm512_set1_epi32(out.qmin - out.zero_point),
                  qmax = _mm512_set1_epi32(out.qmax - out.zero_point),
                  lows = _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    const __m128i s = _mm_cvtsi32_si128(31 + e);
    for (int r = 0; r < rows; r++, acc += lda, y += ldy)
        for (int i = 0; i < n; i += 16) {
            const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
            __m512i x = _mm512_add_epi32(_mm512_maskz_loadu_epi32(k, acc + i), bias);
            x = _mm512_min_epi32(_mm512_max_epi32(x, lo), hi);
            __m512i ev = _mm512_add_epi64(_mm512_mul_epi32(x, m), cv);
            __m512i od = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), m), cv);
            if (neg && e) {
                ev = _mm512_mask_sub_epi64(ev, _mm512_cmplt_epi64_mask(ev, thr), ev, two31);
                od = _mm512_mask_sub_epi64(od, _mm512_cmplt_epi64_mask(od, thr), od, two31);
            }
            x = _mm512_permutex2var_epi32(_mm512_sra_epi64(ev, s), lows, _mm512_sra_epi64(od, s));
            if (clamp) /* before the zero point, which could overflow a huge x */
                x = _mm512_min_epi32(_mm512_max_epi32(x, qmin), qmax);
            x = _mm512_add_epi32(x, zp);
            /* VPMOVSDB into a register, then the store: its masked store form is
             * microcoded and slow on AMD Zen 4 (the barrier keeps GCC from fusing) */
            __m128i codes = _mm512_cvtsepi32_epi8(x);
            __asm__("" : "+v"(codes));
            if (k == 0xFFFF)
                _mm_storeu_si128((__m128i *)(void *)(y + i), codes);
            else
                _mm_mask_storeu_epi8(y + i, k, codes);
        }
}

/* The same with the bias and the zero point inside the 64-bit constant,
 * for a channel whose accumulators cannot wrap with the bias added
 * (ch->fold) and a right shift of 1 to 23: x = acc is clamped to
 * [lo - bias, hi - bias] (nothing to clamp without an activation), then
 *   r + zp = floor((x m + bias m + 2^30 + 2^(30+e) + zp 2^S - [p < -2^30] 2^31) / 2^S)
 * with p = (x + bias) m and S = 31 + e, all within 64 bits. */
RQ_TARGET void rq_rows_fold(const int32_t *acc, size_t lda, int n, int rows, const pithrt_rq_fold *q,
                            pithrt_rq_out out, int8_t *y, size_t ldy, const int neg, const int act, const int clamp)
{
    const pithrt_fold_v k = pithrt_fold_v_of(q, out);
    /* whole vectors two at a time without masks (the loop's own cost shows at 16 values a step),
     * then the tail under a mask */
    for (int r = 0; r < rows; r++, acc += lda, y += ldy) {
        int i = 0;
        for (; i + 32 <= n; i += 32) {
            const __m128i c0 = pithrt_fold16(&k, _mm512_loadu_si512((const void *)(acc + i)), neg, act, clamp);
            const __m128i c1 = pithrt_fold16(&k, _mm512_loadu_si512((const void *)(acc + i + 16)), neg, act, clamp);
            _mm_storeu_si128((__m128i *)(void *)(y + i), c0);
            _mm_storeu_si128((__m128i *)(void *)(y + i + 16), c1);
        }
        for (; i < n; i += 16) {
            const __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
            _mm_mask_storeu_epi8(y + i, m, pithrt_fold16(&k, _mm512_maskz_loadu_epi32(m, acc + i), neg, act, clamp));
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void
pithrt_requant_s8_avx512(const int32_t *acc, size_t lda, int n, int rows, const pithrt_rq_ch *ch, pithrt_rq_out out,
                         int8_t *y, size_t ldy)
{
    if (ch->left || ch->right > 31 || ch->mult == INT32_MIN) {
        pithrt_requant_s8_c(acc, lda, n, rows, ch, out, y, ldy);
        return;
    }
    pithrt_rq_fold q;
    if (pithrt_rq_fold_of(ch, out.zero_point, &q)) {
        const int act = ch->lo != INT32_MIN || ch->hi != INT32_MAX, neg = ch->lo < 0;
        const int clamp = out.qmin > -128 || out.qmax < 127;
        if (!act && !clamp)
            rq_rows_fold(acc, lda, n, rows, &q, out, y, ldy, 1, 0, 0);
        else if (!neg && !clamp)
            rq_rows_fold(acc, lda, n, rows, &q, out, y, ldy, 0, 1, 0);
        else
            rq_rows_fold(acc, lda, n, rows, &q, out, y, ldy, neg, act, clamp);
        return;
    }
    /* the final clamp is needed for narrow codes, or when x + zero point could overflow */
    const int64_t xmax = ch->lo == INT32_MIN ? -(int64_t)INT32_MIN : ch->lo < 0 ? -(int64_t)ch->lo : ch->lo;
    const int64_t xbig = ch->hi > xmax ? ch->hi : xmax, mabs = ch->mult < 0 ? -(int64_t)ch->mult : ch->mult;
    const int neg = ch->lo < 0 || ch->mult < 0;
    const int clamp = out.qmin > -128 || out.qmax < 127 || ((xbig * mabs) >> (31 + ch->right)) >= (1 << 30);
    if (neg && clamp)
        rq_rows(acc, lda, n, rows, ch, out, y, ldy, 1, 1);
    else if (neg)
        rq_rows(acc, lda, n, rows, ch, out, y, ldy, 1, 0);
    else if (clamp)
        rq_rows(acc, lda, n, rows, ch, out, y, ldy, 0, 1);
    else
        rq_rows(acc, lda, n, rows, ch, out, y, ldy, 0, 0);
}
#endif
