/* results/runs.tsv: one row per finished (or failed) run, tab-separated with a
 * header line, appended under an exclusive lock so concurrent runs never
 * interleave or lose a row. */
#ifndef PITH_EXPERIMENTS_RESULTS_H
#define PITH_EXPERIMENTS_RESULTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct exp_row {
    char experiment[64], run_id[32], config_hash[20];
    uint64_t seed;
    char git_commit[48];
    int git_dirty;
    char date[32], host[128], model[64], input[32], stages[128];
    int64_t params, nonzero_params, macs, bytes;
    double top1, top5, latency_ms, peak_mem_kb; /* NAN: not measured */
    /* a bench stage's figures: batch 0 and NAN when the run has none */
    int batch;
    double fps, energy_uj;                     /* energy: an estimate (export/bench.h says how) */
    int64_t pith_bytes;                        /* the exported file, 0: none */
    char bench_on[96];                         /* "avx512 kernels, 1 thread, 100 runs" */
    char hardware[128];                        /* the config's hardware.name, "" : this host */
    double price_usd;                          /* hardware.price, NAN: not given */
    char knobs[1024];
    char status[16];                            /* ok | failed */
    char error[512];
} exp_row;

/* The column names, tab-separated, without a newline. */
extern const char *const results_header;

/* Appends r; refuses (naming the file) a table whose header is not this
 * pith's, so that rows of two layouts never mix. */
int results_append(const char *path, const exp_row *r);
/* The run ids of the table's successful rows, as "\nid\nid\n" (malloc'd; "\n"
 * when there is no table yet); NULL on error. */
char *results_done_ids(const char *path);
int results_done_has(const char *ids, const char *run_id);
/* 1 if a row with this run id and status ok exists, 0 if not, <0 on error. */
int results_has_run(const char *path, const char *run_id);

#endif
