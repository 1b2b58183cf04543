/* Knowledge distillation (Hinton et al. 2015): the student learns from the
 * teacher's softened outputs and from the labels,
 *   L = alpha * T^2 * KL(softmax(z_t / T) || softmax(z_s / T)) + (1 - alpha) * CE(z_s, y),
 * the KL averaged over the batch (PyTorch's "batchmean"). The teacher is any
 * checkpoint's graph, run in evaluation mode on the same batch. */
#ifndef PITH_DISTILL_H
#define PITH_DISTILL_H

#include "../core/graph.h"

/* The loss over n samples of k classes; grad (may be NULL) receives dL/dz_s. */
double pith_kd_loss(const float *student, const float *teacher, const int *labels, int n, int k, float T,
                    float alpha, float *grad);

typedef struct pith_distill {
    pith_graph *teacher;   /* compiled for at least the student's batch */
    float T, alpha;
} pith_distill;

/* A pith_trainer loss hook: runs the teacher on the batch's input and
 * returns pith_kd_loss. user is a pith_distill. */
double pith_distill_loss(void *user, const float *input, const float *logits, const int *labels, int n, int k,
                         float *grad);

#endif
