/* The integer scheme's arithmetic (quant/quantizer.c) against hand-worked values. */
#include <math.h>
#include <stdlib.h>

#include "../core/rng.h"
#include "../quant/quantizer.h"
#include "testutil.h"

static pith_qspec spec(int bits, int sym, int sgn, int narrow)
{
    pith_qspec s = {bits, sym, sgn, narrow, PITH_QGRAN_TENSOR, 0, PITH_QROUND_EVEN};
    return s;
}

static void test_limits(void **state)
{
    (void)state;
    struct {
        int bits, sgn, narrow, lo, hi;
    } t[] = {{8, 1, 1, -127, 127}, {8, 1, 0, -128, 127}, {8, 0, 0, 0, 255}, {4, 1, 0, -8, 7},
             {4, 1, 1, -7, 7},     {2, 1, 0, -2, 1},     {2, 0, 0, 0, 3},   {16, 1, 0, -32768, 32767},
             {16, 0, 0, 0, 65535}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        pith_qspec s = spec(t[i].bits, 1, t[i].sgn, t[i].narrow);
        CHECK_OK(pith_qspec_check(&s));
        int32_t lo, hi;
        pith_qspec_limits(&s, &lo, &hi);
        assert_int_equal(lo, t[i].lo);
        assert_int_equal(hi, t[i].hi);
    }
    pith_qspec bad = spec(9, 1, 1, 0);
    assert_int_not_equal(pith_qspec_check(&bad), 0);
    CHECK_ERROR_HAS("bits: 9");
    bad = spec(8, 1, 0, 1);
    assert_int_not_equal(pith_qspec_check(&bad), 0);
    CHECK_ERROR_HAS("narrow");
    bad = spec(8, 1, 1, 0);
    bad.gran = PITH_QGRAN_GROUP;
    assert_int_not_equal(pith_qspec_check(&bad), 0);
    CHECK_ERROR_HAS("group");
}

static void test_round_half_even(void **state)
{
    (void)state;
    const float in[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4999998f, 2.5000002f, 3.0f, -3.7f};
    const float out[] = {0, 2, 2, -0.0f, -2, -2, 2, 3, 3, -4};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        assert_float_equal(pith_round_half_even(in[i]), out[i], 0);
}

static void test_symmetric_int8(void **state)
{
    (void)state;
    /* max |x| = 31.75 -> scale 31.75 / 127 = 0.25 exactly (narrow range) */
    pith_qspec s = pith_qspec_weights_default();
    float sc;
    int32_t zp, lo, hi;
    CHECK_OK(pith_qparams(&s, -10.0f, 31.75f, &sc, &zp));
    pith_qspec_limits(&s, &lo, &hi);
    assert_float_equal(sc, 0.25, 0);
    assert_int_equal(zp, 0);
    /* halves go to the even code */
    assert_int_equal(pith_quantize(0.125f, sc, zp, lo, hi), 0);
    assert_int_equal(pith_quantize(0.375f, sc, zp, lo, hi), 2);
    assert_int_equal(pith_quantize(0.625f, sc, zp, lo, hi), 2);
    assert_int_equal(pith_quantize(-0.375f, sc, zp, lo, hi), -2);
    /* saturation at the narrow range, both sides */
    assert_int_equal(pith_quantize(40.0f, sc, zp, lo, hi), 127);
    assert_int_equal(pith_quantize(-40.0f, sc, zp, lo, hi), -127);
    assert_int_equal(pith_quantize(NAN, sc, zp, lo, hi), -127);
    assert_float_equal(pith_fake_quantize(1.3f, sc, zp, lo, hi), 1.25, 0);
    /* full range [-128, 127]: scale = amax / 127.5 (PyTorch's per_channel_symmetric) */
    pith_qspec f = spec(8, 1, 1, 0);
    CHECK_OK(pith_qparams(&f, -1.0f, 2.55f, &sc, &zp));
    assert_float_equal(sc, 2.55f / 127.5f, 1e-9);
}

