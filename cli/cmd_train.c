/* pith train: train a zoo model, or resume a checkpoint. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/error.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../core/zoo.h"
#include "../quant/quant.h"
#include "cli.h"
#include "../experiments/json.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pith train [options]\n"
            "       pith train --resume CKPT [--epochs N] [--out PATH]\n"
            "\n"
            "Trains a model on an image-classification set (default: Fashion-MNIST from\n"
            PITH_FMNIST_DIR "), evaluates on the test set after every epoch and saves\n"
            "an HDF5 checkpoint after every epoch.\n"
            "\n"
            "model and data:\n"
            "  --model NAME          zoo model (default fmnist-cnn); see pith info --zoo\n"
            "  --data PATH           an IDX folder ({train,t10k}-{images,labels}-idx*-ubyte[.gz]),\n"
            "                        a CIFAR-10/100 binary folder, class folders of JPEG/PNG/PPM\n"
            "                        images (with train/ and val/ inside, or 1 in 10 held out for\n"
            "                        testing), or a list file ('path label' lines); docs/data.md\n"
            CLI_INPUT_HELP CLI_PREPROCESS_HELP
            "                        (defaults: IDX: --mean01 0.2860 --std01 0.3530; images: none)\n"
            CLI_LOADER_HELP
            "  --subset N            train on the first N training images only\n"
            "  --val N               hold out N random training images; evaluate on them each epoch\n"
            "                        (the final test-set figures are still reported)\n"
            "recipe (defaults: the fmnist-cnn recipe of the PyTorch peer):\n"
            "  --epochs N            epochs in the schedule (default 5)\n"
            "  --batch N             batch size (default 64)\n"
            "  --lr X                base learning rate (default 0.05)\n"
            "  --schedule S          cosine (default, per step to --min-lr), step or constant\n"
            "  --min-lr X            cosine floor (default 0)\n"
            "  --step-epochs N --gamma X   step schedule: multiply by X every N epochs\n"
            "  --warmup N            linear warm-up over the first N epochs\n"
            "  --optimizer O         sgd (default) or adamw\n"
            "  --momentum X          SGD momentum (default 0.9)\n"
            "  --nesterov            Nesterov momentum\n"
            "  --weight-decay X      default 5e-4 (SGD, on every parameter) or 0.01 (AdamW)\n"
            "  --label-smoothing X   default 0\n"
            "  --bn-l1 X             L1 penalty on batchnorm scales (network slimming, e.g. 1e-4;\n"
            "                        then pith prune --criterion bn_gamma); default 0\n"
            "  --crop-pad N          random crop after N pixels of padding (default off)\n"
            "  --hflip               random horizontal flips\n"
            "  --random-resized-crop a random 8-100%% of the area, aspect 3/4..4/3, resized to the\n"
            "                        input (torchvision's RandomResizedCrop; image data)\n"
            "  --rrc-min-area X      the smallest area of those crops (default 0.08)\n"
            "  --seed S              initialisation, shuffling, augmentation, dropout (default 1)\n"
            "run:\n"
            "  --out PATH            checkpoint to write (default runs/<model>.h5; with --resume,\n"
            "                        the resumed file)\n"
            "  --init CKPT           start from a checkpoint's graph and weights (an imported\n"
            "                        model, say) with a new recipe; its normalisation unless\n"
            "                        --mean / --std are given\n"
            "  --resume CKPT         continue a checkpoint; --epochs sets the new total (the\n"
            "                        schedule is stretched to it); the recipe is kept\n"
            "  --stop-after N        stop after epoch N of the schedule (resume later)\n"
            "  --threads N           threads (default: all cores)\n"
            "  --json                print one JSON object on stdout (progress stays on stderr)\n"
            "  --quiet               no progress output\n"
            "  -h, --help            this help\n");
}

enum {
    O_MODEL = 256, O_DATA, O_RRC, O_RRC_MIN, O_SUBSET, O_VAL, O_EPOCHS, O_BATCH, O_LR, O_SCHED, O_MINLR,
    O_STEPEP, O_GAMMA, O_WARMUP, O_OPTIM, O_MOM, O_NEST, O_WD, O_LS, O_BNL1, O_CROP, O_FLIP, O_SEED, O_OUT,
    O_RESUME, O_STOP, O_THREADS, O_JSON, O_QUIET, O_INIT
};

static const struct option opts[] = {
    {"model", 1, 0, O_MODEL}, {"data", 1, 0, O_DATA}, CLI_INPUT_OPTION, CLI_PREPROCESS_OPTIONS, CLI_LOADER_OPTIONS,
    {"random-resized-crop", 0, 0, O_RRC}, {"rrc-min-area", 1, 0, O_RRC_MIN},
    {"subset", 1, 0, O_SUBSET}, {"val", 1, 0, O_VAL}, {"epochs", 1, 0, O_EPOCHS},
    {"batch", 1, 0, O_BATCH}, {"lr", 1, 0, O_LR}, {"schedule", 1, 0, O_SCHED},
    {"min-lr", 1, 0, O_MINLR}, {"step-epochs", 1, 0, O_STEPEP}, {"gamma", 1, 0, O_GAMMA},
    {"warmup", 1, 0, O_WARMUP}, {"optimizer", 1, 0, O_OPTIM}, {"momentum", 1, 0, O_MOM},
    {"nesterov", 0, 0, O_NEST}, {"weight-decay", 1, 0, O_WD}, {"label-smoothing", 1, 0, O_LS}, {"bn-l1", 1, 0, O_BNL1},
    {"crop-pad", 1, 0, O_CROP}, {"hflip", 0, 0, O_FLIP}, {"seed", 1, 0, O_SEED},
    {"out", 1, 0, O_OUT}, {"resume", 1, 0, O_RESUME}, {"init", 1, 0, O_INIT}, {"stop-after", 1, 0, O_STOP},
    {"threads", 1, 0, O_THREADS}, {"json", 0, 0, O_JSON}, {"quiet", 0, 0, O_QUIET},
    {"help", 0, 0, 'h'}, {0, 0, 0, 0},
};

typedef struct run {
    const char *out;
    pith_ckpt_meta meta;
    int n_hist_before;          /* history rows from before a resume */
    pith_epoch_record *hist_before;
    int json;
} run;

