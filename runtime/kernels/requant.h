/* Requantization with a 32-bit fixed-point multiplier (gemmlowp / TFLite):
 * acc * m * 2^(shift - 31) + zero_point, saturated to [qmin, qmax]. This is
 * the specification of the integer scheme; the workbench's fake-quant nodes
 * call the same function (quant/quantizer.c), so both compute one number. */
#ifndef PITHRT_REQUANT_H
#define PITHRT_REQUANT_H

#include <stdint.h>

/* round(a * b / 2^31), halves up; the one overflowing case saturates */
static inline int32_t pithrt_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    int64_t ab = (int64_t)a * b;
    int64_t nudge = ab >= 0 ? (1LL << 30) : 1 - (1LL << 30);
    return (int32_t)((ab + nudge) / (1LL << 31));
}

/* round(x / 2^e) for e in [0, 62], halves away from zero (gemmlowp's
 * RoundingDivideByPOT, widened so that multipliers down to 2^-62 work) */
static inline int32_t pithrt_rshift_round(int32_t x, int e)
{
    if (e <= 0)
        return x;
    int64_t v = x, mask = (int64_t)((1ULL << e) - 1), rem = v & mask, threshold = (mask >> 1) + (v < 0 ? 1 : 0);
    return (int32_t)((v >> e) + (rem > threshold ? 1 : 0));
}

static inline int32_t pithrt_requantize(int32_t acc, int32_t m, int shift, int32_t zero_point, int32_t qmin,
                                        int32_t qmax)
{
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int64_t a = (int64_t)acc * ((int64_t)1 << left);
    int32_t x = a > INT32_MAX ? INT32_MAX : a < INT32_MIN ? INT32_MIN : (int32_t)a;
    int64_t v = (int64_t)pithrt_rshift_round(pithrt_srdhm(x, m), right) + zero_point;
    return v < qmin ? qmin : v > qmax ? qmax : (int32_t)v;
}

#endif
