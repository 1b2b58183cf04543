/* The folded requantization of sixteen sums on AVX-512 (requant_s8_avx512.c
 * derives it), shared by the requantization kernel and the VNNI
 * microkernel that requantizes in registers. k: pithrt_rq_fold's constants
 * broadcast; neg: a product can fall under -2^30; act: clamp the sums;
 * clamp: narrow codes. */
#ifndef PITHRT_REQUANT_FOLD_AVX512_H
#define PITHRT_REQUANT_FOLD_AVX512_H

#if defined(__x86_64__)
#include <immintrin.h>

#include "ukernel.h"

typedef struct pithrt_fold_v {
    __m512i lo, hi, m, c, thr, qmin, qmax;
    __m128i s;
} pithrt_fold_v;

static inline __attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) pithrt_fold_v
pithrt_fold_v_of(const pithrt_rq_fold *q, pithrt_rq_out out)
{
    pithrt_fold_v k;
    k.lo = _mm512_set1_epi32(q->lo);
    k.hi = _mm512_set1_epi32(q->hi);
    k.m = _mm512_set1_epi32(q->mult);
    k.c = _mm512_set1_epi64(q->c);
    k.thr = _mm512_set1_epi64(q->thr);
    k.qmin = _mm512_set1_epi32(out.qmin);
    k.qmax = _mm512_set1_epi32(out.qmax);
    k.s = _mm_cvtsi32_si128(q->shift);
    return k;
}

static inline __attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) __m128i
pithrt_fold16(const pithrt_fold_v *k, __m512i x, const int neg, const int act, const int clamp)
{
    const __m512i lows = _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    if (act)
        x = _mm512_min_epi32(_mm512_max_epi32(x, k->lo), k->hi);
    __m512i ev = _mm512_add_epi64(_mm512_mul_epi32(x, k->m), k->c);
    __m512i od = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), k->m), k->c);
    if (neg) {
        const __m512i two31 = _mm512_set1_epi64(1LL << 31);
        ev = _mm512_mask_sub_epi64(ev, _mm512_cmplt_epi64_mask(ev, k->thr), ev, two31);
        od = _mm512_mask_sub_epi64(od, _mm512_cmplt_epi64_mask(od, k->thr), od, two31);
    }
    x = _mm512_permutex2var_epi32(_mm512_sra_epi64(ev, k->s), lows, _mm512_sra_epi64(od, k->s));
    if (clamp)
        x = _mm512_min_epi32(_mm512_max_epi32(x, k->qmin), k->qmax);
    __m128i codes = _mm512_cvtsepi32_epi8(x);
    /* VPMOVSDB into a register, then the store: its store form (masked or
     * not) is microcoded and slow on AMD Zen 4; the barrier keeps GCC from
     * fusing the two */
    __asm__("" : "+v"(codes));
    return codes;
}
#endif

#endif
