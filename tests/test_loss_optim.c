/* Losses, optimizers, schedules and metrics against hand-worked values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/loss.h"
#include "../core/metrics.h"
#include "../core/optim.h"
#include "../core/schedule.h"
#include "testutil.h"

static void test_cross_entropy_hand(void **state)
{
    (void)state;
    /* logits (1, 2, 3), label 2: loss = log(e^1 + e^2 + e^3) - 3 = 0.40760596 */
    float z[3] = {1, 2, 3}, g[3];
    int y = 2;
    double l = pith_softmax_cross_entropy(z, &y, 1, 3, 0.0f, g);
    assert_float_equal(l, 0.40760596444, 1e-9);
    /* grad = softmax - onehot */
    assert_float_equal(g[0], 0.09003057, 1e-7);
    assert_float_equal(g[1], 0.24472847, 1e-7);
    assert_float_equal(g[2], 0.66524096 - 1.0, 1e-7);
}

static void test_cross_entropy_smoothing_and_mean(void **state)
{
    (void)state;
    /* two samples; eps = 0.1 over 3 classes: target = 0.9*onehot + 0.1/3 */
    float z[6] = {1, 2, 3, 0, 0, 0}, g[6];
    int y[2] = {2, 0};
    double l = pith_softmax_cross_entropy(z, y, 2, 3, 0.1f, g);
    double lp0[3] = {log(0.09003057), log(0.24472847), log(0.66524096)};
    double l0 = -(0.1 / 3 * lp0[0] + 0.1 / 3 * lp0[1] + (0.9 + 0.1 / 3) * lp0[2]);
    double l1 = log(3.0);
    assert_float_equal(l, (l0 + l1) / 2, 1e-6);
    assert_float_equal(g[3], (1.0 / 3 - (0.9 + 0.1 / 3)) / 2, 1e-7);
    assert_float_equal(g[4], (1.0 / 3 - 0.1 / 3) / 2, 1e-7);
}

static void test_cross_entropy_stable(void **state)
{
    (void)state;
    /* huge logits must not overflow */
    float z[2] = {1000.0f, -1000.0f}, g[2];
    int y = 1;
    double l = pith_softmax_cross_entropy(z, &y, 1, 2, 0.0f, g);
    assert_float_equal(l, 2000.0, 1e-6);
    assert_float_equal(g[0], 1.0, 1e-7);
    assert_float_equal(g[1], -1.0, 1e-7);
    int bad = 5;
    assert_true(isnan(pith_softmax_cross_entropy(z, &bad, 1, 2, 0.0f, g)));
}

static void test_cross_entropy_gradient_fd(void **state)
{
    (void)state;
    float z[12], g[12];
    int y[3] = {1, 3, 0};
    tu_fill(z, 12, -3, 3, 11);
    pith_softmax_cross_entropy(z, y, 3, 4, 0.2f, g);
    for (int i = 0; i < 12; i++) {
        float o = z[i];
        z[i] = o + 1e-3f;
        double p = pith_softmax_cross_entropy(z, y, 3, 4, 0.2f, NULL);
        z[i] = o - 1e-3f;
        double m = pith_softmax_cross_entropy(z, y, 3, 4, 0.2f, NULL);
        z[i] = o;
        assert_float_equal(g[i], (p - m) / 2e-3, 2e-4);
    }
}

static void test_mse(void **state)
{
    (void)state;
    float y[4] = {1, 2, 3, 4}, t[4] = {0, 2, 5, 4}, g[4];
    /* (1 + 0 + 4 + 0) / 4 */
    assert_float_equal(pith_mse(y, t, 2, 2, g), 1.25, 1e-12);
    assert_float_equal(g[0], 0.5, 1e-7);
    assert_float_equal(g[2], -1.0, 1e-7);
    assert_float_equal(g[1], 0.0, 0);
}

/* A graph with one linear layer, no bias: one parameter to watch. */
static pith_graph *one_param(float w0, float gr)
{
    pith_shape s = {1, {1, 0, 0}};
    pith_graph *g;
    CHECK_OK(pith_graph_create(&g, s, 1));
    pith_attrs a = {0};
    a.out = 1;
    int in = 0;
    assert_true(pith_graph_add(g, "linear", "fc", &a, &in, 1) > 0);
    g->nodes[1].params[0].data[0] = w0;
    g->nodes[1].params[0].grad[0] = gr;
    return g;
}

static void test_sgd_momentum_nesterov(void **state)
{
    (void)state;
    /* w=1, g=0.5, wd=0.1, lr=0.1, mu=0.9 (torch.optim.SGD):
     * step 1: d = 0.5 + 0.1*1 = 0.6, b = 0.6, w = 1 - 0.06 = 0.94
     * step 2 (g=0.5): d = 0.5 + 0.094 = 0.594, b = 0.9*0.6 + 0.594 = 1.134, w = 0.94 - 0.1134 = 0.8266 */
    pith_graph *g = one_param(1.0f, 0.5f);
    pith_optim_config c = pith_optim_defaults(PITH_OPTIM_SGD);
    c.momentum = 0.9f;
    c.weight_decay = 0.1f;
    pith_optim *o;
    CHECK_OK(pith_optim_create(&o, g, &c));
    CHECK_OK(pith_optim_step(o, 0.1f));
    assert_float_equal(g->nodes[1].params[0].data[0], 0.94, 1e-6);
    CHECK_OK(pith_optim_step(o, 0.1f));
    assert_float_equal(g->nodes[1].params[0].data[0], 0.8266, 1e-6);
    pith_optim_free(o);
    /* Nesterov: step 1: b = 0.6, d = 0.6 + 0.9*0.6 = 1.14, w = 1 - 0.114 = 0.886 */
    g->nodes[1].params[0].data[0] = 1.0f;
    c.nesterov = 1;
    CHECK_OK(pith_optim_create(&o, g, &c));
    CHECK_OK(pith_optim_step(o, 0.1f));
    assert_float_equal(g->nodes[1].params[0].data[0], 0.886, 1e-6);
    pith_optim_free(o);
    /* frozen: untouched */
    g->nodes[1].params[0].frozen = 1;
    CHECK_OK(pith_optim_create(&o, g, &c));
    CHECK_OK(pith_optim_step(o, 0.1f));
    assert_float_equal(g->nodes[1].params[0].data[0], 0.886, 0);
    pith_optim_free(o);
    pith_graph_free(g);
}

