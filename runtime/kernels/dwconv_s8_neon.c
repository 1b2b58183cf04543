/* Depthwise conv, int8, NEON, one channel on the wide grid (ukernel.h):
 * eight outputs per step, SMULL of raw codes (the product fits int16) then
 * SADDW into int32; LD2 splits even and odd columns for stride 2. */
#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

void pithrt_dw_s8_neon(const int8_t *xp, int pw, const int8_t *w, int k, int s, int32_t *acc, int n)
{
    int t = 0;
    for (; t + 8 <= n; t += 8) {
        int32x4_t a0 = vdupq_n_s32(0), a1 = a0;
        for (int u = 0; u < k; u++) {
            const int8_t *r = xp + (size_t)u * pw + (size_t)s * t;
            for (int v = 0; v < k; v++) {
                int8x8_t x = s == 1 ? vld1_s8(r + v) : vld2_s8(r + v).val[0];
                int16x8_t p = vmull_s8(x, vdup_n_s8(w[u * k + v]));
                a0 = vaddw_s16(a0, vget_low_s16(p));
                a1 = vaddw_high_s16(a1, p);
            }
        }
        vst1q_s32(acc + t, a0);
        vst1q_s32(acc + t + 4, a1);
    }
    if (t < n)
        pithrt_dw_s8_c(xp + (size_t)s * t, pw, w, k, s, acc + t, n - t);
}
#endif
