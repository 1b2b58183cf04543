/* The fp32 epilogue, B packing and residual add of f32_body.h for NEON (aarch64's
 * baseline, so no target attribute is needed). */
#include "f32_body.h"
#include "ukernel.h"

#if defined(__aarch64__)
void pithrt_bias_act_f32_neon(const float *c, int n, float b, int act, float *y)
{
    pithrt_bias_act_f32_body(c, n, b, act, y);
}

void pithrt_add_f32_neon(const float *a, const float *b, float *y, size_t n, int act)
{
    pithrt_add_f32_body(a, b, y, n, act);
}

void pithrt_pack_b_f32_neon(const float *base, const int32_t *offs, int k, int n, float *panel)
{
    pithrt_pack_b_f32_body(base, offs, k, n, panel, 8);
}
#endif
