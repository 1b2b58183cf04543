/* pith quantize: post-training quantization, quantization-aware training,
 * k-means weight sharing and binary / ternary weights, from a float
 * checkpoint to a quantized one that eval, analyze and export read. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../quant/quant.h"
#include "cli.h"
#include "../experiments/json.h"
#include "../quant/quantize.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pith quantize CKPT --out OUT [options]\n"
            "\n"
            "Quantizes a float checkpoint. Batchnorm is folded into the preceding conv,\n"
            "fake-quant nodes are placed where the integer model holds int8 tensors, and\n"
            "weights get per-channel scales; the result evaluates (pith eval) exactly as\n"
            "the integer kernels compute.\n"
            "\n"
            "  --method M        ptq (default) | qat | kmeans | ternary | binary\n"
            "  --bits N          weight and activation bits (default 8; 2-8 or 16)\n"
            "  --wbits N         weight bits (k-means: log2 of the codebook size)\n"
            "  --abits N         activation bits\n"
            "  --per-tensor      one weight scale per layer (default: per output channel)\n"
            "  --group G         one weight scale per G input values of a channel\n"
            "  --wasym           asymmetric weights (default symmetric, narrow range)\n"
            "  --sym-acts        symmetric activations (default asymmetric)\n"
            "  --observer O      activation ranges: minmax (default), ema, percentile, kl, mse\n"
            "  --percentile P    for --observer percentile (default 99.99)\n"
            "  --wobserver O     weight scales: minmax or mse (default: minmax at 8 bits, mse below)\n"
            "  --calib N         calibration images drawn from the training set (default 512)\n"
            "  --calib PATH      calibration images from PATH instead: a list file (one image path\n"
            "                    per line, labels optional: rknn's dataset.txt), class folders, or\n"
            "                    any --data path; through the model's own preprocessing\n"
            "  --calib-count N   how many of them, drawn at random (default 512; all if fewer)\n"
            "  --no-eval         no test set: with --calib PATH, quantize a model that is not a\n"
            "                    classifier of the checkpoint's data (a detector, a segmenter);\n"
            "                    top-1 is n/a (ptq only)\n"
            CLI_LOADER_HELP
            "  --mode M          float-io (default) | int8-io | weight-only\n"
            "  --cle             cross-layer equalization before quantizing (Nagel et al. 2019):\n"
            "                    rescale the channels of conv/linear pairs joined by relu or max\n"
            "                    pooling so that both layers' per-channel ranges are equal (the\n"
            "                    float model is unchanged); pairs behind relu6 etc. are skipped, named\n"
            "  --no-fold         keep batchnorm layers (QAT then trains them, batch statistics,\n"
            "                    weights quantized as folded: w * gamma / sqrt(var + eps))\n"
            "  --freeze-bn E     QAT: batch statistics for E epochs, then BN frozen and folded\n"
            "                    (Jacob et al. 2018; implies --no-fold; 0 = fold first)\n"
            "  --lsq             learn the scales (LSQ) during fine-tuning\n"
            "  --stochastic      round stochastically while fine-tuning (evaluation and the\n"
            "                    integer model always round to nearest even)\n"
            "  --all-layers      binary/ternary/k-means also on the first and last layer\n"
            "                    (default: those stay uniform int8)\n"
            "  --kmeans-init I   linear (default) | density | random\n"
            "  --plan FILE       per-layer bits from a YAML plan (pith analyze --propose)\n"
            "  --epochs N        fine-tuning epochs (qat 3, kmeans 2, ternary/binary 3; ptq 0)\n"
            "  --lr LR           fine-tuning learning rate (default: the checkpoint's / 10; k-means / 100,\n"
            "                    binary and ternary: / 5)\n"
            "  --data DIR        dataset directory (default: the checkpoint's)\n"
            "  --seed S          calibration sample and k-means seed (default 1)\n"
            "  --threads N       threads (default: all cores)\n"
            "  --quiet           no progress output\n"
            "  --json            print one JSON object on stdout\n"
            "  -h, --help        this help\n");
}

static int parse_method(const char *s, quant_job *j)
{
    static const struct { const char *name; pith_wq_kind kind; int qat; } m[] = {
        {"ptq", PITH_WQ_UNIFORM, 0}, {"qat", PITH_WQ_UNIFORM, 1}, {"kmeans", PITH_WQ_KMEANS, 1},
        {"ternary", PITH_WQ_TERNARY, 1}, {"binary", PITH_WQ_BINARY, 1},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(s, m[i].name)) {
            snprintf(j->method, sizeof j->method, "%s", s);
            j->q.method = m[i].kind;
            j->train = m[i].qat;
            return PITH_OK;
        }
    return pith_error(PITH_EINVAL, "unknown method '%s' (ptq, qat, kmeans, ternary, binary)", s);
}

static void quant_result_json(json *js, const quant_job *j, const quant_result *r)
{
    char s[256];
    quant_job_scheme(j, s, sizeof s);
    json_str(js, "method", j->method);
    json_str(js, "scheme", s);
    json_int(js, "wbits", j->q.w.bits);
    json_int(js, "abits", j->q.io == PITH_QIO_WEIGHT_ONLY ? 32 : j->q.a.bits);
    json_str(js, "observer", pith_observer_name(j->a_obs));
    json_int(js, "calib", j->calib);
    json_int(js, "cle_pairs", j->q.cle ? r->cle.pairs : 0);
    json_int(js, "epochs", r->epochs);
    json_str(js, "layers", r->layers);
    json_num(js, "float_top1", r->float_top1);
    json_num(js, "top1", r->top1);
    json_num(js, "top5", r->top5);
    json_num(js, "drop_pt", 100 * (r->float_top1 - r->top1));
    json_int(js, "float_bytes", r->float_bytes);
    json_int(js, "bytes", r->bytes);
}

int cmd_quantize(int argc, char **argv)
{
    const char *cmd = "quantize";
    static const struct option opts[] = {
        {"method", 1, 0, 'm'}, {"bits", 1, 0, 'B'}, {"wbits", 1, 0, 'W'}, {"abits", 1, 0, 'A'},
        {"per-tensor", 0, 0, 'T'}, {"group", 1, 0, 'G'}, {"wasym", 0, 0, 'w'}, {"sym-acts", 0, 0, 's'},
        {"observer", 1, 0, 'o'}, {"percentile", 1, 0, 'P'}, {"wobserver", 1, 0, 'O'},
        {"calib", 1, 0, 'c'}, {"calib-count", 1, 0, 'C'}, {"no-eval", 0, 0, 'N'}, CLI_LOADER_OPTIONS, {"mode", 1, 0, 'M'}, {"no-fold", 0, 0, 'F'}, {"cle", 0, 0, 'E'}, {"freeze-bn", 1, 0, 'Z'}, {"lsq", 0, 0, 'L'}, {"stochastic", 0, 0, 'R'},
        {"all-layers", 0, 0, 'a'}, {"kmeans-init", 1, 0, 'k'}, {"plan", 1, 0, 'p'},
        {"epochs", 1, 0, 'e'}, {"lr", 1, 0, 'l'}, {"data", 1, 0, 'd'}, {"seed", 1, 0, 'S'},
        {"threads", 1, 0, 't'}, {"out", 1, 0, 'u'}, {"quiet", 0, 0, 'q'}, {"json", 0, 0, 'j'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    quant_job job;
    quant_job_defaults(&job);
    const char *out = NULL, *data = NULL, *calib_path = NULL;
    int no_eval = 0;
    cli_data_flags df;
    cli_data_flags_init(&df);
    int threads = 0, quiet = 0, as_json = 0, c, rc, wbits = 0, abits = 0, bits = 0, wobs_given = 0;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        int taken = cli_data_flag(cmd, c, optarg, &df);
        if (taken > 1)
            return taken;
        switch (taken ? 0 : c) {
        case 'm':
            if (parse_method(optarg, &job))
                return cli_usage_error(cmd, "%s", pith_last_error());
            break;
        case 'B': rc = cli_int(cmd, "--bits", optarg, 1, 16, &bits); break;
        case 'W': rc = cli_int(cmd, "--wbits", optarg, 1, 16, &wbits); break;
        case 'A': rc = cli_int(cmd, "--abits", optarg, 2, 16, &abits); break;
        case 'T': job.q.w.gran = PITH_QGRAN_TENSOR; break;
        case 'G':
            rc = cli_int(cmd, "--group", optarg, 1, 1 << 20, &job.q.w.group);
            job.q.w.gran = PITH_QGRAN_GROUP;
            break;
        case 'w': job.q.w.symmetric = 0; job.q.w.narrow = 0; break;
        case 's': job.q.a.symmetric = 1; break;
        case 'o':
            if (pith_observer_parse(optarg, &job.a_obs))
                return cli_usage_error(cmd, "%s", pith_last_error());
            break;
        case 'P': rc = cli_float(cmd, "--percentile", optarg, 50.0, 100.0, &job.pct); break;
        case 'O':
            if (pith_observer_parse(optarg, &job.q.w_obs) ||
                (job.q.w_obs != PITH_OBS_MINMAX && job.q.w_obs != PITH_OBS_MSE))
                return cli_usage_error(cmd, "--wobserver is minmax or mse");
            wobs_given = 1;
            break;
        case 'c':
            if (optarg[0] && strspn(optarg, "0123456789") == strlen(optarg))
                rc = cli_int(cmd, "--calib", optarg, 1, 1 << 24, &job.calib);
            else
                calib_path = optarg;
            break;
        case 'C': rc = cli_int(cmd, "--calib-count", optarg, 1, 1 << 24, &job.calib); break;
        case 'N': no_eval = 1; break;
        case 'M':
            if (!strcmp(optarg, "float-io"))
                job.q.io = PITH_QIO_FLOAT;
            else if (!strcmp(optarg, "int8-io"))
                job.q.io = PITH_QIO_INT8;
            else if (!strcmp(optarg, "weight-only"))
                job.q.io = PITH_QIO_WEIGHT_ONLY;
            else
                return cli_usage_error(cmd, "--mode is float-io, int8-io or weight-only");
            job.mode_given = 1;
            break;
        case 'F': job.q.fold_bn = 0; break;
        case 'E': job.q.cle = 1; break;
        case 'Z': rc = cli_int(cmd, "--freeze-bn", optarg, 0, PITH_MAX_EPOCHS, &job.freeze_bn); break;
        case 'L': job.q.lsq = 1; break;
        case 'R': job.q.w.round = job.q.a.round = PITH_QROUND_STOCHASTIC; break;
        case 'a': job.q.keep_ends = 0; break;
        case 'k':
            if (pith_kmeans_init_parse(optarg, &job.q.km_init))
                return cli_usage_error(cmd, "%s", pith_last_error());
            break;
        case 'p':
            if (strlen(optarg) >= sizeof job.plan)
                return cli_usage_error(cmd, "--plan: path too long");
            snprintf(job.plan, sizeof job.plan, "%s", optarg);
            break;
        case 'e': rc = cli_int(cmd, "--epochs", optarg, 0, PITH_MAX_EPOCHS, &job.epochs); break;
        case 'l': rc = cli_float(cmd, "--lr", optarg, 1e-9, 10.0, &job.lr); break;
        case 'S': rc = cli_u64(cmd, "--seed", optarg, &job.q.seed); break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    data = co.data, threads = co.threads, out = co.out, quiet = co.quiet, as_json = co.as_json;
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one float checkpoint");
    if (!out)
        return cli_usage_error(cmd, "--out is required");
    if (bits)
        job.q.w.bits = job.q.a.bits = bits;
    if (wbits)
        job.q.w.bits = wbits;
    if (abits)
        job.q.a.bits = abits;
    if (!wobs_given)
        job.q.w_obs = job.q.w.bits < 8 ? PITH_OBS_MSE : PITH_OBS_MINMAX;
    if (quant_job_finish(&job))
        return cli_usage_error(cmd, "%s", pith_last_error());
    const char *path = argv[optind];
    pith_set_threads(threads);

    exp_float_model fm;
    quant_result res;
    memset(&res, 0, sizeof res);
    if (no_eval && !calib_path)
        return cli_usage_error(cmd, "--no-eval calibrates on --calib PATH (images through the model's preprocessing)");
    if (no_eval && job.train)
        return cli_usage_error(cmd, "--no-eval takes --method ptq (the others fine-tune on labelled data)");
    const char *quantized_msg = "already quantized; start from the float checkpoint";
    rc = no_eval ? exp_open_float_model(path, quantized_msg, &fm)
                 : exp_open_float(path, data, job.q.seed, quantized_msg, &fm);
    pith_graph *g = fm.g;
    pith_ckpt_meta *meta = &fm.meta;
    pith_dataset calib_set = {0};
    if (!rc && calib_path) { /* representative images through the model's own preprocessing */
        pith_data_opts o;
        exp_data_opts(meta, g, &o);
        o.calib = 1;
        o.labels = NULL;
        o.progress = quiet ? NULL : stderr;
        if (!(rc = cli_data_apply(cmd, &df, 0, &o)))
            rc = exp_load_split(calib_path, "train", &o, &calib_set);
    }
    if (!rc) {
        cli_command_line(argc, argv, meta->command, sizeof meta->command);
        rc = quant_run(g, meta, &fm.base, &job, &fm.train, &fm.test, calib_path ? &calib_set : NULL,
                       quiet ? NULL : stderr, &res);
    }
    pith_dataset_free(&calib_set);
    if (!rc)
        rc = pith_checkpoint_save(out, g, meta, job.train ? &res.cfg : NULL, NULL, NULL, 0);
    int exit_code = EXIT_OK;
    if (rc) {
        exit_code = cli_fail(cmd, rc);
    } else if (as_json) {
        json j;
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "checkpoint", path);
        json_str(&j, "out", out);
        quant_result_json(&j, &job, &res);
        json_end_obj(&j);
        json_finish(&j);
    } else {
        quant_result_print(stdout, &job, &res);
        printf("saved %s\n", out);
    }
    exp_float_model_free(&fm);
    return exit_code;
}
