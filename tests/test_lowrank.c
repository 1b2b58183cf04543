/* SVD low-rank: at full rank the factorized layer reproduces the original
 * output; the singular values agree with the weight (sum s^2 = ||W||_F^2, and
 * a rank-1 matrix has one); the rank a rule picks matches them. */
#include <math.h>
#include <stdlib.h>

#include "../core/zoo.h"
#include "../lowrank/lowrank.h"
#include "testutil.h"

/* A layer whose weight has rank 4 by construction (W = A B): rank 4 is its
 * full rank and still saves MACs, so the factorized pair must reproduce it. */
static void test_full_rank_reproduces(void **state)
{
    (void)state;
    for (int conv = 0; conv < 2; conv++) {
        pith_graph *g, *ref;
        for (int v = 0; v < 2; v++) {
            pith_graph **p = v ? &ref : &g;
            CHECK_OK(pith_graph_create(p, conv ? (pith_shape){3, {2, 6, 6}} : (pith_shape){1, {40, 0, 0}}, 8));
            pith_attrs a = {0};
            a.out = conv ? 30 : 50;
            a.bias = 1;
            a.kh = a.kw = 3;
            a.sh = a.sw = a.dh = a.dw = 1;
            a.ph = a.pw = 1;
            a.groups = 1;
            int in = 0;
            /* rank 4 by construction: W = A B with A 50 x 4 (30 x 4), B 4 x 40 (4 x 18) */
            int l = pith_graph_add(*p, conv ? "conv2d" : "linear", "layer", &a, &in, 1);
            pith_param *w = &(*p)->nodes[l].params[0];
            int m = w->shape[0], n = (int)(w->size / (size_t)m);
            float A[50 * 4], B[4 * 40];
            tu_fill(A, (size_t)m * 4, -1, 1, 11);
            tu_fill(B, (size_t)4 * n, -1, 1, 12);
            for (int r = 0; r < m; r++)
                for (int c = 0; c < n; c++) {
                    float s = 0;
                    for (int q = 0; q < 4; q++)
                        s += A[r * 4 + q] * B[q * n + c];
                    w->data[(size_t)r * n + c] = s;
                }
        }
        int k = conv ? 18 : 40;
        float s[40];
        CHECK_OK(pith_lowrank_singular_values(g, 1, s));
        /* sum of s^2 = ||W||_F^2, and only 4 are nonzero */
        double fro = 0, ss = 0;
        const pith_param *w = &g->nodes[1].params[0];
        for (size_t i = 0; i < w->size; i++)
            fro += (double)w->data[i] * w->data[i];
        for (int i = 0; i < k; i++)
            ss += (double)s[i] * s[i];
        assert_float_equal(ss, fro, 1e-4 * fro);
        assert_true(s[3] > 1e-2f * s[0] && s[4] < 1e-4f * s[0]);
        /* energy 0.999999 needs exactly the 4; rank 4 reproduces the layer */
        pith_lowrank_rule e = {0, 0.999999f, 0};
        assert_int_equal(pith_lowrank_choose(s, k, w->shape[0], k, 1, &e), 4);
        pith_lowrank_rule r4 = {4, 0, 0};
        pith_lowrank_report rep;
        CHECK_OK(pith_lowrank_factorize(g, 1, &r4, &rep));
        assert_true(rep.replaced);
        assert_true(rep.macs_after < rep.macs_before);
        CHECK_OK(pith_graph_compile(g, 3));
        CHECK_OK(pith_graph_compile(ref, 3));
        assert_int_equal(g->n_order, 3); /* input, layer.svd_in, layer */
        size_t in_n = pith_shape_size(&g->input_shape) * 3;
        tu_fill(pith_graph_input(g), in_n, -1, 1, 5);
        memcpy(pith_graph_input(ref), pith_graph_input(g), in_n * sizeof(float));
        CHECK_OK(pith_graph_forward(g, 3));
        CHECK_OK(pith_graph_forward(ref, 3));
        size_t out_n = pith_shape_size(pith_graph_output_shape(g)) * 3;
        double worst = 0, scale = 0;
        for (size_t i = 0; i < out_n; i++) {
            worst = fmax(worst, fabs(pith_graph_output(g)[i] - pith_graph_output(ref)[i]));
            scale = fmax(scale, fabs(pith_graph_output(ref)[i]));
        }
        print_message("  %s rank 4 of 4: max |factorized - original| %.2g of %.3g\n", conv ? "conv" : "linear", worst,
                      scale);
        assert_true(worst <= 1e-5 * scale);
        pith_graph_free(g);
        pith_graph_free(ref);
    }
}

/* The rules against hand-worked singular values. */
static void test_choose(void **state)
{
    (void)state;
    const float s[4] = {3, 2, 1, 0.5f}; /* s^2: 9, 4, 1, 0.25 of 14.25 */
    pith_lowrank_rule e90 = {0, 0.9f, 0}, e60 = {0, 0.6f, 0}, e100 = {0, 1.0f, 0};
    assert_int_equal(pith_lowrank_choose(s, 4, 10, 20, 1, &e90), 2); /* 13 / 14.25 = 0.912 */
    assert_int_equal(pith_lowrank_choose(s, 4, 10, 20, 1, &e60), 1); /* 9 / 14.25 = 0.632 */
    assert_int_equal(pith_lowrank_choose(s, 4, 10, 20, 1, &e100), 4);
    pith_lowrank_rule half = {0, 0, 0.5f}; /* r (10 + 20) <= 0.5 * 200 -> r = 3 */
    assert_int_equal(pith_lowrank_choose(s, 4, 10, 20, 1, &half), 3);
    pith_lowrank_rule r9 = {9, 0, 0};
    assert_int_equal(pith_lowrank_choose(s, 4, 10, 20, 1, &r9), 4);
}

static void test_refuses(void **state)
{
    (void)state;
    pith_graph *g;
    CHECK_OK(pith_zoo_build("mobilenet-tiny", 1, 28, 28, 10, 1, &g));
    CHECK_OK(pith_graph_sort(g));
    pith_lowrank_rule r = {2, 0, 0};
    pith_lowrank_report rep;
    assert_int_not_equal(pith_lowrank_factorize(g, pith_graph_find(g, "block1.dw"), &r, &rep), 0);
    CHECK_ERROR_HAS("ungrouped conv2d");
    assert_int_not_equal(pith_lowrank_factorize(g, pith_graph_find(g, "bn1"), &r, &rep), 0);
    pith_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_rank_reproduces),
        cmocka_unit_test(test_choose),
        cmocka_unit_test(test_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
