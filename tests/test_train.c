/* Training: every zoo model learns, runs are deterministic, a resumed run
 * matches an uninterrupted one bit for bit, a short Fashion-MNIST run beats
 * 75%, and a NaN loss stops training without touching the weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/checkpoint.h"
#include "../core/dataset.h"
#include "../core/loss.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../core/zoo.h"
#include "testutil.h"

/* A fixed batch of separable random data: label = argmax of 10 fixed projections. */
static void make_batch(float *x, int *y, int n, int c, int h, int w)
{
    size_t sz = (size_t)c * h * w;
    tu_fill(x, sz * (size_t)n, -1, 1, 77);
    float *proj = malloc(sz * 10 * sizeof *proj);
    tu_fill(proj, sz * 10, -1, 1, 78);
    for (int i = 0; i < n; i++) {
        int best = 0;
        double bv = -1e30;
        for (int k = 0; k < 10; k++) {
            double s = 0;
            for (size_t j = 0; j < sz; j++)
                s += x[i * sz + j] * proj[k * sz + j];
            if (s > bv) {
                bv = s;
                best = k;
            }
        }
        y[i] = best;
    }
    free(proj);
}

static void test_zoo_models_learn(void **state)
{
    (void)state;
    pith_set_threads(2);
    for (int m = 0; pith_zoo[m].name; m++) {
        pith_graph *g;
        CHECK_OK(pith_zoo_build(pith_zoo[m].name, 1, 28, 28, 10, 3, &g));
        const int n = 16;
        CHECK_OK(pith_graph_compile(g, n));
        pith_graph_set_training(g, 1);
        int y[16];
        make_batch(pith_graph_input(g), y, n, 1, 28, 28);
        pith_optim_config oc = pith_optim_defaults(PITH_OPTIM_ADAMW);
        oc.weight_decay = 0;
        pith_optim *o;
        CHECK_OK(pith_optim_create(&o, g, &oc));
        double first = 0, last = 0;
        for (int step = 0; step < 20; step++) {
            g->step = (uint64_t)step;
            CHECK_OK(pith_graph_forward(g, n));
            double l = pith_softmax_cross_entropy(pith_graph_output(g), y, n, 10, 0,
                                                  pith_graph_output_grad(g));
            assert_true(isfinite(l));
            if (step == 0)
                first = l;
            last = l;
            pith_graph_zero_grad(g);
            CHECK_OK(pith_graph_backward(g, n));
            CHECK_OK(pith_optim_step(o, 2e-3f));
        }
        print_message("  %-15s loss %.4f -> %.4f\n", pith_zoo[m].name, first, last);
        if (!(last < 0.8 * first))
            fail_msg("%s: loss %.4f -> %.4f after 20 steps", pith_zoo[m].name, first, last);
        pith_optim_free(o);
        pith_graph_free(g);
    }
}

static void test_zoo_fmnist_cnn_shape(void **state)
{
    (void)state;
    /* hand count: conv1 144, bn1 32, conv2 4608, bn2 64, fc1 1568*128+128, fc2 1290 */
    pith_graph *g;
    CHECK_OK(pith_zoo_build("fmnist-cnn", 1, 28, 28, 10, 1, &g));
    assert_int_equal(pith_graph_params(g, 1), 206970);
    /* 16*28*28*9 + 32*14*14*144 + 1568*128 + 128*10 */
    assert_int_equal(pith_graph_macs(g), 112896 + 903168 + 200704 + 1280);
    assert_int_equal(pith_graph_bytes(g), 4 * (206970 + 2 * 48));
    pith_graph_free(g);
    assert_int_not_equal(pith_zoo_build("nope", 1, 28, 28, 10, 1, &g), 0);
    CHECK_ERROR_HAS("the zoo has");
}

/* Fashion-MNIST subsets shared by the tests below. */
static pith_dataset train_small, test_small;

static int setup_data(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        return 0;
    pith_dataset tr, te;
    if (pith_dataset_load_dir(PITH_FMNIST_DIR, "train", PITH_FMNIST_MEAN, PITH_FMNIST_STD, &tr) ||
        pith_dataset_load_dir(PITH_FMNIST_DIR, "test", PITH_FMNIST_MEAN, PITH_FMNIST_STD, &te))
        return -1;
    int rc = pith_dataset_subset(&tr, 0, 2000, &train_small) |
             pith_dataset_subset(&te, 0, 2000, &test_small);
    pith_dataset_free(&tr);
    pith_dataset_free(&te);
    return rc;
}

