/* Inside the stage runner (run.c and the stage_*.c files): the state a run's
 * stages share, one function per stage kind, and the stage cache. */
#ifndef PITH_EXPERIMENTS_STAGES_H
#define PITH_EXPERIMENTS_STAGES_H

#include <stdio.h>

#include "../core/checkpoint.h"
#include "../core/dataset.h"
#include "../core/graph.h"
#include "../core/train.h"
#include "config.h"
#include "results.h"

typedef struct exp_run_state {
    const exp_config *cfg;
    const char *dir;              /* runs/<experiment>/<run-id> */
    const char *cache;            /* the stage cache folder, NULL: off */
    FILE *log;                    /* the run's log.txt */
    FILE *progress;               /* NULL: quiet */
    pith_dataset train, evalset, test; /* empty when a checkpoint's model comes without data */
    pith_dataset calib;           /* dataset.calib's images, empty if none */
    const pith_ckpt_meta *origin; /* model.checkpoint's metadata (its input's preprocessing), NULL: zoo */
    pith_graph *g;                /* the model as the stages have made it so far */
    pith_train_config last_train; /* fine-tuning starts from the last recipe */
    char exported[2300];          /* the last export stage's file, "" : none yet */
    exp_row *row;                 /* what the stages measured */
} exp_run_state;

/* Stage i of s->cfg, of the kind each name says. */
int exp_stage_train(exp_run_state *s, int i); /* train, finetune and distill */
int exp_stage_eval(exp_run_state *s, int i);
int exp_stage_quantize(exp_run_state *s, int i);
int exp_stage_prune(exp_run_state *s, int i);
int exp_stage_lowrank(exp_run_state *s, int i);
int exp_stage_export(exp_run_state *s, int i);
int exp_stage_bench(exp_run_state *s, int i);
int exp_stage_sensitivity(exp_run_state *s, int i);

/* A training stage's recipe with the run-wide data settings (seed, subset,
 * hold-out, augmentation), which the config keeps outside the stages. */
pith_train_config exp_stage_recipe(const exp_config *cfg, const exp_stage *st);
/* What stage i writes into the run's folder: "<dir>/stage<i+1>-<what>"
 * (what: "train.h5", "eval.json", ...). */
void exp_stage_file(const exp_run_state *s, int i, const char *what, char *buf, size_t len);
/* The checkpoint metadata of a model made by stage i. */
void exp_stage_meta(const exp_run_state *s, int i, pith_ckpt_meta *m);

/* The stage cache (stage_cache.c): runs that share a config prefix and seed
 * reuse the checkpoint of that prefix's last training stage. */
int exp_cacheable(exp_stage_kind k);
void exp_cache_path(const char *cache, const exp_config *cfg, int i, char *buf, size_t len);
void exp_cache_store(const char *cache, const char *src, const char *dst);
/* The last stage whose result is in the cache (its checkpoint in path), or -1. */
int exp_cache_lookup(const exp_config *cfg, const char *cache, char *path, size_t len);

#endif
