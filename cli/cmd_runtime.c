/* The commands around the runtime: pith export, pith bench, pith infer, and
 * the .pith half of pith eval (cli_eval_pith). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dataset.h"
#include "../core/error.h"
#include "../core/idx.h"
#include "../core/rng.h"
#include "../core/threads.h"
#include "../core/zoo.h"
#include "../data/image.h"
#include "../quant/quant.h"
#include "../export/bench.h"
#include "../export/export.h"
#include "../runtime/pithrt.h"
#include "cli.h"
#include "../experiments/json.h"

int cli_is_pith_file(const char *path) { return cli_ends_with(path, ".pith"); }

/* What pith eval needs to know of a .pith file: input size, preprocessing,
 * normalisation, classes and their names, and the dataset (Fashion-MNIST's
 * unless --data says otherwise). */
int cli_pith_meta(const char *path, pith_ckpt_meta *meta, int chw[3])
{
    pith_rt r;
    int rc = pith_rt_open(path, 1, NULL, &r);
    if (rc)
        return rc;
    memset(meta, 0, sizeof *meta);
    snprintf(meta->model, sizeof meta->model, "%s", path);
    snprintf(meta->dataset, sizeof meta->dataset, "%s", PITH_FMNIST_DIR);
    meta->mean = r.m.norm_channels ? r.m.mean[0] : 0.0f;
    meta->std = r.m.norm_channels ? r.m.std[0] : 1.0f;
    if (r.m.norm_channels > 1) {
        meta->norm_channels = r.m.norm_channels;
        memcpy(meta->norm_mean, r.m.mean, sizeof meta->norm_mean);
        memcpy(meta->norm_std, r.m.std, sizeof meta->norm_std);
    }
    meta->pre = r.m.pre;
    if (r.m.labels_bytes < sizeof meta->labels) {
        memcpy(meta->labels, r.m.labels, r.m.labels_bytes);
        meta->labels[r.m.labels_bytes] = 0;
    }
    meta->classes = (int)pithrt_output_size(&r.m);
    const pithrt_tensor *t = &r.m.tensors[r.m.input];
    chw[0] = t->ndim == 3 ? t->dims[0] : 0;
    chw[1] = t->ndim == 3 ? t->dims[1] : 0;
    chw[2] = t->ndim == 3 ? t->dims[2] : 0;
    pith_rt_close(&r);
    return PITH_OK;
}

/* Runs ds through the runtime into m (initialised by the caller). */
int cli_runtime_metrics(const char *path, const pith_dataset *ds, pith_metrics *m, FILE *progress, pith_graph *ref,
                        cli_agreement *agree)
{
    pith_rt r;
    int rc = pith_rt_open(path, 1, NULL, &r);
    if (rc)
        return rc;
    size_t nin = pithrt_input_size(&r.m), nout = pithrt_output_size(&r.m);
    if (nin != (size_t)ds->c * ds->h * ds->w || (int)nout != m->classes) {
        pith_rt_close(&r);
        return pith_error(PITH_ESHAPE, "%s takes %zu values and gives %zu; the data has %d x %d x %d images and %d classes",
                          path, nin, nout, ds->c, ds->h, ds->w, m->classes);
    }
    if (ref && (pith_shape_size(&ref->input_shape) != nin || pith_shape_size(pith_graph_output_shape(ref)) != nout)) {
        pith_rt_close(&r);
        return pith_error(PITH_ESHAPE, "%s and the checkpoint it is compared with differ in input or output size", path);
    }
    if (ref && (rc = pith_graph_compile(ref, 1))) {
        pith_rt_close(&r);
        return rc;
    }
    if (ref) {
        pith_graph_set_training(ref, 0);
        memset(agree, 0, sizeof *agree);
    }
    /* the output's step: differences are counted in codes of the int8 output */
    const pithrt_tensor *yt = &r.m.tensors[r.m.output];
    const double step = yt->dtype == PITHRT_S8 ? yt->scale : 0.0;
    float *out = malloc(sizeof *out * nout), *x = malloc(sizeof *x * nin);
    if (!out || !x) {
        free(out);
        free(x);
        pith_rt_close(&r);
        return pith_error(PITH_ENOMEM, "out of memory");
    }
    for (int i = 0; i < ds->n && !rc; i++) {
        int y;
        pith_dataset_gather(ds, &i, 1, NULL, 0, x, &y);
        pithrt_set_input_f32(&r.c, x, nin);
        pithrt_run(&r.c);
        pithrt_output_f32(&r.c, out, nout);
        pith_metrics_add(m, out, ds->y + i, 1);
        if (ref) {
            memcpy(pith_graph_input(ref), x, sizeof *x * nin);
            if ((rc = pith_graph_forward(ref, 1)))
                break;
            const float *want = pith_graph_output(ref);
            int differs = 0, top_r = 0, top_w = 0;
            for (size_t k = 0; k < nout; k++) {
                double d = fabs((double)out[k] - (double)want[k]);
                differs |= d != 0.0;
                if (d > agree->max_abs)
                    agree->max_abs = d;
                if (step > 0 && d / step > agree->max_steps)
                    agree->max_steps = d / step;
                top_r = out[k] > out[top_r] ? (int)k : top_r;
                top_w = want[k] > want[top_w] ? (int)k : top_w;
            }
            agree->differ += differs;
            agree->top1_differ += top_r != top_w;
            agree->images++;
        }
        if (progress && (i % 1000 == 999 || i == ds->n - 1))
            fprintf(progress, "\rruntime%s: %d/%d images", ref ? " and workbench" : "", i + 1, ds->n);
    }
    if (progress)
        fprintf(progress, "\n");
    free(out);
    free(x);
    pith_rt_close(&r);
    return rc;
}

