/* Quantization passes: fake-quant node and weight quantizers (forward values
 * and straight-through gradients against the analytic rules), observers
 * against closed forms and brute force, k-means (test_qmodel has batchnorm
 * folding, the integer equality and the checkpoint state). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/checkpoint.h"
#include "../core/ops/ops.h"
#include "../core/rng.h"
#include "../quant/quant.h"
#include "quant_fixtures.h"
#include "testutil.h"

/* ---- fake_quant node ---- */

static void test_fake_quant_forward_ste(void **state)
{
    (void)state;
    CHECK_OK(pith_quant_register());
    pith_graph *g;
    CHECK_OK(pith_graph_create(&g, feat(6), 1));
    int fq = add_fq(g, 0, 8, 0, 0);
    assert_true(fq > 0);
    g->input_grad = 1;
    CHECK_OK(pith_graph_compile(g, 1));
    /* asymmetric uint8, scale 0.1, zero point 10: codes cover [-1.0, 24.5] */
    g->nodes[fq].params[0].data[0] = 0.1f;
    g->nodes[fq].params[1].data[0] = 10.0f;
    const float x[6] = {0.26f, -0.95f, -1.2f, 24.44f, 30.0f, 0.05f};
    /* hand-worked: round(x / 0.1) + 10, clamped to [0, 255], minus 10, times 0.1 */
    const float want[6] = {0.3f, -1.0f, -1.0f, 24.4f, 24.5f, 0.0f};
    const float want_dx[6] = {1, 1, 0, 1, 0, 1}; /* -1.2 -> code -2 and 30 -> 310: outside */
    memcpy(pith_graph_input(g), x, sizeof x);
    pith_graph_set_training(g, 1);
    CHECK_OK(pith_graph_forward(g, 1));
    for (int i = 0; i < 6; i++)
        assert_float_equal(pith_graph_output(g)[i], want[i], 1e-6);
    float *dy = pith_graph_output_grad(g);
    for (int i = 0; i < 6; i++)
        dy[i] = 1.0f + (float)i;
    CHECK_OK(pith_graph_backward(g, 1));
    for (int i = 0; i < 6; i++)
        assert_float_equal(pith_graph_input_grad(g)[i], want_dx[i] * (1.0f + (float)i), 0);
    /* round half to even on the grid: 0.25 / 0.1 = 2.5 -> 2 (when 0.25f / 0.1f is 2.5 exactly) */
    if (0.25f / 0.1f == 2.5f) {
        pith_graph_input(g)[0] = 0.25f;
        CHECK_OK(pith_graph_forward(g, 1));
        assert_float_equal(pith_graph_output(g)[0], 0.2f, 1e-7);
    }
    pith_graph_free(g);
}

/* LSQ's step-size gradient: sum of dy * ((q - z) - x / s) inside, (qmin|qmax) - z
 * outside, over all elements, divided by sqrt(elements * qmax). */
static void test_fake_quant_lsq_gradient(void **state)
{
    (void)state;
    CHECK_OK(pith_quant_register());
    pith_graph *g;
    CHECK_OK(pith_graph_create(&g, feat(5), 1));
    int fq = add_fq(g, 0, 4, 1, 1); /* signed symmetric 4-bit: [-8, 7] */
    CHECK_OK(pith_graph_compile(g, 2));
    pith_param *s = &g->nodes[fq].params[0];
    assert_non_null(s->grad);
    s->data[0] = 0.5f;
    const float x[10] = {0.1f, -0.7f, 1.26f, 5.0f, -9.0f, 0.0f, 2.2f, -3.9f, 3.4f, -0.24f};
    memcpy(pith_graph_input(g), x, sizeof x);
    pith_graph_set_training(g, 1);
    CHECK_OK(pith_graph_forward(g, 2));
    float *dy = pith_graph_output_grad(g);
    double want = 0.0;
    for (int i = 0; i < 10; i++) {
        dy[i] = 0.1f * (float)(i + 1);
        double v = x[i] / 0.5, q = rint(v);
        double d = q < -8 ? -8 : q > 7 ? 7 : q - v;
        want += dy[i] * d;
    }
    want /= sqrt(10.0 * 7.0);
    pith_graph_zero_grad(g);
    CHECK_OK(pith_graph_backward(g, 2));
    assert_float_equal(s->grad[0], want, 1e-5);
    pith_graph_free(g);
}

