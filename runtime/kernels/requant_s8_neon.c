/* The int8 epilogue, NEON, eight accumulators at a time (a last partial
 * eight through a buffer). SQRDMULH is pithrt_srdhm exactly; the rounding
 * right shift is SRSHL after subtracting one from negative values
 * (gemmlowp's fixup: SRSHL rounds halves up, RoundingDivideByPOT away from
 * zero); SQSHL is the saturating left shift. Steps a channel does not need
 * are left out: the left shift when it is 0, the fixup when the clamp keeps
 * x >= 0 with m >= 0 (every ReLU layer), the final clamp when the codes span
 * all of int8 (SQXTN saturates the same way). */
#include <string.h>

#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

typedef struct rq_vec {
    int32x4_t bias, lo, hi, left, m, right, zp, qmin, qmax;
} rq_vec;

static inline __attribute__((always_inline)) int32x4_t rq4(int32x4_t x, const rq_vec *v, const int left,
                                                           const int neg, const int clamp)
{
    x = vminq_s32(vmaxq_s32(vaddq_s32(x, v->bias), v->lo), v->hi);
    if (left)
        x = vqshlq_s32(x, v->left);
    x = vqrdmulhq_s32(x, v->m);
    if (neg)
        x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, v->right), 31));
    x = vqaddq_s32(vrshlq_s32(x, v->right), v->zp); /* saturating: a huge x must not wrap */
    return clamp ? vminq_s32(vmaxq_s32(x, v->qmin), v->qmax) : x;
}

static inline __attribute__((always_inline)) void rq_rows(const int32_t *acc, size_t lda, int n, int rows,
                                                          const rq_vec *v, int8_t *y, size_t ldy, const int left,
                                                          const int neg, const int clamp)
{
    for (int row = 0; row < rows; row++, acc += lda, y += ldy)
        for (int i = 0; i < n; i += 8) {
            int32_t tail[8];
            int8_t out[8];
            const int32_t *a = acc + i;
            if (n - i < 8) {
                memcpy(tail, a, (size_t)(n - i) * sizeof(int32_t));
                memset(tail + (n - i), 0, (size_t)(8 - (n - i)) * sizeof(int32_t));
                a = tail;
            }
            int32x4_t r0 = rq4(vld1q_s32(a), v, left, neg, clamp), r1 = rq4(vld1q_s32(a + 4), v, left, neg, clamp);
            int8x8_t r = vqmovn_s16(vcombine_s16(vqmovn_s32(r0), vqmovn_s32(r1)));
            if (n - i >= 8) {
                vst1_s8(y + i, r);
            } else {
                vst1_s8(out, r);
                memcpy(y + i, out, (size_t)(n - i));
            }
        }
}

void pithrt_requant_s8_neon(const int32_t *acc, size_t lda, int n, int rows, const pithrt_rq_ch *ch,
                            pithrt_rq_out out, int8_t *y, size_t ldy)
{
    if (ch->right > 31 || ch->mult == INT32_MIN) {
        pithrt_requant_s8_c(acc, lda, n, rows, ch, out, y, ldy);
        return;
    }
    const rq_vec v = {vdupq_n_s32(ch->bias),       vdupq_n_s32(ch->lo),   vdupq_n_s32(ch->hi),
                      vdupq_n_s32(ch->left),       vdupq_n_s32(ch->mult), vdupq_n_s32(-ch->right),
                      vdupq_n_s32(out.zero_point), vdupq_n_s32(out.qmin), vdupq_n_s32(out.qmax)};
    const int neg = ch->right && (ch->lo < 0 || ch->mult < 0), clamp = out.qmin > -128 || out.qmax < 127;
    if (ch->left)
        rq_rows(acc, lda, n, rows, &v, y, ldy, 1, 1, 1);
    else if (neg)
        rq_rows(acc, lda, n, rows, &v, y, ldy, 0, 1, clamp);
    else if (clamp)
        rq_rows(acc, lda, n, rows, &v, y, ldy, 0, 0, 1);
    else
        rq_rows(acc, lda, n, rows, &v, y, ldy, 0, 0, 0);
}
#endif
