#include "quantizer.h"
#include "../runtime/kernels/requant.h"

#include <float.h>
#include <math.h>

#include "../core/error.h"

pith_qspec pith_qspec_weights_default(void)
{
    pith_qspec s = {8, 1, 1, 1, PITH_QGRAN_CHANNEL, 0, PITH_QROUND_EVEN};
    return s;
}

pith_qspec pith_qspec_activations_default(void)
{
    pith_qspec s = {8, 0, 1, 0, PITH_QGRAN_TENSOR, 0, PITH_QROUND_EVEN};
    return s;
}

int pith_qspec_check(const pith_qspec *s)
{
    if (!((s->bits >= 2 && s->bits <= 8) || s->bits == 16))
        return pith_error(PITH_EINVAL, "quantizer bits: %d (expected 2 to 8, or 16)", s->bits);
    if (s->narrow && !s->is_signed)
        return pith_error(PITH_EINVAL, "quantizer: narrow range applies to signed codes only");
    if (s->gran < PITH_QGRAN_TENSOR || s->gran > PITH_QGRAN_GROUP)
        return pith_error(PITH_EINVAL, "quantizer granularity: %d", (int)s->gran);
    if (s->gran == PITH_QGRAN_GROUP && s->group < 1)
        return pith_error(PITH_EINVAL, "quantizer group size: %d (expected >= 1)", s->group);
    if (s->round != PITH_QROUND_EVEN && s->round != PITH_QROUND_STOCHASTIC)
        return pith_error(PITH_EINVAL, "quantizer rounding: %d", (int)s->round);
    return PITH_OK;
}

void pith_qspec_limits(const pith_qspec *s, int32_t *qmin, int32_t *qmax)
{
    if (s->is_signed) {
        *qmin = -(1 << (s->bits - 1)) + (s->narrow ? 1 : 0);
        *qmax = (1 << (s->bits - 1)) - 1;
    } else {
        *qmin = 0;
        *qmax = (int32_t)((1u << s->bits) - 1);
    }
}

float pith_round_half_even(float v)
{
    float r = floorf(v), d = v - r;
    if (d > 0.5f)
        return r + 1.0f;
    if (d < 0.5f)
        return r;
    return fmodf(r, 2.0f) == 0.0f ? r : r + 1.0f;
}

int pith_qparams(const pith_qspec *s, float lo, float hi, float *scale, int32_t *zero_point)
{
    if (!isfinite(lo) || !isfinite(hi) || lo > hi)
        return pith_error(PITH_EINVAL, "quantizer range [%g, %g] is not a finite interval", (double)lo,
                          (double)hi);
    int32_t qmin, qmax;
    pith_qspec_limits(s, &qmin, &qmax);
    lo = lo < 0.0f ? lo : 0.0f;
    hi = hi > 0.0f ? hi : 0.0f;
    float sc;
    int32_t zp = 0;
    if (s->symmetric) {
        float amax = fmaxf(-lo, hi);
        sc = s->is_signed ? amax / ((float)(qmax - qmin) / 2.0f) : hi / (float)qmax;
    } else {
        sc = (hi - lo) / (float)(qmax - qmin);
    }
    if (!(sc >= FLT_MIN))
        sc = FLT_MIN;
    if (!s->symmetric) {
        float z = (float)qmin - pith_round_half_even(lo / sc);
        zp = z < (float)qmin ? qmin : z > (float)qmax ? qmax : (int32_t)z;
    }
    *scale = sc;
    *zero_point = zp;
    return PITH_OK;
}

int32_t pith_quantize(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax)
{
    float q = pith_round_half_even(x / scale) + (float)zero_point;
    if (!(q >= (float)qmin)) /* also NaN */
        return qmin;
    if (q > (float)qmax)
        return qmax;
    return (int32_t)q;
}

float pith_dequantize(int32_t q, float scale, int32_t zero_point)
{
    return (float)(q - zero_point) * scale;
}

float pith_fake_quantize(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax)
{
    return pith_dequantize(pith_quantize(x, scale, zero_point, qmin, qmax), scale, zero_point);
}

int pith_quantize_multiplier(double real, int32_t *m, int *shift)
{
    if (!(real > 0.0) || !(real < 1073741824.0) || real < 2.168404344971009e-19)
        return pith_error(PITH_EINVAL, "requantization multiplier %g is outside [2^-62, 2^30)", real);
    int e;
    double q = frexp(real, &e); /* real = q * 2^e, q in [0.5, 1) */
    int64_t fixed = llround(q * 2147483648.0);
    if (fixed == 2147483648LL) {
        fixed /= 2;
        e++;
    }
    *m = (int32_t)fixed;
    *shift = e;
    return PITH_OK;
}

int32_t pith_requantize(int32_t acc, int32_t m, int shift, int32_t zero_point, int32_t qmin,
                        int32_t qmax)
{
    return pithrt_requantize(acc, m, shift, zero_point, qmin, qmax);
}
