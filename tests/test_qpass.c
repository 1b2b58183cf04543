/* Quantization passes: fake-quant node and weight quantizers (forward values
 * and straight-through gradients against the analytic rules), observers
 * against closed forms and brute force, k-means, batchnorm folding, the
 * fake-quant model against an independent integer computation, and the
 * quantizer state through a checkpoint. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../core/checkpoint.h"
#include "../core/rng.h"
#include "../quant/quant.h"
#include "testutil.h"

static pith_shape feat(int n) { return (pith_shape){1, {n, 0, 0}}; }
static pith_shape chw(int c, int h, int w) { return (pith_shape){3, {c, h, w}}; }

/* A dataset of n random samples of shape c x h x w (labels 0). */
static pith_dataset random_data(int n, int c, int h, int w, uint64_t seed)
{
    pith_dataset ds = {0};
    ds.n = n;
    ds.c = c;
    ds.h = h;
    ds.w = w;
    ds.classes = 2;
    ds.x = malloc((size_t)n * c * h * w * sizeof(float));
    ds.y = calloc((size_t)n, sizeof(int));
    tu_fill(ds.x, (size_t)n * c * h * w, -1.0f, 1.0f, seed);
    return ds;
}

/* ---- fake_quant node ---- */

static int add_fq(pith_graph *g, int in, int bits, int sym, int lsq)
{
    pith_attrs a = {0};
    a.qbits = bits;
    a.qsym = sym;
    a.qsigned = sym;
    a.qlsq = lsq;
    a.qmode = 1;
    int inputs[1] = {in};
    return pith_graph_add(g, "fake_quant", "fq", &a, inputs, 1);
}

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

static pith_graph *linear_model(int in, int out, int bias, uint64_t seed)
{
    pith_graph *g;
    if (pith_graph_create(&g, feat(in), seed))
        return NULL;
    pith_attrs a = {0};
    a.out = out;
    a.bias = bias;
    int inputs[1] = {0};
    if (pith_graph_add(g, "linear", "fc", &a, inputs, 1) < 0)
        return NULL;
    return g;
}

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

static void test_fold_batchnorm(void **state)
{
    (void)state;
    pith_graph *g;
    CHECK_OK(pith_graph_create(&g, chw(3, 6, 6), 9));
    pith_attrs a = {0};
    a.out = 4;
    a.kh = a.kw = 3;
    a.sh = a.sw = 1;
    a.ph = a.pw = 1;
    a.dh = a.dw = 1;
    a.groups = 1;
    int in = 0;
    int conv = pith_graph_add(g, "conv2d", "conv", &a, &in, 1);
    pith_attrs b = {0};
    b.eps = 1e-5f;
    b.momentum = 0.1f;
    int bn = pith_graph_add(g, "batchnorm", "bn", &b, &conv, 1);
    pith_attrs r = {0};
    pith_graph_add(g, "relu", "relu", &r, &bn, 1);
    pith_node *bnn = &g->nodes[bn];
    for (int c = 0; c < 4; c++) {
        bnn->params[0].data[c] = 0.5f + 0.3f * c;   /* gamma */
        bnn->params[1].data[c] = -0.2f + 0.1f * c;  /* beta */
        bnn->params[2].data[c] = 0.05f * c - 0.1f;  /* running mean */
        bnn->params[3].data[c] = 0.4f + 0.2f * c;   /* running var */
    }
    CHECK_OK(pith_graph_compile(g, 2));
    tu_fill(pith_graph_input(g), 2 * 3 * 36, -1, 1, 12);
    float *x = malloc(2 * 3 * 36 * sizeof(float)), ref[2 * 4 * 36];
    memcpy(x, pith_graph_input(g), 2 * 3 * 36 * sizeof(float));
    CHECK_OK(pith_graph_forward(g, 2));
    memcpy(ref, pith_graph_output(g), sizeof ref);
    assert_int_equal(pith_fold_batchnorm(g), 1);
    assert_int_equal(g->nodes[conv].a.bias, 1);
    CHECK_OK(pith_graph_compile(g, 2));
    assert_int_equal(g->n_order, 3); /* input, conv, relu */
    memcpy(pith_graph_input(g), x, 2 * 3 * 36 * sizeof(float));
    CHECK_OK(pith_graph_forward(g, 2));
    for (int i = 0; i < 2 * 4 * 36; i++)
        assert_float_equal(pith_graph_output(g)[i], ref[i], 1e-5);
    free(x);
    pith_graph_free(g);
}

/* QAT with batchnorm kept: in evaluation, conv -> BN with the BN-aware weight
 * quantizer computes what the folded model computes; freezing folds it. */
