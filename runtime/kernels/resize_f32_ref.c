/* Resize, f32, nearest or bilinear: each output pixel from the taps
 * resize_coord.h gives (the workbench's resize op uses the same ones). */
#include "kernels.h"
#include "resize_coord.h"

typedef struct tap {
    int i0, i1;
    float w0, w1;
} tap;

static tap tap_of(int mode, int coord, int rule, float scale, int x, int in, int out)
{
    float s = pithrt_resize_src(coord, x, in, out, scale);
    tap t;
    if (mode == PITHRT_RESIZE_LINEAR) {
        pithrt_resize_linear(s, in, &t.i0, &t.i1, &t.w1);
        t.w0 = 1.0f - t.w1;
    } else {
        t.i0 = t.i1 = pithrt_resize_nearest(s, in, rule);
        t.w0 = 1.0f, t.w1 = 0.0f;
    }
    return t;
}

void pithrt_resize_f32_ref(const float *x, int c, int h, int w, float *y, int oh, int ow, int flags,
                           const float *scales)
{
    const int mode = flags & 1, coord = (flags >> 1) & 3, rule = (flags >> 3) & 3;
    for (int ch = 0; ch < c; ch++, x += (size_t)h * w) {
        for (int i = 0; i < oh; i++) {
            tap ty = tap_of(mode, coord, rule, scales[0], i, h, oh);
            const float *r0 = x + ty.i0 * w, *r1 = x + ty.i1 * w;
            for (int j = 0; j < ow; j++) {
                tap tx = tap_of(mode, coord, rule, scales[1], j, w, ow);
                *y++ = ty.w0 * (tx.w0 * r0[tx.i0] + tx.w1 * r0[tx.i1]) + ty.w1 * (tx.w0 * r1[tx.i0] + tx.w1 * r1[tx.i1]);
            }
        }
    }
}
