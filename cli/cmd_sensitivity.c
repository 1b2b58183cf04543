/* pith sensitivity: prune one dependency group at a time across a range of
 * ratios and record the test accuracy (Distiller's sensitivity analysis). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/error.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../prune/prune.h"
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
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = 0;
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
        case 'd': data = optarg; break;
        case 't': rc = cli_int(cmd, "--threads", optarg, 1, 1024, &threads); break;
        case 'j': as_json = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
        if (rc)
            return rc;
    }
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one float checkpoint");
    const char *path = argv[optind];
    pith_set_threads(threads);
    const int tty = isatty(fileno(stderr));

    pith_graph *g = NULL;
    pith_ckpt_meta meta;
    pith_dataset train = {0}, none = {0}, test = {0};
    pith_prune_group *groups = NULL;
    int n_groups = 0, n_rows = 0;
    double base = 0, *acc = NULL;
    char (*names)[PITH_NAME_MAX] = NULL;
    int *index = NULL;
    rc = exp_load_checkpoint(path, &g, &meta, NULL, NULL);
    if (!rc)
        rc = exp_load_data(data ? data : meta.dataset, meta.mean, meta.std, 0, 0, 1, &train, &none, &test);
    if (!rc)
        rc = pith_prune_groups(g, &groups, &n_groups);
    if (!rc) {
        acc = calloc((size_t)(n_groups ? n_groups : 1) * n_ratios, sizeof *acc);
        names = calloc((size_t)(n_groups ? n_groups : 1), sizeof *names);
        index = calloc((size_t)(n_groups ? n_groups : 1), sizeof *index);
        if (!acc || !names || !index)
            rc = pith_error(PITH_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = pith_test_accuracy(g, &test, 500, &base, NULL, NULL);
    for (int gi = 0; gi < n_groups && !rc; gi++) {
        if (!groups[gi].prunable)
            continue;
        snprintf(names[n_rows], sizeof names[n_rows], "%s", g->nodes[groups[gi].members[0]].name);
        index[n_rows] = gi;
        for (int r = 0; r < n_ratios && !rc; r++) {
            pith_graph *h = NULL; /* a fresh copy for every point */
            rc = exp_load_checkpoint(path, &h, &meta, NULL, NULL);
            if (!rc && crit == PITH_CRIT_TAYLOR)
                rc = pith_graph_compile(h, 64);
            if (!rc) {
                int removed = pith_prune_structured_group(h, gi, crit, ratios[r], &train, 1024, 1);
                rc = removed < 0 ? removed : 0;
            }
            if (!rc)
                rc = pith_test_accuracy(h, &test, 500, &acc[n_rows * n_ratios + r], NULL, NULL);
            pith_graph_free(h);
            if (!as_json && !rc)
                fprintf(stderr, "%ssensitivity: %s at %.2f -> %.2f%%%s", tty ? "\r" : "", names[n_rows],
                        (double)ratios[r], 100 * acc[n_rows * n_ratios + r], tty ? "   " : "\n");
        }
        n_rows++;
    }
    if (!as_json && tty)
        fprintf(stderr, "\n");
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
            json_int(&j, "channels", groups[index[i]].channels);
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
    free(index);
    free(groups);
    pith_graph_free(g);
    pith_dataset_free(&train);
    pith_dataset_free(&none);
    pith_dataset_free(&test);
    return exit_code;
}