static void test_bn_aware_quantizer_and_freeze(void **state)
{
    (void)state;
    CHECK_OK(pith_quant_register());
    pith_graph *g;
    CHECK_OK(pith_graph_create(&g, chw(2, 5, 5), 17));
    pith_attrs a = {0};
    a.out = 3;
    a.kh = a.kw = 3;
    a.sh = a.sw = 1;
    a.ph = a.pw = 1;
    a.dh = a.dw = 1;
    a.groups = 1;
    int in = 0;
    int conv = pith_graph_add(g, "conv2d", "conv", &a, &in, 1);
    pith_attrs b = {0};
    b.eps = 1e-5f;
    b.momentum = 0.1f;
    int bn = pith_graph_add(g, "batchnorm", "bn", &b, &conv, 1);
    pith_attrs r = {0};
    pith_graph_add(g, "relu", "relu", &r, &bn, 1);
    for (int c = 0; c < 3; c++) {
        g->nodes[bn].params[0].data[c] = 0.6f + 0.5f * c;
        g->nodes[bn].params[1].data[c] = 0.1f * c - 0.05f;
        g->nodes[bn].params[2].data[c] = 0.02f * c;
        g->nodes[bn].params[3].data[c] = 0.3f + 0.4f * c;
    }
    pith_quant_config c = pith_quant_defaults();
    c.fold_bn = 0;
    CHECK_OK(pith_quant_apply(g, &c));
    assert_int_equal(g->nodes[conv].a.wbn, 1);
    CHECK_OK(pith_graph_compile(g, 4));
    pith_dataset ds = random_data(32, 2, 5, 5, 60);
    CHECK_OK(pith_quant_calibrate(g, &ds, 32, PITH_OBS_MINMAX, 0, NULL));
    /* the scales are those of the folded weight: w * gamma / sqrt(var + eps) */
    const float *sw = pith_node_param(&g->nodes[conv], "w_scale")->data, *w = g->nodes[conv].params[0].data;
    for (int o = 0; o < 3; o++) {
        float f = g->nodes[bn].params[0].data[o] / sqrtf(g->nodes[bn].params[3].data[o] + 1e-5f), amax = 0;
        for (int i = 0; i < 18; i++)
            amax = fmaxf(amax, fabsf(w[o * 18 + i] * f));
        assert_float_equal(sw[o], amax / 127, 1e-6);
    }
    memcpy(pith_graph_input(g), ds.x, 4 * 50 * sizeof(float));
    CHECK_OK(pith_graph_forward(g, 4));
    float before[4 * 75];
    memcpy(before, pith_graph_output(g), sizeof before);
    CHECK_OK(pith_quant_freeze_bn(g));
    CHECK_OK(pith_graph_compile(g, 4));
    assert_int_equal(g->n_order, 4); /* input, input_quant, conv, conv_quant (relu folded) */
    assert_int_equal(g->nodes[conv].a.wbn, 0);
    assert_int_equal(g->nodes[g->output].a.qacc, 1);
    memcpy(pith_graph_input(g), ds.x, 4 * 50 * sizeof(float));
    CHECK_OK(pith_graph_forward(g, 4));
    float step = g->nodes[g->output].params[0].data[0];
    int same = 0;
    for (int i = 0; i < 4 * 75; i++) {
        float d = fabsf(pith_graph_output(g)[i] - before[i]);
        assert_true(d <= step * 1.001f); /* at most one code apart (float rounding of the folded product) */
        same += d == 0.0f;
    }
    assert_true(same >= 4 * 75 * 95 / 100);
    pith_dataset_free(&ds);
    pith_graph_free(g);
}

/* ---- the fake-quant model equals the integer computation ---- */

/* conv(2->3, 3x3, pad 1, bias) -> relu -> flatten -> linear(3*4*4 -> 5, bias). */
static pith_graph *small_model(void)
{
    pith_graph *g;
    if (pith_graph_create(&g, chw(2, 4, 4), 21))
        return NULL;
    pith_attrs a = {0};
    a.out = 3;
    a.kh = a.kw = 3;
    a.sh = a.sw = 1;
    a.ph = a.pw = 1;
    a.dh = a.dw = 1;
    a.groups = 1;
    a.bias = 1;
    int in = 0;
    int conv = pith_graph_add(g, "conv2d", "conv", &a, &in, 1);
    pith_attrs z = {0};
    int relu = pith_graph_add(g, "relu", "relu", &z, &conv, 1);
    int fl = pith_graph_add(g, "flatten", "flatten", &z, &relu, 1);
    pith_attrs l = {0};
    l.out = 5;
    l.bias = 1;
    pith_graph_add(g, "linear", "fc", &l, &fl, 1);
    for (int i = 1; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_params; j++)
            if (!strcmp(g->nodes[i].params[j].name, "bias"))
                tu_fill(g->nodes[i].params[j].data, g->nodes[i].params[j].size, -0.3f, 0.3f, 30 + i);
    return g;
}