/* ---- weight quantizers ---- */

static void test_binary_ternary_values(void **state)
{
    (void)state;
    const float w[8] = {0.5f, -1.0f, 0.1f, -0.2f, /* row 2 */ 0.3f, 0.3f, -0.3f, 0.0f};
    /* binary: alpha = mean |w| per row: 0.45 and 0.225; sign(0) = + */
    const float bin[8] = {0.45f, -0.45f, 0.45f, -0.45f, 0.225f, 0.225f, -0.225f, 0.225f};
    /* ternary: delta = 0.7 * mean |w| = 0.315 / 0.1575; alpha = mean of |w| above: 0.75 / 0.3 */
    const float ter[8] = {0.75f, -0.75f, 0.0f, 0.0f, 0.3f, 0.3f, -0.3f, 0.0f};
    for (int kind = 0; kind < 2; kind++) {
        pith_graph *g = linear_model(4, 2, 0, 1);
        assert_non_null(g);
        memcpy(g->nodes[1].params[0].data, w, sizeof w);
        pith_quant_config c = pith_quant_defaults();
        c.method = kind ? PITH_WQ_TERNARY : PITH_WQ_BINARY;
        c.io = PITH_QIO_WEIGHT_ONLY;
        c.keep_ends = 0;
        CHECK_OK(pith_quant_apply(g, &c));
        CHECK_OK(pith_graph_compile(g, 1));
        const float x[4] = {1, 0, 0, 0};
        memcpy(pith_graph_input(g), x, sizeof x);
        CHECK_OK(pith_graph_forward(g, 1));
        const float *eff = g->nodes[1].params[0].eff;
        for (int i = 0; i < 8; i++)
            assert_float_equal(eff[i], kind ? ter[i] : bin[i], 1e-6);
        /* the output uses them: y_r = w_hat[r][0] */
        assert_float_equal(pith_graph_output(g)[0], kind ? 0.75f : 0.45f, 1e-6);
        /* straight-through: the latent weights receive dL/dw_hat unchanged */
        pith_graph_set_training(g, 1);
        CHECK_OK(pith_graph_forward(g, 1));
        pith_graph_output_grad(g)[0] = 2.0f;
        pith_graph_output_grad(g)[1] = -1.0f;
        pith_graph_zero_grad(g);
        CHECK_OK(pith_graph_backward(g, 1));
        assert_float_equal(g->nodes[1].params[0].grad[0], 2.0f, 0);
        assert_float_equal(g->nodes[1].params[0].grad[4], -1.0f, 0);
        assert_float_equal(g->nodes[1].params[0].grad[1], 0.0f, 0);
        pith_graph_free(g);
    }
}

/* Uniform weights: w_hat = s * clamp(round(w / s)) per channel; the gradient
 * passes inside the clip range and is zero outside. */
