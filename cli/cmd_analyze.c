/* pith analyze: per-layer quantization error of a quantized checkpoint, and
 * the mixed-precision plan that meets a target accuracy drop. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../quant/propose.h"
#include "../quant/quant.h"
#include "cli.h"
#include "../experiments/json.h"

#define MAX_LAYERS 256

static void usage(FILE *f)
{
    fprintf(f, "usage: pith analyze CKPT [options]\n"
               "\n"
               "For every conv / linear layer of a quantized checkpoint: cosine similarity,\n"
               "Euclidean distance (per image), SQNR, max absolute error and the fraction\n"
               "of saturated values, comparing the quantized model with the float one at\n"
               "the layer's output. 'entire' quantizes the whole network (errors\n"
               "accumulate); 'single' quantizes only that layer, fed the float model's\n"
               "values; 'w-only' and 'a-only' quantize only weights or only activations.\n"
               "\n"
               "  --calib N          images drawn from the training set (default 512)\n"
               "  --chart FILE       bar chart of SQNR per layer (.png or .svg, gnuplot)\n"
               "  --propose          write a mixed-precision plan (YAML) on stdout: the most\n"
               "                     sensitive layers (lowest single SQNR) go to int16, then\n"
               "                     float, until the test accuracy drop is within --target-drop\n"
               "  --target-drop PT   accuracy drop to meet, in points (default 0.2)\n"
               "  --data DIR         dataset directory (default: the checkpoint's)\n"
               "  --seed S           calibration sample (default 1)\n"
               "  --threads N        threads (default: all cores)\n"
               "  --quiet            no progress output\n"
               "  --json             print one JSON object on stdout\n"
               "  -h, --help         this help\n");
}

static void metrics_json(json *j, const char *key, const pith_error_metrics *m)
{
    json_obj(j, key);
    json_num(j, "cosine", m->cosine);
    json_num(j, "euclid", m->euclid);
    json_num(j, "sqnr_db", isfinite(m->sqnr_db) ? m->sqnr_db : 999.0);
    json_num(j, "max_abs", m->max_abs);
    json_num(j, "saturated", m->saturated);
    json_end_obj(j);
}

static double finite_db(double v) { return isfinite(v) ? v : 999.0; }

static void print_table(const pith_layer_error *e, int n)
{
    printf("%-12s | %-44s | %-30s | %7s %7s\n", "", "entire", "single", "w-only", "a-only");
    printf("%-12s | %8s %9s %8s %9s %5s | %8s %9s %8s %s | %7s %7s\n", "layer", "cosine", "euclid", "SQNR dB",
           "max err", "sat%", "cosine", "euclid", "SQNR dB", "", "SQNR dB", "SQNR dB");
    for (int i = 0; i < n; i++) {
        const pith_error_metrics *a = &e[i].entire, *s = &e[i].single;
        printf("%-12s | %8.5f %9.4f %8.2f %9.4f %5.2f | %8.5f %9.4f %8.2f  | %7.2f %7.2f\n", e[i].name, a->cosine,
               a->euclid, finite_db(a->sqnr_db), a->max_abs, 100 * a->saturated, s->cosine, s->euclid,
               finite_db(s->sqnr_db), finite_db(e[i].weights_only.sqnr_db), finite_db(e[i].acts_only.sqnr_db));
    }
}

static int chart(const char *path, const char *title, const pith_layer_error *e, int n)
{
    const char *ext = strrchr(path, '.');
    int svg = ext && !strcmp(ext, ".svg");
    FILE *p = popen("gnuplot", "w");
    if (!p)
        return pith_error(PITH_EIO, "cannot run gnuplot (install gnuplot-nox)");
    fprintf(p, "set terminal %s size 900,480\nset output '%s'\n", svg ? "svg" : "pngcairo", path);
    fprintf(p, "set title \"%s\" noenhanced\nset ylabel 'SQNR (dB), higher is better'\n"
               "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.85 border -1\n"
               "set boxwidth 0.9\nset key top right\nset grid ytics\nset yrange [0:*]\nset xtics noenhanced\n",
            title);
    fprintf(p, "$d << EOD\n");
    for (int i = 0; i < n; i++)
        fprintf(p, "%s %.3f %.3f %.3f %.3f\n", e[i].name, fmin(finite_db(e[i].entire.sqnr_db), 99),
                fmin(finite_db(e[i].single.sqnr_db), 99), fmin(finite_db(e[i].weights_only.sqnr_db), 99),
                fmin(finite_db(e[i].acts_only.sqnr_db), 99));
    fprintf(p, "EOD\nplot $d using 2:xtic(1) title 'entire', '' using 3 title 'single', "
               "'' using 4 title 'weights only', '' using 5 title 'activations only'\n");
    int st = pclose(p);
    return st == 0 ? PITH_OK : pith_error(PITH_EIO, "gnuplot failed to draw %s", path);
}

/* The plan as YAML on stdout, with what it achieved as comments. */
static void print_plan(const pith_layer_error *e, int n, const int *order, const int *new_w, const int *new_a,
                       const pith_mp_result *r, float target, const char *path)
{
    double float_top1 = r->float_top1, top1 = r->top1, start_top1 = r->start_top1;
    int met = r->met;
    printf("# mixed-precision plan for %s (pith analyze --propose --target-drop %g)\n", path, (double)target);
    printf("# test top-1: quantizers off %.2f%% (the float model, for PTQ), as quantized %.2f%%, with this plan "
           "%.2f%% (drop %.2f pt%s)\n",
           100 * float_top1, 100 * start_top1, 100 * top1, 100 * (float_top1 - top1),
           met ? "" : ", target NOT met");
    printf("# layers by sensitivity (single-layer SQNR, lowest first):");
    for (int k = 0; k < n; k++)
        printf(" %s", e[order[k]].name);
    printf("\n# apply with: pith quantize FLOAT.h5 --method ptq --plan THIS.yaml --out MIXED.h5\n");
    printf("target_drop: %g\nlayers:\n", (double)target);
    for (int i = 0; i < n; i++) {
        char w[8], a[8];
        snprintf(w, sizeof w, "%d", new_w[i]);
        snprintf(a, sizeof a, "%d", new_a[i]);
        printf("  %s: {wbits: %s, abits: %s}\n", e[i].name, new_w[i] ? w : "float", new_a[i] ? a : "float");
    }
}


