/* Distillation loss: its gradient against central finite differences, and
 * the limits that pin it down (alpha = 0 is plain cross-entropy; equal
 * logits give zero divergence). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/zoo.h"

#include "../core/loss.h"
#include "../distill/distill.h"
#include "testutil.h"

static void test_kd_gradient(void **state)
{
    (void)state;
    enum { N = 3, K = 5 };
    float zs[N * K], zt[N * K], grad[N * K];
    const int y[N] = {1, 4, 0};
    tu_fill(zs, N * K, -3, 3, 1);
    tu_fill(zt, N * K, -3, 3, 2);
    const float Ts[3] = {1.0f, 2.0f, 4.0f}, alphas[3] = {0.0f, 0.5f, 0.9f};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double L = pith_kd_loss(zs, zt, y, N, K, Ts[b], alphas[a], grad);
            assert_true(isfinite(L) && L >= 0);
            for (int i = 0; i < N * K; i++) {
                float keep = zs[i];
                const float h = 1e-2f;
                zs[i] = keep + h;
                double up = pith_kd_loss(zs, zt, y, N, K, Ts[b], alphas[a], NULL);
                zs[i] = keep - h;
                double dn = pith_kd_loss(zs, zt, y, N, K, Ts[b], alphas[a], NULL);
                zs[i] = keep;
                double fd = (up - dn) / (2 * h);
                if (fabs(fd - grad[i]) > 2e-3 * fmax(1.0, fabs(fd)))
                    fail_msg("T %g alpha %g: dL/dz[%d] = %g, finite differences %g", (double)Ts[b], (double)alphas[a],
                             i, (double)grad[i], fd);
            }
        }
}

static void test_kd_limits(void **state)
{
    (void)state;
    enum { N = 4, K = 10 };
    float zs[N * K], zt[N * K], g1[N * K], g2[N * K];
    const int y[N] = {3, 0, 9, 5};
    tu_fill(zs, N * K, -2, 2, 3);
    tu_fill(zt, N * K, -2, 2, 4);
    /* T = 1, alpha = 0: cross-entropy, value and gradient */
    double kd = pith_kd_loss(zs, zt, y, N, K, 1.0f, 0.0f, g1);
    double ce = pith_softmax_cross_entropy(zs, y, N, K, 0.0f, g2);
    assert_float_equal(kd, ce, 1e-12);
    for (int i = 0; i < N * K; i++)
        assert_float_equal(g1[i], g2[i], 0);
    /* alpha = 1 and the teacher equal to the student: no divergence, no gradient */
    kd = pith_kd_loss(zs, zs, y, N, K, 3.0f, 1.0f, g1);
    assert_float_equal(kd, 0.0, 1e-12);
    for (int i = 0; i < N * K; i++)
        assert_float_equal(g1[i], 0.0f, 1e-7);
    /* alpha = 1 is T^2 times the batch-mean KL, computed here directly */
    double want = 0;
    for (int i = 0; i < N; i++) {
        double ps[K], pt[K], ss = 0, st = 0;
        for (int j = 0; j < K; j++) {
            ss += ps[j] = exp(zs[i * K + j] / 2.0);
            st += pt[j] = exp(zt[i * K + j] / 2.0);
        }
        for (int j = 0; j < K; j++)
            want += pt[j] / st * log((pt[j] / st) / (ps[j] / ss));
    }
    want = 4.0 * want / N;
    assert_float_equal(pith_kd_loss(zs, zt, y, N, K, 2.0f, 1.0f, NULL), want, 1e-9);
}

/* The teacher-logit cache serves exactly the logits the teacher computes:
 * a batch of cached images gives the loss and gradient of running the
 * teacher on it; augmented batches and unknown indices bypass the cache. */
static void test_teacher_cache(void **state)
{
    (void)state;
    enum { IMG = 28 * 28, NIMG = 12, K = 10 };
    pith_graph *t = NULL;
    CHECK_OK(pith_zoo_build("mlp", 1, 28, 28, K, 7, &t));
    CHECK_OK(pith_graph_compile(t, 8));
    pith_graph_set_training(t, 0);
    float *images = malloc(sizeof(float) * NIMG * IMG), in[8 * IMG], zs[8 * K], g1[8 * K], g2[8 * K];
    assert_non_null(images);
    tu_fill(images, NIMG * IMG, -1, 2, 11);
    tu_fill(zs, 8 * K, -3, 3, 12);
    int y[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    pith_distill cached = {.teacher = t, .T = 3.0f, .alpha = 0.7f}, plain = {.teacher = t, .T = 3.0f, .alpha = 0.7f};
    CHECK_OK(pith_distill_cache_init(&cached, NIMG, K));
    const int first[4] = {3, 5, 7, 0}, again[3] = {5, 0, 3};
    for (int i = 0; i < 4; i++)
        memcpy(in + i * IMG, images + first[i] * IMG, sizeof(float) * IMG);
    double a = pith_distill_loss(&cached, in, zs, y, first, 0, 4, K, g1);
    double b = pith_distill_loss(&plain, in, zs, y, first, 0, 4, K, g2);
    assert_true(isfinite(a));
    assert_float_equal(a, b, 0);
    assert_int_equal(cached.teacher_images, 4);
    assert_int_equal(cached.cached_images, 0);
    for (int i = 0; i < 3; i++)
        memcpy(in + i * IMG, images + again[i] * IMG, sizeof(float) * IMG);
    a = pith_distill_loss(&cached, in, zs, y, again, 0, 3, K, g1);
    b = pith_distill_loss(&plain, in, zs, y, again, 0, 3, K, g2);
    assert_int_equal(cached.teacher_images, 4);
    assert_int_equal(cached.cached_images, 3);
    assert_float_equal(a, b, 1e-6 * fabs(b));
    for (int i = 0; i < 3 * K; i++)
        assert_float_equal(g1[i], g2[i], 1e-6);
    /* augmented: the stored logits are for other pixels; the teacher runs */
    pith_distill_loss(&cached, in, zs, y, again, 1, 3, K, g1);
    assert_int_equal(cached.teacher_images, 7);
    /* an index outside the training set is never trusted */
    const int bad[1] = {NIMG};
    pith_distill_loss(&cached, in, zs, y, bad, 0, 1, K, g1);
    assert_int_equal(cached.teacher_images, 8);
    assert_int_equal(cached.cached_images, 3);
    pith_distill_free(&cached);
    pith_graph_free(t);
    free(images);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kd_gradient),
        cmocka_unit_test(test_kd_limits),
        cmocka_unit_test(test_teacher_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
