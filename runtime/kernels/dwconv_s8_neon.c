/* Depthwise conv, int8, NEON, one channel over its padded plane: eight
 * outputs per step, x - zx widened to int16 and multiplied-accumulated into
 * int32 (SMLAL); LD2 splits even and odd columns for stride 2. */
#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

void pithrt_dw_s8_neon(const int8_t *xp, int pw, int32_t zx, const int8_t *w, int k, int s, int32_t *acc, int oh,
                       int ow)
{
    const int16x8_t z = vdupq_n_s16((int16_t)zx);
    for (int i = 0; i < oh; i++) {
        int j = 0;
        for (; j + 8 <= ow; j += 8) {
            int32x4_t a0 = vdupq_n_s32(0), a1 = a0;
            for (int u = 0; u < k; u++) {
                const int8_t *r = xp + (size_t)(i * s + u) * pw + j * s;
                for (int v = 0; v < k; v++) {
                    int8x8_t x8 = s == 1 ? vld1_s8(r + v) : vld2_s8(r + v).val[0];
                    int16x8_t x = vsubq_s16(vmovl_s8(x8), z);
                    int16x4_t wv = vdup_n_s16(w[u * k + v]);
                    a0 = vmlal_s16(a0, vget_low_s16(x), wv);
                    a1 = vmlal_high_s16(a1, x, vcombine_s16(wv, wv));
                }
            }
            vst1q_s32(acc + (size_t)i * ow + j, a0);
            vst1q_s32(acc + (size_t)i * ow + j + 4, a1);
        }
        for (; j < ow; j++) {
            int32_t a = 0;
            for (int u = 0; u < k; u++)
                for (int v = 0; v < k; v++)
                    a += (int32_t)w[u * k + v] * ((int32_t)xp[(size_t)(i * s + u) * pw + j * s + v] - zx);
            acc[(size_t)i * ow + j] = a;
        }
    }
}
#endif
