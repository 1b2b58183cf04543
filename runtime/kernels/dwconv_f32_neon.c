/* Depthwise conv, fp32, NEON, one channel on the wide grid (ukernel.h):
 * four outputs per step; LD2 splits even and odd columns for stride 2. */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

void pithrt_dw_f32_neon(const float *xp, int pw, const float *w, int k, int s, float bias, int act, float *y, int n)
{
    const float32x4_t zero = vdupq_n_f32(0.0f), six = vdupq_n_f32(6.0f);
    int t = 0;
    for (; t + 4 <= n; t += 4) {
        float32x4_t a = vdupq_n_f32(bias);
        for (int u = 0; u < k; u++) {
            const float *r = xp + (size_t)u * pw + (size_t)s * t;
            for (int v = 0; v < k; v++)
                a = vfmaq_n_f32(a, s == 1 ? vld1q_f32(r + v) : vld2q_f32(r + v).val[0], w[u * k + v]);
        }
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
        pithrt_dw_f32_c(xp + (size_t)s * t, pw, w, k, s, bias, act, y + t, n - t);
}
#endif
