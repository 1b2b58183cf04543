/* pith lowrank: SVD factorization of linear / conv layers, then fine-tuning. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../lowrank/lowrank.h"
#include "../quant/quant.h"
#include "cli.h"
#include "../experiments/json.h"

#define MAX_LAYERS 256

static void usage(FILE *f)
{
    fprintf(f, "usage: pith lowrank CKPT (--rank N | --energy E | --macs-ratio F) --out OUT [options]\n"
               "\n"
               "Replaces each chosen layer by two from its truncated SVD: a linear W (m x n)\n"
               "by n -> r -> m, a k x k conv by a k x k conv to r channels and a 1 x 1 conv.\n"
               "A layer is replaced only when that reduces its MACs.\n"
               "\n"
               "  --rank N          keep N singular values\n"
               "  --energy E        keep the fewest that hold the fraction E of sum s^2 (e.g. 0.9)\n"
               "  --macs-ratio F    the largest rank with at most F times the layer's MACs\n"
               "  --layers A,B      layers to factorize (default: every linear and conv2d but the\n"
               "                    model's output layer)\n"
               "  --finetune N      fine-tuning epochs afterwards (default 0)\n"
               "  --lr LR           fine-tuning learning rate (default: the checkpoint's / 10)\n"
               "  --data DIR        dataset directory (default: the checkpoint's)\n"
               "  --threads N       threads (default: all cores)\n"
               "  --quiet           no progress output\n"
               "  --json            print one JSON object on stdout\n"
               "  -h, --help        this help\n");
}

int cmd_lowrank(int argc, char **argv)
{
    const char *cmd = "lowrank";
    static const struct option opts[] = {
        {"rank", 1, 0, 'r'}, {"energy", 1, 0, 'e'}, {"macs-ratio", 1, 0, 'm'}, {"layers", 1, 0, 'L'},
        {"finetune", 1, 0, 'f'}, {"lr", 1, 0, 'l'}, {"data", 1, 0, 'd'}, {"threads", 1, 0, 't'},
        {"out", 1, 0, 'o'}, {"quiet", 0, 0, 'q'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    pith_lowrank_rule rule = {0, 0, 0};
    int rules = 0, finetune = 0, threads = 0, quiet = 0, as_json = 0, c, rc;
    float lr = 0;
    const char *layers = NULL, *data = NULL, *out = NULL;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        switch (c) {
        case 'r': rc = cli_int(cmd, "--rank", optarg, 1, 1 << 20, &rule.rank); rules++; break;
        case 'e': rc = cli_float(cmd, "--energy", optarg, 1e-6, 1.0, &rule.energy); rules++; break;
        case 'm': rc = cli_float(cmd, "--macs-ratio", optarg, 1e-6, 0.999999, &rule.macs_ratio); rules++; break;
        case 'L': layers = optarg; break;
        case 'f': rc = cli_int(cmd, "--finetune", optarg, 0, PITH_MAX_EPOCHS, &finetune); break;
        case 'l': rc = cli_float(cmd, "--lr", optarg, 1e-9, 10.0, &lr); break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    data = co.data, threads = co.threads, out = co.out, quiet = co.quiet, as_json = co.as_json;
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one float checkpoint");
    if (rules != 1)
        return cli_usage_error(cmd, "give exactly one of --rank, --energy, --macs-ratio");
    if (!out)
        return cli_usage_error(cmd, "--out is required");
    const char *path = argv[optind];
    pith_set_threads(threads);
    FILE *progress = quiet || as_json ? NULL : stderr;

    exp_float_model fm;
    int n_rep = 0;
    pith_lowrank_report *rep = calloc(MAX_LAYERS, sizeof *rep);
    double top1_before = 0, top1_split = 0, top1 = 0;
    int64_t macs0 = 0, params0 = 0;
    memset(&fm, 0, sizeof fm);
    rc = rep ? exp_open_float(path, data, 1, "quantized: factorize the float model, then quantize", &fm)
             : pith_error(PITH_ENOMEM, "out of memory");
    pith_graph *g = fm.g;
    if (!rc)
        rc = pith_test_accuracy(g, &fm.test, 500, &top1_before, NULL, NULL);
    if (!rc) {
        macs0 = pith_graph_macs(g);
        params0 = pith_graph_params(g, 0);
    }
    if (!rc)
        rc = pith_lowrank_apply(g, layers, &rule, rep, MAX_LAYERS, &n_rep);
    if (!rc)
        rc = pith_test_accuracy(g, &fm.test, 500, &top1_split, NULL, NULL);
    top1 = top1_split;
    pith_train_config c2 = pith_finetune_config(&fm.base, finetune, lr, 10.0f);
    if (!rc && finetune > 0) {
        pith_trainer *t = NULL;
        rc = pith_trainer_create(&t, g, &c2, &fm.train, &fm.test);
        if (!rc) {
            t->progress = progress;
            rc = pith_trainer_run(t);
        }
        pith_trainer_free(t);
        if (!rc)
            rc = pith_test_accuracy(g, &fm.test, 500, &top1, NULL, NULL);
    }
    if (!rc) {
        fm.meta.top1 = top1;
        cli_command_line(argc, argv, fm.meta.command, sizeof fm.meta.command);
        rc = pith_checkpoint_save(out, g, &fm.meta, finetune > 0 ? &c2 : NULL, NULL, NULL, 0);
    }
    int exit_code = rc ? cli_fail(cmd, rc) : EXIT_OK;
    if (!rc && as_json) {
        json j;
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "checkpoint", path);
        json_str(&j, "out", out);
        json_arr(&j, "layers");
        for (int i = 0; i < n_rep; i++) {
            json_obj(&j, NULL);
            json_str(&j, "name", rep[i].name);
            json_int(&j, "full_rank", rep[i].full_rank);
            json_int(&j, "rank", rep[i].rank);
            json_num(&j, "energy", rep[i].energy);
            json_int(&j, "macs_before", rep[i].macs_before);
            json_int(&j, "macs_after", rep[i].replaced ? rep[i].macs_after : rep[i].macs_before);
            json_bool(&j, "replaced", rep[i].replaced);
            json_end_obj(&j);
        }
        json_end_arr(&j);
        json_num(&j, "top1_before", top1_before);
        json_num(&j, "top1_factorized", top1_split);
        json_num(&j, "top1", top1);
        json_int(&j, "macs_before", macs0);
        json_int(&j, "macs", pith_graph_macs(g));
        json_int(&j, "params_before", params0);
        json_int(&j, "params", pith_graph_params(g, 0));
        json_end_obj(&j);
        json_finish(&j);
    } else if (!rc) {
        printf("%-14s %9s %6s %8s %12s %12s  %s\n", "layer", "full rank", "rank", "energy", "MACs before", "MACs after", "");
        for (int i = 0; i < n_rep; i++)
            printf("%-14s %9d %6d %7.1f%% %12lld %12lld  %s\n", rep[i].name, rep[i].full_rank, rep[i].rank,
                   100 * rep[i].energy, (long long)rep[i].macs_before,
                   (long long)(rep[i].replaced ? rep[i].macs_after : rep[i].macs_before),
                   rep[i].replaced ? "factorized" : "kept (no MACs saved)");
        printf("model: %lld -> %lld MACs, %lld -> %lld parameters\n", (long long)macs0, (long long)pith_graph_macs(g),
               (long long)params0, (long long)pith_graph_params(g, 0));
        printf("test top-1 %.2f%% before, %.2f%% factorized, %.2f%% after %d epoch%s of fine-tuning (drop %+.2f pt)\n",
               100 * top1_before, 100 * top1_split, 100 * top1, finetune, finetune == 1 ? "" : "s",
               100 * (top1_before - top1));
        printf("saved %s\n", out);
    }
    free(rep);
    exp_float_model_free(&fm);
    return exit_code;
}
