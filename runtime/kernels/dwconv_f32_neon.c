/* Depthwise conv, fp32, NEON, one channel over its padded plane: four
 * outputs per step; LD2 splits even and odd columns for stride 2. */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

void pithrt_dw_f32_neon(const float *xp, int pw, const float *w, int k, int s, float bias, int act, float *y, int oh,
                        int ow)
{
    const float32x4_t zero = vdupq_n_f32(0.0f), six = vdupq_n_f32(6.0f);
    for (int i = 0; i < oh; i++) {
        float *yr = y + (size_t)i * ow;
        int j = 0;
        for (; j + 4 <= ow; j += 4) {
            float32x4_t a = vdupq_n_f32(bias);
            for (int u = 0; u < k; u++) {
                const float *r = xp + (size_t)(i * s + u) * pw + j * s;
                for (int v = 0; v < k; v++) {
                    float32x4_t x = s == 1 ? vld1q_f32(r + v) : vld2q_f32(r + v).val[0];
                    a = vfmaq_n_f32(a, x, w[u * k + v]);
                }
            }
            if (act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6)
                a = vmaxq_f32(a, zero);
            if (act == PITHRT_ACT_RELU6)
                a = vminq_f32(a, six);
            vst1q_f32(yr + j, a);
            if (act == PITHRT_ACT_HARDSWISH)
                for (int q = 0; q < 4; q++)
                    yr[j + q] = pithrt_apply_act(yr[j + q], act);
        }
        for (; j < ow; j++) {
            float a = bias;
            for (int u = 0; u < k; u++)
                for (int v = 0; v < k; v++)
                    a += w[u * k + v] * xp[(size_t)(i * s + u) * pw + j * s + v];
            yr[j] = pithrt_apply_act(a, act);
        }
    }
}
#endif