static void test_uniform_weights_ste(void **state)
{
    (void)state;
    pith_graph *g = linear_model(3, 2, 0, 1);
    assert_non_null(g);
    const float w[6] = {0.9f, -0.31f, 0.05f, /* row 2 */ 2.0f, 0.26f, -0.74f};
    memcpy(g->nodes[1].params[0].data, w, sizeof w);
    pith_quant_config c = pith_quant_defaults();
    c.w.bits = 4; /* [-7, 7]: per-channel min/max scales 0.9 / 7 and 2 / 7 */
    c.io = PITH_QIO_WEIGHT_ONLY;
    CHECK_OK(pith_quant_apply(g, &c));
    CHECK_OK(pith_graph_compile(g, 1));
    float *scale = pith_node_param(&g->nodes[1], "w_scale")->data;
    assert_float_equal(scale[0], 0.9f / 7, 1e-7);
    assert_float_equal(scale[1], 2.0f / 7, 1e-7);
    /* clip row 2 by hand: scale 0.1 -> codes round(20) = 7 (clipped), 3 (2.6 -> 3), -7 */
    scale[1] = 0.1f;
    const float x[3] = {0, 0, 0};
    memcpy(pith_graph_input(g), x, sizeof x);
    CHECK_OK(pith_graph_forward(g, 1));
    const float *eff = g->nodes[1].params[0].eff;
    const float want[6] = {0.9f, -0.9f / 7 * 2, 0.0f, 0.7f, 0.3f, -0.7f};
    for (int i = 0; i < 6; i++)
        assert_float_equal(eff[i], want[i], 1e-6);
    /* backward in eval mode keeps the scales: gradient masked where clipped */
    tu_fill(pith_graph_input(g), 3, 0.5f, 1.0f, 3);
    CHECK_OK(pith_graph_forward(g, 1));
    pith_graph_output_grad(g)[0] = 1.0f;
    pith_graph_output_grad(g)[1] = 1.0f;
    pith_graph_zero_grad(g);
    CHECK_OK(pith_graph_backward(g, 1));
    const float *in = pith_graph_input(g), *gw = g->nodes[1].params[0].grad;
    assert_float_equal(gw[3], 0.0f, 0);        /* 2.0 / 0.1 = 20: outside */
    assert_float_equal(gw[4], in[1], 1e-7);    /* inside */
    assert_float_equal(gw[5], in[2], 1e-7);    /* -7.4 rounds to -7: inside */
    pith_graph_free(g);
}

/* Stochastic rounding while training: each value rounds up with probability
 * equal to its fractional part (unbiased); evaluation rounds to nearest. */
static void test_stochastic_rounding(void **state)
{
    (void)state;
    CHECK_OK(pith_quant_register());
    enum { N = 20000 };
    pith_graph *g;
    CHECK_OK(pith_graph_create(&g, feat(N), 1));
    int fq = add_fq(g, 0, 8, 1, 0);
    g->nodes[fq].a.qstoch = 1;
    CHECK_OK(pith_graph_compile(g, 1));
    g->nodes[fq].params[0].data[0] = 1.0f;
    for (int i = 0; i < N; i++)
        pith_graph_input(g)[i] = 0.3f;
    pith_graph_set_training(g, 1);
    CHECK_OK(pith_graph_forward(g, 1));
    double mean = 0;
    for (int i = 0; i < N; i++) {
        float y = pith_graph_output(g)[i];
        assert_true(y == 0.0f || y == 1.0f);
        mean += y;
    }
    mean /= N;
    assert_float_equal(mean, 0.3, 0.015); /* 4.6 standard deviations */
    pith_graph_set_training(g, 0);
    CHECK_OK(pith_graph_forward(g, 1));
    for (int i = 0; i < N; i++)
        assert_float_equal(pith_graph_output(g)[i], 0.0f, 0);
    pith_graph_free(g);

    /* weights: w[0] = 1.27 sets the scale to 0.01; the others are 0.3 steps */
    g = linear_model(N, 1, 0, 1);
    assert_non_null(g);
    float *w = g->nodes[1].params[0].data;
    w[0] = 1.27f;
    for (int i = 1; i < N; i++)
        w[i] = 0.003f;
    pith_quant_config c = pith_quant_defaults();
    c.io = PITH_QIO_WEIGHT_ONLY;
    c.w.round = PITH_QROUND_STOCHASTIC;
    CHECK_OK(pith_quant_apply(g, &c));
    assert_int_equal(g->nodes[1].a.wstoch, 1);
    CHECK_OK(pith_graph_compile(g, 1));
    pith_graph_set_training(g, 1);
    CHECK_OK(pith_graph_forward(g, 1));
    const float *eff = g->nodes[1].params[0].eff;
    mean = 0;
    for (int i = 1; i < N; i++) {
        assert_true(fabsf(eff[i]) < 1e-9f || fabsf(eff[i] - 0.01f) < 1e-8f);
        mean += eff[i];
    }
    assert_float_equal(mean / (N - 1), 0.003, 0.00015);
    pith_graph_set_training(g, 0);
    CHECK_OK(pith_graph_forward(g, 1));
    assert_float_equal(g->nodes[1].params[0].eff[5], 0.0f, 0);
    pith_graph_free(g);
}

