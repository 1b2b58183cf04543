/* fp32 GEMM microkernel, NEON (armv8.0): an 8 x 8 tile in 16 q-register
 * accumulators; per k, two loads of A and two of B, sixteen FMLA by lane. */
#include <string.h>

#include "../pithrt.h"
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

/* The same tile with the epilogue in registers (pithrt_ukr_f32_out): row r
 * gets bias[r] and the activation, the reference's comparisons (NaN goes to
 * 0), and goes to y + r * ldy, its first n <= 8 columns; B's rows ldb apart
 * (8: a packed panel; a 1x1 convolution's input planes in place). */
#define OUT(r)                                                                                                       \
    {                                                                                                                \
        const float32x4_t br = vdupq_n_f32(bias ? bias[r] : 0.0f);                                                   \
        float32x4_t v0 = vaddq_f32(c##r##0, br), v1 = vaddq_f32(c##r##1, br);                                         \
        if (act != PITHRT_ACT_NONE) {                                                                                \
            v0 = vbslq_f32(vcgtq_f32(v0, zero), v0, zero);                                                           \
            v1 = vbslq_f32(vcgtq_f32(v1, zero), v1, zero);                                                           \
        }                                                                                                            \
        if (act == PITHRT_ACT_RELU6) {                                                                               \
            v0 = vbslq_f32(vcltq_f32(v0, six), v0, six);                                                             \
            v1 = vbslq_f32(vcltq_f32(v1, six), v1, six);                                                             \
        }                                                                                                            \
        if (n == 8) {                                                                                                \
            vst1q_f32(y + r * ldy, v0);                                                                              \
            vst1q_f32(y + r * ldy + 4, v1);                                                                          \
        } else {                                                                                                     \
            float t[8];                                                                                              \
            vst1q_f32(t, v0);                                                                                        \
            vst1q_f32(t + 4, v1);                                                                                    \
            memcpy(y + r * ldy, t, (size_t)n * sizeof(float));                                                       \
        }                                                                                                            \
    }

void pithrt_gemm_f32_neon_out(int k, const float *a, const float *b, size_t ldb, float *y, size_t ldy,
                              const float *bias, int act, int n)
{
    float32x4_t c00 = vdupq_n_f32(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
                c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int i = 0; i < k; i++) {
        float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4), b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        ROW(0, a0, 0) ROW(1, a0, 1) ROW(2, a0, 2) ROW(3, a0, 3)
        ROW(4, a1, 0) ROW(5, a1, 1) ROW(6, a1, 2) ROW(7, a1, 3)
        a += 8;
        b += ldb;
    }
    const float32x4_t zero = vdupq_n_f32(0.0f), six = vdupq_n_f32(6.0f);
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7)
}
#endif
