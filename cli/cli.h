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
int cli_pith_meta(const char *path, pith_ckpt_meta *meta, int chw[3]);
/* pith info of a .pith file: the op table, and which ops of an int8 model
 * compute in float and why. */
int cli_info_pith(const char *path, int as_json);
/* pith export CKPT --format onnx (export_onnx.c); returns the exit code. */
int cli_export_onnx(const char *cmd, const char *ckpt, const char *out, int keep_bn, int as_json);
/* How a .pith file's outputs compare with its checkpoint's, image by image. */
typedef struct cli_agreement {
    long long images, differ, top1_differ; /* images with any output value different; with another top-1 */
    double max_abs, max_steps;             /* the largest difference, in values and in output steps */
} cli_agreement;
/* The runtime's metrics on ds; with ref (a checkpoint's graph), each image
 * also through the workbench, the outputs compared into *agree. */
int cli_runtime_metrics(const char *path, const pith_dataset *ds, pith_metrics *m, FILE *progress, pith_graph *ref,
                        cli_agreement *agree);

extern char cli_argv0_line[1024];

/* The data and input options of the commands that read images
 * (cli/data_flags.c); a command puts the macros in its option table and
 * hands every option to cli_data_flag first. */
enum {
    CLI_O_INPUT = 0x1000, CLI_O_RESIZE, CLI_O_NEAREST, CLI_O_BGR, CLI_O_KEEP255, CLI_O_MEAN, CLI_O_STD,
    CLI_O_MEAN01, CLI_O_STD01, CLI_O_SKIP_BAD, CLI_O_CACHE_MB, CLI_O_CACHE_DIR
};
#define CLI_INPUT_OPTION {"input", 1, 0, CLI_O_INPUT}
#define CLI_PREPROCESS_OPTIONS                                                                              \
    {"resize", 1, 0, CLI_O_RESIZE}, {"nearest", 0, 0, CLI_O_NEAREST},         \
        {"bgr", 0, 0, CLI_O_BGR}, {"keep255", 0, 0, CLI_O_KEEP255}, {"mean", 1, 0, CLI_O_MEAN},            \
        {"std", 1, 0, CLI_O_STD}, {"mean01", 1, 0, CLI_O_MEAN01}, {"std01", 1, 0, CLI_O_STD01}
#define CLI_LOADER_OPTIONS                                                                                  \
    {"skip-bad", 0, 0, CLI_O_SKIP_BAD}, {"cache-mb", 1, 0, CLI_O_CACHE_MB}, {"cache-dir", 1, 0, CLI_O_CACHE_DIR}
/* Help lines for them. */
#define CLI_INPUT_HELP                                                                                      \
    "  --input CxHxW         the model's input (default: the data's: IDX, CIFAR 3x32x32, the first image)\n"
#define CLI_PREPROCESS_HELP                                                                                 \
    "  --resize N            shorter side resized to N, then the centre cropped to the input\n"            \
    "                        (default: N = the input's shorter side; 0: the whole image resized)\n"        \
    "  --nearest             nearest-neighbour resampling (default: bilinear, antialiased)\n"              \
    "  --bgr                 the model takes B, G, R planes\n"                                            \
    "  --keep255             the model takes pixel values 0..255 (default: divided by 255)\n"             \
    "  --mean M[,M,M] --std S[,S,S]   normalisation in the 0-255 pixel convention (rknn's):\n"             \
    "                        the model sees (pixel - M) / S\n"                                            \
    "  --mean01 M[,M,M] --std01 S[,S,S]   the same in torchvision's 0-1 convention\n"                     \
    "                        (e.g. 0.485,0.456,0.406 and 0.229,0.224,0.225)\n"
#define CLI_LOADER_HELP                                                                                     \
    "  --skip-bad            leave out unreadable images (counted) instead of stopping\n"                  \
    "  --cache-mb N          decoded images kept in memory up to N MB (default: a quarter of RAM);\n"    \
    "                        beyond, a memory-mapped cache file\n"                                        \
    "  --cache-dir DIR       where that file goes (default: the --out folder, else $TMPDIR or /tmp)\n"

typedef struct cli_data_flags {
    int given;                 /* a preprocessing flag was given */
    int c, h, w;               /* --input (0: not given) */
    int resize;                /* -1: not given */
    int nearest, bgr, keep255;
    int n_mean, n_std, mean01, std01;
    float mean[4], std[4];     /* as given, in the convention given */
    int skip_bad;
    long cache_mb;             /* -1: not given */
    const char *cache_dir;
} cli_data_flags;

void cli_data_flags_init(cli_data_flags *f);
/* 1: a data option, taken; 0: not one; else the usage error's exit code. */
int cli_data_flag(const char *cmd, int opt, const char *arg, cli_data_flags *f);
/* The flags over o (the defaults, or a model's own); channels: the input's
 * (0: unknown) for checking per-channel values. */
int cli_data_apply(const char *cmd, const cli_data_flags *f, int channels, pith_data_opts *o);
/* What a checkpoint records of o: preprocessing and normalisation. */
void cli_data_to_meta(const pith_data_opts *o, pith_ckpt_meta *meta);
/* "train cache: 2000 images, 1.6 MB in memory; ... hit rate 95%" (image sets only). */
void cli_data_report(FILE *f, const pith_dataset *ds, const char *what);
int cli_parse_shape(const char *cmd, const char *s, pith_shape *out);
int cli_parse_list(const char *cmd, const char *opt, const char *s, float *v, int *n, int positive);

#endif