int cmd_analyze(int argc, char **argv)
{
    const char *cmd = "analyze";
    static const struct option opts[] = {
        {"calib", 1, 0, 'c'}, {"chart", 1, 0, 'C'}, {"propose", 0, 0, 'p'}, {"target-drop", 1, 0, 'T'},
        {"data", 1, 0, 'd'}, {"seed", 1, 0, 'S'}, {"threads", 1, 0, 't'}, {"quiet", 0, 0, 'q'},
        {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *data = NULL, *chart_path = NULL;
    int calib = 512, threads = 0, quiet = 0, as_json = 0, do_propose = 0, c, rc;
    float target = 0.2f;
    uint64_t seed = 1;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        switch (c) {
        case 'c': rc = cli_int(cmd, "--calib", optarg, 1, 1 << 24, &calib); break;
        case 'C': chart_path = optarg; break;
        case 'p': do_propose = 1; break;
        case 'T': rc = cli_float(cmd, "--target-drop", optarg, 0.0, 100.0, &target); break;
        case 'S': rc = cli_u64(cmd, "--seed", optarg, &seed); break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    data = co.data, threads = co.threads, quiet = co.quiet, as_json = co.as_json;
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one quantized checkpoint");
    if (do_propose && as_json)
        return cli_usage_error(cmd, "--propose writes YAML; it does not combine with --json");
    const char *path = argv[optind];
    pith_set_threads(threads);
    FILE *progress = quiet || as_json ? NULL : stderr;

    pith_graph *gq = NULL, *gf = NULL;
    pith_ckpt_meta meta;
    pith_dataset train = {0}, none = {0}, test = {0}, rest = {0}, cal = {0};
    pith_layer_error *e = calloc(MAX_LAYERS, sizeof *e);
    int n = 0;
    rc = e ? exp_load_checkpoint(path, &gq, &meta, NULL, NULL) : pith_error(PITH_ENOMEM, "out of memory");
    if (!rc && !pith_graph_is_quantized(gq))
        rc = pith_error(PITH_EINVAL, "%s is a float model; quantize it first (pith quantize)", path);
    if (!rc)
        rc = exp_load_checkpoint(path, &gf, &meta, NULL, NULL);
    const char *dir = data ? data : meta.dataset;
    pith_data_opts o;
    exp_data_opts(&meta, gf, &o);
    if (!rc)
        rc = exp_load_data(dir, &o, 0, 0, meta.seed, &train, &none, &test); /* its training's hold-out */
    if (!rc && calib >= train.n)
        rc = pith_error(PITH_EINVAL, "--calib %d: the training set has %d images", calib, train.n);
    if (!rc)
        rc = pith_dataset_split(&train, calib, seed, &rest, &cal);
    if (!rc)
        rc = pith_graph_compile(gq, 256);
    if (!rc)
        rc = pith_graph_compile(gf, 256);
    if (!rc)
        rc = pith_quant_analyze(gq, gf, &cal, cal.n, e, MAX_LAYERS, &n, progress);
    if (!rc && chart_path) {
        char title[300];
        snprintf(title, sizeof title, "per-layer quantization error: %s (%d images)", path, cal.n);
        rc = chart(chart_path, title, e, n);
    }
    if (!rc && do_propose) {
        int order[MAX_LAYERS], wbits[MAX_LAYERS], abits[MAX_LAYERS];
        pith_mp_result r;
        rc = pith_quant_propose(gq, e, n, &test, target, progress, order, wbits, abits, &r);
        if (!rc)
            print_plan(e, n, order, wbits, abits, &r, target, path);
    } else if (!rc && as_json) {
        json j;
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "checkpoint", path);
        json_int(&j, "images", cal.n);
        json_arr(&j, "layers");
        for (int i = 0; i < n; i++) {
            json_obj(&j, NULL);
            json_str(&j, "name", e[i].name);
            metrics_json(&j, "entire", &e[i].entire);
            metrics_json(&j, "single", &e[i].single);
            metrics_json(&j, "weights_only", &e[i].weights_only);
            metrics_json(&j, "acts_only", &e[i].acts_only);
            json_end_obj(&j);
        }
        json_end_arr(&j);
        json_end_obj(&j);
        json_finish(&j);
    } else if (!rc) {
        printf("%s: quantization error per layer over %d calibration images\n\n", path, cal.n);
        print_table(e, n);
        if (chart_path)
            printf("\nchart: %s\n", chart_path);
    }
    int exit_code = rc ? cli_fail(cmd, rc) : EXIT_OK;
    free(e);
    pith_graph_free(gq);
    pith_graph_free(gf);
    pith_dataset_free(&train);
    pith_dataset_free(&none);
    pith_dataset_free(&test);
    pith_dataset_free(&rest);
    pith_dataset_free(&cal);
    return exit_code;
}
