/* Training and evaluation loops over a compiled graph. */
#ifndef PITH_TRAIN_H
#define PITH_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "dataset.h"
#include "graph.h"
#include "metrics.h"
#include "optim.h"
#include "schedule.h"

typedef struct pith_train_config {
    int epochs;              /* length of the schedule */
    int stop_after;          /* stop after this many epochs in total (0: at `epochs`) */
    int batch;
    float lr, min_lr;
    pith_sched_kind sched;
    int step_epochs;         /* step schedule: decay every this many epochs */
    float gamma;
    int warmup_epochs;
    pith_optim_config optim;
    float label_smoothing;
    float bn_l1;             /* network slimming: L1 penalty on every batchnorm's scale (gamma) */
    pith_augment aug;
    uint64_t seed;
    /* Data selection, kept with the recipe so a resumed run sees the same data. */
    int subset;              /* train on the first `subset` images (0: all) */
    int val;                 /* hold out `val` random images for per-epoch evaluation */
} pith_train_config;

pith_train_config pith_train_defaults(void);
/* Checks ranges; the message names the field. */
int pith_train_config_check(const pith_train_config *c);

typedef struct pith_epoch_record {
    int epoch;
    double lr;               /* rate at the last step of the epoch */
    double train_loss, train_acc;
    double test_loss, test_top1, test_top5;
    double seconds;          /* training loop only */
    double img_per_s;
} pith_epoch_record;

#define PITH_MAX_EPOCHS 10000

typedef struct pith_trainer pith_trainer;
typedef int (*pith_epoch_hook)(pith_trainer *t, const pith_epoch_record *r, void *user);

struct pith_trainer {
    pith_graph *g;
    pith_optim *opt;
    pith_train_config cfg;
    const pith_dataset *train, *test;
    int epoch;               /* epochs completed */
    int64_t step;            /* optimizer steps completed */
    int n_history;
    pith_epoch_record history[PITH_MAX_EPOCHS];
    int *perm, *labels;
    FILE *progress;          /* NULL: silent */
    pith_epoch_hook on_epoch;
    void *user;
    /* Optional: a loss instead of cross-entropy (distillation). Given the
     * batch's input, the model's logits [n, k] and each row's index in the
     * training set, returns the mean loss and writes its gradient with
     * respect to the logits. augmented tells whether the input is a random
     * transform of the stored image (so that per-image results cannot be
     * reused across epochs). */
    double (*loss)(void *loss_user, const float *input, const float *logits, const int *labels,
                   const int *index, int augmented, int n, int k, float *grad);
    void *loss_user;
    /* Optional: called after every optimizer step (pruning schedules). */
    int (*on_step)(pith_trainer *t, void *step_user);
    void *step_user;
};

/* Compiles g for cfg->batch and creates the optimizer. The trainer does not
 * own g or the datasets. */
int pith_trainer_create(pith_trainer **t, pith_graph *g, const pith_train_config *cfg,
                        const pith_dataset *train, const pith_dataset *test);
void pith_trainer_free(pith_trainer *t);
/* Runs epochs from t->epoch to stop_after (or epochs), evaluating on the test
 * set after each and calling on_epoch (which saves a checkpoint, say). A
 * non-finite loss stops with PITH_ENUM before the optimizer touches the
 * weights of that step. */
int pith_trainer_run(pith_trainer *t);
int pith_trainer_epoch(pith_trainer *t, pith_epoch_record *rec);
pith_schedule pith_trainer_schedule(const pith_trainer *t);

/* Evaluates g (in eval mode) over ds; g must be compiled. m must be initialised
 * with the number of classes of g's output. */
int pith_evaluate(pith_graph *g, const pith_dataset *ds, pith_metrics *m, FILE *progress);

/* Test-set accuracy of g (compiled again for `batch` images first when batch > 0);
 * top5 and loss may be NULL. */
int pith_test_accuracy(pith_graph *g, const pith_dataset *test, int batch, double *top1, double *top5, double *loss);
/* The recipe for fine-tuning after a compression step: the checkpoint's (or
 * the defaults), `epochs` epochs, lr given or the recipe's / divisor, cosine
 * to zero, no warm-up, all the training data. */
pith_train_config pith_finetune_config(const pith_train_config *base, int epochs, float lr, float divisor);


#endif
