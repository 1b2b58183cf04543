/* Distillation loss: its gradient against central finite differences, and
 * the limits that pin it down (alpha = 0 is plain cross-entropy; equal
 * logits give zero divergence). */
#include <math.h>
#include <stdlib.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kd_gradient),
        cmocka_unit_test(test_kd_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
