/* int8 GEMM microkernel, NEON with the dot product (armv8.2-a+dotprod):
 * an 8 x 8 tile in 16 int32 accumulators. SDOT by lane multiplies four
 * signed bytes of B (one pixel's four k) by four bytes of A (one channel's
 * four k) and adds the sum to a lane: 16 MACs per instruction, exact.
 * Panels: [k/4][8][4]. */
#include <string.h>

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

/* The same tile with B read in place (pithrt_ukr_s8_ind): k-group i's 8
 * pixels x 4 codes are the 32 bytes at b + boff[i] (pad_c4's layout). */
void pithrt_gemm_s8_neon_dot_ind(int kgroups, const void *ap, const uint8_t *b, const int32_t *boff, int32_t *c,
                                 size_t ldc, int acc)
{
    const int8_t *a = ap;
    int32x4_t c00 = vdupq_n_s32(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
              c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    if (acc) {
        LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6) LOAD(7)
    }
    for (int i = 0; i < kgroups; i++) {
        PITHRT_MCA_BEGIN("gemm_s8_neon_dot_ind");
        const int8_t *bi = (const int8_t *)b + boff[i];
        int8x16_t a0 = vld1q_s8(a), a1 = vld1q_s8(a + 16), b0 = vld1q_s8(bi), b1 = vld1q_s8(bi + 16);
        ROW(0, a0, 0) ROW(1, a0, 1) ROW(2, a0, 2) ROW(3, a0, 3)
        ROW(4, a1, 0) ROW(5, a1, 1) ROW(6, a1, 2) ROW(7, a1, 3)
        a += 32;
        PITHRT_MCA_END();
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5) STORE(6) STORE(7)
}

/* Four channel planes (h x w codes each, h * w apart) for the in-place
 * microkernel: padded by ph / pw with the zero point, the four codes of a
 * pixel side by side (ST4 of sixteen pixels), at stride 2 split into the
 * four phase planes (LD2 splits a row's columns by parity). The codes stay
 * signed: SDOT multiplies signed by signed. */
void pithrt_pad_c4_s8_neon(const int8_t *x, int h, int w, int ph, int pw, int st, int hp, int wp, int zx,
                           uint8_t *dst)
{
    const size_t plane = (size_t)hp * wp, hw = (size_t)h * w;
    memset(dst, (int8_t)zx, (st == 1 ? 1 : 4) * plane * 4);
    for (int i = 0; i < h; i++) {
        const int8_t *s0 = x + (size_t)i * w, *s1 = s0 + hw, *s2 = s1 + hw, *s3 = s2 + hw;
        const int yy = i + ph;
        int8_t *row = (int8_t *)dst + (st == 1 ? (size_t)yy * wp : ((size_t)(yy % 2) * 2 * plane + (size_t)(yy / 2) * wp)) * 4;
        int8_t *even = row, *odd = row + plane * 4;
        int j = 0;
        if (st == 1) {
            for (; j + 16 <= w; j += 16) {
                const int8x16x4_t v = {{vld1q_s8(s0 + j), vld1q_s8(s1 + j), vld1q_s8(s2 + j), vld1q_s8(s3 + j)}};
                vst4q_s8(row + (size_t)(pw + j) * 4, v);
            }
        } else {
            /* 32 pixels: the even ones (j, j + 2, ...) to the plane of (j + pw) % 2 */
            for (; j + 32 <= w; j += 32) {
                const int8x16x2_t v0 = vld2q_s8(s0 + j), v1 = vld2q_s8(s1 + j), v2 = vld2q_s8(s2 + j),
                                  v3 = vld2q_s8(s3 + j);
                const int xx = j + pw;
                int8_t *de = (xx % 2 ? odd : even) + (size_t)(xx / 2) * 4;
                int8_t *dn = (xx % 2 ? even : odd) + (size_t)((xx + 1) / 2) * 4;
                const int8x16x4_t ve = {{v0.val[0], v1.val[0], v2.val[0], v3.val[0]}};
                const int8x16x4_t vn = {{v0.val[1], v1.val[1], v2.val[1], v3.val[1]}};
                vst4q_s8(de, ve);
                vst4q_s8(dn, vn);
            }
        }
        for (; j < w; j++) {
            const int xx = j + pw;
            int8_t *d = st == 1 ? row + (size_t)xx * 4 : (xx % 2 ? odd : even) + (size_t)(xx / 2) * 4;
            d[0] = s0[j];
            d[1] = s1[j];
            d[2] = s2[j];
            d[3] = s3[j];
        }
    }
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
