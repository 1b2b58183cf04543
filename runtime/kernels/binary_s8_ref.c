/* Binary elementwise ops with broadcasting, int8 (the reference kernel): SE
 * gating's multiply, a residual add whose operands broadcast, a constant
 * offset. Each operand is an s8 activation or an f32 constant; s8 codes are
 * dequantized in float32, the op applied with the f32 kernel's expression and
 * the result quantized to the output grid: the workbench's fake-quant
 * arithmetic, operation for operation, so the output is the same byte. */
#include "../pithrt.h"
#include "binary_apply.h"
#include "kernels.h"

static inline float operand_value(const pithrt_operand *o, int32_t i)
{
    if (o->s8)
        return (float)(((const int8_t *)o->data)[i] - o->q.zero_point) * o->q.scale;
    return ((const float *)o->data)[i];
}


void pithrt_binary_s8_ref(int kind, const pithrt_operand *a, const pithrt_operand *b, int8_t *y, pithrt_qact yq,
                          const int32_t *yd, int act)
{
    int32_t sa[3], sb[3];
    pithrt_broadcast_strides(a->dims, yd, sa);
    pithrt_broadcast_strides(b->dims, yd, sb);
    for (int32_t c = 0; c < yd[0]; c++)
        for (int32_t h = 0; h < yd[1]; h++) {
            int32_t ia = c * sa[0] + h * sa[1], ib = c * sb[0] + h * sb[1];
            for (int32_t w = 0; w < yd[2]; w++)
                *y++ = (int8_t)pithrt_quantize_value(
                    pithrt_binary_apply(kind, operand_value(a, ia + w * sa[2]), operand_value(b, ib + w * sb[2])), yq, act);
        }
}
