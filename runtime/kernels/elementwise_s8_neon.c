/* Quantize (fp32 -> int8) and the int8 residual add, NEON, four values at a
 * time with the reference's float operations in the reference's order:
 * FDIV and FRINTN (nearest, ties to even) are nearbyintf(v / scale). */
#include "../pithrt.h"
#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

static inline int32x4_t to_codes(float32x4_t v, pithrt_qact q, int act)
{
    if (act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6) {
        v = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vcgtq_f32(v, vdupq_n_f32(0.0f))));
        if (act == PITHRT_ACT_RELU6)
            v = vminq_f32(v, vdupq_n_f32(6.0f));
    }
    float32x4_t r = vaddq_f32(vrndnq_f32(vdivq_f32(v, vdupq_n_f32(q.scale))), vdupq_n_f32((float)q.zero_point));
    r = vminq_f32(vmaxq_f32(r, vdupq_n_f32((float)q.qmin)), vdupq_n_f32((float)q.qmax));
    return vcvtq_s32_f32(r);
}

static inline void store8(int8_t *y, int32x4_t lo, int32x4_t hi)
{
    vst1_s8(y, vqmovn_s16(vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi))));
}

static inline int plain(int act) { return act == PITHRT_ACT_NONE || act == PITHRT_ACT_RELU || act == PITHRT_ACT_RELU6; }

void pithrt_quantize_s8_neon(const float *x, int8_t *y, size_t n, pithrt_qact yq, int act)
{
    size_t i = 0;
    if (plain(act))
        for (; i + 8 <= n; i += 8) {
            float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
            /* a block with a NaN takes the reference's path */
            if (vminvq_u32(vandq_u32(vceqq_f32(a, a), vceqq_f32(b, b))) == 0)
                pithrt_quantize_f32_s8_ref(x + i, y + i, 8, yq, act);
            else
                store8(y + i, to_codes(a, yq, act), to_codes(b, yq, act));
        }
    if (i < n)
        pithrt_quantize_f32_s8_ref(x + i, y + i, n - i, yq, act);
}

void pithrt_add_s8_neon(const int8_t *a, pithrt_qact aq, const int8_t *b, pithrt_qact bq, int8_t *y, pithrt_qact yq,
                        size_t n, int act)
{
    size_t i = 0;
    if (plain(act)) {
        const int16x8_t za = vdupq_n_s16((int16_t)aq.zero_point), zb = vdupq_n_s16((int16_t)bq.zero_point);
        const float32x4_t sa = vdupq_n_f32(aq.scale), sb = vdupq_n_f32(bq.scale);
        for (; i + 8 <= n; i += 8) {
            int16x8_t da = vsubq_s16(vmovl_s8(vld1_s8(a + i)), za), db = vsubq_s16(vmovl_s8(vld1_s8(b + i)), zb);
            float32x4_t a0 = vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(da))), sa);
            float32x4_t a1 = vmulq_f32(vcvtq_f32_s32(vmovl_high_s16(da)), sa);
            float32x4_t b0 = vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(db))), sb);
            float32x4_t b1 = vmulq_f32(vcvtq_f32_s32(vmovl_high_s16(db)), sb);
            store8(y + i, to_codes(vaddq_f32(a0, b0), yq, act), to_codes(vaddq_f32(a1, b1), yq, act));
        }
    }
    if (i < n)
        pithrt_add_s8_ref(a + i, aq, b + i, bq, y + i, yq, n - i, act);
}
#endif
