/* pith prune: structured channel pruning or magnitude pruning of a float
 * checkpoint, with fine-tuning (the step is prune/step.h, shared with the
 * prune stage of configs); a structurally pruned model is physically smaller
 * (pith info shows it). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../core/threads.h"
#include "../experiments/json.h"
#include "../prune/step.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: pith prune CKPT --ratio R --out OUT [options]              (structured)\n"
               "       pith prune CKPT --method magnitude --sparsity S --out OUT [options]\n"
               "\n"
               "Structured channel pruning: in every dependency group (layers whose channels\n"
               "are tied by residual adds are pruned together), removes the fraction R of\n"
               "output channels that score lowest, with their batchnorm entries and the\n"
               "matching inputs of every consumer; then fine-tunes. The model is physically\n"
               "smaller: fewer parameters, MACs and checkpoint bytes.\n"
               "\n"
               "Magnitude pruning masks the smallest weights of every conv and linear layer\n"
               "(the zeros stay in place; masks survive fine-tuning and checkpoints):\n"
               "  --method M        structured (default) or magnitude\n"
               "  --sparsity S      target fraction of zero weights per layer, in [0, 1)\n"
               "  --granularity G   element (default), kernel, channel\n"
               "  --schedule P      oneshot (default): prune, then fine-tune; iterative: 3 rounds\n"
               "                    of prune + fine-tune; agp: gradual, cubic (Zhu & Gupta), 10\n"
               "                    updates over the first 3/4 of the epochs\n"
               "  --epochs N        training epochs of the schedule (default 3; also --finetune)\n"
               "\n"
               "  --criterion C     l1 (default), l2, bn_gamma, taylor, random\n"
               "  --ratio R         fraction of each group's channels to remove, in [0, 1)\n"
               "  --finetune N      fine-tuning epochs afterwards (default 0)\n"
               "  --lr LR           fine-tuning learning rate (default: the checkpoint's / 10)\n"
               "  --taylor-images N images for the taylor criterion (default 1024)\n"
               "  --data DIR        dataset directory (default: the checkpoint's)\n"
               "  --seed S          random criterion and fine-tuning seed (default 1)\n"
               "  --threads N       threads (default: all cores)\n"
               "  --quiet           no progress output\n"
               "  --json            print one JSON object on stdout\n"
               "  -h, --help        this help\n");
}

static long file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void print_magnitude(const char *path, const char *out, const pith_prune_job *jp, const pith_prune_result *rp,
                            const pith_graph *g, int as_json)
{
    const pith_prune_job j = *jp;
    const pith_prune_result r = *rp;
    json js;
    if (as_json) {
        json_init(&js, stdout);
        json_obj(&js, NULL);
        json_str(&js, "checkpoint", path);
        json_str(&js, "out", out);
        json_num(&js, "sparsity_target", j.sparsity);
        json_str(&js, "granularity", pith_prune_gran_name(j.granularity));
        json_num(&js, "top1_before", r.top1_before);
        json_num(&js, "top1", r.top1);
        json_arr(&js, "layers");
    } else {
        printf("%-12s %10s %9s\n", "layer", "weights", "sparsity");
    }
    int64_t total = 0, zeros = 0;
    for (int k = 0; k < g->n_order; k++) {
        int i = g->order[k];
        const pith_node *n = &g->nodes[i];
        if ((n->op != &pith_op_conv2d) && (n->op != &pith_op_linear))
            continue;
        double sp = pith_prune_sparsity(g, i);
        total += (int64_t)n->params[0].size;
        zeros += (int64_t)llround(sp * (double)n->params[0].size);
        if (as_json) {
            json_obj(&js, NULL);
            json_str(&js, "name", n->name);
            json_int(&js, "weights", (int64_t)n->params[0].size);
            json_num(&js, "sparsity", sp);
            json_end_obj(&js);
        } else {
            printf("%-12s %10zu %8.1f%%\n", n->name, n->params[0].size, 100 * sp);
        }
    }
    if (as_json) {
        json_end_arr(&js);
        json_num(&js, "sparsity", total ? (double)zeros / (double)total : 0.0);
        json_end_obj(&js);
        json_finish(&js);
    } else {
        printf("all weights: %.1f%% zero (measured from the weights)\n", total ? 100.0 * (double)zeros / (double)total : 0.0);
        printf("test top-1 %.2f%% before, %.2f%% after %s, %d epoch%s (drop %+.2f pt); saved %s\n", 100 * r.top1_before,
               100 * r.top1, j.schedule == PITH_PRUNE_AGP ? "AGP" : j.schedule == PITH_PRUNE_ITERATIVE ? "3 rounds" : "one shot",
               j.epochs, j.epochs == 1 ? "" : "s", 100 * (r.top1_before - r.top1), out);
        if (!isnan(r.top1_pruned))
            printf("(right after the first pruning, before fine-tuning: %.2f%%)\n", 100 * r.top1_pruned);
    }
}

static void print_structured(const char *path, const char *out, const pith_prune_job *jp, const pith_prune_result *rp,
                             pith_graph *g, int64_t params0, int64_t macs0, int64_t bytes0, int as_json)
{
    const pith_prune_job j = *jp;
    const pith_prune_result r = *rp;
    pith_graph_sort(g);
    int64_t params1 = pith_graph_params(g, 0), macs1 = pith_graph_macs(g), bytes1 = pith_graph_bytes(g);
    long f0 = file_bytes(path), f1 = file_bytes(out);
    /* the groups left alone on purpose, each with its first layer and why */
    pith_prune_group *groups = NULL;
    int n_groups = 0, n_frozen = 0;
    if (pith_prune_groups(g, &groups, &n_groups))
        n_groups = 0;
    for (int i = 0; i < n_groups; i++)
        n_frozen += !groups[i].prunable;
    if (as_json) {
        json js;
        json_init(&js, stdout);
        json_obj(&js, NULL);
        json_str(&js, "checkpoint", path);
        json_str(&js, "out", out);
        json_str(&js, "criterion", pith_prune_criterion_name(j.criterion));
        json_num(&js, "ratio", j.ratio);
        json_int(&js, "channels_removed", r.channels_removed);
        json_int(&js, "finetune", j.epochs);
        json_num(&js, "top1_before", r.top1_before);
        json_num(&js, "top1_pruned", r.top1_pruned);
        json_num(&js, "top1", r.top1);
        json_int(&js, "params_before", params0);
        json_int(&js, "params", params1);
        json_int(&js, "macs_before", macs0);
        json_int(&js, "macs", macs1);
        json_int(&js, "bytes_before", bytes0);
        json_int(&js, "bytes", bytes1);
        json_int(&js, "file_bytes_before", f0);
        json_int(&js, "file_bytes", f1);
        json_arr(&js, "frozen");
        for (int i = 0; i < n_groups; i++) {
            if (groups[i].prunable)
                continue;
            json_obj(&js, NULL);
            json_str(&js, "layer", g->nodes[groups[i].members[0]].name);
            json_int(&js, "channels", groups[i].channels);
            json_str(&js, "why", groups[i].why);
            json_end_obj(&js);
        }
        json_end_arr(&js);
        json_end_obj(&js);
        json_finish(&js);
    } else {
        printf("criterion %s, ratio %.2f: %d channels removed\n", pith_prune_criterion_name(j.criterion), (double)j.ratio,
               r.channels_removed);
        printf("%-12s %12s %12s %8s\n", "", "before", "after", "kept");
        printf("%-12s %12lld %12lld %7.1f%%\n", "params", (long long)params0, (long long)params1,
               100.0 * (double)params1 / (double)params0);
        printf("%-12s %12lld %12lld %7.1f%%\n", "MACs", (long long)macs0, (long long)macs1,
               100.0 * (double)macs1 / (double)macs0);
        printf("%-12s %12lld %12lld %7.1f%%\n", "float32 B", (long long)bytes0, (long long)bytes1,
               100.0 * (double)bytes1 / (double)bytes0);
        printf("%-12s %12ld %12ld %7.1f%%\n", "file B", f0, f1, 100.0 * (double)f1 / (double)f0);
        printf("test top-1   %.2f%% before, %.2f%% pruned, %.2f%% after %d epoch%s of fine-tuning (drop %+.2f pt)\n",
               100 * r.top1_before, 100 * r.top1_pruned, 100 * r.top1, j.epochs, j.epochs == 1 ? "" : "s",
               100 * (r.top1_before - r.top1));
        printf("frozen: %d group%s left whole\n", n_frozen, n_frozen == 1 ? "" : "s");
        for (int i = 0, shown = 0; i < n_groups && shown < 12; i++)
            if (!groups[i].prunable && ++shown)
                printf("  %-40s %5d channels: %s\n", g->nodes[groups[i].members[0]].name, groups[i].channels,
                       groups[i].why);
        if (n_frozen > 12)
            printf("  (%d more; --json lists them all)\n", n_frozen - 12);
        printf("saved %s\n", out);
    }
    free(groups);
}

