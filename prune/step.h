/* The prune step of pith prune and of a config's prune stage, and the
 * per-layer sensitivity sweep of pith sensitivity: the whole technique, on a
 * loaded float graph, with the schedules and fine-tuning. Nothing here
 * prints but the progress lines written to `progress`. */
#ifndef PITH_PRUNE_STEP_H
#define PITH_PRUNE_STEP_H

#include <stdint.h>
#include <stdio.h>

#include "../core/dataset.h"
#include "../core/graph.h"
#include "../core/train.h"
#include "prune.h"

typedef enum { PITH_PRUNE_ONESHOT = 0, PITH_PRUNE_ITERATIVE, PITH_PRUNE_AGP } pith_prune_schedule;
const char *pith_prune_schedule_name(pith_prune_schedule s);
int pith_prune_schedule_parse(const char *s, pith_prune_schedule *out);

typedef struct pith_prune_job {
    int magnitude;                /* 0: structured channel pruning */
    pith_prune_criterion criterion; /* structured */
    float ratio;
    int taylor_images;
    float sparsity;               /* magnitude */
    pith_prune_gran granularity;
    pith_prune_schedule schedule; /* magnitude: oneshot (prune, fine-tune), iterative (3 rounds), agp */
    int epochs;                   /* fine-tuning epochs (iterative: over all rounds; agp: the schedule's) */
    float lr;                     /* 0: the recipe's / 10 */
    uint64_t seed;                /* random criterion, fine-tuning */
} pith_prune_job;

/* The defaults of pith prune: structured, l1, 1024 Taylor images, element
 * granularity, one shot, no fine-tuning (magnitude: 3 epochs), seed 1.
 * ratio and sparsity are -1: the caller must set the one it uses. */
pith_prune_job pith_prune_job_defaults(int magnitude);

typedef struct pith_prune_result {
    double top1_before, top1_pruned, top1; /* top1_pruned: after the (first) pruning, before any training; NAN for AGP */
    int channels_removed;
    int trained;
    pith_train_config cfg;        /* the fine-tuning recipe, when trained */
} pith_prune_result;

/* Prunes g per j, fine-tunes from `base` (NULL: the defaults) on train,
 * measuring on test (the test set, or a held-out split). Masks stay applied. */
int pith_prune_run(pith_graph *g, const pith_train_config *base, const pith_prune_job *j, const pith_dataset *train,
                   const pith_dataset *test, FILE *progress, pith_prune_result *r);

/* Per-layer sensitivity: for every prunable dependency group, a fresh model
 * (open(user, &g)) pruned in that group only at each of ratios[n_ratios],
 * no fine-tuning, top-1 on test. acc[row * n_ratios + r] and names[row] for
 * *n_rows rows; group[row] is the row's group index and channels[row] its
 * width. The arrays hold max_rows rows. */
typedef int (*pith_graph_open_fn)(void *user, pith_graph **g);
int pith_prune_sensitivity(pith_graph_open_fn open, void *user, pith_prune_criterion crit, const float *ratios,
                           int n_ratios, const pith_dataset *train, const pith_dataset *test, int max_rows,
                           double *base_top1, double *acc, char (*names)[PITH_NAME_MAX], int *channels, int *n_rows,
                           FILE *progress);

#endif
