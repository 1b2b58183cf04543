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
    /* Teacher logits per training image, filled the first time each image is
     * seen and reused afterwards; only when the batches are not augmented
     * (the teacher is deterministic in evaluation mode). NULL: off. */
    float *cache;          /* [cache_n, k] */
    unsigned char *cached; /* [cache_n] */
    float *rows;           /* [teacher batch, k]: a cached batch gathered */
    int cache_n, cache_k;
    int64_t teacher_images, cached_images; /* images run through the teacher / served from the cache */
} pith_distill;

/* Turns on the per-image teacher-logit cache for a training set of n images
 * and k classes. */
int pith_distill_cache_init(pith_distill *d, int n, int k);
/* The distill step's setup, shared by pith distill and a config's distill
 * stage: the teacher compiled for `batch` in evaluation mode, and its logits
 * cached for the `images` training images when images > 0 (pass 0 when the
 * data is augmented: the teacher must see each augmented image). */
int pith_distill_setup(pith_distill *d, pith_graph *teacher, float T, float alpha, int batch, int images);
void pith_distill_free(pith_distill *d);

/* A pith_trainer loss hook: the teacher's logits for the batch (from the
 * cache when every image of the batch is in it and the batch is not
 * augmented, else by running the teacher) and pith_kd_loss. user is a
 * pith_distill. */
double pith_distill_loss(void *user, const float *input, const float *logits, const int *labels, const int *index,
                         int augmented, int n, int k, float *grad);

#endif
