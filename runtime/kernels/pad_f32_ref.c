/* Pad, f32: H and W padding in ONNX's constant, reflect and edge modes. */
#include "kernels.h"
#include "pad_index.h"

void pithrt_pad_f32_ref(const float *x, int c, int h, int w, float *y, int oh, int ow, int top, int left, int mode,
                        float value)
{
    for (int ch = 0; ch < c; ch++, x += (size_t)h * w)
        for (int i = 0; i < oh; i++) {
            int si = pithrt_pad_src(i - top, h, mode);
            for (int j = 0; j < ow; j++) {
                int sj = pithrt_pad_src(j - left, w, mode);
                *y++ = si < 0 || sj < 0 ? value : x[si * w + sj];
            }
        }
}
