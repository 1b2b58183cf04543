/* Elementwise pieces shared by the reference kernels. */
#include <math.h>

#include "../pithrt.h"
#include "kernels.h"


/* nearbyintf rounds half to even in the default rounding mode, which the
 * runtime never changes; the division (not a multiplication by 1 / scale) is
 * what the workbench computes, so both round the same quotient. */
void pithrt_weights_decode_f32(const uint8_t *idx, int dtype, const float *codebook, size_t first, size_t n,
                               float *out)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = first + i;
        unsigned v = dtype == PITHRT_U4 ? (idx[k >> 1] >> ((k & 1) * 4)) & 15u
                     : dtype == PITHRT_U2 ? (idx[k >> 2] >> ((k & 3) * 2)) & 3u
                                          : idx[k];
        out[i] = codebook[v];
    }
}

void pithrt_weights_unpack_s8(const uint8_t *w, int dtype, size_t first, size_t n, int8_t *out)
{
    size_t i, k;
    switch (dtype) {
    case PITHRT_W4:
        for (i = 0; i < n; i++) {
            k = first + i;
            int v = (w[k >> 1] >> ((k & 1) * 4)) & 15;
            out[i] = (int8_t)(v >= 8 ? v - 16 : v);
        }
        break;
    case PITHRT_W2:
        for (i = 0; i < n; i++) {
            k = first + i;
            int v = (w[k >> 2] >> ((k & 3) * 2)) & 3;
            out[i] = (int8_t)(v >= 2 ? v - 4 : v);
        }
        break;
    case PITHRT_W1:
        for (i = 0; i < n; i++) {
            k = first + i;
            out[i] = (int8_t)((w[k >> 3] >> (k & 7)) & 1 ? 1 : -1);
        }
        break;
    default:
        for (i = 0; i < n; i++)
            out[i] = (int8_t)w[first + i];
    }
}
