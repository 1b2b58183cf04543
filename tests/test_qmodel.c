/* Quantized models: batchnorm folding and the BN-aware quantizer, the
 * fake-quant model against an independent integer computation, and the
 * quantizer state through a checkpoint (and its rejection when damaged). */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../core/checkpoint.h"
#include "../core/rng.h"
#include "../quant/quant.h"
#include "quant_fixtures.h"
#include "testutil.h"

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
        cmocka_unit_test(test_fold_batchnorm),
        cmocka_unit_test(test_bn_aware_quantizer_and_freeze),
        cmocka_unit_test(test_fake_quant_equals_integer),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_restore_rejects_bad_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
