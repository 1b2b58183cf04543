/* int8 GEMM microkernel, NEON armv8.0 (no dot product, e.g. Cortex-A53,
 * A72): operands widened to int16 at packing, panels [k][8]; SMLAL by lane
 * multiplies and accumulates into int32 exactly, 4 MACs per instruction.
 * An 8 x 8 tile in 16 accumulators. */
#include "ukernel.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define ROW(r, lane)                                                                                                 \
    c##r##0 = vmlal_laneq_s16(c##r##0, vget_low_s16(b0), a0, lane);                                                  \
    c##r##1 = vmlal_high_laneq_s16(c##r##1, b0, a0, lane);
#include "tile_s32_neon.h"

void pithrt_gemm_s8_neon(int k, const void *ap, const void *bp, int32_t *c, size_t ldc, int acc)
{
    const int16_t *a = ap, *b = bp;
    int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
              c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    if (acc) { /* continue a sum over an earlier block of k */
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6) LOAD(7)
    }
    for (int i = 0; i < k; i++) {
        PITHRT_MCA_BEGIN("gemm_s8_neon");
        int16x8_t a0 = vld1q_s16(a), b0 = vld1q_s16(b);
        ROW(0, 0) ROW(1, 1) ROW(2, 2) ROW(3, 3) ROW(4, 4) ROW(5, 5) ROW(6, 6) ROW(7, 7)
        a += 8;
        b += 8;
        PITHRT_MCA_END();
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
}

/* B panel: each row's eight codes widened to int16. */
void pithrt_pack_b_s8_neon(const int8_t *base, const int32_t *offs, int k, int n, void *panel)
{
    int16_t *d = panel;
    for (int r = 0; r < k; r++) {
        const int8_t *src = base + offs[r];
        if (n == 8) {
            vst1q_s16(d, vmovl_s8(vld1_s8(src)));
        } else {
            for (int j = 0; j < 8; j++)
                d[j] = (int16_t)(j < n ? src[j] : 0);
        }
        d += 8;
    }
}
#endif
