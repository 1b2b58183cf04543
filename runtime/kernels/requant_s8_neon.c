/* The int8 epilogue, NEON, eight accumulators at a time. SQRDMULH is
 * pithrt_srdhm exactly; the rounding right shift is SRSHL after subtracting
 * one from negative values (gemmlowp's fixup: SRSHL rounds halves up,
 * RoundingDivideByPOT away from zero); SQSHL is the saturating left shift. */
#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

static inline int32x4_t rq4(int32x4_t x, int32x4_t bias, int32x4_t lo, int32x4_t hi, int32x4_t left, int32x4_t m,
                            int32x4_t right, int32x4_t zp, int32x4_t qmin, int32x4_t qmax)
{
    x = vminq_s32(vmaxq_s32(vaddq_s32(x, bias), lo), hi);
    x = vqrdmulhq_s32(vqshlq_s32(x, left), m);
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right), 31));
    x = vrshlq_s32(x, right);
    return vminq_s32(vmaxq_s32(vaddq_s32(x, zp), qmin), qmax);
}

void pithrt_requant_row_neon(const int32_t *acc, int n, const pithrt_rq_ch *ch, pithrt_rq_out out, int8_t *y)
{
    int i = 0;
    if (ch->right <= 31 && ch->mult != INT32_MIN) {
        const int32x4_t bias = vdupq_n_s32(ch->bias), lo = vdupq_n_s32(ch->lo), hi = vdupq_n_s32(ch->hi),
                        left = vdupq_n_s32(ch->left), m = vdupq_n_s32(ch->mult), right = vdupq_n_s32(-ch->right),
                        zp = vdupq_n_s32(out.zero_point), qmin = vdupq_n_s32(out.qmin),
                        qmax = vdupq_n_s32(out.qmax);
        for (; i + 8 <= n; i += 8) {
            int32x4_t a = rq4(vld1q_s32(acc + i), bias, lo, hi, left, m, right, zp, qmin, qmax);
            int32x4_t b = rq4(vld1q_s32(acc + i + 4), bias, lo, hi, left, m, right, zp, qmin, qmax);
            int16x8_t h = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
            vst1_s8(y + i, vqmovn_s16(h));
        }
    }
    if (i < n)
        pithrt_requant_row_c(acc + i, n - i, ch, out, y + i);
}
#endif