/* ------------------------------------------------------------------ export */

static void export_usage(FILE *f)
{
    fprintf(f, "usage: pith export CKPT --out MODEL.pith [--with-golden] [--json]\n"
               "       pith export CKPT --format onnx --out MODEL.onnx [--keep-bn] [--json]\n"
               "       pith export --model NAME [--int8 [--calib N]] --out MODEL.pith\n"
               "\n"
               "Lowers a checkpoint to the runtime's file: batchnorm folded, activations\n"
               "fused, int8 layers with the model's own weight codes, int32 biases and\n"
               "fixed-point multipliers (a float checkpoint exports as fp32). The input\n"
               "normalisation and the class names go into the file. With --format onnx,\n"
               "a standard ONNX file (opset 17) instead, for ONNX Runtime, TensorRT,\n"
               "OpenVINO, rknn-toolkit2 or pnnx: fp32 (pruned channels gone, low-rank\n"
               "pairs as two convs, k-means / binary / ternary weights as the float\n"
               "values they stand for), the preprocessing and class names in its\n"
               "metadata_props (docs/onnx.md).\n"
               "\n"
               "  --out FILE        the .pith (or .onnx) file\n"
               "  --format F        pith (default) or onnx\n"
               "  --keep-bn         onnx: batchnorms stay BatchNormalization nodes (default: folded)\n"
               "  --with-golden     embed the first test image and the workbench's output\n"
               "                    for it (pithrt-run --self-test checks them on the board)\n"
               "  --data DIR        dataset for the golden image (default: the checkpoint's)\n"
               "  --model NAME      a zoo model with random weights instead of a checkpoint\n"
               "                    (resnet18 and mobilenet-v2: 3x224x224, 1000 classes;\n"
               "                    the others 1x28x28, 10 classes): for latency and memory\n"
               "  --int8            with --model: quantize (int8 per-channel weights, int8\n"
               "                    activations) calibrated on --calib N random images (default 8)\n"
               "  --json            print one JSON object on stdout\n"
               "  -h, --help        this help\n");
}

/* A zoo model at its deployment size with random weights; int8: quantized
 * and calibrated on random images (latency does not depend on the values). */
static int zoo_model(const char *name, int int8, int calib, pith_graph **g, pith_ckpt_meta *meta)
{
    int big = !strcmp(name, "resnet18") || !strcmp(name, "mobilenet-v2");
    int c = big ? 3 : 1, h = big ? 224 : 28, classes = big ? 1000 : 10;
    memset(meta, 0, sizeof *meta);
    snprintf(meta->model, sizeof meta->model, "%s", name);
    snprintf(meta->dataset, sizeof meta->dataset, "random");
    meta->mean = 0.0f;
    meta->std = 1.0f;
    int rc = pith_zoo_build(name, c, h, h, classes, 0, g);
    if (rc || !int8)
        return rc;
    pith_quant_config qc = pith_quant_defaults();
    rc = pith_quant_apply(*g, &qc);
    pith_dataset ds = {0};
    ds.n = calib;
    ds.c = c;
    ds.h = ds.w = h;
    ds.classes = classes;
    size_t n = (size_t)calib * c * h * h;
    ds.x = malloc(n * sizeof *ds.x);
    ds.y = calloc((size_t)calib, sizeof *ds.y);
    if (!rc && (!ds.x || !ds.y))
        rc = pith_error(PITH_ENOMEM, "out of memory");
    pith_rng r;
    pith_rng_seed(&r, 1);
    for (size_t i = 0; !rc && i < n; i++)
        ds.x[i] = 2.0f * pith_rng_uniform(&r) - 1.0f;
    if (!rc)
        rc = pith_graph_compile(*g, calib < 8 ? calib : 8);
    if (!rc)
        rc = pith_quant_calibrate(*g, &ds, calib, PITH_OBS_MINMAX, 99.99f, NULL);
    pith_dataset_free(&ds);
    return rc;
}

