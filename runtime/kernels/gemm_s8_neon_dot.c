/* int8 GEMM microkernel, NEON with the dot product (armv8.2-a+dotprod):
 * an 8 x 8 tile in 16 int32 accumulators. SDOT by lane multiplies four
 * signed bytes of B (one pixel's four k) by four bytes of A (one channel's
 * four k) and adds the sum to a lane: 16 MACs per instruction, exact.
 * Panels: [k/4][8][4]. */
#include "ukernel.h"

#if defined(__aarch64__)
#pragma GCC target("arch=armv8.2-a+dotprod")
#include <arm_neon.h>

#define ROW(r, av, lane)                                                                                             \
    c##r##0 = vdotq_laneq_s32(c##r##0, b0, av, lane);                                                               \
    c##r##1 = vdotq_laneq_s32(c##r##1, b1, av, lane);
#include "tile_s32_neon.h"

void pithrt_gemm_s8_neon_dot(int kgroups, const void *ap, const void *bp, int32_t *c, size_t ldc, int acc)
{
    const int8_t *a = ap, *b = bp;
    int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
              c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    if (acc) { /* continue a sum over an earlier block of k */
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6) LOAD(7)
    }
    for (int i = 0; i < kgroups; i++) {
        PITHRT_MCA_BEGIN("gemm_s8_neon_dot");
        int8x16_t a0 = vld1q_s8(a), a1 = vld1q_s8(a + 16), b0 = vld1q_s8(b), b1 = vld1q_s8(b + 16);
        ROW(0, a0, 0) ROW(1, a0, 1) ROW(2, a0, 2) ROW(3, a0, 3)
        ROW(4, a1, 0) ROW(5, a1, 1) ROW(6, a1, 2) ROW(7, a1, 3)
        a += 32;
        b += 32;
        PITHRT_MCA_END();
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
}

/* B panel: four rows of eight codes interleaved bytewise (ST4). */
void pithrt_pack_b_s8_neon_dot(const int8_t *base, const int32_t *offs, int k, int n, void *panel)
{
    int8_t *d = panel;
    for (int g = 0; g < (k + 3) / 4; g++) {
        int8x8x4_t v;
        int8_t tmp[4][8];
        for (int t = 0; t < 4; t++) {
            int r = 4 * g + t;
            const int8_t *src = r < k ? base + offs[r] : NULL;
            if (src && n == 8) {
                v.val[t] = vld1_s8(src);
            } else {
                for (int j = 0; j < 8; j++)
                    tmp[t][j] = src && j < n ? src[j] : 0;
                v.val[t] = vld1_s8(tmp[t]);
            }
        }
        vst4_s8(d, v);
        d += 32;
    }
}

int32_t pithrt_dot_s8_neon_dot(const int8_t *a, const int8_t *b, int n)
{
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = vdotq_s32(s0, vld1q_s8(a + i), vld1q_s8(b + i));
        s1 = vdotq_s32(s1, vld1q_s8(a + i + 16), vld1q_s8(b + i + 16));
    }
    int32_t r = vaddvq_s32(vaddq_s32(s0, s1));
    for (; i < n; i++)
        r += (int32_t)a[i] * b[i];
    return r;
}
#endif
