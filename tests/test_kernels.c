/* The runtime's reference kernels on hand-worked cases: convolution with
 * bias, requantization rounding at halves and tiny multipliers, packed 4-,
 * 2- and 1-bit weight codes, int8 add, pools. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/zoo.h"
#include "../export/export.h"
#include "../quant/quant.h"
#include "../runtime/format.h"
#include "../runtime/internal.h"
#include "../runtime/kernels/kernels.h"
#include "../runtime/kernels/requant.h"
#include "../runtime/pithrt.h"
#include "testutil.h"

static void test_kernels_by_hand(void **state)
{
    (void)state;
    /* 1 input channel 3x3, one 2x2 filter, stride 1, no padding:
     * x - zx = [1 2 3; 4 5 6; 7 8 9], w = [1 0; -1 2], bias 10
     * acc(0,0) = 1 - 4 + 2*5 + 10 = 17, (0,1) = 2 - 5 + 12 + 10 = 19,
     * (1,0) = 4 - 7 + 16 + 10 = 23, (1,1) = 5 - 8 + 18 + 10 = 25.
     * Multiplier 0.5 (m = 2^30, shift 0): 8.5 -> 9 (halves away), 9.5 -> 10, 11.5 -> 12, 12.5 -> 13; + zy 3 */
    const int8_t x[9] = {4, 5, 6, 7, 8, 9, 10, 11, 12}; /* zero point 3 */
    const int8_t w[4] = {1, 0, -1, 2};
    const int32_t bias[1] = {10}, rqp[3] = {1 << 30, 0, 0};
    pithrt_qact xq = {3, -128, 127, 0.1f}, yq = {3, -128, 127, 0.2f};
    pithrt_requant rq = {rqp, PITHRT_ACT_NONE};
    pithrt_geom g = {2, 2, 1, 1, 0, 0, 1, 1, 1};
    int8_t y[4];
    int32_t row[16]; /* scratch: 4 weight bytes (padded to 16) + a 2x2 int32 plane */
    assert_true(pithrt_conv2d_s8_scratch(1, 1, 2, 2, 2, 2) <= sizeof row);
    pithrt_conv2d_s8_ref(x, 1, 3, 3, xq, (const uint8_t *)w, PITHRT_S8, bias, y, 1, 2, 2, yq, &rq, &g, (int8_t *)row);
    const int8_t want[4] = {12, 13, 15, 16};
    assert_memory_equal(y, want, 4);
    /* the same weights packed as 4-bit codes give the same output */
    const uint8_t w4[2] = {0x01, 0x2F}; /* 1, 0 | -1 (0xF), 2 */
    pithrt_conv2d_s8_ref(x, 1, 3, 3, xq, w4, PITHRT_W4, bias, y, 1, 2, 2, yq, &rq, &g, (int8_t *)row);
    assert_memory_equal(y, want, 4);
    /* relu clamps the accumulator: bias -100 makes every output the zero point */
    const int32_t neg[1] = {-100};
    rq.act = PITHRT_ACT_RELU;
    pithrt_conv2d_s8_ref(x, 1, 3, 3, xq, (const uint8_t *)w, PITHRT_S8, neg, y, 1, 2, 2, yq, &rq, &g, (int8_t *)row);
    for (int i = 0; i < 4; i++)
        assert_int_equal(y[i], 3);
    /* 2-bit and 1-bit codes */
    int8_t out[8];
    const uint8_t w2[1] = {0x1E}; /* codes 2, 3, 1, 0 -> -2, -1, 1, 0 */
    pithrt_weights_unpack_s8(w2, PITHRT_W2, 0, 4, out);
    assert_int_equal(out[0], -2);
    assert_int_equal(out[1], -1);
    assert_int_equal(out[2], 1);
    assert_int_equal(out[3], 0);
    const uint8_t w1[1] = {0xA5}; /* 1010 0101 */
    pithrt_weights_unpack_s8(w1, PITHRT_W1, 0, 8, out);
    const int8_t bits[8] = {1, -1, 1, -1, -1, 1, -1, 1};
    assert_memory_equal(out, bits, 8);
    /* requantization: 100 * 0.75 = 75; the doubling high multiply rounds
     * halves up (-3 * 0.5 = -1.5 -> -1, 3 * 0.5 -> 2), the shift rounds them
     * away from zero (-3 * 0.5 as m = 0.5 * 2^31 with shift -1... = -0.75 -> -1) */
    assert_int_equal(pithrt_requantize(100, 3 << 29, 0, 0, -128, 127), 75);
    assert_int_equal(pithrt_requantize(-3, 1 << 30, 0, 0, -128, 127), -1);
    assert_int_equal(pithrt_requantize(3, 1 << 30, 0, 0, -128, 127), 2);
    assert_int_equal(pithrt_requantize(-6, 1 << 30, -1, 0, -128, 127), -2); /* -3 >> 1 = -1.5 -> -2 */
    /* multipliers below 2^-31: 2^31 * 2^-31 = 1; 2^-41 rounds to the zero point */
    assert_int_equal(pithrt_requantize(INT32_MAX, 1 << 30, -30, 0, -128, 127), 1);
    assert_int_equal(pithrt_requantize(INT32_MAX, 1 << 30, -40, 5, -128, 127), 5);
    assert_int_equal(pithrt_requantize(INT32_MIN, 1 << 30, -29, 0, -128, 127), -2);
    assert_int_equal(pithrt_requantize(1000, 1 << 30, 1, 0, -128, 127), 127);
    /* int8 add: (10 - 0) * 0.5 + (4 - 2) * 0.25 = 5.5; / 0.5 = 11 -> 11 + zy 1 = 12 */
    const int8_t a[1] = {10}, b[1] = {4};
    int8_t s[2];
    pithrt_qact aq = {0, -128, 127, 0.5f}, bq = {2, -128, 127, 0.25f}, sq = {1, -128, 127, 0.5f};
    pithrt_add_s8_ref(a, aq, b, bq, s, sq, 1, PITHRT_ACT_NONE);
    assert_int_equal(s[0], 12);
    /* max pool 2x2 of codes */
    const int8_t p[4] = {-5, 7, 3, -128};
    pithrt_geom pg = {2, 2, 2, 2, 0, 0, 1, 1, 1};
    pithrt_maxpool_s8_ref(p, 1, 2, 2, s, 1, 1, &pg);
    assert_int_equal(s[0], 7);
    /* global average in float on dequantized values: (1 + 2 + 3 + 4) * 0.5 / 4 = 1.25 -> 1.25 / 0.25 = 5 */
    const int8_t q4[4] = {1, 2, 3, 4};
    pithrt_qact gq = {0, -128, 127, 0.5f}, oq = {0, -128, 127, 0.25f};
    pithrt_gavgpool_s8_ref(q4, 1, 4, gq, s, oq, PITHRT_ACT_NONE);
    assert_int_equal(s[0], 5);
    /* the same as a 2x2 average pool, and with relu6 folded (1.25 stays) */
    pithrt_avgpool_s8_ref(q4, 1, 2, 2, gq, s, 1, 1, oq, &pg, PITHRT_ACT_RELU6);
    assert_int_equal(s[0], 5);
    /* concat onto another grid: 10 * 0.5 = 5.0 -> 5 / 0.25 + 2 = 22; same grid: copied */
    pithrt_qact cq = {2, -128, 127, 0.25f};
    pithrt_concat_s8_ref(a, aq, 1, s, cq);
    assert_int_equal(s[0], 22);
    pithrt_concat_s8_ref(b, bq, 1, s, bq);
    assert_int_equal(s[0], 4);
    /* quantize with relu: -3.0 -> 0 -> zero point; 1.26 / 0.5 = 2.52 -> 3 (+1) */
    const float fx[2] = {-3.0f, 1.26f};
    pithrt_quantize_f32_s8_ref(fx, s, 2, (pithrt_qact){1, -128, 127, 0.5f}, PITHRT_ACT_RELU);
    assert_int_equal(s[0], 1);
    assert_int_equal(s[1], 4);
    /* softmax of (0, ln 3) is (1/4, 3/4) */
    const float z[2] = {0.0f, logf(3.0f)};
    float p2[2];
    pithrt_softmax_f32_ref(z, p2, 2);
    assert_float_equal(p2[0], 0.25f, 1e-6);
    assert_float_equal(p2[1], 0.75f, 1e-6);
    /* hardswish: -4 -> 0, 1 -> 1 * 4 / 6, 5 -> 5 */
    const float hx[3] = {-4.0f, 1.0f, 5.0f};
    float hy[3];
    pithrt_act_f32_ref(hx, hy, 3, PITHRT_ACT_HARDSWISH);
    assert_float_equal(hy[0], 0.0f, 0);
    assert_float_equal(hy[1], 4.0f / 6.0f, 1e-7);
    assert_float_equal(hy[2], 5.0f, 0);
}

