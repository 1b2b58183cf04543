/* Resize, int8. Nearest moves codes (the output keeps the input's scale and
 * zero point); bilinear dequantizes the four source codes of each pixel,
 * blends them with the f32 kernel's expression and quantizes the result to
 * the output's grid, as the workbench's resize and fake-quant compute it. */
#include "../pithrt.h"
#include "kernels.h"
#include "resize_coord.h"

static inline float deq(int8_t q, pithrt_qact xq) { return (float)(q - xq.zero_point) * xq.scale; }

void pithrt_resize_s8_ref(const int8_t *x, pithrt_qact xq, int c, int h, int w, int8_t *y, pithrt_qact yq, int oh,
                          int ow, int flags, const float *scales)
{
    const int mode = flags & 1, coord = (flags >> 1) & 3, rule = (flags >> 3) & 3;
    for (int ch = 0; ch < c; ch++, x += (size_t)h * w) {
        for (int i = 0; i < oh; i++) {
            pithrt_resize_tap ty = pithrt_resize_tap_of(mode, coord, rule, scales[0], i, h, oh);
            const int8_t *r0 = x + ty.i0 * w, *r1 = x + ty.i1 * w;
            for (int j = 0; j < ow; j++) {
                pithrt_resize_tap tx = pithrt_resize_tap_of(mode, coord, rule, scales[1], j, w, ow);
                if (mode != PITHRT_RESIZE_LINEAR) {
                    *y++ = r0[tx.i0];
                    continue;
                }
                float v = pithrt_resize_blend(ty, tx, deq(r0[tx.i0], xq), deq(r0[tx.i1], xq), deq(r1[tx.i0], xq),
                                              deq(r1[tx.i1], xq));
                *y++ = (int8_t)pithrt_quantize_value(v, yq, PITHRT_ACT_NONE);
            }
        }
    }
}
