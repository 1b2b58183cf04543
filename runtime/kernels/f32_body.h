/* Bodies of the fp32 epilogue and B packing, written for the vectorizer and
 * compiled once per instruction set: each *_x86.c wraps them in a function
 * with that set's target attribute (always_inline carries them into it), and
 * ukernel_c.c in a plain one (NEON on aarch64). */
#ifndef PITHRT_F32_BODY_H
#define PITHRT_F32_BODY_H

#include <string.h>

#include "kernels.h"

/* y = act(c + b). One loop per activation: GCC does not unswitch
 * pithrt_apply_act's switch out of the loop, and the switched loop is 40%
 * slower on MobileNet's 1x1 layers. */
static inline __attribute__((always_inline)) void pithrt_bias_act_f32_body(const float *c, int n, float b, int act,
                                                                           float *y)
{
    if (act == PITHRT_ACT_RELU)
        for (int q = 0; q < n; q++) {
            float v = c[q] + b;
            y[q] = v > 0.0f ? v : 0.0f;
        }
    else if (act == PITHRT_ACT_RELU6)
        for (int q = 0; q < n; q++) {
            float v = c[q] + b;
            v = v > 0.0f ? v : 0.0f;
            y[q] = v < 6.0f ? v : 6.0f;
        }
    else if (act == PITHRT_ACT_NONE)
        for (int q = 0; q < n; q++)
            y[q] = c[q] + b;
    else
        for (int q = 0; q < n; q++)
            y[q] = pithrt_apply_act(c[q] + b, act);
}

/* y = act(a + b), the residual add */
static inline __attribute__((always_inline)) void pithrt_add_f32_body(const float *a, const float *b, float *y,
                                                                      size_t n, int act)
{
    if (act == PITHRT_ACT_RELU)
        for (size_t q = 0; q < n; q++) {
            float v = a[q] + b[q];
            y[q] = v > 0.0f ? v : 0.0f;
        }
    else if (act == PITHRT_ACT_RELU6)
        for (size_t q = 0; q < n; q++) {
            float v = a[q] + b[q];
            v = v > 0.0f ? v : 0.0f;
            y[q] = v < 6.0f ? v : 6.0f;
        }
    else if (act == PITHRT_ACT_NONE)
        for (size_t q = 0; q < n; q++)
            y[q] = a[q] + b[q];
    else
        for (size_t q = 0; q < n; q++)
            y[q] = pithrt_apply_act(a[q] + b[q], act);
}

/* One B panel of nr columns: k rows (row r at base + offs[r]) of n <= nr
 * floats, the columns past n zero. The full-panel copy has a constant size
 * for the compiler to inline as vector moves (a memcpy call per row costs
 * more than the copy). */
static inline __attribute__((always_inline)) void pithrt_pack_b_f32_body(const float *base, const int32_t *offs,
                                                                         int k, int n, float *d, const int nr)
{
    if (n == nr) {
        for (int r = 0; r < k; r++, d += nr)
            memcpy(d, base + offs[r], (size_t)nr * sizeof(float));
        return;
    }
    for (int r = 0; r < k; r++, d += nr) {
        memcpy(d, base + offs[r], (size_t)n * sizeof(float));
        for (int q = n; q < nr; q++)
            d[q] = 0.0f;
    }
}

#endif