int cmd_export(int argc, char **argv)
{
    const char *cmd = "export";
    static const struct option opts[] = {
        {"out", 1, 0, 'o'}, {"with-golden", 0, 0, 'g'}, {"data", 1, 0, 'd'}, {"model", 1, 0, 'm'},
        {"int8", 0, 0, 'i'}, {"calib", 1, 0, 'c'}, {"format", 1, 0, 'f'}, {"keep-bn", 0, 0, 'k'},
        {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *out = NULL, *data = NULL, *model = NULL;
    int golden = 0, as_json = 0, int8 = 0, calib = 8, keep_bn = 0, onnx = 0, c, rc;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, export_usage, &co, &code)) >= 0) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'i': int8 = 1; break;
        case 'c':
            if ((rc = cli_int(cmd, "--calib", optarg, 1, 100000, &calib)))
                return rc;
            break;
        case 'g': golden = 1; break;
        case 'k': keep_bn = 1; break;
        case 'f':
            if (strcmp(optarg, "onnx") && strcmp(optarg, "pith"))
                return cli_usage_error(cmd, "--format %s: pith or onnx", optarg);
            onnx = !strcmp(optarg, "onnx");
            break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    data = co.data, out = co.out, as_json = co.as_json;
    if (optind != argc - (model ? 0 : 1))
        return cli_usage_error(cmd, "expected one checkpoint file, or --model NAME");
    if (!out)
        return cli_usage_error(cmd, "--out is required");
    if (int8 && !model)
        return cli_usage_error(cmd, "--int8 is for --model (quantize a checkpoint with pith quantize)");
    if (model && golden)
        return cli_usage_error(cmd, "--with-golden needs a checkpoint");
    if (onnx && (model || golden))
        return cli_usage_error(cmd, "--format onnx exports a checkpoint (not --model, --with-golden)");
    if (keep_bn && !onnx)
        return cli_usage_error(cmd, "--keep-bn is for --format onnx (the runtime's file always folds)");
    const char *path = model ? model : argv[optind];
    if (onnx)
        return cli_export_onnx(cmd, path, out, keep_bn, as_json);
    pith_set_threads(model ? 0 : 1);
    pith_graph *g = NULL;
    pith_ckpt_meta meta;
    pith_dataset test = {0};
    if (model)
        rc = zoo_model(model, int8, calib, &g, &meta);
    else
        rc = exp_load_checkpoint(path, &g, &meta, NULL, NULL);
    float *golden_in = NULL;
    if (!rc && golden) {
        pith_data_opts o;
        exp_data_opts(&meta, g, &o);
        rc = exp_load_split(data ? data : meta.dataset, "test", &o, &test);
        if (!rc && test.n > 0 && !(golden_in = malloc(pith_shape_size(&g->input_shape) * sizeof *golden_in)))
            rc = pith_error(PITH_ENOMEM, "out of memory");
        if (golden_in) {
            int i0 = 0, y0;
            pith_dataset_gather(&test, &i0, 1, NULL, 0, golden_in, &y0);
        }
    }
    pith_export_report rep;
    if (!rc)
        rc = exp_export(g, model ? NULL : meta.dataset, meta.mean, meta.std, model ? NULL : &meta, golden_in, out,
                        &rep);
    free(golden_in);
    code = rc ? cli_fail(cmd, rc) : EXIT_OK;
    if (!rc && as_json) {
        json j;
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "checkpoint", path);
        json_str(&j, "out", out);
        json_int(&j, "ops", rep.ops);
        json_int(&j, "tensors", rep.tensors);
        json_int(&j, "int8_layers", rep.int8_layers);
        json_int(&j, "float_layers", rep.float_layers);
        json_int(&j, "weight_bytes", (int64_t)rep.weight_bytes);
        json_int(&j, "file_bytes", (int64_t)rep.file_bytes);
        json_bool(&j, "golden", rep.golden);
        json_end_obj(&j);
        json_finish(&j);
    } else if (!rc) {
        printf("%s -> %s: %d ops (%d int8 and %d fp32 layers), %zu bytes of weights, %zu bytes in all%s\n", path, out,
               rep.ops, rep.int8_layers, rep.float_layers, rep.weight_bytes, rep.file_bytes,
               rep.golden ? ", golden vectors embedded" : "");
    }
    pith_graph_free(g);
    pith_dataset_free(&test);
    return code;
}