/* The portable fast kernels of f32 and int8 resize and of int8 binary ops equal
 * their reference kernels byte for byte on random codes: every coordinate
 * rule, up- and downsampling, widths across the column block; SE-style
 * per-channel gates (s8 and f32, either side), scalars, row broadcasts and
 * two full operands (the reference fallback), each kind and activation. */
static void test_resize_binary_s8_c(void **state)
{
    (void)state;
    uint64_t seed = 7;
    static int8_t x[3 * 40 * 300], b8[3 * 40 * 300], y0[3 * 80 * 600], y1[3 * 80 * 600];
    static float bf[3 * 40 * 300], f0[3 * 80 * 600], f1[3 * 80 * 600];
    for (size_t i = 0; i < sizeof x; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (int8_t)(seed >> 56);
        b8[i] = (int8_t)(seed >> 48);
        bf[i] = (float)(int8_t)(seed >> 40) / 50.0f + (((seed >> 40) & 0xff) == 0 ? 0.5f : 0.0f);
    }
    const pithrt_qact xq = {-5, -128, 127, 0.031f}, yq = {7, -128, 127, 0.027f};
    const int shapes[][4] = {{40, 300, 80, 600}, {40, 300, 17, 131}, {7, 9, 64, 20}, {33, 2, 33, 513}};
    for (int sh = 0; sh < 4; sh++)
        for (int coord = 0; coord < 4; coord++) {
            const int h = shapes[sh][0], w = shapes[sh][1], oh = shapes[sh][2], ow = shapes[sh][3];
            const float sc[2] = {(float)oh / (float)h, (float)ow / (float)w};
            const int flags = 1 | coord << 1;
            pithrt_resize_s8_ref(x, xq, 3, h, w, y0, yq, oh, ow, flags, sc);
            memset(y1, 0x55, sizeof y1);
            pithrt_resize_s8_c(x, xq, 3, h, w, y1, yq, oh, ow, flags, sc);
            if (memcmp(y0, y1, (size_t)3 * oh * ow))
                fail_msg("resize s8 %dx%d -> %dx%d, coordinates %d: fast != reference", h, w, oh, ow, coord);
            for (int nearest = 0; nearest < 2; nearest++) { /* f32: bilinear, and nearest (rule 2: floor) */
                const int ff = nearest ? coord << 1 | 2 << 3 : flags;
                pithrt_resize_f32_ref(bf, 3, h, w, f0, oh, ow, ff, sc);
                memset(f1, 0x55, sizeof f1);
                pithrt_resize_f32_c(bf, 3, h, w, f1, oh, ow, ff, sc);
                if (memcmp(f0, f1, sizeof(float) * 3 * oh * ow))
                    fail_msg("resize f32 %dx%d -> %dx%d, flags %d: fast != reference", h, w, oh, ow, ff);
            }
        }
    const int32_t yd[3] = {3, 40, 300};
    const int32_t bdims[][3] = {{3, 1, 1}, {1, 1, 1}, {3, 40, 1}, {3, 1, 300}, {3, 40, 300}};
    const int acts[3] = {PITHRT_ACT_NONE, PITHRT_ACT_RELU, PITHRT_ACT_RELU6};
    const pithrt_qact bq = {3, -128, 127, 0.02f};
    for (int kind = 0; kind < 4; kind++)
        for (int bdi = 0; bdi < 5; bdi++)
            for (int s8 = 0; s8 < 2; s8++)
                for (int swap = 0; swap < 2; swap++) {
                    pithrt_operand a = {x, 1, xq, {3, 40, 300}};
                    pithrt_operand b = {s8 ? (const void *)b8 : (const void *)bf, s8, bq,
                                        {bdims[bdi][0], bdims[bdi][1], bdims[bdi][2]}};
                    if (kind == 3 && s8) /* no zero divisor: codes other than the zero point */
                        for (size_t i = 0; i < sizeof b8; i++)
                            b8[i] = b8[i] == bq.zero_point ? (int8_t)(bq.zero_point + 1) : b8[i];
                    const pithrt_operand *p = swap ? &b : &a, *q = swap ? &a : &b;
                    const int act = acts[(kind + bdi + s8) % 3];
                    pithrt_binary_s8_ref(kind, p, q, y0, yq, yd, act);
                    memset(y1, 0x55, sizeof y1);
                    pithrt_binary_s8_c(kind, p, q, y1, yq, yd, act, 0, 2);
                    pithrt_binary_s8_c(kind, p, q, y1, yq, yd, act, 2, 3);
                    if (memcmp(y0, y1, (size_t)3 * 40 * 300))
                        fail_msg("binary kind %d, b %dx%dx%d %s, %s: fast != reference", kind, bdims[bdi][0],
                                 bdims[bdi][1], bdims[bdi][2], s8 ? "s8" : "f32", swap ? "b first" : "a first");
                }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_by_hand),
        cmocka_unit_test(test_resize_binary_s8_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