/* ---- observers ---- */

static void test_weight_mse_brute_force(void **state)
{
    (void)state;
    float w[200];
    tu_fill(w, 200, -1.0f, 1.0f, 7);
    w[17] = 6.0f; /* an outlier that min/max would cover at great cost */
    pith_qspec s = pith_qspec_weights_default();
    s.bits = 4;
    s.gran = PITH_QGRAN_TENSOR;
    float scale, zp;
    CHECK_OK(pith_weight_qparams(&s, PITH_OBS_MSE, w, 1, 200, &scale, &zp));
    /* brute force over the same candidates, error computed with the reference functions */
    double best = INFINITY;
    float best_scale = 0;
    float lo = w[0], hi = w[0];
    for (int i = 0; i < 200; i++) {
        lo = fminf(lo, w[i]);
        hi = fmaxf(hi, w[i]);
    }
    for (int k = 0; k <= 80; k++) {
        float f = 1.0f - 0.01f * (float)k, sc;
        int32_t z;
        CHECK_OK(pith_qparams(&s, lo * f, hi * f, &sc, &z));
        double e = 0;
        for (int i = 0; i < 200; i++) {
            double d = w[i] - pith_fake_quantize(w[i], sc, z, -7, 7);
            e += d * d;
        }
        if (e < best) {
            best = e;
            best_scale = sc;
        }
    }
    assert_float_equal(scale, best_scale, 0);
    assert_true(scale < 6.0f / 7); /* it clipped the outlier */
}

/* Weight scales per tensor, per channel and per group, hand-worked, and the
 * round trip within half a step at each. */
static void test_weight_granularity(void **state)
{
    (void)state;
    const float w[8] = {1.0f, -2.0f, 0.5f, 0.25f, /* row 2 */ 4.0f, 1.0f, -1.0f, 0.0f};
    struct {
        pith_qgran gran;
        int group, n;
        float amax[4];
    } t[] = {{PITH_QGRAN_TENSOR, 0, 1, {4.0f}},
             {PITH_QGRAN_CHANNEL, 0, 2, {2.0f, 4.0f}},
             {PITH_QGRAN_GROUP, 2, 4, {2.0f, 0.5f, 4.0f, 1.0f}},
             {PITH_QGRAN_GROUP, 3, 4, {2.0f, 0.25f, 4.0f, 0.0f}}};
    for (size_t k = 0; k < sizeof t / sizeof *t; k++) {
        pith_qspec s = pith_qspec_weights_default();
        s.gran = t[k].gran;
        s.group = t[k].group;
        float sc[4], zp[4];
        CHECK_OK(pith_weight_qparams(&s, PITH_OBS_MINMAX, w, 2, 4, sc, zp));
        for (int u = 0; u < t[k].n; u++) {
            float want = t[k].amax[u] > 0 ? t[k].amax[u] / 127.0f : FLT_MIN; /* symmetric narrow int8 */
            assert_float_equal(sc[u], want, 1e-9);
            assert_float_equal(zp[u], 0.0f, 0);
        }
        /* the weight quantizer with that granularity reproduces w within half a step */
        pith_graph *g = linear_model(4, 2, 0, 1);
        memcpy(g->nodes[1].params[0].data, w, sizeof w);
        pith_quant_config c = pith_quant_defaults();
        c.w = s;
        c.io = PITH_QIO_WEIGHT_ONLY;
        CHECK_OK(pith_quant_apply(g, &c));
        assert_int_equal(pith_node_param(&g->nodes[1], "w_scale")->size, (size_t)t[k].n);
        CHECK_OK(pith_graph_compile(g, 1));
        CHECK_OK(pith_graph_forward(g, 1));
        const float *eff = g->nodes[1].params[0].eff;
        for (int i = 0; i < 8; i++) {
            int r = i / 4, j = i % 4;
            int u = t[k].gran == PITH_QGRAN_TENSOR ? 0 : t[k].gran == PITH_QGRAN_CHANNEL ? r
                                                        : r * (t[k].n / 2) + j / t[k].group;
            assert_true(fabsf(eff[i] - w[i]) <= 0.5f * sc[u] * 1.0001f);
        }
        pith_graph_free(g);
    }
    /* asymmetric unsigned 4-bit over [-1, 2]: scale 3/15 = 0.2, zero point round(1/0.2) = 5 */
    pith_qspec a = {4, 0, 0, 0, PITH_QGRAN_TENSOR, 0, PITH_QROUND_EVEN};
    const float v[2] = {-1.0f, 2.0f};
    float sc, zp;
    CHECK_OK(pith_weight_qparams(&a, PITH_OBS_MINMAX, v, 1, 2, &sc, &zp));
    assert_float_equal(sc, 0.2f, 1e-7);
    assert_float_equal(zp, 5.0f, 0);
}