static int teardown_data(void **state)
{
    (void)state;
    pith_dataset_free(&train_small);
    pith_dataset_free(&test_small);
    return 0;
}

/* Trains fmnist-cnn on the 2,000-image subset; returns the graph and trainer. */
static pith_trainer *train_run(int epochs, int stop_after, pith_graph **g_out, int threads)
{
    pith_set_threads(threads);
    pith_graph *g;
    CHECK_OK(pith_zoo_build("fmnist-cnn", 1, 28, 28, 10, 5, &g));
    pith_train_config c = pith_train_defaults();
    c.epochs = epochs;
    c.stop_after = stop_after;
    c.seed = 5;
    c.aug.crop_pad = 1; /* exercise seeded augmentation too */
    pith_trainer *t;
    CHECK_OK(pith_trainer_create(&t, g, &c, &train_small, &test_small));
    CHECK_OK(pith_trainer_run(t));
    *g_out = g;
    return t;
}

static void assert_same_params(const pith_graph *a, const pith_graph *b)
{
    for (int i = 0; i < a->n_nodes; i++)
        for (int j = 0; j < a->nodes[i].n_params; j++)
            if (memcmp(a->nodes[i].params[j].data, b->nodes[i].params[j].data,
                       a->nodes[i].params[j].size * sizeof(float)))
                fail_msg("%s.%s differs", a->nodes[i].name, a->nodes[i].params[j].name);
}

static void test_short_run_accuracy(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    pith_graph *g;
    pith_trainer *t = train_run(3, 0, &g, 2);
    double acc = t->history[t->n_history - 1].test_top1;
    print_message("  2,000 images, 3 epochs: test top-1 (2,000 test images) %.2f%%\n", 100 * acc);
    assert_true(acc > 0.75);
    assert_true(t->history[2].train_loss < t->history[0].train_loss);
    pith_trainer_free(t);
    pith_graph_free(g);
}

static void test_determinism_and_resume(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    /* the same run twice on one thread: identical */
    pith_graph *a, *b, *c;
    pith_trainer *ta = train_run(3, 0, &a, 1);
    pith_trainer *tb = train_run(3, 0, &b, 1);
    assert_same_params(a, b);
    /* and on two and three threads: every split is fixed by the shapes
     * (conv sums its weight gradient over fixed image chunks, linear cuts its
     * GEMMs into fixed pieces, OpenBLAS stays on one thread), so the thread
     * count does not change a bit, on any CPU's GEMM kernels */
    for (int threads = 2; threads <= 3; threads++) {
        pith_graph *e;
        pith_trainer *te = train_run(3, 0, &e, threads);
        print_message("  %d threads: weights equal to 1 thread's, bit for bit\n", threads);
        assert_same_params(a, e);
        pith_trainer_free(te);
        pith_graph_free(e);
    }
    /* 2 epochs, save, load, 1 more: identical to 3 in one go */
    pith_trainer *tc = train_run(3, 2, &c, 1);
    pith_ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.model, sizeof meta.model, "fmnist-cnn");
    meta.epoch = tc->epoch;
    meta.step = tc->step;
    meta.mean = PITH_FMNIST_MEAN;
    meta.std = PITH_FMNIST_STD;
    meta.classes = 10;
    const char *path = tu_path("resume.h5");
    CHECK_OK(pith_checkpoint_save(path, c, &meta, &tc->cfg, tc->opt, tc->history, tc->n_history));
    pith_trainer_free(tc);
    pith_graph_free(c);

    pith_graph *d;
    pith_ckpt_meta m2;
    pith_train_config cfg;
    int has = 0;
    CHECK_OK(pith_checkpoint_load(path, &d, &m2, &cfg, &has, NULL, NULL, 0));
    assert_int_equal(has, 1);
    cfg.stop_after = 0;
    pith_trainer *td;
    CHECK_OK(pith_trainer_create(&td, d, &cfg, &train_small, &test_small));
    CHECK_OK(pith_checkpoint_load_optim(path, td->opt, d));
    td->epoch = m2.epoch;
    td->step = m2.step;
    CHECK_OK(pith_trainer_run(td));
    assert_int_equal(td->epoch, 3);
    assert_same_params(a, d);
    pith_trainer_free(ta);
    pith_trainer_free(tb);
    pith_trainer_free(td);
    pith_graph_free(a);
    pith_graph_free(b);
    pith_graph_free(d);
}