static const pith_node *node(const pith_graph *g, const char *name)
{
    int i = pith_graph_find(g, name);
    assert_true(i >= 0);
    return &g->nodes[i];
}

static void test_fake_quant_equals_integer(void **state)
{
    (void)state;
    CHECK_OK(pith_quant_register());
    pith_graph *g = small_model();
    assert_non_null(g);
    pith_quant_config c = pith_quant_defaults();
    CHECK_OK(pith_quant_apply(g, &c));
    CHECK_OK(pith_graph_compile(g, 8));
    pith_dataset ds = random_data(64, 2, 4, 4, 40);
    CHECK_OK(pith_quant_calibrate(g, &ds, 64, PITH_OBS_MINMAX, 0, NULL));
    pith_graph_set_training(g, 0);
    const int B = 8;
    memcpy(pith_graph_input(g), ds.x, (size_t)B * 32 * sizeof(float));
    CHECK_OK(pith_graph_forward(g, B));

    /* independent integer model from the stored scales */
    const pith_node *iq = node(g, "input_quant"), *cv = node(g, "conv"), *cq = node(g, "conv_quant");
    const pith_node *fc = node(g, "fc"), *fq = node(g, "fc_quant");
    float s_in = iq->params[0].data[0], s_c = cq->params[0].data[0], s_o = fq->params[0].data[0];
    int32_t z_in = (int32_t)iq->params[1].data[0], z_c = (int32_t)cq->params[1].data[0],
            z_o = (int32_t)fq->params[1].data[0];
    const float *wc = cv->params[0].data, *bc = cv->params[1].data;
    const float *sw_c = pith_node_param((pith_node *)cv, "w_scale")->data;
    const float *wf = fc->params[0].data, *bf = fc->params[1].data;
    const float *sw_f = pith_node_param((pith_node *)fc, "w_scale")->data;
    int mismatches = 0;
    for (int b = 0; b < B; b++) {
        int32_t qx[2 * 16], qc[3 * 16];
        for (int i = 0; i < 32; i++)
            qx[i] = pith_quantize(ds.x[b * 32 + i], s_in, z_in, -128, 127);
        for (int o = 0; o < 3; o++) {
            float sacc = s_in * sw_c[o];
            int32_t m;
            int sh;
            CHECK_OK(pith_quantize_multiplier((double)sacc / s_c, &m, &sh));
            int32_t qb = (int32_t)pith_round_half_even(bc[o] / sacc);
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++) {
                    int32_t acc = qb;
                    for (int ci = 0; ci < 2; ci++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int iy = y + ky - 1, ix = x + kx - 1;
                                if (iy < 0 || iy > 3 || ix < 0 || ix > 3)
                                    continue; /* padding is the real zero, code z_in */
                                int32_t qw = pith_quantize(wc[((o * 2 + ci) * 3 + ky) * 3 + kx], sw_c[o], 0, -127, 127);
                                acc += (qx[ci * 16 + iy * 4 + ix] - z_in) * qw;
                            }
                    /* relu folded into the clamp: codes below the zero point are relu's zeros */
                    qc[o * 16 + y * 4 + x] = pith_requantize(acc, m, sh, z_c, z_c, 127);
                }
        }
        for (int o = 0; o < 5; o++) {
            float sacc = s_c * sw_f[o];
            int32_t m;
            int sh;
            CHECK_OK(pith_quantize_multiplier((double)sacc / s_o, &m, &sh));
            int32_t acc = (int32_t)pith_round_half_even(bf[o] / sacc);
            for (int i = 0; i < 48; i++)
                acc += (qc[i] - z_c) * pith_quantize(wf[o * 48 + i], sw_f[o], 0, -127, 127);
            int32_t q = pith_requantize(acc, m, sh, z_o, -128, 127);
            float want = pith_dequantize(q, s_o, z_o);
            mismatches += pith_graph_output(g)[b * 5 + o] != want;
        }
    }
    assert_int_equal(mismatches, 0);
    pith_dataset_free(&ds);
    pith_graph_free(g);
}

