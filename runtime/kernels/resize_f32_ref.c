/* Resize, f32, nearest or bilinear: each output pixel from the taps
 * resize_coord.h gives (the workbench's resize op uses the same ones). */
#include "kernels.h"
#include "resize_coord.h"

void pithrt_resize_f32_ref(const float *x, int c, int h, int w, float *y, int oh, int ow, int flags,
                           const float *scales)
{
    const int mode = flags & 1, coord = (flags >> 1) & 3, rule = (flags >> 3) & 3;
    for (int ch = 0; ch < c; ch++, x += (size_t)h * w) {
        for (int i = 0; i < oh; i++) {
            pithrt_resize_tap ty = pithrt_resize_tap_of(mode, coord, rule, scales[0], i, h, oh);
            const float *r0 = x + ty.i0 * w, *r1 = x + ty.i1 * w;
            for (int j = 0; j < ow; j++)
                *y++ = pithrt_resize_pixel(r0, r1, ty, pithrt_resize_tap_of(mode, coord, rule, scales[1], j, w, ow));
        }
    }
}
