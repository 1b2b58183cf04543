/* Shared pieces of the pith command. Only cli/ prints and picks exit codes. */
#ifndef PITH_CLI_H
#define PITH_CLI_H

#include <getopt.h>
#include <stdint.h>

#include "../core/checkpoint.h"
#include "../core/dataset.h"
#include "../core/graph.h"
#include "../core/metrics.h"
#include <stdio.h>
#include "../core/train.h"
#include "../experiments/workbench.h"

/* Exit codes */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NAN = 3 };

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_import(int argc, char **argv);

/* Prints "pith CMD: <last error>" to stderr and returns EXIT_FAIL (EXIT_NAN for NaN). */
int cli_fail(const char *cmd, int status);
/* Usage error: message to stderr, returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The options the commands share, by their long names: --data DIR,
 * --threads N (1 to 1024), --out FILE, --quiet, --json, --help. A command's
 * option table lists the ones it takes (any letter); cli_next_option fills
 * them in here. */
typedef struct cli_common {
    const char *data, *out;
    int threads, quiet, as_json; /* threads 0: not given */
} cli_common;

enum { CLI_OPT_END = -1, CLI_OPT_EXIT = -2 };

/* getopt_long over argv (call with optind = 1 first) with the shared
 * options handled: returns the next option the command handles itself,
 * CLI_OPT_END after the last, or CLI_OPT_EXIT with *code set (EXIT_OK after
 * --help printed usage(stdout); EXIT_USAGE after an unknown option or a bad
 * value). */
int cli_next_option(const char *cmd, int argc, char **argv, const struct option *opts, void (*usage)(FILE *),
                    cli_common *co, int *code);

/* Strict number parsing for option values; message names the option. */
int cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, int *out);
int cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
int cli_float(const char *cmd, const char *opt, const char *s, double lo, double hi, float *out);

/* The command line as one string (for checkpoint metadata). */
void cli_command_line(int argc, char **argv, char *buf, size_t len);
int cmd_run(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_lowrank(int argc, char **argv);
int cmd_distill(int argc, char **argv);
int cmd_sensitivity(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_infer(int argc, char **argv);
/* .pith files: pith eval runs them through the runtime. */
int cli_is_pith_file(const char *path);
int cli_ends_with(const char *s, const char *suffix);
int cli_pith_meta(const char *path, pith_ckpt_meta *meta);
int cli_runtime_metrics(const char *path, const pith_dataset *ds, pith_metrics *m, FILE *progress);

extern char cli_argv0_line[1024];

#endif
