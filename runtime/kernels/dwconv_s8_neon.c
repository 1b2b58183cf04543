/* Depthwise conv, int8, NEON, one channel as shifted copies (ukernel.h):
 * sixteen outputs per step, SMULL of raw codes (the product fits int16) then
 * SADDW into int32. */
#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

void pithrt_dw_s8_neon(const int8_t *x, const int32_t *off, const int8_t *w, int taps, int32_t *acc, int n)
{
    int t = 0;
    for (; t + 16 <= n; t += 16) {
        int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < taps; k++) {
            int8x16_t v = vld1q_s8(x + off[k] + t);
            int8x8_t wk = vdup_n_s8(w[k]);
            int16x8_t lo = vmull_s8(vget_low_s8(v), wk), hi = vmull_s8(vget_high_s8(v), wk);
            a0 = vaddw_s16(a0, vget_low_s16(lo));
            a1 = vaddw_high_s16(a1, lo);
            a2 = vaddw_s16(a2, vget_low_s16(hi));
            a3 = vaddw_high_s16(a3, hi);
        }
        vst1q_s32(acc + t, a0);
        vst1q_s32(acc + t + 4, a1);
        vst1q_s32(acc + t + 8, a2);
        vst1q_s32(acc + t + 12, a3);
    }
    if (t < n)
        pithrt_dw_s8_c(x + t, off, w, taps, acc + t, n - t);
}
#endif