/* ------------------------------------------------------------------- bench */

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: pith bench MODEL.pith [--threads N] [--isa SET] [--runs R] [--warmup W] [--profile] [--json]\n"
               "\n"
               "Latency of the runtime at batch 1 on this machine: min / median / p90 over\n"
               "R runs after W warm-up runs, inferences per second, and the memory the\n"
               "model needs: weight bytes, arena bytes and the lower bound on the arena\n"
               "(the most activation bytes alive at once), the heap the loaded model holds,\n"
               "and an energy estimate per inference (docs/runtime.md says how it is\n"
               "counted). --profile adds a per-layer table: time, share and MACs/s.\n"
               "\n"
               "  --threads N   threads (default 1)\n"
               "  --isa SET     kernels: ref (the plain C reference), avx2, avx512, neon,\n"
               "                neondot (default: the fastest this CPU runs)\n"
               "  --runs R      timed runs (default 100)\n"
               "  --warmup W    untimed runs first (default 10)\n"
               "  --profile     per-layer times\n"
               "  --json        one JSON object on stdout\n"
               "  -h, --help    this help\n");
}

int cmd_bench(int argc, char **argv)
{
    const char *cmd = "bench";
    static const struct option opts[] = {
        {"threads", 1, 0, 't'}, {"runs", 1, 0, 'r'}, {"warmup", 1, 0, 'w'}, {"profile", 0, 0, 'p'},
        {"json", 0, 0, 'j'}, {"isa", 1, 0, 'i'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *isa = NULL;
    int threads = 1, runs = 100, warmup = 10, profile = 0, as_json = 0, c, rc;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, bench_usage, &co, &code)) >= 0) {
        switch (c) {
        case 'r': rc = cli_int(cmd, "--runs", optarg, 1, 1000000, &runs); break;
        case 'w': rc = cli_int(cmd, "--warmup", optarg, 0, 1000000, &warmup); break;
        case 'p': profile = 1; break;
        case 'i': isa = optarg; break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    threads = co.threads ? co.threads : 1, as_json = co.as_json;
    if (threads > 256)
        return cli_usage_error(cmd, "--threads expects an integer in 1..256, got %d", threads);
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one .pith file");
    const char *path = argv[optind];
    pith_rt r;
    rc = pith_rt_open(path, threads, isa, &r);
    if (rc)
        return cli_fail(cmd, rc);
    pithrt_ctx_profile(&r.c, profile);
    pith_bench_result b;
    rc = pith_bench_rt(&r, warmup, runs, &b);
    if (rc) {
        pith_rt_close(&r);
        return cli_fail(cmd, rc);
    }
    double total = 0;
    for (int k = 0; k < r.m.n_ops; k++)
        total += r.c.profile[k].seconds;
    if (as_json) {
        json j;
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "model", path);
        json_int(&j, "threads", threads);
        json_str(&j, "isa", pithrt_model_isa(&r.m));
        json_int(&j, "runs", runs);
        json_num(&j, "min_ms", b.min_ms);
        json_num(&j, "median_ms", b.median_ms);
        json_num(&j, "p90_ms", b.p90_ms);
        json_num(&j, "fps", b.fps);
        json_int(&j, "macs", b.macs);
        json_int(&j, "weight_bytes", r.m.blob_size);
        json_int(&j, "arena_bytes", (int64_t)b.arena_bytes);
        json_int(&j, "activation_bytes", (int64_t)r.m.act_bytes);
        json_int(&j, "lower_bound_bytes", (int64_t)r.m.lower_bound);
        json_int(&j, "heap_bytes", (int64_t)b.heap_bytes);
        json_num(&j, "energy_uj_est", b.energy.total_uj);
        if (profile) {
            json_arr(&j, "layers");
            for (int k = 0; k < r.m.n_ops; k++) {
                double s = r.c.profile[k].seconds / (r.c.runs ? r.c.runs : 1);
                json_obj(&j, NULL);
                json_str(&j, "name", r.m.ops[k].name);
                json_str(&j, "op", pithrt_op_name(r.m.ops[k].type));
                json_num(&j, "ms", 1e3 * s);
                json_int(&j, "macs", r.c.profile[k].macs);
                json_end_obj(&j);
            }
            json_end_arr(&j);
        }
        json_end_obj(&j);
        json_finish(&j);
    } else {
        printf("%s: batch 1, %d thread(s), %s kernels, %d runs after %d warm-up\n", path, threads,
               pithrt_model_isa(&r.m), runs, warmup);
        printf("latency  min %.3f ms   median %.3f ms   p90 %.3f ms   %.1f inferences/s\n", b.min_ms, b.median_ms,
               b.p90_ms, b.fps);
        printf("memory   weights %u bytes   arena %zu bytes (activations %zu, lower bound %zu: %.3fx)\n",
               r.m.blob_size, b.arena_bytes, r.m.act_bytes, r.m.lower_bound,
               r.m.lower_bound ? (double)r.m.act_bytes / (double)r.m.lower_bound : 1.0);
        printf("         %zu bytes of heap once loaded (file, tables, packed weights, arena)\n", b.heap_bytes);
        printf("compute  %.2f M MACs per inference, %.2f G MACs/s\n", b.macs / 1e6, b.macs / b.median_ms / 1e6);
        printf("energy   %.2f uJ per inference (est.: %.2f MACs, %.2f weights from DRAM, %.2f activations "
               "through SRAM; Horowitz ISSCC 2014, 45 nm)\n",
               b.energy.total_uj, b.energy.mac_uj, b.energy.dram_uj, b.energy.sram_uj);
        if (profile) {
            printf("\n%-26s %-10s %10s %7s %12s\n", "layer", "op", "ms", "share", "GMAC/s");
            for (int k = 0; k < r.m.n_ops; k++) {
                double s = r.c.profile[k].seconds / (r.c.runs ? r.c.runs : 1);
                printf("%-26s %-10s %10.4f %6.1f%% %12.2f\n", r.m.ops[k].name, pithrt_op_name(r.m.ops[k].type), 1e3 * s,
                       total > 0 ? 100 * r.c.profile[k].seconds / total : 0.0,
                       s > 0 ? r.c.profile[k].macs / s / 1e9 : 0.0);
            }
        }
    }
    pith_rt_close(&r);
    return EXIT_OK;
}

