#include <math.h>
#include <string.h>

#include "../core/error.h"
#include "../core/loss.h"
#include "distill.h"

/* softmax(z / T) of one row into p, in double for the logs */
static void soft(const float *z, int k, float T, double *p)
{
    double mx = -INFINITY, s = 0.0;
    for (int j = 0; j < k; j++)
        mx = fmax(mx, (double)z[j] / T);
    for (int j = 0; j < k; j++)
        s += p[j] = exp((double)z[j] / T - mx);
    for (int j = 0; j < k; j++)
        p[j] /= s;
}

double pith_kd_loss(const float *student, const float *teacher, const int *labels, int n, int k, float T,
                    float alpha, float *grad)
{
    double ce = 0.0;
    if (alpha < 1.0f)
        ce = pith_softmax_cross_entropy(student, labels, n, k, 0.0f, grad);
    else if (grad)
        memset(grad, 0, (size_t)n * k * sizeof *grad);
    if (!isfinite(ce))
        return ce;
    double kl = 0.0, ps[1024], pt[1024];
    if (k > 1024)
        return NAN;
    for (int i = 0; i < n; i++) {
        const float *zs = student + (size_t)i * k, *zt = teacher + (size_t)i * k;
        soft(zs, k, T, ps);
        soft(zt, k, T, pt);
        for (int j = 0; j < k; j++) {
            if (pt[j] > 0.0)
                kl += pt[j] * (log(pt[j]) - log(fmax(ps[j], 1e-300)));
            if (grad) {
                /* d/dz_s of alpha T^2 KL / n is alpha T (p_s - p_t) / n; the CE part is already (1-alpha)-free */
                float *gj = grad + (size_t)i * k + j;
                *gj = (1.0f - alpha) * *gj + (float)(alpha * T * (ps[j] - pt[j]) / n);
            }
        }
    }
    return alpha * (double)T * T * kl / n + (1.0 - alpha) * ce;
}

double pith_distill_loss(void *user, const float *input, const float *logits, const int *labels, int n, int k,
                         float *grad)
{
    pith_distill *d = user;
    pith_graph *t = d->teacher;
    const pith_shape *os = pith_graph_output_shape(t);
    if (os->ndim != 1 || os->d[0] != k || n > t->batch) {
        pith_error(PITH_ESHAPE, "the teacher's output or batch does not match the student's");
        return NAN;
    }
    memcpy(pith_graph_input(t), input, pith_shape_size(&t->input_shape) * (size_t)n * sizeof(float));
    if (pith_graph_forward(t, n))
        return NAN;
    return pith_kd_loss(logits, pith_graph_output(t), labels, n, k, d->T, d->alpha, grad);
}
