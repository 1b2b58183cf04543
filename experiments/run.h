/* One experiment point: a config's stages run into
 * runs/<experiment>/<run-id>/ (config.yaml, provenance.json, log.txt, each
 * stage's checkpoint and measurements) and one row of the results table. */
#ifndef PITH_EXPERIMENTS_RUN_H
#define PITH_EXPERIMENTS_RUN_H

#include <stdio.h>

#include "config.h"
#include "results.h"

typedef struct exp_run_opts {
    const char *runs;        /* runs directory ("runs") */
    const char *results;     /* results table ("results/runs.tsv") */
    int use_cache;           /* start from the stage cache's checkpoint of a shared prefix */
    const char *const *knobs; /* the swept knobs to record (NULL: the config's --set overrides) */
    int n_knobs;
    FILE *progress;          /* NULL: quiet */
} exp_run_opts;

/* runs/<experiment>/<run-id> into dir[len]; PITH_EINVAL when it does not fit. */
int exp_run_dir(const exp_config *cfg, const char *runs, char *dir, size_t len);
/* Runs every stage of cfg and appends its row (status ok or failed, with the
 * error) to the results table; row receives what was recorded. Returns the
 * first failure: the stages', else the table's. */
int exp_run(const exp_config *cfg, const exp_run_opts *o, exp_row *row);

#endif