/* Calibration with the EMA observer: the first batch sets the range, each
 * later one moves it by 0.01 of the way; min/max takes the extremes. */
static void test_calibrate_ema_and_minmax(void **state)
{
    (void)state;
    CHECK_OK(pith_quant_register());
    for (int obs = 0; obs < 2; obs++) {
        pith_graph *g;
        CHECK_OK(pith_graph_create(&g, feat(3), 1));
        int fq = add_fq(g, 0, 8, 0, 0);
        CHECK_OK(pith_graph_compile(g, 2));
        pith_dataset ds = random_data(4, 3, 1, 1, 1); /* 4 samples of 3 features */
        /* batch 1: range [-1, 1]; batch 2: [-0.5, 3] */
        const float x[12] = {-1, 0, 1, 0.5f, 0, 0, /* batch 2 */ 3, 0, -0.5f, 0, 1, 2};
        memcpy(ds.x, x, sizeof x);
        CHECK_OK(pith_quant_calibrate(g, &ds, 4, obs ? PITH_OBS_EMA : PITH_OBS_MINMAX, 0, NULL));
        const float lo = g->nodes[fq].params[2].data[0], hi = g->nodes[fq].params[3].data[0];
        if (obs) {
            assert_float_equal(lo, -1.0f + 0.01f * (-0.5f - -1.0f), 1e-6);
            assert_float_equal(hi, 1.0f + 0.01f * (3.0f - 1.0f), 1e-6);
        } else {
            assert_float_equal(lo, -1.0f, 0);
            assert_float_equal(hi, 3.0f, 0);
        }
        assert_int_equal(g->nodes[fq].a.qmode, 1);
        /* scale and zero point are pith_qparams of that range */
        pith_qspec sp = pith_fq_spec(&g->nodes[fq]);
        float sc;
        int32_t z;
        CHECK_OK(pith_qparams(&sp, lo, hi, &sc, &z));
        assert_float_equal(g->nodes[fq].params[0].data[0], sc, 0);
        assert_float_equal(g->nodes[fq].params[1].data[0], (float)z, 0);
        pith_dataset_free(&ds);
        pith_graph_free(g);
    }
}

