/* Pad: H and W padding in ONNX's constant, reflect and edge modes, of f32
 * values or int8 codes (elem bytes each; value: one element, the constant
 * mode's). Data movement only: an int8 pad keeps its input's grid. */
#include <string.h>

#include "kernels.h"
#include "pad_index.h"

void pithrt_pad_ref(const void *x, size_t elem, int c, int h, int w, void *y, int oh, int ow, int top, int left,
                    int mode, const void *value)
{
    const uint8_t *xb = x;
    uint8_t *yb = y;
    for (int ch = 0; ch < c; ch++, xb += (size_t)h * w * elem)
        for (int i = 0; i < oh; i++) {
            int si = pithrt_pad_src(i - top, h, mode);
            for (int j = 0; j < ow; j++, yb += elem) {
                int sj = pithrt_pad_src(j - left, w, mode);
                memcpy(yb, si < 0 || sj < 0 ? value : xb + ((size_t)si * w + sj) * elem, elem);
            }
        }
}
