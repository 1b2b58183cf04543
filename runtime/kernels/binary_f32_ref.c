/* Binary elementwise ops with broadcasting, f32 (the reference kernel). A
 * broadcast dimension has stride 0, so SE gating (C x H x W times C x 1 x 1)
 * reads one scale per row. */
#include "binary_apply.h"
#include "kernels.h"


void pithrt_broadcast_strides(const int32_t *d, const int32_t *yd, int32_t *s)
{
    int32_t r = 1;
    for (int k = 2; k >= 0; k--) {
        s[k] = d[k] == 1 && yd[k] != 1 ? 0 : r;
        r *= d[k];
    }
}

void pithrt_binary_f32_ref(int kind, const float *a, const int32_t *ad, const float *b, const int32_t *bd, float *y,
                           const int32_t *yd)
{
    int32_t sa[3], sb[3];
    pithrt_broadcast_strides(ad, yd, sa);
    pithrt_broadcast_strides(bd, yd, sb);
    for (int32_t c = 0; c < yd[0]; c++)
        for (int32_t h = 0; h < yd[1]; h++) {
            const float *ap = a + c * sa[0] + h * sa[1], *bp = b + c * sb[0] + h * sb[1];
            for (int32_t w = 0; w < yd[2]; w++)
                *y++ = pithrt_binary_apply(kind, ap[w * sa[2]], bp[w * sb[2]]);
        }
}
