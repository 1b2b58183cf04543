/* Activations, table lookups, softmax, quantize and dequantize. */
#include <math.h>

#include "../pithrt.h"
#include "kernels.h"

void pithrt_act_f32_ref(const float *x, float *y, size_t n, int act)
{
    for (size_t i = 0; i < n; i++)
        y[i] = pithrt_apply_act(x[i], act);
}

void pithrt_act_param_f32_ref(const float *x, float *y, int channels, size_t plane, int act, const float *p, int n_p)
{
    const size_t n = (size_t)channels * plane;
    switch (act) {
    case PITHRT_ACT_HARDSIGMOID:
        for (size_t i = 0; i < n; i++) {
            float v = p[0] * x[i] + p[1];
            y[i] = v <= 0.0f ? 0.0f : v >= 1.0f ? 1.0f : v;
        }
        break;
    case PITHRT_ACT_CLIP:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] < p[0] ? p[0] : x[i] > p[1] ? p[1] : x[i];
        break;
    case PITHRT_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : p[0] * x[i];
        break;
    default: /* prelu */
        for (int c = 0; c < channels; c++) {
            const float a = p[n_p == 1 ? 0 : c];
            for (size_t i = (size_t)c * plane; i < (size_t)(c + 1) * plane; i++)
                y[i] = x[i] > 0.0f ? x[i] : a * x[i];
        }
        break;
    }
}

/* table[code + 128]: the exporter fills it with the workbench's own function
 * on each of the 256 input codes, so any elementwise op is exact. */
void pithrt_lut_s8_ref(const int8_t *x, const uint8_t *table, int8_t *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (int8_t)table[x[i] + 128];
}

void pithrt_softmax_f32_ref(const float *x, float *y, int n)
{
    float mx = -INFINITY, s = 0.0f;
    for (int i = 0; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    for (int i = 0; i < n; i++)
        s += y[i] = expf(x[i] - mx);
    for (int i = 0; i < n; i++)
        y[i] /= s;
}

void pithrt_quantize_f32_s8_ref(const float *x, int8_t *y, size_t n, pithrt_qact yq, int act)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (int8_t)pithrt_quantize_value(x[i], yq, act);
}

void pithrt_dequantize_s8_f32_ref(const int8_t *x, pithrt_qact xq, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)(x[i] - xq.zero_point) * xq.scale;
}

void pithrt_softmax_axis_f32_ref(const float *x, float *y, const int32_t *d, int axis)
{
    size_t outer = 1, inner = 1, len = (size_t)d[axis];
    for (int k = 0; k < axis; k++)
        outer *= (size_t)d[k];
    for (int k = axis + 1; k < 3; k++)
        inner *= (size_t)d[k];
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            const float *xs = x + o * len * inner + i;
            float *ys = y + o * len * inner + i;
            float mx = -INFINITY, s = 0.0f;
            for (size_t k = 0; k < len; k++)
                mx = xs[k * inner] > mx ? xs[k * inner] : mx;
            for (size_t k = 0; k < len; k++)
                s += ys[k * inner] = expf(xs[k * inner] - mx);
            for (size_t k = 0; k < len; k++)
                ys[k * inner] /= s;
        }
}