static void test_observer_histograms(void **state)
{
    (void)state;
    enum { B = 2048 };
    double *h = malloc(B * sizeof *h);
    pith_qspec a = pith_qspec_activations_default();
    float lo, hi;
    /* uniform on [0, 8): KL's quantization of the full range is exact (8 bins
     * per level, all equal), any clip adds divergence -> no clipping */
    for (int i = 0; i < B; i++)
        h[i] = 100.0;
    CHECK_OK(pith_observer_range(PITH_OBS_KL, h, B, 0.0f, 8.0f, &a, 0, &lo, &hi));
    assert_float_equal(hi, 8.0f, 1e-6);
    assert_float_equal(lo, 0.0f, 0);
    /* percentile of a uniform histogram: the p-th percentile is p% of the range */
    CHECK_OK(pith_observer_range(PITH_OBS_PERCENTILE, h, B, 0.0f, 8.0f, &a, 99.0f, &lo, &hi));
    assert_float_equal(hi, 0.99f * 8.0f, 8.0f / B + 1e-6);
    assert_float_equal(lo, 0.01f * 8.0f, 8.0f / B + 1e-6);
    /* a piecewise-uniform histogram whose steps fall on level boundaries is
     * represented exactly by the full range too */
    for (int i = 0; i < B; i++)
        h[i] = i < B / 16 ? 1000.0 : 0.5;
    CHECK_OK(pith_observer_range(PITH_OBS_KL, h, B, 0.0f, 16.0f, &a, 0, &lo, &hi));
    assert_float_equal(hi, 16.0f, 1e-6);
    /* an exponential tail (as after relu): KL clips it, but keeps at least
     * one bin per level (256 of the 2048 bins) */
    for (int i = 0; i < B; i++)
        h[i] = floor(1e6 * exp(-i / 30.0));
    CHECK_OK(pith_observer_range(PITH_OBS_KL, h, B, 0.0f, 16.0f, &a, 0, &lo, &hi));
    if (!(hi < 16.0f && hi >= 2.0f))
        fail_msg("KL clip %g", (double)hi);
    for (int i = 0; i < B; i++)
        h[i] = i < B / 16 ? 1000.0 : 0.5;
    /* MSE: brute force over the same 1% steps with the histogram's bin centres */
    float mlo, mhi;
    CHECK_OK(pith_observer_range(PITH_OBS_MSE, h, B, 0.0f, 16.0f, &a, 0, &mlo, &mhi));
    double best = INFINITY;
    float want = 0;
    for (int k = 0; k < 100; k++) {
        float f = 1.0f - 0.01f * k, sc;
        int32_t z;
        CHECK_OK(pith_qparams(&a, 0.0f, 16.0f * f, &sc, &z));
        double e = 0;
        for (int i = 0; i < B; i++) {
            float x = 16.0f / B * (i + 0.5f);
            double d = x - pith_fake_quantize(x, sc, z, -128, 127);
            e += h[i] * d * d;
        }
        if (e < best) {
            best = e;
            want = 16.0f * f;
        }
    }
    assert_float_equal(mhi, want, 1e-5);
    assert_true(mhi < 16.0f);
    /* min/max is the histogram's range */
    CHECK_OK(pith_observer_range(PITH_OBS_MINMAX, h, B, -1.0f, 16.0f, &a, 0, &lo, &hi));
    assert_float_equal(lo, -1.0f, 0);
    assert_float_equal(hi, 16.0f, 0);
    free(h);
}

/* ---- k-means ---- */

static void test_kmeans(void **state)
{
    (void)state;
    enum { N = 1000, K = 8 };
    float w[N], cb[K], idx[N];
    tu_fill(w, N, -1.0f, 1.0f, 11);
    for (int init = PITH_KM_LINEAR; init <= PITH_KM_RANDOM; init++) {
        pith_rng rng;
        pith_rng_seed(&rng, 5);
        CHECK_OK(pith_kmeans_1d(w, N, K, (pith_kmeans_init)init, &rng, cb, idx));
        /* converged: every centroid is the mean of the weights assigned to it,
         * and every weight is assigned to its nearest centroid */
        for (int j = 0; j < K; j++) {
            double s = 0;
            int n = 0;
            for (int i = 0; i < N; i++)
                if ((int)idx[i] == j) {
                    s += w[i];
                    n++;
                }
            if (n)
                assert_float_equal(cb[j], s / n, 1e-5);
        }
        for (int i = 0; i < N; i++) {
            float d = fabsf(w[i] - cb[(int)idx[i]]);
            for (int j = 0; j < K; j++)
                assert_true(d <= fabsf(w[i] - cb[j]) + 1e-6f);
        }
    }
    /* hand-worked: two clear clusters */
    const float v[6] = {0.0f, 0.1f, 0.2f, 5.0f, 5.2f, 5.4f};
    float c2[2], i2[6];
    CHECK_OK(pith_kmeans_1d(v, 6, 2, PITH_KM_LINEAR, NULL, c2, i2));
    assert_float_equal(c2[0], 0.1f, 1e-6);
    assert_float_equal(c2[1], 5.2f, 1e-6);
    assert_float_equal(i2[2], 0, 0);
    assert_float_equal(i2[3], 1, 0);
}

/* The k-means layer computes with codebook[index] and each centroid's gradient
 * is the sum of its weights' gradients. */
