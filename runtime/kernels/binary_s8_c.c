/* Binary elementwise ops, int8, portable C, for channels [c0, c1) of the
 * output. Where one operand is constant over a channel's plane (SE gating's
 * per-channel gate, a per-channel constant) and the other is s8, the output
 * code is a function of the input code alone: the reference kernel's
 * expression (binary_s8_ref.c, the specification) is evaluated for the 256
 * codes into a table, and the plane is looked up. Otherwise the reference
 * arithmetic runs on the channel. The same floats, so the same bytes
 * (tests/test_kernels.c checks it). */
#include "../pithrt.h"
#include "binary_apply.h"
#include "kernels.h"

static inline float operand_value(const pithrt_operand *o, int32_t i)
{
    if (o->s8)
        return (float)(((const int8_t *)o->data)[i] - o->q.zero_point) * o->q.scale;
    return ((const float *)o->data)[i];
}

/* The operands of channel c: the same descriptors, data moved to the channel
 * and one channel deep, so that the reference kernel runs on it alone. */
static pithrt_operand channel_of(const pithrt_operand *o, const int32_t *stride, int32_t c)
{
    pithrt_operand r = *o;
    r.data = (const char *)o->data + (size_t)(c * stride[0]) * (o->s8 ? 1 : sizeof(float));
    r.dims[0] = 1;
    return r;
}

void pithrt_binary_s8_c(int kind, const pithrt_operand *a, const pithrt_operand *b, int8_t *y, pithrt_qact yq,
                        const int32_t *yd, int act, int32_t c0, int32_t c1)
{
    int32_t sa[3], sb[3];
    pithrt_broadcast_strides(a->dims, yd, sa);
    pithrt_broadcast_strides(b->dims, yd, sb);
    const int32_t plane = yd[1] * yd[2], one[3] = {1, yd[1], yd[2]};
    const int a_flat = sa[1] == 0 && sa[2] == 0, b_flat = sb[1] == 0 && sb[2] == 0;
    int8_t lut[256];
    for (int32_t c = c0; c < c1; c++) {
        int8_t *yc = y + (size_t)c * plane;
        const pithrt_operand *full = b_flat && a->s8 && !a_flat ? a : a_flat && b->s8 && !b_flat ? b : NULL;
        if (full && plane > 256) {
            const int32_t *sf = full == a ? sa : sb;
            const float k = full == a ? operand_value(b, c * sb[0]) : operand_value(a, c * sa[0]);
            for (int q = -128; q < 128; q++) {
                const float v = (float)(q - full->q.zero_point) * full->q.scale;
                lut[q + 128] = (int8_t)pithrt_quantize_value(
                    full == a ? pithrt_binary_apply(kind, v, k) : pithrt_binary_apply(kind, k, v), yq, act);
            }
            const int8_t *src = (const int8_t *)full->data + c * sf[0];
            if (sf[1] == yd[2] && sf[2] == 1) { /* a contiguous plane */
                for (int32_t i = 0; i < plane; i++)
                    yc[i] = lut[src[i] + 128];
            } else {
                for (int32_t h = 0; h < yd[1]; h++)
                    for (int32_t w = 0; w < yd[2]; w++)
                        *yc++ = lut[src[h * sf[1] + w * sf[2]] + 128];
            }
            continue;
        }
        pithrt_operand ac = channel_of(a, sa, c), bc = channel_of(b, sb, c);
        pithrt_binary_s8_ref(kind, &ac, &bc, yc, yq, one, act);
    }
}
