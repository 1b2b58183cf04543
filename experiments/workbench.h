/* The workbench's common ground under every command and config stage:
 * datasets, checkpoints with their quantizers and masks, and the float-model
 * prologue of the compression steps. Nothing here prints. */
#ifndef PITH_EXPERIMENTS_WORKBENCH_H
#define PITH_EXPERIMENTS_WORKBENCH_H

#include <stddef.h>
#include <stdint.h>

#include "../core/checkpoint.h"
#include "../core/dataset.h"
#include "../core/graph.h"
#include "../core/train.h"
#include "../data/data.h"
#include "../export/export.h"

/* "2026-12-03T06:12:22Z" */
void exp_utc_now(char *buf, size_t len);
/* The data options a model implies: its graph's input size, and its
 * checkpoint's preprocessing, normalisation and class names (g may be NULL). */
void exp_data_opts(const pith_ckpt_meta *meta, const pith_graph *g, pith_data_opts *o);
/* Loads the train or test split of `dir` (data/data.h says what it may be;
 * empty: Fashion-MNIST). */
int exp_load_split(const char *dir, const char *split, const pith_data_opts *o, pith_dataset *ds);
/* The test split of `dir`; for data without one (one class tree, a list),
 * when held_out, the images training held out with that seed (the data a
 * checkpoint names), else all of it (a folder given to evaluate). */
int exp_load_test(const char *dir, int held_out, const pith_data_opts *o, uint64_t seed, pith_dataset *test);
/* Train and test splits with the first `subset` training images (0: all) and
 * `val` of them held out at random (seed) as `evalset` (left empty if val is
 * 0). Data without a test split (one class tree, a list) has 1 in 10 of its
 * images held out as the test set. The test split is prepared for
 * evaluation even when o->train_crop is set. */
int exp_load_data(const char *dir, const pith_data_opts *o, int subset, int val, uint64_t seed,
                  pith_dataset *train, pith_dataset *evalset, pith_dataset *test);
/* Loads a checkpoint and re-attaches its quantizers (cfg and has_cfg may be NULL). */
int exp_load_checkpoint(const char *path, pith_graph **g, pith_ckpt_meta *meta, pith_train_config *cfg,
                        int *has_cfg);
/* The same for pith train --resume, with the per-epoch history: refuses, and
 * says what the file is, when it has no recipe or optimizer state. */
int exp_load_resumable(const char *path, pith_graph **g, pith_ckpt_meta *meta, pith_train_config *cfg,
                       pith_epoch_record *hist, int *n_hist, int max_hist);
/* The prologue of the compression commands (prune, lowrank, quantize,
 * sensitivity): a float checkpoint with its training recipe (a quantized one
 * is refused with "PATH is <if_quantized>", e.g. "quantized: prune the float
 * model, then quantize"), and the train and test splits of the dataset its
 * metadata names, or of `data`. */
typedef struct exp_float_model {
    pith_graph *g;
    pith_ckpt_meta meta;
    pith_train_config base;
    int has_cfg;                  /* base is the checkpoint's recipe (else the defaults) */
    pith_dataset train, test;
} exp_float_model;

int exp_open_float(const char *path, const char *data, uint64_t seed, const char *if_quantized, exp_float_model *fm);
/* The same without the data (train and test stay empty). */
int exp_open_float_model(const char *path, const char *if_quantized, exp_float_model *fm);
void exp_float_model_free(exp_float_model *fm);

/* Class name for printing: Fashion-MNIST's names when the data is Fashion-MNIST. */
const char *exp_class_name(const char *dataset, int classes, int c, char *buf, size_t len);
/* The model's own name for class c when its checkpoint has class names, else the above. */
const char *exp_model_class_name(const pith_ckpt_meta *meta, const char *dataset, int classes, int c, char *buf,
                                 size_t len);
/* The export step of pith export and of a config's export stage: g to the
 * .pith file `out` with the input normalisation, the dataset's class names
 * (dataset NULL or "": none) and, when golden_in is given, that one normalised
 * image and the workbench's output for it. */
int exp_export(pith_graph *g, const char *dataset, float mean, float std, const pith_ckpt_meta *meta,
               const float *golden_in, const char *out, pith_export_report *rep);

#endif