static void test_kmeans_layer(void **state)
{
    (void)state;
    pith_graph *g = linear_model(6, 4, 1, 3);
    assert_non_null(g);
    pith_quant_config c = pith_quant_defaults();
    c.method = PITH_WQ_KMEANS;
    c.w.bits = 2;
    c.io = PITH_QIO_WEIGHT_ONLY;
    c.keep_ends = 0;
    CHECK_OK(pith_quant_apply(g, &c));
    CHECK_OK(pith_graph_compile(g, 2));
    pith_node *n = &g->nodes[1];
    pith_param *w = &n->params[0], *cb = pith_node_param(n, "codebook"), *ix = pith_node_param(n, "w_index");
    assert_non_null(cb);
    assert_non_null(ix);
    assert_int_equal(cb->size, 4);
    tu_fill(pith_graph_input(g), 12, -1, 1, 4);
    pith_graph_set_training(g, 1);
    CHECK_OK(pith_graph_forward(g, 2));
    for (size_t i = 0; i < w->size; i++)
        assert_float_equal(w->eff[i], cb->data[(int)ix->data[i]], 0);
    for (int i = 0; i < 8; i++)
        pith_graph_output_grad(g)[i] = 0.25f * (float)(i - 3);
    pith_graph_zero_grad(g);
    CHECK_OK(pith_graph_backward(g, 2));
    /* dL/dw_hat[o][i] = sum_b dy[b][o] x[b][i], computed independently */
    const float *x = pith_graph_input(g), *dy = pith_graph_output_grad(g);
    double want[4] = {0};
    for (int o = 0; o < 4; o++)
        for (int i = 0; i < 6; i++) {
            double gw = dy[o] * x[i] + dy[4 + o] * x[6 + i];
            want[(int)ix->data[o * 6 + i]] += gw;
        }
    for (int j = 0; j < 4; j++)
        assert_float_equal(cb->grad[j], want[j], 1e-5);
    assert_true(w->frozen);
    pith_graph_free(g);
}

/* ---- batchnorm folding ---- */

static pith_attrs conv_a(int out, int k, int groups)
{
    pith_attrs a;
    memset(&a, 0, sizeof a);
    a.out = out, a.kh = a.kw = k, a.sh = a.sw = a.dh = a.dw = 1, a.ph = a.pw = k / 2, a.groups = groups, a.bias = 1;
    return a;
}

static float row_range(const pith_node *n, int i)
{
    const size_t per = n->params[0].size / (size_t)n->a.out;
    float m = 0.0f;
    for (size_t j = 0; j < per; j++)
        m = fmaxf(m, fabsf(n->params[0].data[(size_t)i * per + j]));
    return m;
}

/* Cross-layer equalization: conv -> relu -> maxpool -> depthwise conv ->
 * relu -> 1x1 conv -> relu6 -> 1x1 conv -> linear, A's channels made to
 * differ by 10^4 in range. After CLE the float outputs are unchanged, each
 * pair's shared channels have equal ranges (A's output channel against B's
 * weights reading it: for the depthwise B, its own channel), and the pair
 * behind relu6 is skipped and named. */
