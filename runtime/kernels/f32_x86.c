/* The fp32 epilogue, B packing and residual add of f32_body.h, compiled for AVX2 and for
 * AVX-512 (the driver itself is built for baseline x86-64, whose SSE2 moves
 * four floats at a time). */
#include "f32_body.h"
#include "ukernel.h"

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void pithrt_bias_act_f32_avx2(const float *c, int n, float b, int act, float *y)
{
    pithrt_bias_act_f32_body(c, n, b, act, y);
}

__attribute__((target("avx2,fma"))) void pithrt_pack_b_f32_avx2(const float *base, const int32_t *offs, int k, int n,
                                                                float *panel)
{
    pithrt_pack_b_f32_body(base, offs, k, n, panel, 16);
}

__attribute__((target("avx2,fma"))) void pithrt_add_f32_avx2(const float *a, const float *b, float *y, size_t n,
                                                             int act)
{
    pithrt_add_f32_body(a, b, y, n, act);
}

__attribute__((target("avx512f"))) void pithrt_add_f32_avx512(const float *a, const float *b, float *y, size_t n,
                                                              int act)
{
    pithrt_add_f32_body(a, b, y, n, act);
}

__attribute__((target("avx512f"))) void pithrt_bias_act_f32_avx512(const float *c, int n, float b, int act, float *y)
{
    pithrt_bias_act_f32_body(c, n, b, act, y);
}

__attribute__((target("avx512f"))) void pithrt_pack_b_f32_avx512(const float *base, const int32_t *offs, int k, int n,
                                                                 float *panel)
{
    pithrt_pack_b_f32_body(base, offs, k, n, panel, 32);
}
#endif