static void test_adamw(void **state)
{
    (void)state;
    /* torch.optim.AdamW, w=1, g=0.5, lr=0.1, wd=0.01, betas (0.9, 0.999), eps 1e-8:
     * w *= 1 - 0.001 -> 0.999; m = 0.05, v = 0.00025; mhat = 0.5, vhat = 0.25
     * w -= 0.1 * 0.5 / (0.5 + 1e-8) -> 0.899 (to 1e-7) */
    pith_graph *g = one_param(1.0f, 0.5f);
    pith_optim_config c = pith_optim_defaults(PITH_OPTIM_ADAMW);
    pith_optim *o;
    CHECK_OK(pith_optim_create(&o, g, &c));
    CHECK_OK(pith_optim_step(o, 0.1f));
    assert_float_equal(g->nodes[1].params[0].data[0], 0.899, 1e-6);
    /* step 2, same gradient: w = 0.899*(1-0.001) = 0.898101; m = 0.095, v = 0.00049975
     * mhat = 0.095/0.19 = 0.5, vhat = 0.00049975/0.001999 = 0.25 -> w -= 0.1 */
    CHECK_OK(pith_optim_step(o, 0.1f));
    assert_float_equal(g->nodes[1].params[0].data[0], 0.798101, 1e-6);
    pith_optim_free(o);
    /* a non-finite gradient is refused before any update */
    g->nodes[1].params[0].grad[0] = NAN;
    CHECK_OK(pith_optim_create(&o, g, &c));
    assert_int_equal(pith_optim_step(o, 0.1f), PITH_ENUM);
    assert_float_equal(g->nodes[1].params[0].data[0], 0.798101, 1e-6);
    pith_optim_free(o);
    pith_graph_free(g);
}

static void test_schedules(void **state)
{
    (void)state;
    pith_schedule s = {PITH_SCHED_COSINE, 0.05f, 0.0f, 100, 0, 0, 0};
    assert_float_equal(pith_schedule_lr(&s, 0), 0.05, 1e-9);
    assert_float_equal(pith_schedule_lr(&s, 50), 0.025, 1e-8);
    assert_float_equal(pith_schedule_lr(&s, 25), 0.025 * (1 + cos(M_PI / 4)), 1e-8);
    assert_float_equal(pith_schedule_lr(&s, 100), 0.0, 1e-9);
    s.min_lr = 0.01f;
    assert_float_equal(pith_schedule_lr(&s, 50), 0.03, 1e-8);
    pith_schedule st = {PITH_SCHED_STEP, 0.1f, 0, 0, 30, 0.1f, 0};
    assert_float_equal(pith_schedule_lr(&st, 29), 0.1, 1e-8);
    assert_float_equal(pith_schedule_lr(&st, 30), 0.01, 1e-8);
    assert_float_equal(pith_schedule_lr(&st, 65), 0.001, 1e-9);
    pith_schedule w = {PITH_SCHED_CONSTANT, 0.2f, 0, 0, 0, 0, 4};
    assert_float_equal(pith_schedule_lr(&w, 0), 0.05, 1e-8);
    assert_float_equal(pith_schedule_lr(&w, 3), 0.2, 1e-8);
    assert_float_equal(pith_schedule_lr(&w, 10), 0.2, 1e-8);
}

static void test_metrics(void **state)
{
    (void)state;
    pith_metrics m;
    CHECK_OK(pith_metrics_init(&m, 6));
    /* sample 0: label 2, scores rank it first; sample 1: label 0, ranked 6th;
     * sample 2: label 5, ranked 5th (top-5 hit, top-1 miss) */
    float z[18] = {0, 1, 9, 2, 3, 4, /**/ 0, 1, 2, 3, 4, 5, /**/ 5, 4, 3, 2, 0, 1};
    int y[3] = {2, 0, 5};
    pith_metrics_add(&m, z, y, 3);
    assert_int_equal(m.top1, 1);
    assert_int_equal(m.top5, 2);
    assert_float_equal(pith_metrics_top1(&m), 1.0 / 3, 1e-12);
    assert_int_equal(m.confusion[2 * 6 + 2], 1);
    assert_int_equal(m.confusion[0 * 6 + 5], 1);
    assert_int_equal(m.confusion[5 * 6 + 0], 1);
    assert_float_equal(pith_metrics_class_acc(&m, 2), 1.0, 0);
    assert_float_equal(pith_metrics_class_acc(&m, 0), 0.0, 0);
    assert_true(isnan(pith_metrics_class_acc(&m, 1)));
    pith_metrics_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_entropy_hand),
        cmocka_unit_test(test_cross_entropy_smoothing_and_mean),
        cmocka_unit_test(test_cross_entropy_stable),
        cmocka_unit_test(test_cross_entropy_gradient_fd),
        cmocka_unit_test(test_mse),
        cmocka_unit_test(test_sgd_momentum_nesterov),
        cmocka_unit_test(test_adamw),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
