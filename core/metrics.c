#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "loss.h"

int pith_metrics_init(pith_metrics *m, int classes)
{
    memset(m, 0, sizeof *m);
    if (classes < 1 || classes > 65536)
        return pith_error(PITH_EINVAL, "metrics: %d classes", classes);
    m->classes = classes;
    m->confusion = calloc((size_t)classes * classes, sizeof *m->confusion);
    if (!m->confusion)
        return pith_error(PITH_ENOMEM, "metrics: out of memory");
    return PITH_OK;
}

void pith_metrics_free(pith_metrics *m)
{
    free(m->confusion);
    memset(m, 0, sizeof *m);
}

void pith_metrics_reset(pith_metrics *m)
{
    m->n = m->top1 = m->top5 = 0;
    m->loss_sum = 0.0;
    memset(m->confusion, 0, (size_t)m->classes * m->classes * sizeof *m->confusion);
}

void pith_metrics_add(pith_metrics *m, const float *logits, const int *labels, int n)
{
    const int k = m->classes;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        int t = labels[i];
        /* Rank of the true class: how many classes score strictly higher
         * (ties resolved in favour of the lower index, like argmax). */
        int pred = 0, higher = 0;
        for (int j = 0; j < k; j++) {
            if (z[j] > z[pred])
                pred = j;
            if (z[j] > z[t] || (z[j] == z[t] && j < t))
                higher++;
        }
        m->top1 += pred == t;
        m->top5 += higher < 5;
        m->confusion[(size_t)t * k + pred]++;
        m->loss_sum += pith_softmax_cross_entropy(z, &t, 1, k, 0.0f, NULL);
    }
    m->n += n;
}

double pith_metrics_top1(const pith_metrics *m) { return m->n ? (double)m->top1 / m->n : NAN; }
double pith_metrics_top5(const pith_metrics *m) { return m->n ? (double)m->top5 / m->n : NAN; }
double pith_metrics_loss(const pith_metrics *m) { return m->n ? m->loss_sum / m->n : NAN; }

double pith_metrics_class_acc(const pith_metrics *m, int c)
{
    int64_t tot = 0;
    for (int j = 0; j < m->classes; j++)
        tot += m->confusion[(size_t)c * m->classes + j];
    return tot ? (double)m->confusion[(size_t)c * m->classes + c] / tot : NAN;
}
