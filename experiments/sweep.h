/* Sweeps: a grid of experiment points (--param key=v1,v2,... and seeds over
 * one config), every point validated and given its run id before any runs;
 * run as parallel `pith run` processes, skipping points already in the
 * results table, or written as a Slurm job array with one task per point. */
#ifndef PITH_EXPERIMENTS_SWEEP_H
#define PITH_EXPERIMENTS_SWEEP_H

#include <stdio.h>

#define EXP_SWEEP_MAX_PARAMS 8
#define EXP_SWEEP_MAX_VALUES 64
#define EXP_SWEEP_MAX_POINTS 4096
#define EXP_SWEEP_MAX_FIXED 64

typedef struct exp_point {
    char *args[EXP_SWEEP_MAX_PARAMS + 2]; /* "key=value" knobs of this point, seed last */
    int n;
    char run_id[32];
    char label[512];
    const char *status; /* ok, failed, skipped */
    double top1;        /* NAN until it ran */
} exp_point;

typedef struct exp_sweep {
    const char *config;
    const char *const *fixed; /* --set overrides of every point */
    int n_fixed;
    char experiment[64];
    exp_point *pts;
    int n;
    char *store;
} exp_sweep;

/* The grid of params[n_params] ("key=v1,v2,...") times `seeds` seeds from the
 * config's; every point's config loaded (with fixed and its knobs) for its run id. */
int exp_sweep_build(const char *config, const char *const *fixed, int n_fixed, const char *const *params, int n_params,
                    int seeds, exp_sweep *sw);
void exp_sweep_free(exp_sweep *sw);

/* dir/sweep.sbatch (and dir/logs/): a job array running point i as task i
 * with the pith binary `pith` (its absolute path). */
int exp_sweep_emit_slurm(const exp_sweep *sw, const char *dir, const char *pith, const char *runs, const char *results,
                         char *script, size_t len);

typedef struct exp_sweep_counts {
    int run, skipped, failed;
    double seconds;
} exp_sweep_counts;

/* Runs the points not yet in `results`, `jobs` at once, each as
 * `pith run CONFIG --knob ... --threads threads --json` (pith: the binary);
 * a line per point on msg. Fills every point's status and top-1. */
int exp_sweep_run(exp_sweep *sw, const char *pith, const char *runs, const char *results, int jobs, int threads,
                  FILE *msg, exp_sweep_counts *counts);

#endif
