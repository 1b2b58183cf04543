/* Experiment configs (YAML, read with libyaml): dataset, model, seed and an
 * ordered list of stages. Every key is checked before anything runs; errors
 * name the file, the line, the key and what was allowed. */
#ifndef PITH_EXPERIMENTS_CONFIG_H
#define PITH_EXPERIMENTS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "../data/data.h"
#include "../runtime/image.h"

#include "../core/graph.h"
#include "../core/train.h"
#include "../prune/step.h"
#include "../quant/quantize.h"

#define EXP_MAX_STAGES 16
#define EXP_MAX_LAYERS 256
#define EXP_MAX_RATIOS 32

typedef enum {
    STAGE_TRAIN = 0,
    STAGE_EVAL,
    STAGE_QUANTIZE,
    STAGE_PRUNE,
    STAGE_FINETUNE,
    STAGE_DISTILL,
    STAGE_LOWRANK,
    STAGE_EXPORT,
    STAGE_BENCH,
    STAGE_SENSITIVITY,
    STAGE_KINDS
} exp_stage_kind;

/* The stage's word in configs and stage chains ("train", "export", ...). */
extern const char *const exp_stage_words[STAGE_KINDS];

typedef struct exp_stage {
    exp_stage_kind kind;
    int line;
    pith_train_config train; /* STAGE_TRAIN */
    int batch;               /* STAGE_EVAL: evaluation batch */
    quant_job quant;         /* STAGE_QUANTIZE */
    /* STAGE_PRUNE: the options of pith prune (seed: the config's unless given) */
    pith_prune_job prune;
    int prune_seed_given;
    /* STAGE_DISTILL: the train keys plus the teacher checkpoint, T and alpha */
    char teacher[512];
    float kd_T, kd_alpha;
    /* STAGE_LOWRANK: one rule, and optionally the layers */
    int lr_rank;
    float lr_energy, lr_macs_ratio;
    char lr_layers[256];
    int lr_finetune;         /* fine-tuning epochs afterwards (pith lowrank --finetune, default 0) */
    float lr_lr;             /* their learning rate, 0: the recipe's / 10 */
    /* STAGE_EXPORT: with_golden, embed the first test image and the workbench's output for it */
    int golden;
    /* STAGE_SENSITIVITY: pith sensitivity's sweep on the model as it stands */
    float sens_ratios[EXP_MAX_RATIOS];
    int n_sens_ratios;
    int sens_criterion;      /* pith_prune_criterion */
    /* STAGE_BENCH: the last exported file on this host's runtime */
    int threads, runs, warmup;
    char isa[16];            /* "" : the fastest this CPU runs */
    uint64_t prefix_key;     /* hash of the config up to and including this stage (see pith run's cache) */
} exp_stage;

/* One layer of a model written in the config. */
typedef struct exp_layer {
    char op[32];
    char name[PITH_NAME_MAX];
    char inputs[PITH_MAX_INPUTS][PITH_NAME_MAX]; /* empty: the previous layer */
    int n_inputs;
    pith_attrs a;
    int line;
} exp_layer;

typedef struct exp_config {
    char path[1024];
    char name[64];
    uint64_t seed;
    char data_dir[512];
    float mean, std;          /* dataset.mean / .std, 0-1 convention (per channel: norm_*) */
    int norm_channels;
    float norm_mean[4], norm_std[4];
    int input_c, input_h, input_w; /* dataset.input; 0: the data's */
    pithrt_preprocess pre;    /* dataset.order, .scale, .resize, .resample */
    int subset, val;
    pith_augment aug;
    char hardware[128];       /* hardware.name: what the bench figures stand for ("" : this host) */
    double price_usd;         /* hardware.price, NAN when not given */
    char model[64];           /* zoo name, "custom" with layers, or a checkpoint's name */
    char checkpoint[1024];    /* model: {checkpoint: PATH}: start from this pith checkpoint ("" : zoo or layers) */
    int data_given;           /* dataset.path was given (else a checkpoint's own dataset, if it names one) */
    int pre_given;            /* a key of the input's preprocessing was given (refused with a checkpoint) */
    char calib_path[512];     /* dataset.calib: images to calibrate on instead of the training set ("" : none) */
    exp_layer *layers;
    int n_layers;
    exp_stage stages[EXP_MAX_STAGES];
    int n_stages;
    char knobs[1024];         /* the --set overrides, "key=value;key=value" */
    char *resolved;           /* the config after overrides, as YAML */
    uint64_t hash;            /* FNV-1a of `resolved` */
    char run_id[32];          /* hash prefix + seed */
} exp_config;

/* Loads `path`, applies `key=value` overrides (dotted keys; a first key that
 * names a stage, e.g. train.epochs, reaches into that stage), validates. */
int exp_config_load(const char *path, const char *const *sets, int n_sets, exp_config *cfg);
/* The loader's options for the config's dataset: input, preprocessing,
 * normalisation, random crops. */
void exp_config_data_opts(const exp_config *cfg, pith_data_opts *o);
void exp_config_free(exp_config *cfg);
/* The stage chain, e.g. "train>eval". */
void exp_stage_chain(const exp_config *cfg, char *buf, size_t len);
/* Builds the configured model (zoo or layer list; not a checkpoint, which
 * the stage runner loads). */
int exp_build_model(const exp_config *cfg, int c, int h, int w, int classes, pith_graph **g);

#endif