/* Saves after every epoch: an interruption loses at most one epoch. */
static int save_epoch(pith_trainer *t, const pith_epoch_record *r, void *user)
{
    run *ru = user;
    ru->meta.epoch = t->epoch;
    ru->meta.step = t->step;
    ru->meta.top1 = r->test_top1;
    ru->meta.top5 = r->test_top5;
    ru->meta.test_loss = r->test_loss;
    exp_utc_now(ru->meta.created, sizeof ru->meta.created);
    int n = ru->n_hist_before + t->n_history;
    pith_epoch_record *all = malloc((size_t)(n ? n : 1) * sizeof *all);
    if (!all)
        return pith_error(PITH_ENOMEM, "out of memory saving the checkpoint");
    if (ru->n_hist_before)
        memcpy(all, ru->hist_before, (size_t)ru->n_hist_before * sizeof *all);
    memcpy(all + ru->n_hist_before, t->history, (size_t)t->n_history * sizeof *all);
    int rc = pith_checkpoint_save(ru->out, t->g, &ru->meta, &t->cfg, t->opt, all, n);
    free(all);
    return rc;
}

static void print_history_json(json *j, const pith_epoch_record *h, int n)
{
    json_arr(j, "history");
    for (int i = 0; i < n; i++) {
        json_obj(j, NULL);
        json_int(j, "epoch", h[i].epoch);
        json_num(j, "lr", h[i].lr);
        json_num(j, "train_loss", h[i].train_loss);
        json_num(j, "train_acc", h[i].train_acc);
        json_num(j, "test_loss", h[i].test_loss);
        json_num(j, "top1", h[i].test_top1);
        json_num(j, "top5", h[i].test_top5);
        json_num(j, "seconds", h[i].seconds);
        json_num(j, "img_per_s", h[i].img_per_s);
        json_end_obj(j);
    }
    json_end_arr(j);
}