/* ------------------------------------------------------------------- infer */

static void infer_usage(FILE *f)
{
    fprintf(f, "usage: pith infer MODEL.pith IMAGE... [--json]\n"
               "       pith infer MODEL.pith --idx IMAGES[.gz] [--index I] [--json]\n"
               "\n"
               "Classifies images with the runtime and prints the top 5 with their labels.\n"
               "Each image (JPEG, PNG, PPM or PGM, any size) goes through the model's own\n"
               "preprocessing, stored in the .pith file: resized and cropped to its input,\n"
               "converted to its channels and channel order, normalised with its mean and\n"
               "std, exactly as the board's pithrt_set_input_image does.\n"
               "\n"
               "  --idx FILE    IDX images (e.g. t10k-images-idx3-ubyte.gz) instead of files\n"
               "  --index I     which of them (default 0)\n"
               "  --json        one JSON object on stdout\n"
               "  -h, --help    this help\n");
}

/* The top 5 of the model's output for one image, printed or as JSON. */
static void print_top5(const pithrt_model *m, const float *out, size_t nout, const char *what, json *j)
{
    double mx = -INFINITY, s = 0;
    for (size_t i = 0; i < nout; i++)
        mx = out[i] > mx ? out[i] : mx;
    double *pr = malloc(sizeof *pr * (nout ? nout : 1));
    for (size_t i = 0; pr && i < nout; i++)
        s += pr[i] = exp(out[i] - mx); /* softmax: readable confidences */
    if (j) {
        json_obj(j, NULL);
        json_str(j, "image", what);
        json_arr(j, "top5");
    } else {
        printf("%s:\n", what);
    }
    for (int rank = 0; rank < 5 && rank < (int)nout && pr; rank++) {
        int best = -1;
        for (size_t i = 0; i < nout; i++)
            if (pr[i] >= 0 && (best < 0 || pr[i] > pr[best]))
                best = (int)i;
        char label[64];
        pithrt_label(m, best, label, sizeof label);
        if (j) {
            json_obj(j, NULL);
            json_int(j, "class", best);
            json_str(j, "label", label);
            json_num(j, "probability", pr[best] / s);
            json_num(j, "score", out[best]);
            json_end_obj(j);
        } else {
            printf("  %d. %-4d %-20s %6.2f%%   (score %.4f)\n", rank + 1, best, label, 100 * pr[best] / s,
                   (double)out[best]);
        }
        pr[best] = -1;
    }
    if (j) {
        json_end_arr(j);
        json_end_obj(j);
    }
    free(pr);
}

