/* Classification metrics: top-1/top-5, per-class accuracy, confusion matrix. */
#ifndef PITH_METRICS_H
#define PITH_METRICS_H

#include <stdint.h>

typedef struct pith_metrics {
    int classes;
    int64_t n;
    int64_t top1, top5;      /* counts of correct predictions */
    double loss_sum;         /* sum of per-sample cross-entropy */
    int64_t *confusion;      /* classes x classes, [true][predicted] */
} pith_metrics;

int pith_metrics_init(pith_metrics *m, int classes);
void pith_metrics_free(pith_metrics *m);
void pith_metrics_reset(pith_metrics *m);
/* Adds a batch of logits [n, classes]. */
void pith_metrics_add(pith_metrics *m, const float *logits, const int *labels, int n);
double pith_metrics_top1(const pith_metrics *m);
double pith_metrics_top5(const pith_metrics *m);
double pith_metrics_loss(const pith_metrics *m);
/* Recall of class c (correct / samples of c); NAN when the class has no samples. */
double pith_metrics_class_acc(const pith_metrics *m, int c);

#endif
