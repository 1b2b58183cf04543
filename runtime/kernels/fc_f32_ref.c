/* fully connected, float32: y = W x + b, W [o][n]. */
#include "../pithrt.h"
#include "kernels.h"

void pithrt_fc_f32_ref(const float *x, int n, const float *wt, const float *bias, float *y, int o, int act)
{
    for (int k = 0; k < o; k++) {
        const float *wk = wt + (size_t)k * n;
        float s = bias ? bias[k] : 0.0f;
        for (int i = 0; i < n; i++)
            s += wk[i] * x[i];
        y[k] = pithrt_apply_act(s, act);
    }
}
