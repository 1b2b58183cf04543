/* Dot products for fully connected layers, NEON armv8.0. */
#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

/* int8 dot product: SMULL to int16, pairwise add-accumulate to int32 (SADALP). */
int32_t pithrt_dot_s8_neon(const int8_t *a, const int8_t *b, int n)
{
    int32x4_t s = vdupq_n_s32(0);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        int8x16_t x = vld1q_s8(a + i), y = vld1q_s8(b + i);
        s = vpadalq_s16(s, vmull_s8(vget_low_s8(x), vget_low_s8(y)));
        s = vpadalq_s16(s, vmull_high_s8(x, y));
    }
    int32_t r = vaddvq_s32(s);
    for (; i < n; i++)
        r += (int32_t)a[i] * b[i];
    return r;
}

float pithrt_dot_f32_neon(const float *a, const float *b, int n)
{
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    }
    float r = vaddvq_f32(vaddq_f32(s0, s1));
    for (; i < n; i++)
        r += a[i] * b[i];
    return r;
}
#endif
