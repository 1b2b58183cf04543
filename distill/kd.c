#include <math.h>
#include <stdlib.h>
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

int pith_distill_cache_init(pith_distill *d, int n, int k)
{
    if (n <= 0 || k <= 0)
        return pith_error(PITH_EINVAL, "teacher cache: %d images of %d classes", n, k);
    if (!d->teacher || d->teacher->batch <= 0)
        return pith_error(PITH_EINVAL, "teacher cache: compile the teacher first");
    d->cache = malloc((size_t)n * k * sizeof *d->cache);
    d->cached = calloc((size_t)n, 1);
    d->rows = malloc((size_t)d->teacher->batch * k * sizeof *d->rows);
    if (!d->cache || !d->cached || !d->rows) {
        pith_distill_free(d);
        return pith_error(PITH_ENOMEM, "teacher cache: no memory for %d x %d logits", n, k);
    }
    d->cache_n = n;
    d->cache_k = k;
    return PITH_OK;
}

void pith_distill_free(pith_distill *d)
{
    free(d->cache);
    free(d->cached);
    free(d->rows);
    d->cache = NULL;
    d->cached = NULL;
    d->rows = NULL;
    d->cache_n = d->cache_k = 0;
}

double pith_distill_loss(void *user, const float *input, const float *logits, const int *labels, const int *index,
                         int augmented, int n, int k, float *grad)
{
    pith_distill *d = user;
    pith_graph *t = d->teacher;
    const pith_shape *os = pith_graph_output_shape(t);
    if (os->ndim != 1 || os->d[0] != k || n > t->batch) {
        pith_error(PITH_ESHAPE, "the teacher's output or batch does not match the student's");
        return NAN;
    }
    int use_cache = d->cache && index && !augmented && d->cache_k == k;
    for (int i = 0; use_cache && i < n; i++)
        use_cache = index[i] >= 0 && index[i] < d->cache_n;
    int all_cached = use_cache;
    for (int i = 0; all_cached && i < n; i++)
        all_cached = d->cached[index[i]];
    if (all_cached) {
        float *z = d->rows;
        for (int i = 0; i < n; i++)
            memcpy(z + (size_t)i * k, d->cache + (size_t)index[i] * k, (size_t)k * sizeof *z);
        d->cached_images += n;
        return pith_kd_loss(logits, z, labels, n, k, d->T, d->alpha, grad);
    }
    memcpy(pith_graph_input(t), input, pith_shape_size(&t->input_shape) * (size_t)n * sizeof(float));
    if (pith_graph_forward(t, n))
        return NAN;
    const float *z = pith_graph_output(t);
    d->teacher_images += n;
    for (int i = 0; use_cache && i < n; i++) {
        memcpy(d->cache + (size_t)index[i] * k, z + (size_t)i * k, (size_t)k * sizeof *z);
        d->cached[index[i]] = 1;
    }
    return pith_kd_loss(logits, z, labels, n, k, d->T, d->alpha, grad);
}

int pith_distill_setup(pith_distill *d, pith_graph *teacher, float T, float alpha, int batch, int images)
{
    memset(d, 0, sizeof *d);
    d->teacher = teacher;
    d->T = T;
    d->alpha = alpha;
    int rc = pith_graph_compile(teacher, batch);
    if (rc)
        return rc;
    pith_graph_set_training(teacher, 0);
    return images > 0 ? pith_distill_cache_init(d, images, pith_graph_output_shape(teacher)->d[0]) : PITH_OK;
}