int cmd_prune(int argc, char **argv)
{
    const char *cmd = "prune";
    static const struct option opts[] = {
        {"criterion", 1, 0, 'c'}, {"ratio", 1, 0, 'r'}, {"finetune", 1, 0, 'f'}, {"lr", 1, 0, 'l'},
        {"taylor-images", 1, 0, 'T'}, {"data", 1, 0, 'd'}, {"seed", 1, 0, 'S'}, {"threads", 1, 0, 't'},
        {"out", 1, 0, 'o'}, {"quiet", 0, 0, 'q'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'},
        {"method", 1, 0, 'M'}, {"sparsity", 1, 0, 'P'}, {"granularity", 1, 0, 'G'}, {"schedule", 1, 0, 'C'},
        {"epochs", 1, 0, 'f'}, {0, 0, 0, 0},
    };
    pith_prune_job j = pith_prune_job_defaults(0);
    int finetune = -1, threads = 0, quiet = 0, as_json = 0, c, rc;
    const char *data = NULL, *out = NULL;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        switch (c) {
        case 'c':
            if (pith_prune_criterion_parse(optarg, &j.criterion))
                return cli_usage_error(cmd, "%s", pith_last_error());
            break;
        case 'r': rc = cli_float(cmd, "--ratio", optarg, 0.0, 0.999, &j.ratio); break;
        case 'f': rc = cli_int(cmd, "--finetune", optarg, 0, PITH_MAX_EPOCHS, &finetune); break;
        case 'l': rc = cli_float(cmd, "--lr", optarg, 1e-9, 10.0, &j.lr); break;
        case 'T': rc = cli_int(cmd, "--taylor-images", optarg, 1, 1 << 24, &j.taylor_images); break;
        case 'S': rc = cli_u64(cmd, "--seed", optarg, &j.seed); break;
        case 'M':
            if (!strcmp(optarg, "magnitude"))
                j.magnitude = 1;
            else if (strcmp(optarg, "structured"))
                return cli_usage_error(cmd, "--method is structured or magnitude");
            break;
        case 'P': rc = cli_float(cmd, "--sparsity", optarg, 0.0, 0.999, &j.sparsity); break;
        case 'G':
            if (pith_prune_gran_parse(optarg, &j.granularity))
                return cli_usage_error(cmd, "%s", pith_last_error());
            break;
        case 'C':
            if (pith_prune_schedule_parse(optarg, &j.schedule))
                return cli_usage_error(cmd, "--schedule is oneshot, iterative or agp");
            break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    data = co.data, threads = co.threads, out = co.out, quiet = co.quiet, as_json = co.as_json;
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one float checkpoint");
    if (j.magnitude && j.sparsity < 0)
        return cli_usage_error(cmd, "--sparsity is required with --method magnitude");
    if (!j.magnitude && j.ratio < 0)
        return cli_usage_error(cmd, "--ratio is required");
    if (!out)
        return cli_usage_error(cmd, "--out is required");
    j.epochs = finetune >= 0 ? finetune : j.magnitude ? 3 : 0;
    const char *path = argv[optind];
    pith_set_threads(threads);
    FILE *progress = quiet || as_json ? NULL : stderr;
    exp_float_model fm;
    pith_prune_result r;
    rc = exp_open_float(path, data, j.seed, "quantized: prune the float model, then quantize", &fm);
    pith_graph *g = fm.g;
    int64_t params0 = 0, macs0 = 0, bytes0 = 0;
    if (!rc) {
        params0 = pith_graph_params(g, 0);
        macs0 = pith_graph_macs(g);
        bytes0 = pith_graph_bytes(g);
        rc = pith_prune_run(g, &fm.base, &j, &fm.train, &fm.test, progress, &r);
    }
    if (!rc) {
        fm.meta.top1 = r.top1;
        cli_command_line(argc, argv, fm.meta.command, sizeof fm.meta.command);
        rc = pith_checkpoint_save(out, g, &fm.meta, r.trained ? &r.cfg : NULL, NULL, NULL, 0);
    }
    int exit_code = rc ? cli_fail(cmd, rc) : EXIT_OK;
    if (!rc && j.magnitude)
        print_magnitude(path, out, &j, &r, g, as_json);
    else if (!rc)
        print_structured(path, out, &j, &r, g, params0, macs0, bytes0, as_json);
    exp_float_model_free(&fm);
    return exit_code;
}
