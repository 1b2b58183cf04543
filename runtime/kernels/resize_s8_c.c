/* Bilinear resize, int8, portable C: the reference kernel's arithmetic
 * (resize_s8_ref.c, the specification) with the work that does not depend on
 * the pixel hoisted out of the pixel loop: the 256 dequantized values of the
 * input grid in a table, the column taps computed once per block of columns
 * and channel instead of once per pixel. The same floats in the same order,
 * so the same bytes (tests/test_kernels.c checks it). */
#include "../pithrt.h"
#include "kernels.h"
#include "resize_coord.h"

#define COL_BLOCK 256

void pithrt_resize_s8_c(const int8_t *x, pithrt_qact xq, int c, int h, int w, int8_t *y, pithrt_qact yq, int oh,
                        int ow, int flags, const float *scales)
{
    const int mode = flags & 1, coord = (flags >> 1) & 3, rule = (flags >> 3) & 3;
    if (mode != PITHRT_RESIZE_LINEAR) { /* nearest moves codes: nothing to hoist that pays */
        pithrt_resize_s8_ref(x, xq, c, h, w, y, yq, oh, ow, flags, scales);
        return;
    }
    float deq[256];
    for (int q = -128; q < 128; q++)
        deq[q + 128] = (float)(q - xq.zero_point) * xq.scale;
    pithrt_resize_tap tx[COL_BLOCK];
    for (int ch = 0; ch < c; ch++, x += (size_t)h * w, y += (size_t)oh * ow)
        for (int j0 = 0; j0 < ow; j0 += COL_BLOCK) {
            const int nj = ow - j0 < COL_BLOCK ? ow - j0 : COL_BLOCK;
            for (int j = 0; j < nj; j++)
                tx[j] = pithrt_resize_tap_of(mode, coord, rule, scales[1], j0 + j, w, ow);
            for (int i = 0; i < oh; i++) {
                const pithrt_resize_tap ty = pithrt_resize_tap_of(mode, coord, rule, scales[0], i, h, oh);
                const int8_t *r0 = x + ty.i0 * w, *r1 = x + ty.i1 * w;
                int8_t *yr = y + (size_t)i * ow + j0;
                for (int j = 0; j < nj; j++) {
                    const pithrt_resize_tap t = tx[j];
                    float v = pithrt_resize_blend(ty, t, deq[r0[t.i0] + 128], deq[r0[t.i1] + 128],
                                                  deq[r1[t.i0] + 128], deq[r1[t.i1] + 128]);
                    yr[j] = (int8_t)pithrt_quantize_value(v, yq, PITHRT_ACT_NONE);
                }
            }
        }
}
