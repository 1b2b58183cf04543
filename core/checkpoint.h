/* HDF5 checkpoints: graph, parameters (with BN statistics), optimizer state,
 * training configuration and metadata. The layout is documented in
 * docs/checkpoint.md; h5dump and h5py read it as is. */
#ifndef PITH_CHECKPOINT_H
#define PITH_CHECKPOINT_H

#include <stdint.h>

#include "../runtime/image.h"
#include "graph.h"
#include "optim.h"
#include "train.h"

#define PITH_CKPT_FORMAT "pith-checkpoint"
#define PITH_CKPT_VERSION 1

typedef struct pith_ckpt_meta {
    char model[64];
    char dataset[512];      /* directory the model was trained on */
    char command[1024];     /* command line that wrote the file */
    char created[32];       /* ISO 8601, UTC */
    uint64_t seed;
    int epoch;              /* epochs completed */
    int64_t step;           /* optimizer steps completed */
    float mean, std;        /* input normalisation: (x/255 - mean) / std */
    int norm_channels;      /* 0: mean, std for every channel; 1..4: per channel (below) */
    float norm_mean[4], norm_std[4];
    char labels[32768];     /* class names, each ending in '\n' ("" if none: the dataset's) */
    pithrt_preprocess pre;  /* how an image becomes the input: channel order, scale, resize */
    int classes;
    double top1, top5, test_loss; /* test metrics after the last epoch (NAN if none) */
} pith_ckpt_meta;

/* Writes to "<path>.tmp.<pid>" and renames, so a crash never leaves a broken
 * file at path. cfg, opt and hist may be NULL (an untrained or exported model). */
int pith_checkpoint_save(const char *path, pith_graph *g, const pith_ckpt_meta *meta,
                         const pith_train_config *cfg, const pith_optim *opt,
                         const pith_epoch_record *hist, int n_hist);

/* Rebuilds the graph and loads every parameter, checking each shape; the
 * first mismatch is named. cfg (if non-NULL) receives the training
 * configuration and *has_cfg whether the file has one. hist may be NULL. */
int pith_checkpoint_load(const char *path, pith_graph **g, pith_ckpt_meta *meta,
                         pith_train_config *cfg, int *has_cfg, pith_epoch_record *hist,
                         int *n_hist, int max_hist);

/* Loads the optimizer state into opt, created for the graph that
 * pith_checkpoint_load returned. Fails if the file has no state for it. */
/* 1 if the file holds optimizer state (a resume needs it), 0 if not, <0 if unreadable. */
int pith_checkpoint_has_optim(const char *path);
int pith_checkpoint_load_optim(const char *path, pith_optim *opt, const pith_graph *g);

#endif
