/* fmnist-cnn against PyTorch: logits, loss, every parameter gradient, the
 * input gradient and the BN running statistics on a fixed batch, within 1e-4
 * relative (max |pith - torch| / max |torch| per tensor). The golden file is
 * made by tests/golden/make_golden.py (kept beside it); see there for how
 * both sides derive the same weights and inputs. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/loss.h"
#include "../core/zoo.h"
#include "testutil.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/golden"
#endif

static uint64_t splitmix(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fill(float *v, size_t n, uint64_t salt, float scale, float offset)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t h = splitmix((uint64_t)i + (salt << 32)) >> 40;
        float u = (float)((double)h / 16777216.0 * 2.0 - 1.0);
        v[i] = u * scale + offset;
    }
}

static const struct {
    const char *node, *param;
    uint64_t salt;
    float scale;
} params[] = {
    {"conv1", "weight", 1, 0.25f}, {"bn1", "weight", 2, 0.25f}, {"bn1", "bias", 3, 0.25f},
    {"conv2", "weight", 4, 0.0625f}, {"bn2", "weight", 5, 0.25f}, {"bn2", "bias", 6, 0.25f},
    {"fc1", "weight", 7, 0.03125f}, {"fc1", "bias", 8, 0.03125f},
    {"fc2", "weight", 9, 0.125f}, {"fc2", "bias", 10, 0.125f},
};
#define BATCH 8

static float *read_ds(hid_t f, const char *name, size_t n)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        fail_msg("golden file has no %s", name);
    hid_t s = H5Dget_space(d);
    if ((size_t)H5Sget_simple_extent_npoints(s) != n)
        fail_msg("golden %s has %lld values, expected %zu", name,
                 (long long)H5Sget_simple_extent_npoints(s), n);
    float *v = malloc(n * sizeof *v);
    assert_true(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Sclose(s);
    H5Dclose(d);
    return v;
}

static void compare(const char *what, const float *mine, const float *ref, size_t n)
{
    double max_ref = 0, max_diff = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        max_ref = fmax(max_ref, fabs(ref[i]));
        double d = fabs((double)mine[i] - ref[i]);
        if (d > max_diff) {
            max_diff = d;
            at = i;
        }
    }
    double rel = max_diff / (max_ref > 0 ? max_ref : 1);
    print_message("  %-24s max|ref| %.4g  max diff %.3g  relative %.2e\n", what, max_ref, max_diff, rel);
    if (!(rel <= 1e-4))
        fail_msg("%s: relative difference %.3g at [%zu] (pith %.8g, torch %.8g)", what, rel, at,
                 (double)mine[at], (double)ref[at]);
}

static void test_fmnist_cnn_matches_pytorch(void **state)
{
    (void)state;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(GOLDEN_DIR "/fmnist_cnn.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        fail_msg("cannot open " GOLDEN_DIR "/fmnist_cnn.h5 (run make golden)");
    pith_graph *g;
    CHECK_OK(pith_zoo_build("fmnist-cnn", 1, 28, 28, 10, 1, &g));
    for (size_t k = 0; k < sizeof params / sizeof *params; k++) {
        pith_param *p = pith_node_param(&g->nodes[pith_graph_find(g, params[k].node)], params[k].param);
        assert_non_null(p);
        int gamma = !strncmp(params[k].node, "bn", 2) && !strcmp(params[k].param, "weight");
        fill(p->data, p->size, params[k].salt, params[k].scale, gamma ? 1.0f : 0.0f);
    }
    g->input_grad = 1;
    CHECK_OK(pith_graph_compile(g, BATCH));
    pith_graph_set_training(g, 1);
    fill(pith_graph_input(g), BATCH * 784, 100, 2.0f, 0.0f);
    int labels[BATCH];
    for (int i = 0; i < BATCH; i++)
        labels[i] = (3 * i + 1) % 10;
    CHECK_OK(pith_graph_forward(g, BATCH));
    double loss = pith_softmax_cross_entropy(pith_graph_output(g), labels, BATCH, 10, 0.0f,
                                             pith_graph_output_grad(g));
    pith_graph_zero_grad(g);
    CHECK_OK(pith_graph_backward(g, BATCH));

    float *ref = read_ds(f, "loss", 1);
    print_message("  loss pith %.7f torch %.7f\n", loss, (double)ref[0]);
    assert_true(fabs(loss - ref[0]) <= 1e-4 * fabs(ref[0]));
    free(ref);
    ref = read_ds(f, "logits", BATCH * 10);
    compare("logits", pith_graph_output(g), ref, BATCH * 10);
    free(ref);
    ref = read_ds(f, "input_grad", BATCH * 784);
    compare("input gradient", pith_graph_input_grad(g), ref, BATCH * 784);
    free(ref);
    for (size_t k = 0; k < sizeof params / sizeof *params; k++) {
        pith_param *p = pith_node_param(&g->nodes[pith_graph_find(g, params[k].node)], params[k].param);
        char name[64];
        snprintf(name, sizeof name, "grad/%s.%s", params[k].node, params[k].param);
        ref = read_ds(f, name, p->size);
        compare(name, p->grad, ref, p->size);
        free(ref);
    }
    const char *bns[2] = {"bn1", "bn2"}, *stats[2] = {"running_mean", "running_var"};
    for (int b = 0; b < 2; b++)
        for (int s = 0; s < 2; s++) {
            pith_param *p = pith_node_param(&g->nodes[pith_graph_find(g, bns[b])], stats[s]);
            char name[64];
            snprintf(name, sizeof name, "running/%s.%s", bns[b], stats[s]);
            ref = read_ds(f, name, p->size);
            compare(name, p->data, ref, p->size);
            free(ref);
        }
    H5Fclose(f);
    pith_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmnist_cnn_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
