/* pith sensitivity: prune one dependency group at a time across a range of
 * ratios and record the test accuracy (Distiller's sensitivity analysis). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../prune/step.h"
#include "cli.h"
#include "../experiments/json.h"

#define MAX_RATIOS 32

static void usage(FILE *f)
{
    fprintf(f, "usage: pith sensitivity CKPT [options]\n"
               "\n"
               "For every prunable dependency group (named by its first layer), prunes that\n"
               "group alone at each ratio (structured, no fine-tuning) and measures test top-1.\n"
               "\n"
               "  --ratios LIST     e.g. 0.1,0.2,0.5 (default 0.1,0.2,...,0.9)\n"
               "  --criterion C     l1 (default), l2, bn_gamma, taylor, random\n"
               "  --chart FILE      accuracy vs ratio, one line per layer (.png or .svg)\n"
               "  --data DIR        dataset directory (default: the checkpoint's)\n"
               "  --threads N       threads (default: all cores)\n"
               "  --json            print one JSON object on stdout\n"
               "  -h, --help        this help\n");
}

static int parse_ratios(const char *s, float *r, int *n)
{
    *n = 0;
    for (const char *p = s; *p;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v >= 0.0 && v < 1.0) || *n == MAX_RATIOS || (*end && *end != ','))
            return pith_error(PITH_EINVAL, "--ratios: expected up to %d numbers in [0, 1) separated by commas", MAX_RATIOS);
        r[(*n)++] = (float)v;
        p = *end ? end + 1 : end;
    }
    return *n ? PITH_OK : pith_error(PITH_EINVAL, "--ratios is empty");
}

static int chart(const char *path, const char *title, char (*names)[PITH_NAME_MAX], int n_groups, const float *ratios,
                 int n_ratios, const double *acc)
{
    const char *ext = strrchr(path, '.');
    FILE *p = popen("gnuplot", "w");
    if (!p)
        return pith_error(PITH_EIO, "cannot run gnuplot (install gnuplot-nox)");
    fprintf(p, "set terminal %s size 800,500\nset output '%s'\n", ext && !strcmp(ext, ".svg") ? "svg" : "pngcairo", path);
    fprintf(p, "set title \"%s\" noenhanced\nset xlabel 'fraction of the channels removed'\n"
               "set ylabel 'test top-1 (%%)'\nset grid\nset key bottom left noenhanced\n", title);
    for (int gi = 0; gi < n_groups; gi++) {
        fprintf(p, "$g%d << EOD\n", gi);
        for (int r = 0; r < n_ratios; r++)
            fprintf(p, "%g %.4f\n", (double)ratios[r], 100 * acc[gi * n_ratios + r]);
        fprintf(p, "EOD\n");
    }
    fprintf(p, "plot ");
    for (int gi = 0; gi < n_groups; gi++)
        fprintf(p, "%s$g%d with linespoints pt 7 title '%s'", gi ? ", " : "", gi, names[gi]);
    fprintf(p, "\n");
    return pclose(p) == 0 ? PITH_OK : pith_error(PITH_EIO, "gnuplot failed to draw %s", path);
}

/* Every point of the sweep starts from the checkpoint as saved. */
typedef struct reopen_ctx {
    const char *path;
} reopen_ctx;

static int reopen(void *user, pith_graph **g)
{
    pith_ckpt_meta meta;
    return exp_load_checkpoint(((reopen_ctx *)user)->path, g, &meta, NULL, NULL);
}

int cmd_sensitivity(int argc, char **argv)
{
    const char *cmd = "sensitivity";
    static const struct option opts[] = {
        {"ratios", 1, 0, 'r'}, {"criterion", 1, 0, 'c'}, {"chart", 1, 0, 'C'}, {"data", 1, 0, 'd'},
        {"threads", 1, 0, 't'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    float ratios[MAX_RATIOS];
    int n_ratios = 9, threads = 0, as_json = 0, c, rc;
    for (int i = 0; i < 9; i++)
        ratios[i] = 0.1f * (float)(i + 1);
    pith_prune_criterion crit = PITH_CRIT_L1;
    const char *data = NULL, *chart_path = NULL;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        switch (c) {
        case 'r':
            if (parse_ratios(optarg, ratios, &n_ratios))
                return cli_usage_error(cmd, "%s", pith_last_error());
            break;
        case 'c':
            if (pith_prune_criterion_parse(optarg, &crit))
                return cli_usage_error(cmd, "%s", pith_last_error());
            break;
        case 'C': chart_path = optarg; break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    data = co.data, threads = co.threads, as_json = co.as_json;
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one float checkpoint");
    const char *path = argv[optind];
    pith_set_threads(threads);

    exp_float_model fm;
    memset(&fm, 0, sizeof fm);
    int n_rows = 0, max_rows = 256;
    double base = 0, *acc = calloc((size_t)max_rows * n_ratios, sizeof *acc);
    char(*names)[PITH_NAME_MAX] = calloc((size_t)max_rows, sizeof *names);
    int *channels = calloc((size_t)max_rows, sizeof *channels);
    rc = acc && names && channels ? exp_open_float(path, data, 1, "quantized: measure the float model's sensitivity", &fm)
                                  : pith_error(PITH_ENOMEM, "out of memory");
    reopen_ctx ro = {path};
    if (!rc)
        rc = pith_prune_sensitivity(reopen, &ro, crit, ratios, n_ratios, &fm.train, &fm.test, max_rows, &base, acc, names,
                                    channels, &n_rows, as_json ? NULL : stderr);
    if (!rc && chart_path) {
        char title[300];
        snprintf(title, sizeof title, "pruning sensitivity (%s): %s", pith_prune_criterion_name(crit), path);
        rc = chart(chart_path, title, names, n_rows, ratios, n_ratios, acc);
    }
    int exit_code = rc ? cli_fail(cmd, rc) : EXIT_OK;
    if (!rc && as_json) {
        json j;
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "checkpoint", path);
        json_str(&j, "criterion", pith_prune_criterion_name(crit));
        json_num(&j, "top1", base);
        json_arr(&j, "ratios");
        for (int r = 0; r < n_ratios; r++)
            json_num(&j, NULL, ratios[r]);
        json_end_arr(&j);
        json_arr(&j, "layers");
        for (int i = 0; i < n_rows; i++) {
            json_obj(&j, NULL);
            json_str(&j, "name", names[i]);
            json_int(&j, "channels", channels[i]);
            json_arr(&j, "top1");
            for (int r = 0; r < n_ratios; r++)
                json_num(&j, NULL, acc[i * n_ratios + r]);
            json_end_arr(&j);
            json_end_obj(&j);
        }
        json_end_arr(&j);
        json_end_obj(&j);
        json_finish(&j);
    } else if (!rc) {
        printf("%s: test top-1 %.2f%%, one layer pruned at a time (%s, no fine-tuning)\n\n%-14s", path, 100 * base,
               pith_prune_criterion_name(crit), "layer \\ ratio");
        for (int r = 0; r < n_ratios; r++)
            printf(" %6.2f", (double)ratios[r]);
        printf("\n");
        for (int i = 0; i < n_rows; i++) {
            printf("%-14s", names[i]);
            for (int r = 0; r < n_ratios; r++)
                printf(" %6.2f", 100 * acc[i * n_ratios + r]);
            printf("\n");
        }
        if (chart_path)
            printf("\nchart: %s\n", chart_path);
    }
    free(acc);
    free(names);
    free(channels);
    exp_float_model_free(&fm);
    return exit_code;
}
