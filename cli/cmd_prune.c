/* pith prune: structured channel pruning of a float checkpoint, with
 * fine-tuning; the result is physically smaller (pith info shows it). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../prune/prune.h"
#include "../quant/quant.h"
#include "cli.h"
#include "../experiments/json.h"

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

typedef struct agp_state {
    pith_graph *g;
    float target;
    pith_prune_gran gran;
    int64_t dt, n;
} agp_state;

/* After every step: masked weights back to zero; AGP raises the sparsity on its schedule. */
static int agp_step(pith_trainer *t, void *user)
{
    agp_state *a = user;
    if (a->n > 0 && t->step % a->dt == 0 && t->step / a->dt <= a->n) {
        float s = (float)pith_agp_sparsity(0.0, a->target, 0, a->n, a->dt, t->step);
        int rc = pith_prune_magnitude_all(a->g, s, a->gran);
        if (rc)
            return rc;
    }
    pith_prune_apply_masks(a->g);
    return PITH_OK;
}

static int magnitude_prune(const char *cmd, int argc, char **argv, const char *path, const char *out, const char *data,
                           float sparsity, pith_prune_gran gran, int schedule, int epochs, float lr, uint64_t seed,
                           int threads, int quiet, int as_json)
{
    if (sparsity < 0)
        return cli_usage_error(cmd, "--sparsity is required with --method magnitude");
    if (!out)
        return cli_usage_error(cmd, "--out is required");
    pith_set_threads(threads);
    FILE *progress = quiet || as_json ? NULL : stderr;
    pith_graph *g = NULL;
    pith_ckpt_meta meta;
    pith_train_config base;
    int has_cfg = 0;
    pith_dataset train = {0}, none = {0}, test = {0};
    double top1_before = 0, top1_pruned = NAN, top1 = 0;
    int rc = exp_load_checkpoint(path, &g, &meta, &base, &has_cfg);
    if (!rc && pith_graph_is_quantized(g))
        rc = pith_error(PITH_EINVAL, "%s is quantized: prune the float model, then quantize", path);
    if (!rc)
        rc = exp_load_data(data ? data : meta.dataset, meta.mean, meta.std, 0, 0, seed, &train, &none, &test);
    if (!rc)
        rc = pith_test_accuracy(g, &test, 500, &top1_before, NULL, NULL);
    pith_train_config c2 = pith_finetune_config(has_cfg ? &base : NULL, epochs, lr, 10.0f);
    c2.seed = seed;
    int rounds = schedule == 1 ? 3 : 1;
    for (int r = 1; r <= rounds && !rc; r++) {
        agp_state st = {g, sparsity, gran, 1, 0};
        if (schedule != 2) {
            rc = pith_prune_magnitude_all(g, sparsity * (float)r / (float)rounds, gran);
            if (!rc && r == 1)
                rc = pith_test_accuracy(g, &test, 500, &top1_pruned, NULL, NULL);
        }
        c2.epochs = schedule == 1 ? (epochs + rounds - 1) / rounds : epochs;
        pith_trainer *t = NULL;
        if (!rc)
            rc = pith_trainer_create(&t, g, &c2, &train, &test);
        if (!rc) {
            int64_t total = (int64_t)c2.epochs * ((train.n + c2.batch - 1) / c2.batch);
            st.n = schedule == 2 ? 10 : 0;
            st.dt = schedule == 2 ? (total * 3 / 4) / 10 : 1;
            if (st.dt < 1)
                st.dt = 1;
            t->progress = progress;
            t->on_step = agp_step;
            t->step_user = &st;
            if (progress)
                fprintf(progress, "%s: %d epoch%s at lr %g%s\n", schedule == 2 ? "gradual pruning (AGP)" : "fine-tuning",
                        c2.epochs, c2.epochs == 1 ? "" : "s", (double)c2.lr, schedule == 1 ? " (one round of 3)" : "");
            rc = pith_trainer_run(t);
        }
        pith_trainer_free(t);
    }
    if (!rc) {
        pith_prune_apply_masks(g);
        rc = pith_test_accuracy(g, &test, 500, &top1, NULL, NULL);
    }
    if (!rc) {
        meta.top1 = top1;
        cli_command_line(argc, argv, meta.command, sizeof meta.command);
        rc = pith_checkpoint_save(out, g, &meta, &c2, NULL, NULL, 0);
    }
    int exit_code = rc ? cli_fail(cmd, rc) : EXIT_OK;
    if (!rc) {
        json j;
        if (as_json) {
            json_init(&j, stdout);
            json_obj(&j, NULL);
            json_str(&j, "checkpoint", path);
            json_str(&j, "out", out);
            json_num(&j, "sparsity_target", sparsity);
            json_str(&j, "granularity", pith_prune_gran_name(gran));
            json_num(&j, "top1_before", top1_before);
            json_num(&j, "top1", top1);
            json_arr(&j, "layers");
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
                json_obj(&j, NULL);
                json_str(&j, "name", n->name);
                json_int(&j, "weights", (int64_t)n->params[0].size);
                json_num(&j, "sparsity", sp);
                json_end_obj(&j);
            } else {
                printf("%-12s %10zu %8.1f%%\n", n->name, n->params[0].size, 100 * sp);
            }
        }
        if (as_json) {
            json_end_arr(&j);
            json_num(&j, "sparsity", total ? (double)zeros / (double)total : 0.0);
            json_end_obj(&j);
            json_finish(&j);
        } else {
            printf("all weights: %.1f%% zero (measured from the weights)\n", total ? 100.0 * (double)zeros / (double)total : 0.0);
            printf("test top-1 %.2f%% before, %.2f%% after %s, %d epoch%s (drop %+.2f pt); saved %s\n", 100 * top1_before,
                   100 * top1, schedule == 2 ? "AGP" : schedule == 1 ? "3 rounds" : "one shot", epochs,
                   epochs == 1 ? "" : "s", 100 * (top1_before - top1), out);
            if (!isnan(top1_pruned))
                printf("(right after the first pruning, before fine-tuning: %.2f%%)\n", 100 * top1_pruned);
        }
    }
    pith_graph_free(g);
    pith_dataset_free(&train);
    pith_dataset_free(&none);
    pith_dataset_free(&test);
    return exit_code;
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
    pith_prune_criterion crit = PITH_CRIT_L1;
    pith_prune_gran gran = PITH_PRUNE_ELEMENT;
    int magnitude = 0, schedule = 0; /* 0 oneshot, 1 iterative, 2 agp */
    float sparsity = -1.0f;
    float ratio = -1.0f, lr = 0.0f;
    int finetune = 0, taylor_images = 1024, threads = 0, quiet = 0, as_json = 0, c, rc;
    uint64_t seed = 1;
    const char *data = NULL, *out = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = 0;
        switch (c) {
        case 'c':
            if (pith_prune_criterion_parse(optarg, &crit))
                return cli_usage_error(cmd, "%s", pith_last_error());
            break;
        case 'r': rc = cli_float(cmd, "--ratio", optarg, 0.0, 0.999, &ratio); break;
        case 'f': rc = cli_int(cmd, "--finetune", optarg, 0, PITH_MAX_EPOCHS, &finetune); break;
        case 'l': rc = cli_float(cmd, "--lr", optarg, 1e-9, 10.0, &lr); break;
        case 'T': rc = cli_int(cmd, "--taylor-images", optarg, 1, 1 << 24, &taylor_images); break;
        case 'd': data = optarg; break;
        case 'S': rc = cli_u64(cmd, "--seed", optarg, &seed); break;
        case 't': rc = cli_int(cmd, "--threads", optarg, 1, 1024, &threads); break;
        case 'o': out = optarg; break;
        case 'M':
            if (!strcmp(optarg, "magnitude"))
                magnitude = 1;
            else if (strcmp(optarg, "structured"))
                return cli_usage_error(cmd, "--method is structured or magnitude");
            break;
        case 'P': rc = cli_float(cmd, "--sparsity", optarg, 0.0, 0.999, &sparsity); break;
        case 'G':
            if (pith_prune_gran_parse(optarg, &gran))
                return cli_usage_error(cmd, "%s", pith_last_error());
            break;
        case 'C':
            schedule = !strcmp(optarg, "oneshot") ? 0 : !strcmp(optarg, "iterative") ? 1 : !strcmp(optarg, "agp") ? 2 : -1;
            if (schedule < 0)
                return cli_usage_error(cmd, "--schedule is oneshot, iterative or agp");
            break;
        case 'q': quiet = 1; break;
        case 'j': as_json = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
        if (rc)
            return rc;
    }
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one float checkpoint");
    if (magnitude)
        return magnitude_prune(cmd, argc, argv, argv[optind], out, data, sparsity, gran, schedule,
                               finetune ? finetune : 3, lr, seed, threads, quiet, as_json);
    if (ratio < 0)
        return cli_usage_error(cmd, "--ratio is required");
    if (!out)
        return cli_usage_error(cmd, "--out is required");
    const char *path = argv[optind];
    pith_set_threads(threads);
    FILE *progress = quiet || as_json ? NULL : stderr;

    pith_graph *g = NULL;
    pith_ckpt_meta meta;
    pith_train_config base;
    int has_cfg = 0, removed = 0;
    pith_dataset train = {0}, none = {0}, test = {0};
    double top1_before = 0, top1_pruned = 0, top1 = 0;
    int64_t params0 = 0, macs0 = 0, bytes0 = 0;
    rc = exp_load_checkpoint(path, &g, &meta, &base, &has_cfg);
    if (!rc && pith_graph_is_quantized(g))
        rc = pith_error(PITH_EINVAL, "%s is quantized: prune the float model, then quantize", path);
    const char *dir = data ? data : meta.dataset;
    if (!rc)
        rc = exp_load_data(dir, meta.mean, meta.std, 0, 0, seed, &train, &none, &test);
    if (!rc)
        rc = pith_test_accuracy(g, &test, 500, &top1_before, NULL, NULL);
    if (!rc) {
        params0 = pith_graph_params(g, 0);
        macs0 = pith_graph_macs(g);
        bytes0 = pith_graph_bytes(g);
    }
    if (!rc && crit == PITH_CRIT_TAYLOR)
        rc = pith_graph_compile(g, 64);
    if (!rc) {
        removed = pith_prune_structured(g, crit, ratio, &train, taylor_images, seed);
        rc = removed < 0 ? removed : 0;
    }
    if (!rc)
        rc = pith_test_accuracy(g, &test, 500, &top1_pruned, NULL, NULL);
    top1 = top1_pruned;
    pith_train_config c2 = pith_finetune_config(has_cfg ? &base : NULL, finetune, lr, 10.0f);
    c2.seed = seed;
    if (!rc && finetune > 0) {
        pith_trainer *t = NULL;
        rc = pith_trainer_create(&t, g, &c2, &train, &test);
        if (!rc) {
            t->progress = progress;
            if (progress)
                fprintf(progress, "fine-tuning for %d epoch%s, lr %g\n", finetune, finetune == 1 ? "" : "s", (double)c2.lr);
            rc = pith_trainer_run(t);
        }
        pith_trainer_free(t);
        if (!rc)
            rc = pith_test_accuracy(g, &test, 500, &top1, NULL, NULL);
    }
    if (!rc) {
        meta.top1 = top1;
        cli_command_line(argc, argv, meta.command, sizeof meta.command);
        rc = pith_checkpoint_save(out, g, &meta, finetune > 0 ? &c2 : NULL, NULL, NULL, 0);
    }
    int exit_code = EXIT_OK;
    if (rc) {
        exit_code = cli_fail(cmd, rc);
    } else {
        pith_graph_sort(g);
        int64_t params1 = pith_graph_params(g, 0), macs1 = pith_graph_macs(g), bytes1 = pith_graph_bytes(g);
        long f0 = file_bytes(path), f1 = file_bytes(out);
        if (as_json) {
            json j;
            json_init(&j, stdout);
            json_obj(&j, NULL);
            json_str(&j, "checkpoint", path);
            json_str(&j, "out", out);
            json_str(&j, "criterion", pith_prune_criterion_name(crit));
            json_num(&j, "ratio", ratio);
            json_int(&j, "channels_removed", removed);
            json_int(&j, "finetune", finetune);
            json_num(&j, "top1_before", top1_before);
            json_num(&j, "top1_pruned", top1_pruned);
            json_num(&j, "top1", top1);
            json_int(&j, "params_before", params0);
            json_int(&j, "params", params1);
            json_int(&j, "macs_before", macs0);
            json_int(&j, "macs", macs1);
            json_int(&j, "bytes_before", bytes0);
            json_int(&j, "bytes", bytes1);
            json_int(&j, "file_bytes_before", f0);
            json_int(&j, "file_bytes", f1);
            json_end_obj(&j);
            json_finish(&j);
        } else {
            printf("criterion %s, ratio %.2f: %d channels removed\n", pith_prune_criterion_name(crit), (double)ratio,
                   removed);
            printf("%-12s %12s %12s %8s\n", "", "before", "after", "kept");
            printf("%-12s %12lld %12lld %7.1f%%\n", "params", (long long)params0, (long long)params1,
                   100.0 * (double)params1 / (double)params0);
            printf("%-12s %12lld %12lld %7.1f%%\n", "MACs", (long long)macs0, (long long)macs1,
                   100.0 * (double)macs1 / (double)macs0);
            printf("%-12s %12lld %12lld %7.1f%%\n", "float32 B", (long long)bytes0, (long long)bytes1,
                   100.0 * (double)bytes1 / (double)bytes0);
            printf("%-12s %12ld %12ld %7.1f%%\n", "file B", f0, f1, 100.0 * (double)f1 / (double)f0);
            printf("test top-1   %.2f%% before, %.2f%% pruned, %.2f%% after %d epoch%s of fine-tuning (drop %+.2f pt)\n",
                   100 * top1_before, 100 * top1_pruned, 100 * top1, finetune, finetune == 1 ? "" : "s",
                   100 * (top1_before - top1));
            printf("saved %s\n", out);
        }
    }
    pith_graph_free(g);
    pith_dataset_free(&train);
    pith_dataset_free(&none);
    pith_dataset_free(&test);
    return exit_code;
}
