/* Portable pieces of the fast path: used by every instruction set where a
 * vector version would not pay (or as the tail of one). */
#include <string.h>

#include "../pithrt.h"
#include "requant.h"
#include "ukernel.h"

void pithrt_pack_b_s8_c(const int8_t *base, const int32_t *offs, int k, int n, void *panel, int nr, int ku, int esize,
                        int b_offset)
{
    const int kg = (k + ku - 1) / ku;
    if (esize == 1) {
        uint8_t *d = panel;
        for (int g = 0; g < kg; g++)
            for (int j = 0; j < nr; j++)
                for (int t = 0; t < ku; t++) {
                    int r = g * ku + t;
                    int v = r < k && j < n ? base[offs[r] + j] : 0;
                    *d++ = (uint8_t)(v + b_offset);
                }
    } else {
        int16_t *d = panel;
        for (int g = 0; g < kg; g++)
            for (int j = 0; j < nr; j++)
                for (int t = 0; t < ku; t++) {
                    int r = g * ku + t;
                    *d++ = (int16_t)(r < k && j < n ? base[offs[r] + j] + b_offset : 0);
                }
    }
}

int pithrt_rq_fold_of(const pithrt_rq_ch *ch, int32_t zp, pithrt_rq_fold *q)
{
    if (!ch->fold || ch->left || ch->right < 1 || ch->right > 23 || ch->mult < 0)
        return 0;
    const int e = ch->right, sh = 31 + e;
    /* 2^30 + 2^(30+e) rounds both steps; zp 2^S adds the zero point after the shift */
    const int64_t base = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e)) + (int64_t)zp * ((int64_t)1 << sh);
    const int64_t lo = (int64_t)ch->lo - ch->bias, hi = (int64_t)ch->hi - ch->bias;
    q->lo = lo < INT32_MIN ? INT32_MIN : lo > INT32_MAX ? INT32_MAX : (int32_t)lo;
    q->hi = hi < INT32_MIN ? INT32_MIN : hi > INT32_MAX ? INT32_MAX : (int32_t)hi;
    q->mult = ch->mult;
    q->shift = sh;
    q->c = base + (int64_t)ch->bias * ch->mult;
    q->thr = base - ((int64_t)1 << 30);
    return 1;
}

void pithrt_requant_s8_c(const int32_t *acc, size_t lda, int n, int rows, const pithrt_rq_ch *ch, pithrt_rq_out out,
                         int8_t *y, size_t ldy)
{
    const int shift = ch->left - ch->right;
    for (int r = 0; r < rows; r++, acc += lda, y += ldy)
        for (int i = 0; i < n; i++) {
            int32_t a = (int32_t)((uint32_t)acc[i] + (uint32_t)ch->bias);
            a = a < ch->lo ? ch->lo : a > ch->hi ? ch->hi : a;
            y[i] = (int8_t)pithrt_requantize(a, ch->mult, shift, out.zero_point, out.qmin, out.qmax);
        }
}

void pithrt_dw_s8_c(const int8_t *x, const int32_t *off, const int8_t *w, int taps, int32_t *acc, int n)
{
    for (int t = 0; t < n; t++) {
        int32_t a = 0;
        for (int k = 0; k < taps; k++)
            a += (int32_t)w[k] * x[off[k] + t];
        acc[t] = a;
    }
}

void pithrt_dw_f32_c(const float *x, const int32_t *off, const float *w, int taps, float bias, int act, float *y,
                     int n)
{
    for (int t = 0; t < n; t++) {
        float a = bias;
        for (int k = 0; k < taps; k++)
            a += w[k] * x[off[k] + t];
        y[t] = pithrt_apply_act(a, act);
    }
}
