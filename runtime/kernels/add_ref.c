/* Residual add, float32 and int8. The int8 form rescales both inputs to the
 * output grid: each code is dequantized in float32, the sum quantized (the
 * workbench's arithmetic, operation for operation). */
#include "../pithrt.h"
#include "kernels.h"

void pithrt_add_f32_ref(const float *a, const float *b, float *y, size_t n, int act)
{
    for (size_t i = 0; i < n; i++)
        y[i] = pithrt_apply_act(a[i] + b[i], act);
}

void pithrt_add_s8_ref(const int8_t *a, pithrt_qact aq, const int8_t *b, pithrt_qact bq, int8_t *y, pithrt_qact yq,
                       size_t n, int act)
{
    for (size_t i = 0; i < n; i++) {
        float va = (float)(a[i] - aq.zero_point) * aq.scale, vb = (float)(b[i] - bq.zero_point) * bq.scale;
        y[i] = (int8_t)pithrt_quantize_value(va + vb, yq, act);
    }
}