/* One image through the model's preprocessing and the runtime. */
static int infer_image(pith_rt *r, const uint8_t *px, int w, int h, int ch, float *out, size_t nout)
{
    void *scratch = malloc(pithrt_input_image_scratch(&r->m, w, h, ch));
    if (!scratch)
        return pith_error(PITH_ENOMEM, "out of memory");
    int rc = pithrt_set_input_image(&r->c, px, w, h, ch, scratch);
    free(scratch);
    if (rc)
        return pith_error(PITH_EINVAL, "%s", pithrt_ctx_error(&r->c));
    if (pithrt_run(&r->c) || pithrt_output_f32(&r->c, out, nout))
        return pith_error(PITH_EINVAL, "%s", pithrt_ctx_error(&r->c));
    return PITH_OK;
}

int cmd_infer(int argc, char **argv)
{
    const char *cmd = "infer";
    static const struct option opts[] = {
        {"idx", 1, 0, 'i'}, {"index", 1, 0, 'n'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *idx = NULL;
    int index = 0, c, rc;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, infer_usage, &co, &code)) >= 0) {
        switch (c) {
        case 'i': idx = optarg; break;
        case 'n': rc = cli_int(cmd, "--index", optarg, 0, 1 << 30, &index); break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    if (optind >= argc || (idx && optind != argc - 1) || (!idx && optind == argc - 1))
        return cli_usage_error(cmd, "expected a .pith file and images, or a .pith file and --idx FILE");
    const char *model = argv[optind];
    pith_rt r;
    rc = pith_rt_open(model, 1, NULL, &r);
    if (rc)
        return cli_fail(cmd, rc);
    size_t nout = pithrt_output_size(&r.m);
    float *out = malloc(sizeof *out * nout);
    json j, *jp = co.as_json ? &j : NULL;
    if (!out)
        rc = pith_error(PITH_ENOMEM, "out of memory");
    if (!rc && jp) {
        json_init(jp, stdout);
        json_obj(jp, NULL);
        json_str(jp, "model", model);
        json_arr(jp, "images");
    }
    if (!rc && idx) {
        /* one gray image of an IDX file */
        pith_idx images;
        rc = pith_idx_read(idx, &images);
        if (!rc && (images.ndim != 3 || index >= (int)images.dims[0]))
            rc = pith_error(PITH_ESHAPE, "%s: no image %d (%u images of %d dimensions)", idx, index,
                            images.ndim ? images.dims[0] : 0, images.ndim - 1);
        if (!rc) {
            const int h = (int)images.dims[1], w = (int)images.dims[2];
            rc = infer_image(&r, images.data + (size_t)index * w * h, w, h, 1, out, nout);
            char what[4200];
            snprintf(what, sizeof what, "%s, image %d", idx, index);
            if (!rc)
                print_top5(&r.m, out, nout, what, jp);
        }
        if (images.data || !rc)
            pith_idx_free(&images);
    }
    for (int k = optind + 1; !rc && !idx && k < argc; k++) {
        pith_image im;
        rc = pith_image_read(argv[k], &im);
        if (!rc)
            rc = infer_image(&r, im.px, im.w, im.h, im.c, out, nout);
        if (!rc)
            print_top5(&r.m, out, nout, argv[k], jp);
        pith_image_free(&im);
    }
    if (!rc && jp) {
        json_end_arr(jp);
        json_end_obj(jp);
        json_finish(jp);
    }
    free(out);
    pith_rt_close(&r);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}
