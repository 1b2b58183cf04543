/* fully connected, int8: acc = bias + sum (x - zx) * w, then requantization
 * per output feature (see conv2d_s8_ref.c). */
#include "../pithrt.h"
#include "kernels.h"
#include "requant.h"


void pithrt_fc_s8_ref(const int8_t *x, int n, pithrt_qact xq, const uint8_t *wt, int wdtype, const int32_t *bias,
                      int8_t *y, int o, pithrt_qact yq, const pithrt_requant *rq, int8_t *row)
{
    for (int k = 0; k < o; k++) {
        /* int8 codes are read in place; packed ones are widened into row first */
        const int8_t *w = (const int8_t *)wt + (size_t)k * n;
        if (wdtype != PITHRT_S8) {
            pithrt_weights_unpack_s8(wt, wdtype, (size_t)k * n, (size_t)n, row);
            w = row;
        }
        uint32_t sum = bias ? (uint32_t)bias[k] : 0u; /* modulo 2^32, as conv2d_s8_ref.c */
        for (int i = 0; i < n; i++)
            sum += (uint32_t)(((int32_t)x[i] - xq.zero_point) * w[i]);
        int32_t acc = pithrt_acc_act((int32_t)sum, rq, k);
        y[k] = (int8_t)pithrt_requantize(acc, rq->p[3 * k], rq->p[3 * k + 1], yq.zero_point, yq.qmin, yq.qmax);
    }
}