static void test_cle(void **state)
{
    (void)state;
    pith_graph *g;
    pith_shape in = {3, {1, 8, 8}};
    CHECK_OK(pith_graph_create(&g, in, 3));
    pith_attrs none, a = conv_a(6, 3, 1), dw = conv_a(6, 3, 6), pw = conv_a(4, 1, 1), pw2 = conv_a(3, 1, 1), mp, fc;
    memset(&none, 0, sizeof none);
    memset(&mp, 0, sizeof mp);
    mp.kh = mp.kw = mp.sh = mp.sw = 2, mp.dh = mp.dw = 1;
    memset(&fc, 0, sizeof fc);
    fc.out = 5, fc.bias = 1;
    int x = 0;
    const int ia = x = pith_graph_add(g, "conv2d", "a", &a, &x, 1);
    x = pith_graph_add(g, "relu", "a_relu", &none, &x, 1);
    x = pith_graph_add(g, "maxpool", "pool", &mp, &x, 1);
    const int ib = x = pith_graph_add(g, "conv2d", "b_dw", &dw, &x, 1);
    x = pith_graph_add(g, "relu", "b_relu", &none, &x, 1);
    const int ic = x = pith_graph_add(g, "conv2d", "c", &pw, &x, 1);
    x = pith_graph_add(g, "relu6", "c_relu6", &none, &x, 1);
    x = pith_graph_add(g, "conv2d", "d", &pw2, &x, 1);
    x = pith_graph_add(g, "flatten", "flat", &none, &x, 1);
    x = pith_graph_add(g, "linear", "fc", &fc, &x, 1);
    assert_true(x > 0);
    for (int k = 1; k < g->n_nodes; k++)
        for (int p = 0; p < g->nodes[k].n_params; p++)
            tu_fill(g->nodes[k].params[p].data, g->nodes[k].params[p].size, -0.5f, 0.5f, 11 * k + p);
    pith_node *A = &g->nodes[ia];
    for (int i = 0; i < 6; i++) /* ranges 1e-2 .. 1e2 */
        for (int j = 0; j < 9; j++) {
            A->params[0].data[i * 9 + j] *= powf(10.0f, (float)i - 2.0f);
            A->params[1].data[i] = 0.1f * (float)i;
        }
    float xin[64], y1[5], y2[5];
    tu_fill(xin, 64, -1.0f, 1.0f, 5);
    CHECK_OK(pith_graph_compile(g, 1));
    pith_graph_set_training(g, 0);
    memcpy(pith_graph_input(g), xin, sizeof xin);
    CHECK_OK(pith_graph_forward(g, 1));
    memcpy(y1, pith_graph_output(g), sizeof y1);
    pith_cle_report rep;
    CHECK_OK(pith_cle(g, 20, &rep));
    assert_int_equal(rep.pairs, 2); /* a -> b_dw, b_dw -> c */
    assert_int_equal(rep.n_skipped, 1);
    assert_string_equal(rep.skipped[0].layer, "c");
    assert_string_equal(rep.skipped[0].by, "c_relu6");
    CHECK_OK(pith_graph_compile(g, 1));
    memcpy(pith_graph_input(g), xin, sizeof xin);
    CHECK_OK(pith_graph_forward(g, 1));
    memcpy(y2, pith_graph_output(g), sizeof y2);
    for (int k = 0; k < 5; k++)
        if (fabsf(y1[k] - y2[k]) > 1e-4f * (1.0f + fabsf(y1[k])))
            fail_msg("output %d: %.7g before CLE, %.7g after", k, (double)y1[k], (double)y2[k]);
    const pith_node *B = &g->nodes[ib], *C = &g->nodes[ic];
    for (int i = 0; i < 6; i++) {
        /* a's channel i against the depthwise b's channel i (its only reader) */
        const float r1 = row_range(A, i), r2 = row_range(B, i);
        if (fabsf(r1 - r2) > 1e-3f * r2)
            fail_msg("channel %d: range %.6g in a, %.6g in b_dw after CLE", i, (double)r1, (double)r2);
        /* b's channel i against column i of c (the last pair of a sweep: exact) */
        float rc = 0.0f;
        for (int o = 0; o < 4; o++)
            rc = fmaxf(rc, fabsf(C->params[0].data[o * 6 + i]));
        if (fabsf(row_range(B, i) - rc) > 1e-5f * rc)
            fail_msg("channel %d: range %.6g in b_dw, %.6g in c after CLE", i, (double)row_range(B, i), (double)rc);
    }
    /* before, a's ranges spanned 1e4; now they are within what b allows */
    pith_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_quant_forward_ste),
        cmocka_unit_test(test_cle),
        cmocka_unit_test(test_fake_quant_lsq_gradient),
        cmocka_unit_test(test_stochastic_rounding),
        cmocka_unit_test(test_binary_ternary_values),
        cmocka_unit_test(test_uniform_weights_ste),
        cmocka_unit_test(test_weight_mse_brute_force),
        cmocka_unit_test(test_weight_granularity),
        cmocka_unit_test(test_calibrate_ema_and_minmax),
        cmocka_unit_test(test_observer_histograms),
        cmocka_unit_test(test_kmeans),
        cmocka_unit_test(test_kmeans_layer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