static void test_nan_loss_stops(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    pith_graph *g;
    CHECK_OK(pith_zoo_build("mlp", 1, 28, 28, 10, 5, &g));
    /* a poisoned weight makes the very first loss NaN */
    pith_param *w = &g->nodes[pith_graph_find(g, "fc3")].params[0];
    w->data[0] = NAN;
    pith_train_config c = pith_train_defaults();
    c.epochs = 1;
    pith_trainer *t;
    CHECK_OK(pith_trainer_create(&t, g, &c, &train_small, NULL));
    float before = w->data[1];
    assert_int_equal(pith_trainer_run(t), PITH_ENUM);
    CHECK_ERROR_HAS("NaN");
    CHECK_ERROR_HAS("epoch 1, step 1");
    assert_float_equal(w->data[1], before, 0); /* no update happened */
    assert_int_equal(t->n_history, 0);
    pith_trainer_free(t);
    pith_graph_free(g);
}

/* Network slimming: one step with the L1 penalty on batchnorm scales moves
 * each gamma by exactly -lr * lambda * sign(gamma) more than without it
 * (plain SGD, no momentum or decay; every other parameter is unchanged). */
static void test_bn_l1_step(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    pith_graph *g[2];
    pith_dataset one;
    CHECK_OK(pith_dataset_subset(&train_small, 0, 64, &one));
    for (int r = 0; r < 2; r++) {
        CHECK_OK(pith_zoo_build("fmnist-cnn-slim", 1, 28, 28, 10, 9, &g[r]));
        pith_param *gm = pith_node_param(&g[r]->nodes[pith_graph_find(g[r], "bn1")], "weight");
        gm->data[3] = -0.5f; /* a negative scale shrinks towards zero too */
        pith_train_config c = pith_train_defaults();
        c.epochs = 1;
        c.batch = 64;
        c.lr = 0.1f;
        c.sched = PITH_SCHED_CONSTANT;
        c.optim.momentum = 0.0f;
        c.optim.weight_decay = 0.0f;
        c.bn_l1 = r ? 0.01f : 0.0f;
        pith_trainer *t;
        CHECK_OK(pith_trainer_create(&t, g[r], &c, &one, NULL));
        CHECK_OK(pith_trainer_run(t));
        pith_trainer_free(t);
    }
    int bns = 0;
    for (int i = 0; i < g[0]->n_nodes; i++)
        for (int j = 0; j < g[0]->nodes[i].n_params; j++) {
            const pith_param *a = &g[0]->nodes[i].params[j], *b = &g[1]->nodes[i].params[j];
            int gamma = !strcmp(g[0]->nodes[i].op->name, "batchnorm") && j == 0;
            bns += gamma;
            for (size_t k = 0; k < a->size; k++) {
                double want = gamma ? -0.1 * 0.01 * (a->data[k] + 0.1 * 0.01 > 0 ? 1 : -1) : 0.0;
                if (fabs((double)b->data[k] - a->data[k] - want) > 2e-6)
                    fail_msg("%s.%s[%zu]: %g vs %g without the penalty", g[0]->nodes[i].name, a->name, k,
                             (double)b->data[k], (double)a->data[k]);
            }
        }
    assert_int_equal(bns, 2);
    pith_graph_free(g[0]);
    pith_graph_free(g[1]);
    pith_dataset_free(&one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zoo_fmnist_cnn_shape),
        cmocka_unit_test(test_zoo_models_learn),
        cmocka_unit_test(test_short_run_accuracy),
        cmocka_unit_test(test_determinism_and_resume),
        cmocka_unit_test(test_nan_loss_stops),
        cmocka_unit_test(test_bn_l1_step),
    };
    return cmocka_run_group_tests(tests, setup_data, teardown_data);
}
