/* The integer scheme's arithmetic, shared by quant/, export/ and runtime/:
 * quantizer specs, scale and zero point from a range, quantize / dequantize
 * with round-half-to-even and saturation, and requantization with a 32-bit
 * fixed-point multiplier. These are the specification: every fast path and
 * every fake-quant node must produce exactly these numbers. */
#ifndef PITH_QUANTIZER_H
#define PITH_QUANTIZER_H

#include <stdint.h>

typedef enum { PITH_QGRAN_TENSOR = 0, PITH_QGRAN_CHANNEL, PITH_QGRAN_GROUP } pith_qgran;
typedef enum { PITH_QROUND_EVEN = 0, PITH_QROUND_STOCHASTIC } pith_qround;

typedef struct pith_qspec {
    int bits;           /* 2..8, or 16 */
    int symmetric;      /* zero point 0 */
    int is_signed;      /* signed integer codes */
    int narrow;         /* signed only: drop the most negative code, e.g. [-127, 127] */
    pith_qgran gran;
    int group;          /* PITH_QGRAN_GROUP: values per group along the input axis */
    pith_qround round;  /* stochastic rounding is for training only */
} pith_qspec;

/* int8 per-channel symmetric narrow weights / int8 asymmetric per-tensor
 * activations: the default scheme of DESIGN.md. */
pith_qspec pith_qspec_weights_default(void);
pith_qspec pith_qspec_activations_default(void);

/* Checks the fields; the message names the one that is wrong. */
int pith_qspec_check(const pith_qspec *s);
/* The integer range of the spec: [-2^(b-1) (+1 if narrow), 2^(b-1) - 1] or [0, 2^b - 1]. */
void pith_qspec_limits(const pith_qspec *s, int32_t *qmin, int32_t *qmax);

/* Scale and zero point mapping [lo, hi] (widened to include 0, since zero must
 * be exact) onto the spec's range, with PyTorch's conventions: symmetric
 * scale = max(|lo|, |hi|) / ((qmax - qmin) / 2), zero point 0 (unsigned
 * symmetric: hi / qmax); asymmetric scale = (hi - lo) / (qmax - qmin), zero
 * point = qmin - round(lo / scale) clamped to the range. A zero range gets
 * the smallest normal scale instead of dividing by zero. */
int pith_qparams(const pith_qspec *s, float lo, float hi, float *scale, int32_t *zero_point);

/* Round half to even, independent of the floating-point rounding mode. */
float pith_round_half_even(float v);
/* q = clamp(round(x / scale) + zero_point, qmin, qmax) */
int32_t pith_quantize(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax);
/* (q - zero_point) * scale */
float pith_dequantize(int32_t q, float scale, int32_t zero_point);
/* dequantize(quantize(x)): what the integer kernels will see of x. */
float pith_fake_quantize(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax);

/* real = m * 2^(shift - 31) with m in [2^30, 2^31): the requantization
 * multiplier M = s_in * s_w / s_out as a 32-bit fixed-point number and a
 * shift. Fails for real <= 0 or outside [2^-62, 2^30). */
int pith_quantize_multiplier(double real, int32_t *m, int *shift);
/* clamp(acc * real + zero_point, qmin, qmax) as the integer kernels compute it
 * (gemmlowp / TFLite): a saturating rounding doubling high multiply, which
 * rounds halves up, then a right shift rounding halves away from zero. The
 * result is within one step of round(acc * real). */
int32_t pith_requantize(int32_t acc, int32_t m, int shift, int32_t zero_point, int32_t qmin,
                        int32_t qmax);

#endif
