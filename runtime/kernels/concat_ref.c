/* Channel concatenation (CHW: one input is a contiguous run of the output). */
#include <string.h>

#include "../pithrt.h"
#include "kernels.h"

void pithrt_concat_f32_ref(const float *x, size_t n, float *y)
{
    memcpy(y, x, n * sizeof *y);
}

void pithrt_concat_s8_ref(const int8_t *x, pithrt_qact xq, size_t n, int8_t *y, pithrt_qact yq)
{
    if (xq.scale == yq.scale && xq.zero_point == yq.zero_point && xq.qmin >= yq.qmin && xq.qmax <= yq.qmax) {
        memcpy(y, x, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = (int8_t)pithrt_quantize_value((float)(x[i] - xq.zero_point) * xq.scale, yq, PITHRT_ACT_NONE);
}