/* ---- checkpoints ---- */

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    CHECK_OK(pith_quant_register());
    for (int method = PITH_WQ_UNIFORM; method <= PITH_WQ_TERNARY; method++) {
        pith_graph *g = small_model();
        assert_non_null(g);
        pith_quant_config c = pith_quant_defaults();
        c.method = (pith_wq_kind)method;
        c.keep_ends = 0;
        c.w.bits = method == PITH_WQ_KMEANS ? 3 : 8;
        CHECK_OK(pith_quant_apply(g, &c));
        CHECK_OK(pith_graph_compile(g, 4));
        pith_dataset ds = random_data(16, 2, 4, 4, 50);
        CHECK_OK(pith_quant_calibrate(g, &ds, 16, PITH_OBS_MSE, 0, NULL));
        memcpy(pith_graph_input(g), ds.x, 4 * 32 * sizeof(float));
        CHECK_OK(pith_graph_forward(g, 4));
        float ref[20];
        memcpy(ref, pith_graph_output(g), sizeof ref);
        pith_ckpt_meta meta = {0};
        snprintf(meta.model, sizeof meta.model, "small");
        meta.classes = 5;
        meta.mean = 0.0f;
        meta.std = 1.0f;
        const char *path = tu_path("q.h5");
        CHECK_OK(pith_checkpoint_save(path, g, &meta, NULL, NULL, NULL, 0));
        pith_graph *h = NULL;
        CHECK_OK(pith_checkpoint_load(path, &h, &meta, NULL, NULL, NULL, NULL, 0));
        CHECK_OK(pith_quant_restore(h));
        assert_true(pith_graph_is_quantized(h));
        CHECK_OK(pith_graph_compile(h, 4));
        memcpy(pith_graph_input(h), ds.x, 4 * 32 * sizeof(float));
        CHECK_OK(pith_graph_forward(h, 4));
        for (int i = 0; i < 20; i++)
            assert_float_equal(pith_graph_output(h)[i], ref[i], 0);
        /* the state itself: every parameter of every node, bit for bit */
        for (int k = 1; k < g->n_order; k++) {
            const pith_node *a = &g->nodes[g->order[k]];
            const pith_node *b = node(h, a->name);
            assert_int_equal(a->n_params, b->n_params);
            assert_memory_equal(&a->a, &b->a, sizeof a->a);
            for (int j = 0; j < a->n_params; j++) {
                const pith_param *pb = pith_node_param((pith_node *)b, a->params[j].name);
                assert_non_null(pb);
                assert_memory_equal(a->params[j].data, pb->data, a->params[j].size * sizeof(float));
            }
        }
        pith_graph_free(h);
        pith_graph_free(g);
        pith_dataset_free(&ds);
    }
}

/* A corrupt quantizer state is refused with a message naming it. */
static void test_restore_rejects_bad_state(void **state)
{
    (void)state;
    pith_graph *g = linear_model(6, 4, 1, 3);
    pith_quant_config c = pith_quant_defaults();
    c.method = PITH_WQ_KMEANS;
    c.w.bits = 2;
    c.io = PITH_QIO_WEIGHT_ONLY;
    c.keep_ends = 0;
    CHECK_OK(pith_quant_apply(g, &c));
    pith_node_param(&g->nodes[1], "w_index")->data[5] = 4.0f; /* only 4 centroids: 0..3 */
    CHECK_OK(pith_param_set_transform(&g->nodes[1].params[0], NULL, NULL));
    assert_int_not_equal(pith_quant_restore(g), 0);
    CHECK_ERROR_HAS("w_index[5]");
    pith_graph_free(g);

    g = linear_model(6, 4, 1, 3);
    c = pith_quant_defaults();
    c.io = PITH_QIO_WEIGHT_ONLY;
    CHECK_OK(pith_quant_apply(g, &c));
    CHECK_OK(pith_param_set_transform(&g->nodes[1].params[0], NULL, NULL));
    g->nodes[1].a.wgran = PITH_QGRAN_TENSOR; /* 1 scale expected, 4 stored */
    assert_int_not_equal(pith_quant_restore(g), 0);
    CHECK_ERROR_HAS("w_scale");
    g->nodes[1].a.wgran = PITH_QGRAN_CHANNEL;
    pith_node_param(&g->nodes[1], "w_zp")->data[2] = 1e30f; /* the absurd */
    assert_int_not_equal(pith_quant_restore(g), 0);
    CHECK_ERROR_HAS("w_zp[2]");
    pith_graph_free(g);

    /* an activation quantizer with an impossible state */
    CHECK_OK(pith_quant_register());
    CHECK_OK(pith_graph_create(&g, feat(4), 1));
    int fq = add_fq(g, 0, 8, 0, 0);
    g->nodes[fq].params[1].data[0] = 3e9f;
    assert_int_not_equal(pith_quant_restore(g), 0);
    CHECK_ERROR_HAS("zero point");
    g->nodes[fq].params[1].data[0] = 0.0f;
    g->nodes[fq].params[0].data[0] = -1.0f;
    assert_int_not_equal(pith_quant_restore(g), 0);
    CHECK_ERROR_HAS("scale -1");
    g->nodes[fq].params[0].data[0] = 0.5f;
    CHECK_OK(pith_quant_restore(g));
    pith_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_quant_forward_ste),
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
        cmocka_unit_test(test_fold_batchnorm),
        cmocka_unit_test(test_bn_aware_quantizer_and_freeze),
        cmocka_unit_test(test_fake_quant_equals_integer),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_restore_rejects_bad_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
