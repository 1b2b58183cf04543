/* fp32 GEMM microkernel, NEON (armv8.0): an 8 x 8 tile in 16 q-register
 * accumulators; per k, two loads of A and two of B, sixteen FMLA by lane. */
#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define ROW(r, av, lane)                                                                                             \
    c##r##0 = vfmaq_laneq_f32(c##r##0, b0, av, lane);                                                               \
    c##r##1 = vfmaq_laneq_f32(c##r##1, b1, av, lane);
#define STORE(r)                                                                                                     \
    vst1q_f32(c + r * ldc, c##r##0);                                                                                   \
    vst1q_f32(c + r * ldc + 4, c##r##1);
#define LOAD(r)                                                                                                      \
    c##r##0 = vld1q_f32(c + r * ldc);                                                                                  \
    c##r##1 = vld1q_f32(c + r * ldc + 4);

void pithrt_gemm_f32_neon(int k, const float *a, const float *b, float *c, size_t ldc, int acc)
{
    float32x4_t c00 = vdupq_n_f32(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
                c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    if (acc) { /* continue a sum over an earlier block of k */
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6) LOAD(7)
    }
    for (int i = 0; i < k; i++) {
        PITHRT_MCA_BEGIN("gemm_f32_neon");
        float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4), b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        ROW(0, a0, 0) ROW(1, a0, 1) ROW(2, a0, 2) ROW(3, a0, 3)
        ROW(4, a1, 0) ROW(5, a1, 1) ROW(6, a1, 2) ROW(7, a1, 3)
        a += 8;
        b += 8;
        PITHRT_MCA_END();
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
}
#endif
