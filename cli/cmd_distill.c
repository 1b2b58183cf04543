/* pith distill: train a student with a teacher's softened outputs. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../core/zoo.h"
#include "../distill/distill.h"
#include "../quant/quant.h"
#include "cli.h"
#include "../experiments/json.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: pith distill --teacher CKPT --student MODEL|CKPT --out OUT [options]\n"
               "\n"
               "Trains the student on alpha * T^2 * KL(teacher || student at temperature T)\n"
               "+ (1 - alpha) * cross-entropy. The teacher runs in evaluation mode on the\n"
               "same batches. The student is a zoo model trained from scratch, or a\n"
               "checkpoint (e.g. pruned or quantized) that is fine-tuned.\n"
               "\n"
               "  --teacher CKPT    the teacher checkpoint\n"
               "  --student S       zoo model (e.g. fmnist-cnn-slim) or checkpoint (.h5)\n"
               "  --T T             temperature (default 4)\n"
               "  --alpha A         weight of the distillation term (default 0.9)\n"
               "  --labels-only     train the same student on labels alone (the control)\n"
               "  --epochs N        epochs (default 5); --lr, --batch as in pith train (0.05, 64)\n"
               "  --seed S          seed (default 1)\n"
               "  --crop-pad N, --hflip   augmentation, as in pith train (default off)\n"
               "  --no-teacher-cache  run the teacher on every batch; by default, without\n"
               "                    augmentation, its logits for each training image are\n"
               "                    computed once (first epoch) and reused\n"
               "  --data DIR        dataset directory (default: the teacher's)\n"
               "  --threads N       threads (default: all cores)\n"
               "  --quiet           no progress output\n"
               "  --json            print one JSON object on stdout\n"
               "  -h, --help        this help\n");
}


int cmd_distill(int argc, char **argv)
{
    const char *cmd = "distill";
    static const struct option opts[] = {
        {"teacher", 1, 0, 'T'}, {"student", 1, 0, 's'}, {"T", 1, 0, 'p'}, {"alpha", 1, 0, 'a'},
        {"labels-only", 0, 0, 'L'}, {"epochs", 1, 0, 'e'}, {"lr", 1, 0, 'l'}, {"batch", 1, 0, 'b'},
        {"seed", 1, 0, 'S'}, {"data", 1, 0, 'd'}, {"threads", 1, 0, 't'}, {"out", 1, 0, 'o'},
        {"quiet", 0, 0, 'q'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {"crop-pad", 1, 0, 'c'},
        {"hflip", 0, 0, 'f'}, {"no-teacher-cache", 0, 0, 'N'}, {0, 0, 0, 0},
    };
    const char *teacher_path = NULL, *student = NULL, *data = NULL, *out = NULL;
    float T = 4.0f, alpha = 0.9f;
    int labels_only = 0, no_cache = 0, threads = 0, quiet = 0, as_json = 0, c, rc;
    pith_train_config cfg = pith_train_defaults();
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        switch (c) {
        case 'T': teacher_path = optarg; break;
        case 's': student = optarg; break;
        case 'p': rc = cli_float(cmd, "--T", optarg, 0.01, 100.0, &T); break;
        case 'a': rc = cli_float(cmd, "--alpha", optarg, 0.0, 1.0, &alpha); break;
        case 'L': labels_only = 1; break;
        case 'e': rc = cli_int(cmd, "--epochs", optarg, 1, PITH_MAX_EPOCHS, &cfg.epochs); break;
        case 'l': rc = cli_float(cmd, "--lr", optarg, 1e-9, 10.0, &cfg.lr); break;
        case 'b': rc = cli_int(cmd, "--batch", optarg, 1, 65536, &cfg.batch); break;
        case 'S': rc = cli_u64(cmd, "--seed", optarg, &cfg.seed); break;
        case 'c': rc = cli_int(cmd, "--crop-pad", optarg, 0, 64, &cfg.aug.crop_pad); break;
        case 'f': cfg.aug.hflip = 1; break;
        case 'N': no_cache = 1; break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    data = co.data, threads = co.threads, out = co.out, quiet = co.quiet, as_json = co.as_json;
    if (optind != argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!teacher_path || !student || !out)
        return cli_usage_error(cmd, "--teacher, --student and --out are required");
    pith_set_threads(threads);
    FILE *progress = quiet || as_json ? NULL : stderr;

    pith_graph *teacher = NULL, *g = NULL;
    pith_ckpt_meta tmeta, meta;
    memset(&meta, 0, sizeof meta);
    pith_dataset train = {0}, none = {0}, test = {0};
    double teacher_top1 = NAN;
    rc = exp_load_checkpoint(teacher_path, &teacher, &tmeta, NULL, NULL);
    const char *dir = data ? data : tmeta.dataset;
    pith_data_opts o;
    exp_data_opts(&tmeta, teacher, &o);
    if (!rc)
        rc = exp_load_data(dir, &o, 0, 0, tmeta.seed, &train, &none, &test); /* the teacher's hold-out */
    if (!rc && cli_ends_with(student, ".h5")) {
        rc = exp_load_checkpoint(student, &g, &meta, NULL, NULL);
    } else if (!rc) {
        int classes = train.classes > test.classes ? train.classes : test.classes;
        rc = pith_zoo_build(student, train.c, train.h, train.w, classes, cfg.seed, &g);
        snprintf(meta.model, sizeof meta.model, "%s", student);
        snprintf(meta.dataset, sizeof meta.dataset, "%s", dir);
        meta.mean = tmeta.mean;
        meta.std = tmeta.std;
        meta.classes = classes;
    }
    meta.seed = cfg.seed;
    if (!rc) /* the teacher's own accuracy, for the record */
        rc = pith_test_accuracy(teacher, &test, 500, &teacher_top1, NULL, NULL);
    pith_distill kd;
    memset(&kd, 0, sizeof kd);
    int augmented = pith_augment_active(&cfg.aug);
    if (!rc)
        rc = pith_distill_setup(&kd, teacher, T, alpha, cfg.batch, labels_only || no_cache || augmented ? 0 : train.n);
    pith_trainer *t = NULL;
    if (!rc)
        rc = pith_trainer_create(&t, g, &cfg, &train, &test);
    if (!rc) {
        t->progress = progress;
        if (!labels_only) {
            t->loss = pith_distill_loss;
            t->loss_user = &kd;
        }
        if (progress)
            fprintf(progress, "%s %s for %d epochs%s\n", labels_only ? "training" : "distilling into", student,
                    cfg.epochs, labels_only ? " on labels alone (control)" : "");
        rc = pith_trainer_run(t);
        if (!rc && progress && !labels_only)
            fprintf(progress, "teacher: %lld images run, %lld served from its logit cache\n",
                    (long long)kd.teacher_images, (long long)kd.cached_images);
    }
    double top1 = t && t->n_history ? t->history[t->n_history - 1].test_top1 : NAN;
    if (!rc) {
        meta.top1 = top1;
        meta.top5 = t->history[t->n_history - 1].test_top5;
        meta.epoch = t->epoch;
        meta.step = t->step;
        cli_command_line(argc, argv, meta.command, sizeof meta.command);
        rc = pith_checkpoint_save(out, g, &meta, &cfg, t->opt, t->history, t->n_history);
    }
    int exit_code = rc ? cli_fail(cmd, rc) : EXIT_OK;
    if (!rc && as_json) {
        json j;
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "teacher", teacher_path);
        json_str(&j, "student", student);
        json_bool(&j, "labels_only", labels_only);
        json_num(&j, "T", T);
        json_num(&j, "alpha", alpha);
        json_int(&j, "epochs", cfg.epochs);
        json_int(&j, "seed", (int64_t)cfg.seed);
        json_num(&j, "teacher_top1", teacher_top1);
        json_int(&j, "teacher_images", kd.teacher_images);
        json_int(&j, "teacher_cached_images", kd.cached_images);
        json_num(&j, "top1", top1);
        json_int(&j, "params", pith_graph_params(g, 1));
        json_int(&j, "teacher_params", pith_graph_params(teacher, 1));
        json_end_obj(&j);
        json_finish(&j);
    } else if (!rc) {
        printf("teacher %s: top-1 %.2f%%, %lld parameters\n", teacher_path, 100 * teacher_top1,
               (long long)pith_graph_params(teacher, 1));
        printf("student %s%s: top-1 %.2f%% after %d epochs, %lld parameters; saved %s\n", student,
               labels_only ? " (labels only)" : "", 100 * top1, cfg.epochs, (long long)pith_graph_params(g, 1), out);
    }
    pith_trainer_free(t);
    pith_distill_free(&kd);
    pith_graph_free(g);
    pith_graph_free(teacher);
    pith_dataset_free(&train);
    pith_dataset_free(&none);
    pith_dataset_free(&test);
    return exit_code;
}
