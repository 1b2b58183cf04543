/* pith eval: test-set accuracy of a checkpoint. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/dataset.h"

#include "../core/error.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "cli.h"
#include "../experiments/json.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: pith eval CKPT [options]\n"
               "\n"
               "Evaluates a checkpoint, or a .pith file through the runtime's kernels (what\n"
               "the board computes), on the test split of its dataset: top-1, top-5,\n"
               "per-class accuracy and the confusion matrix (rows: true class, columns:\n"
               "predicted class).\n"
               "\n"
               "  --data PATH     the data (default: the checkpoint's): an IDX or CIFAR folder, class\n"
               "                  folders (their val/ or test/ split, or the folders themselves; the\n"
               "                  classes must be the model's) or a list file; the images go through\n"
               "                  the model's own preprocessing\n"
               CLI_LOADER_HELP
               "  --against CKPT  with a .pith file: also run each image through the checkpoint\n"
               "                  it was exported from and count the images whose outputs\n"
               "                  differ in any value (0: bit for bit what the workbench\n"
               "                  computes) or in top-1\n"
               "  --batch N       evaluation batch (default 500)\n"
               "  --threads N     threads (default: all cores)\n"
               "  --json          print one JSON object on stdout\n"
               "  -h, --help      this help\n");
}

int cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval";
    static const struct option opts[] = {
        {"data", 1, 0, 'd'}, {"batch", 1, 0, 'b'}, {"against", 1, 0, 'a'}, {"threads", 1, 0, 't'}, CLI_LOADER_OPTIONS,
        {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *data = NULL, *against = NULL;
    int batch = 500, threads = 0, as_json = 0, c, rc;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    cli_data_flags df;
    cli_data_flags_init(&df);
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        int taken = cli_data_flag(cmd, c, optarg, &df);
        if (taken > 1)
            return taken;
        switch (taken ? 0 : c) {
        case 'b': rc = cli_int(cmd, "--batch", optarg, 1, 65536, &batch); break;
        case 'a': against = optarg; break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    data = co.data, threads = co.threads, as_json = co.as_json;
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one checkpoint file");
    const char *path = argv[optind];
    pith_set_threads(threads);

    pith_graph *g = NULL, *ref = NULL;
    cli_agreement agree;
    memset(&agree, 0, sizeof agree);
    pith_ckpt_meta meta;
    pith_dataset test = {0};
    pith_metrics m = {0};
    memset(&meta, 0, sizeof meta);
    int runtime = cli_is_pith_file(path);
    if (against && !runtime)
        return cli_usage_error(cmd, "--against compares a .pith file with a checkpoint");
    int chw[3] = {0, 0, 0};
    if (runtime) {
        /* the runtime's kernels on the test set: what the board computes */
        rc = cli_pith_meta(path, &meta, chw);
        if (!rc && against) {
            pith_ckpt_meta rm;
            rc = exp_load_checkpoint(against, &ref, &rm, NULL, NULL);
        }
    } else {
        rc = exp_load_checkpoint(path, &g, &meta, NULL, NULL);
    }
    const char *dir = data ? data : meta.dataset;
    pith_data_opts o;
    exp_data_opts(&meta, g, &o);
    if (runtime) {
        o.c = chw[0];
        o.h = chw[1];
        o.w = chw[2];
    }
    o.progress = as_json ? NULL : stderr;
    if (!rc)
        rc = cli_data_apply(cmd, &df, 0, &o);
    if (!rc) /* the checkpoint's own data: the test images its training held out */
        rc = exp_load_test(dir, !data, &o, meta.seed, &test);
    if (!rc && !runtime)
        rc = pith_graph_compile(g, batch);
    if (!rc)
        rc = pith_metrics_init(&m, runtime ? meta.classes : pith_graph_output_shape(g)->d[0]);
    if (!rc)
        rc = runtime ? cli_runtime_metrics(path, &test, &m, as_json ? NULL : stderr, ref, &agree)
                     : pith_evaluate(g, &test, &m, as_json ? NULL : stderr);
    if (rc) {
        int e = cli_fail(cmd, rc);
        pith_graph_free(g);
        pith_graph_free(ref);
        pith_dataset_free(&test);
        pith_metrics_free(&m);
        return e;
    }
    const int k = m.classes;
    char nb[128];
    if (as_json) {
        json j;
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "checkpoint", path);
        json_str(&j, "model", meta.model);
        json_str(&j, "dataset", dir);
        json_int(&j, "images", m.n);
        json_num(&j, "top1", pith_metrics_top1(&m));
        json_num(&j, "top5", pith_metrics_top5(&m));
        json_num(&j, "loss", pith_metrics_loss(&m));
        json_arr(&j, "per_class");
        for (int i = 0; i < k; i++) {
            json_obj(&j, NULL);
            json_int(&j, "class", i);
            json_str(&j, "name", exp_model_class_name(&meta, dir, k, i, nb, sizeof nb));
            json_num(&j, "accuracy", pith_metrics_class_acc(&m, i));
            json_end_obj(&j);
        }
        json_end_arr(&j);
        json_arr(&j, "confusion");
        for (int i = 0; i < k; i++) {
            json_arr(&j, NULL);
            for (int q = 0; q < k; q++)
                json_int(&j, NULL, m.confusion[(size_t)i * k + q]);
            json_end_arr(&j);
        }
        json_end_arr(&j);
        if (ref) {
            json_obj(&j, "against");
            json_str(&j, "checkpoint", against);
            json_int(&j, "images", agree.images);
            json_int(&j, "outputs_differ", agree.differ);
            json_int(&j, "top1_differ", agree.top1_differ);
            json_num(&j, "max_abs_diff", agree.max_abs);
            json_num(&j, "max_steps", agree.max_steps);
            json_end_obj(&j);
        }
        json_end_obj(&j);
        json_finish(&j);
    } else {
        if (runtime)
            printf("%s (runtime, reference kernels) on %s: %lld images\n", path, dir, (long long)m.n);
        else
            printf("%s (%s, epoch %d) on %s: %lld images\n", path, meta.model, meta.epoch, dir, (long long)m.n);
        printf("top-1 %.2f%%   top-5 %.2f%%   loss %.4f\n", 100 * pith_metrics_top1(&m),
               100 * pith_metrics_top5(&m), pith_metrics_loss(&m));
        if (ref)
            printf("against %s (workbench): outputs differ on %lld of %lld images, top-1 on %lld; "
                   "largest difference %.3g (%.2f output steps)\n",
                   against, agree.differ, agree.images, agree.top1_differ, agree.max_abs, agree.max_steps);
        printf("\n");
        printf("%-3s %-20s %9s\n", "#", "class", "accuracy");
        for (int i = 0; i < k; i++)
            printf("%-3d %-20s %8.2f%%\n", i, exp_model_class_name(&meta, dir, k, i, nb, sizeof nb),
                   100 * pith_metrics_class_acc(&m, i));
        if (k <= 20) {
            printf("\nconfusion matrix (rows: true class, columns: predicted)\n      ");
            for (int q = 0; q < k; q++)
                printf("%6d", q);
            printf("\n");
            for (int i = 0; i < k; i++) {
                printf("%6d", i);
                for (int q = 0; q < k; q++)
                    printf("%6lld", (long long)m.confusion[(size_t)i * k + q]);
                printf("\n");
            }
        }
    }
    pith_graph_free(g);
    pith_graph_free(ref);
    pith_dataset_free(&test);
    pith_metrics_free(&m);
    return EXIT_OK;
}
