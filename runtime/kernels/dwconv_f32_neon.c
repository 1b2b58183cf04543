/* Depthwise conv, fp32, NEON, one channel as shifted copies (ukernel.h):
 * four outputs per step. */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

void pithrt_dw_f32_neon(const float *x, const int32_t *off, const float *w, int taps, float bias, int act, float *y,
                        int n)
{
    const float32x4_t zero = vdupq_n_f32(0.0f), six = vdupq_n_f32(6.0f);
    int t = 0;
    for (; t + 4 <= n; t += 4) {
        float32x4_t a = vdupq_n_f32(bias);
        for (int k = 0; k < taps; k++)
            a = vfmaq_n_f32(a, vld1q_f32(x + off[k] + t), w[k]);
        if (act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6)
            a = vmaxq_f32(a, zero);
        if (act == PITHRT_ACT_RELU6)
            a = vminq_f32(a, six);
        vst1q_f32(y + t, a);
        if (act == PITHRT_ACT_HARDSWISH)
            for (int q = 0; q < 4; q++)
                y[t + q] = pithrt_apply_act(y[t + q], act);
    }
    if (t < n)
        pithrt_dw_f32_c(x + t, off, w, taps, bias, act, y + t, n - t);
}
#endif