static void test_asymmetric_uint8_and_4bit(void **state)
{
    (void)state;
    /* [-1, 3] on [0, 255]: scale 4/255, zero point 0 - round(-1 / (4/255)) = round(63.75) = 64 */
    pith_qspec s = spec(8, 0, 0, 0);
    float sc;
    int32_t zp, lo, hi;
    CHECK_OK(pith_qparams(&s, -1.0f, 3.0f, &sc, &zp));
    pith_qspec_limits(&s, &lo, &hi);
    assert_float_equal(sc, 4.0 / 255.0, 1e-9);
    assert_int_equal(zp, 64);
    assert_int_equal(pith_quantize(0.0f, sc, zp, lo, hi), 64); /* zero is exact */
    assert_float_equal(pith_fake_quantize(0.0f, sc, zp, lo, hi), 0.0, 0);
    assert_int_equal(pith_quantize(3.0f, sc, zp, lo, hi), 255);
    assert_int_equal(pith_quantize(-1.2f, sc, zp, lo, hi), 0);
    /* a positive-only range still includes zero: [2, 6] -> [0, 6] */
    CHECK_OK(pith_qparams(&s, 2.0f, 6.0f, &sc, &zp));
    assert_float_equal(sc, 6.0 / 255.0, 1e-9);
    assert_int_equal(zp, 0);
    /* signed 4-bit asymmetric: [-8, 7]; [-1, 2] -> scale 3/15 = 0.2, zp = -8 - round(-5) = -3 */
    pith_qspec q4 = spec(4, 0, 1, 0);
    CHECK_OK(pith_qparams(&q4, -1.0f, 2.0f, &sc, &zp));
    pith_qspec_limits(&q4, &lo, &hi);
    assert_float_equal(sc, 0.2, 1e-7);
    assert_int_equal(zp, -3);
    assert_int_equal(pith_quantize(2.0f, sc, zp, lo, hi), 7);
    assert_int_equal(pith_quantize(-1.0f, sc, zp, lo, hi), -8);
    /* unsigned symmetric (post-ReLU): zero point 0, scale hi / qmax */
    pith_qspec u = spec(8, 1, 0, 0);
    CHECK_OK(pith_qparams(&u, 0.0f, 5.1f, &sc, &zp));
    assert_float_equal(sc, 0.02, 1e-8);
    assert_int_equal(zp, 0);
    /* degenerate and bad ranges */
    CHECK_OK(pith_qparams(&s, 0.0f, 0.0f, &sc, &zp));
    assert_true(sc > 0.0f);
    assert_int_not_equal(pith_qparams(&s, 1.0f, -1.0f, &sc, &zp), 0);
    assert_int_not_equal(pith_qparams(&s, 0.0f, INFINITY, &sc, &zp), 0);
}

/* Exact reference of the kernels' two roundings, in 128-bit arithmetic: the
 * doubling high multiply rounds acc * 2^left * m / 2^31 half up (toward
 * +inf), then the right shift rounds half away from zero. */
static int64_t reference_requant(int32_t acc, int32_t m, int shift)
{
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    __int128 p = (__int128)acc * ((__int128)1 << left) * m;
    __int128 t = p + ((__int128)1 << 30);
    t = t >= 0 ? t >> 31 : -((-t + ((__int128)1 << 31) - 1) >> 31); /* floor */
    if (right == 0)
        return (int64_t)t;
    __int128 half = (__int128)1 << (right - 1), mag = t < 0 ? -t : t;
    __int128 r = (mag + half) >> right;
    return (int64_t)(t < 0 ? -r : r);
}

static void test_requantize(void **state)
{
    (void)state;
    int32_t m;
    int shift;
    CHECK_OK(pith_quantize_multiplier(0.5, &m, &shift));
    assert_int_equal(m, 1 << 30);
    assert_int_equal(shift, 0);
    assert_int_equal(pith_requantize(100, m, shift, 0, -128, 127), 50);
    assert_int_equal(pith_requantize(-3, m, shift, 0, -128, 127), -1); /* -1.5: the multiply rounds up */
    assert_int_equal(pith_requantize(3, m, shift, 0, -128, 127), 2);
    CHECK_OK(pith_quantize_multiplier(0.75, &m, &shift));
    assert_int_equal(pith_requantize(10, m, shift, 5, -128, 127), 13); /* 7.5 -> 8, + 5 */
    assert_int_equal(pith_requantize(1000, m, shift, 5, -128, 127), 127);
    CHECK_OK(pith_quantize_multiplier(3.0, &m, &shift)); /* > 1: left shift */
    assert_int_equal(shift, 2);
    assert_int_equal(pith_requantize(-7, m, shift, 0, -128, 127), -21);
    assert_int_not_equal(pith_quantize_multiplier(0.0, &m, &shift), 0);
    assert_int_not_equal(pith_quantize_multiplier(-1.0, &m, &shift), 0);
    /* random multipliers and accumulators: identical to the exact reference of
     * the fixed-point product, and within one step of the real product */
    pith_rng r;
    pith_rng_seed(&r, 5);
    for (int i = 0; i < 200000; i++) {
        double real = pow(2.0, -20.0 + 20.0 * pith_rng_uniform(&r));
        int32_t acc = (int32_t)(pith_rng_next(&r) >> 40) - (1 << 23);
        CHECK_OK(pith_quantize_multiplier(real, &m, &shift));
        assert_true(m >= (1 << 30));
        int32_t got = pith_requantize(acc, m, shift, 0, INT32_MIN, INT32_MAX);
        if (got != reference_requant(acc, m, shift))
            fail_msg("acc %d real %.9g: %d, reference %lld", acc, real, got,
                     (long long)reference_requant(acc, m, shift));
        assert_true(fabs((double)got - acc * real) <= 1.0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_round_half_even),
        cmocka_unit_test(test_symmetric_int8),
        cmocka_unit_test(test_asymmetric_uint8_and_4bit),
        cmocka_unit_test(test_requantize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
