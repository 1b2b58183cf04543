/* The quantize step shared by `pith quantize` and the `quantize` stage of
 * experiment configs. */
#ifndef PITH_QUANT_QUANTIZE_H
#define PITH_QUANT_QUANTIZE_H

#include <stdio.h>

#include "../core/checkpoint.h"
#include "../core/train.h"
#include "quant.h"

#define QUANT_MAX_PLAN 256

typedef struct quant_job {
    char method[16];          /* ptq, qat, kmeans, ternary, binary */
    int train;                /* the method fine-tunes */
    pith_quant_config q;
    pith_observer a_obs;
    float pct;
    int calib;
    int epochs;               /* -1: the method's default */
    float lr;                 /* 0: the checkpoint's learning rate / 10 */
    int mode_given;
    int freeze_bn;            /* QAT with BN kept: freeze (fold) it after this many epochs; -1 never */
    char plan[512];           /* YAML plan file, or "" */
} quant_job;

typedef struct quant_result {
    double float_top1, top1, top5, loss;
    int64_t float_bytes, bytes;
    int epochs;
    pith_train_config cfg;    /* the fine-tuning recipe */
    char layers[2048];        /* "conv1 int8 (first layer kept), conv2 ternary, ..." */
    pith_cle_report cle;      /* what cross-layer equalization did (j->q.cle) */
} quant_result;

void quant_job_defaults(quant_job *j);
/* Applies the method's defaults to what was not given; checks combinations. */
int quant_job_finish(quant_job *j);
/* Quantizes g (loaded from a float checkpoint with meta and its training
 * recipe base), calibrates, fine-tunes, evaluates on test; meta's metrics
 * are updated for the quantized model. Calibration takes j->calib images at
 * random (seeded) from calib_set (a list of representative images, all of
 * it when it has fewer), or from train when calib_set is NULL. */
int quant_run(pith_graph *g, pith_ckpt_meta *meta, const pith_train_config *base, quant_job *j,
              const pith_dataset *train, const pith_dataset *test, const pith_dataset *calib_set, FILE *progress,
              quant_result *r);
/* "w4a4", "w8-weight-only", "kmeans4", "ternary-a8": the format in a stage chain. */
void quant_job_label(const quant_job *j, char *buf, size_t len);
void quant_result_print(FILE *f, const quant_job *j, const quant_result *r);
/* "PTQ w8a8, per-channel weights, ...": the scheme in words. */
void quant_job_scheme(const quant_job *j, char *buf, size_t len);

/* Mixed-precision plans (YAML): layers: {NAME: {wbits: N|float, abits: N|float}}. */
int quant_plan_load(const char *path, pith_qlayer *layers, int max, int *n);

#endif