static int ensure_parent_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0777);
            *p = '/';
        }
    mkdir(dir, 0777);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    const char *cmd = "train";
    pith_train_config cfg = pith_train_defaults();
    const char *model = "fmnist-cnn", *data = NULL, *out = NULL, *resume = NULL, *init = NULL;
    cli_data_flags df;
    cli_data_flags_init(&df);
    float rrc_min = 0.08f;
    int rrc = 0;
    int threads = 0, as_json = 0, quiet = 0, wd_given = 0;
    int epochs_given = 0, recipe_given = 0;
    const char *recipe_opt = NULL;
    int c, rc, li = -1;
    char recipe_buf[40];
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, &li)) != -1) {
        rc = 0;
        if (c != O_EPOCHS && c != O_OUT && c != O_RESUME && c != O_INIT && c != O_STOP && c != O_THREADS &&
            c != O_JSON && c != O_QUIET && c != O_DATA && c != CLI_O_SKIP_BAD && c != CLI_O_CACHE_MB &&
            c != CLI_O_CACHE_DIR && c != 'h' && c != '?') {
            recipe_given = 1;
            snprintf(recipe_buf, sizeof recipe_buf, "--%s", li >= 0 ? opts[li].name : "?");
            recipe_opt = recipe_buf;
        }
        int taken = cli_data_flag(cmd, c, optarg, &df);
        if (taken > 1)
            return taken;
        switch (taken ? 0 : c) {
        case 0: break;
        case O_MODEL: model = optarg; break;
        case O_DATA: data = optarg; break;
        case O_RRC: rrc = 1; break;
        case O_RRC_MIN: rc = cli_float(cmd, "--rrc-min-area", optarg, 1e-4, 1, &rrc_min), rrc = 1; break;
        case O_SUBSET: rc = cli_int(cmd, "--subset", optarg, 1, 1 << 30, &cfg.subset); break;
        case O_VAL: rc = cli_int(cmd, "--val", optarg, 1, 1 << 30, &cfg.val); break;
        case O_EPOCHS:
            rc = cli_int(cmd, "--epochs", optarg, 1, PITH_MAX_EPOCHS, &cfg.epochs);
            epochs_given = 1;
            break;
        case O_BATCH: rc = cli_int(cmd, "--batch", optarg, 1, 65536, &cfg.batch); break;
        case O_LR: rc = cli_float(cmd, "--lr", optarg, 1e-12, 100, &cfg.lr); break;
        case O_SCHED:
            if (pith_sched_parse(optarg, &cfg.sched))
                rc = cli_usage_error(cmd, "--schedule: %s", pith_last_error());
            break;
        case O_MINLR: rc = cli_float(cmd, "--min-lr", optarg, 0, 100, &cfg.min_lr); break;
        case O_STEPEP: rc = cli_int(cmd, "--step-epochs", optarg, 1, PITH_MAX_EPOCHS, &cfg.step_epochs); break;
        case O_GAMMA: rc = cli_float(cmd, "--gamma", optarg, 1e-9, 1e3, &cfg.gamma); break;
        case O_WARMUP: rc = cli_int(cmd, "--warmup", optarg, 0, PITH_MAX_EPOCHS, &cfg.warmup_epochs); break;
        case O_OPTIM: {
            pith_optim_kind k;
            if (pith_optim_parse(optarg, &k)) {
                rc = cli_usage_error(cmd, "--optimizer: %s", pith_last_error());
                break;
            }
            float wd = cfg.optim.weight_decay, mom = cfg.optim.momentum;
            int nest = cfg.optim.nesterov;
            cfg.optim = pith_optim_defaults(k);
            if (wd_given)
                cfg.optim.weight_decay = wd;
            if (k == PITH_OPTIM_SGD) {
                cfg.optim.momentum = mom;
                cfg.optim.nesterov = nest;
            }
            break;
        }
        case O_MOM: rc = cli_float(cmd, "--momentum", optarg, 0, 0.999999, &cfg.optim.momentum); break;
        case O_NEST: cfg.optim.nesterov = 1; break;
        case O_WD:
            rc = cli_float(cmd, "--weight-decay", optarg, 0, 10, &cfg.optim.weight_decay);
            wd_given = 1;
            break;
        case O_LS: rc = cli_float(cmd, "--label-smoothing", optarg, 0, 0.999, &cfg.label_smoothing); break;
        case O_BNL1: rc = cli_float(cmd, "--bn-l1", optarg, 0, 0.999, &cfg.bn_l1); break;
        case O_CROP: rc = cli_int(cmd, "--crop-pad", optarg, 0, 64, &cfg.aug.crop_pad); break;
        case O_FLIP: cfg.aug.hflip = 1; break;
        case O_SEED: rc = cli_u64(cmd, "--seed", optarg, &cfg.seed); break;
        case O_OUT: out = optarg; break;
        case O_RESUME: resume = optarg; break;
        case O_INIT: init = optarg; break;
        case O_STOP: rc = cli_int(cmd, "--stop-after", optarg, 1, PITH_MAX_EPOCHS, &cfg.stop_after); break;
        case O_THREADS: rc = cli_int(cmd, "--threads", optarg, 1, 1024, &threads); break;
        case O_JSON: as_json = 1; break;
        case O_QUIET: quiet = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
        if (rc)
            return rc;
        li = -1;
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (cfg.optim.nesterov && cfg.optim.kind != PITH_OPTIM_SGD)
        return cli_usage_error(cmd, "--nesterov applies to --optimizer sgd only");
    pith_set_threads(threads);

    run ru;
    memset(&ru, 0, sizeof ru);
    ru.json = as_json;
    pith_graph *g = NULL;
    pith_epoch_record *hist_before = NULL;
    int done_epochs = 0;
    int64_t done_steps = 0;
    if (resume) {
        if (recipe_given)
            return cli_usage_error(cmd, "%s cannot be changed when resuming: the recipe is read from %s",
                                   recipe_opt, resume);
        int stop_after = cfg.stop_after, epochs = cfg.epochs, n_hist = 0;
        hist_before = calloc(PITH_MAX_EPOCHS, sizeof *hist_before);
        if (!hist_before)
            return EXIT_FAIL;
        rc = exp_load_resumable(resume, &g, &ru.meta, &cfg, hist_before, &n_hist, PITH_MAX_EPOCHS);
        if (rc) {
            free(hist_before);
            return rc == PITH_EINVAL ? cli_usage_error(cmd, "%s", pith_last_error()) : cli_fail(cmd, rc);
        }
        done_epochs = ru.meta.epoch;
        done_steps = ru.meta.step;
        if (epochs_given)
            cfg.epochs = epochs;
        cfg.stop_after = stop_after;
        if (cfg.epochs <= done_epochs) {
            free(hist_before);
            pith_graph_free(g);
            return cli_usage_error(cmd, "%s already has %d epochs; ask for more with --epochs", resume,
                                   done_epochs);
        }
        if (cfg.stop_after && cfg.stop_after <= done_epochs) {
            free(hist_before);
            pith_graph_free(g);
            return cli_usage_error(cmd, "--stop-after %d: %s already has %d epochs", cfg.stop_after,
                                   resume, done_epochs);
        }
        model = ru.meta.model;
        if (!data)
            data = ru.meta.dataset;
        out = out ? out : resume;
        ru.n_hist_before = n_hist;
        ru.hist_before = hist_before;
    }
    if (cfg.stop_after && cfg.stop_after > cfg.epochs)
        return cli_usage_error(cmd, "--stop-after %d is beyond --epochs %d", cfg.stop_after, cfg.epochs);
    pith_ckpt_meta init_meta;
    if (init) {
        if (resume)
            return cli_usage_error(cmd, "--init and --resume exclude each other");
        rc = exp_load_checkpoint(init, &g, &init_meta, NULL, NULL);
        if (rc)
            return cli_fail(cmd, rc);
        model = init_meta.model;
    }
    if (rrc)
        cfg.aug.rrc_min = rrc_min;

    char default_out[256];
    if (!out) {
        snprintf(default_out, sizeof default_out, "runs/%s.h5", model);
        out = default_out;
    }
    ru.out = out;
    ensure_parent_dir(out);

    const int val = cfg.val;
    pith_dataset train = {0}, evalset = {0}, test = {0};
    const char *dir = data && data[0] ? data : PITH_FMNIST_DIR;
    /* the input's preprocessing: a resumed or initial checkpoint's own, or
     * the defaults (Fashion-MNIST's normalisation for IDX data), and the flags */
    pith_data_opts o;
    pith_data_kind kind = PITH_DATA_IDX;
    if (pith_data_kind_of(dir, &kind) != 0)
        kind = PITH_DATA_IDX; /* the loader below says what is wrong with dir */
    if (resume || init) {
        exp_data_opts(resume ? &ru.meta : &init_meta, g, &o);
        o.labels = NULL; /* checked below, against the classes found */
    } else {
        pith_data_opts_default(&o);
        if (kind == PITH_DATA_IDX) {
            o.mean[0] = PITH_FMNIST_MEAN;
            o.std[0] = PITH_FMNIST_STD;
        }
    }
    if (kind == PITH_DATA_IDX && cfg.aug.rrc_min > 0.0f && !resume)
        rc = cli_usage_error(cmd, "--random-resized-crop is for image data (IDX images are kept as they are; "
                                  "--crop-pad is their augmentation)");
    else if (resume && (df.given || rrc))
        rc = cli_usage_error(cmd, "the input's preprocessing cannot be changed when resuming");
    else if (g && df.c)
        rc = cli_usage_error(cmd, "--input: the model's input is fixed by %s", resume ? resume : init);
    else
        rc = cli_data_apply(cmd, &df, g && g->input_shape.ndim == 3 ? g->input_shape.d[0] : 0, &o);
    if (rc)
        return rc;
    o.train_crop = cfg.aug.rrc_min > 0.0f;
    o.progress = quiet || as_json ? NULL : stderr;
    char cache_dir[4096];
    snprintf(cache_dir, sizeof cache_dir, "%s", out);
    if (strrchr(cache_dir, '/'))
        *strrchr(cache_dir, '/') = 0;
    else
        snprintf(cache_dir, sizeof cache_dir, ".");
    if (!o.cache_dir)
        o.cache_dir = cache_dir;
    rc = exp_load_data(dir, &o, cfg.subset, cfg.val, cfg.seed, &train, &evalset, &test);
    if (!rc && !quiet && !as_json && pith_data_holds_out(kind))
        fprintf(stderr, "%s has no val/ or test/ split: %d images held out at random (seed %llu) for testing\n", dir,
                test.n, (unsigned long long)cfg.seed);
    if (!rc) {
        int classes = train.classes > test.classes ? train.classes : test.classes;
        if (!g)
            rc = pith_zoo_build(model, train.c, train.h, train.w, classes, cfg.seed, &g);
        const pith_ckpt_meta *had = resume ? &ru.meta : init ? &init_meta : NULL;
        if (!rc && had && had->labels[0] && train.labels && strcmp(had->labels, train.labels))
            rc = pith_error(PITH_EINVAL, "%s: the classes of %s are not the model's (%s)", dir, dir,
                            resume ? resume : init);
        if (!rc && !resume) {
            snprintf(ru.meta.model, sizeof ru.meta.model, "%s", model);
            snprintf(ru.meta.dataset, sizeof ru.meta.dataset, "%s", dir);
            ru.meta.seed = cfg.seed;
            ru.meta.classes = classes;
            cli_data_to_meta(&o, &ru.meta);
            if (init) /* the imported model's class names */
                memcpy(ru.meta.labels, init_meta.labels, sizeof ru.meta.labels);
            if (train.labels && strlen(train.labels) < sizeof ru.meta.labels)
                snprintf(ru.meta.labels, sizeof ru.meta.labels, "%s", train.labels);
            else if (train.labels && !quiet)
                fprintf(stderr, "pith train: the class names take more than %zu bytes; the checkpoint keeps "
                                "class numbers only\n", sizeof ru.meta.labels - 1);
        }
    }
    cli_command_line(argc, argv, ru.meta.command, sizeof ru.meta.command);
    if (!rc && resume && dir != ru.meta.dataset)
        snprintf(ru.meta.dataset, sizeof ru.meta.dataset, "%s", dir);

    pith_trainer *t = NULL;
    if (!rc)
        rc = pith_trainer_create(&t, g, &cfg, &train, val ? &evalset : &test);
    if (!rc && resume) {
        rc = pith_checkpoint_load_optim(resume, t->opt, g);
        t->epoch = done_epochs;
        t->step = done_steps;
    }
    int exit_code = EXIT_OK;
    if (!rc) {
        t->progress = quiet ? NULL : stderr;
        t->on_epoch = save_epoch;
        t->user = &ru;
        if (!quiet)
            fprintf(stderr, "%s %s: %d training images, %lld parameters, %d threads, batch %d, %s\n",
                    resume ? "resuming" : "training", model, train.n,
                    (long long)pith_graph_params(g, 1), pith_get_threads(), cfg.batch,
                    resume ? "continuing the checkpoint's schedule" : "new run");
        rc = pith_trainer_run(t);
        if (rc == PITH_ENUM) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", pith_last_error());
            pith_error(rc, "%s; %s", msg,
                       t->n_history || resume ? "the checkpoint keeps the last good epoch"
                                              : "no checkpoint was written");
        }
    }
    /* Final figures on the test set (the per-epoch ones may be on --val). */
    pith_metrics m = {0};
    if (!rc && t->n_history) {
        rc = pith_metrics_init(&m, pith_graph_output_shape(g)->d[0]);
        if (!rc && val) {
            rc = pith_evaluate(g, &test, &m, NULL);
            if (!rc) {
                ru.meta.top1 = pith_metrics_top1(&m);
                ru.meta.top5 = pith_metrics_top5(&m);
                ru.meta.test_loss = pith_metrics_loss(&m);
                rc = pith_checkpoint_save(out, g, &ru.meta, &t->cfg, t->opt, NULL, 0);
            }
        }
    }
    if (rc) {
        exit_code = cli_fail(cmd, rc);
    } else if (t->n_history) {
        double ips = 0.0;
        for (int i = 0; i < t->n_history; i++)
            ips += t->history[i].img_per_s;
        ips /= t->n_history;
        if (as_json) {
            json j;
            json_init(&j, stdout);
            json_obj(&j, NULL);
            json_str(&j, "model", model);
            json_str(&j, "out", out);
            json_int(&j, "seed", (int64_t)cfg.seed);
            json_int(&j, "epochs", t->epoch);
            json_int(&j, "steps", t->step);
            json_int(&j, "threads", pith_get_threads());
            json_int(&j, "batch", cfg.batch);
            json_int(&j, "params", pith_graph_params(g, 1));
            json_num(&j, "top1", ru.meta.top1);
            json_num(&j, "top5", ru.meta.top5);
            json_num(&j, "test_loss", ru.meta.test_loss);
            json_num(&j, "img_per_s", ips);
            json_str(&j, "eval_set", val ? "val" : "test");
            print_history_json(&j, t->history, t->n_history);
            json_end_obj(&j);
            json_finish(&j);
        } else {
            printf("%s: %d epoch%s, test top-1 %.2f%%, top-5 %.2f%%, loss %.4f; %.0f img/s on %d "
                   "threads; saved %s\n",
                   model, t->epoch, t->epoch == 1 ? "" : "s", 100 * ru.meta.top1, 100 * ru.meta.top5, ru.meta.test_loss, ips,
                   pith_get_threads(), out);
        }
    }
    if (!quiet && !as_json) {
        cli_data_report(stderr, &train, "train");
        if (test.px != train.px) /* not a held-out part of the same store */
            cli_data_report(stderr, &test, "test");
    }
    pith_metrics_free(&m);
    pith_trainer_free(t);
    pith_graph_free(g);
    free(hist_before);
    pith_dataset_free(&train);
    pith_dataset_free(&evalset);
    pith_dataset_free(&test);
    return exit_code;
}
