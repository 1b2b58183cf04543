/* pith import: an ONNX model to a pith checkpoint (onnx/ does the work). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/error.h"
#include "../onnx/onnx_import.h"
#include "../quant/quant.h"
#include "cli.h"
#include "../experiments/json.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: pith import MODEL.onnx --out CKPT [options]\n"
               "\n"
               "Imports an ONNX model (opsets 7 to 21; a PyTorch export) as a trainable pith\n"
               "graph, checkpointed like a zoo model: every command then takes it. Shape\n"
               "arithmetic folds for the input shape; ONNX node names become layer names\n"
               "('/' as '.'). docs/onnx.md lists the ops and what each becomes.\n"
               "\n"
               "  --out FILE      the checkpoint to write (required)\n"
               "  --input CxHxW   per-sample input shape (default: the model's; needed when\n"
               "                  the model declares symbolic sizes); F for a vector input\n"
               "how the model expects its input made from an image (saved, and exported to .pith):\n"
               CLI_PREPROCESS_HELP
               "  --labels FILE   class names, one per line (saved, and exported to .pith)\n"
               "  --quiet         no summary\n"
               "  --json          print one JSON object on stdout\n"
               "  -h, --help      this help\n");
}

/* Class names, one per line, into meta->labels; their count must be the model's outputs. */
static int read_labels(const char *cmd, const char *path, int classes, pith_ckpt_meta *meta)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_usage_error(cmd, "--labels %s: cannot open", path);
    char line[512];
    int n = 0, rc = 0;
    size_t at = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        size_t l = strcspn(line, "\r\n");
        line[l] = 0;
        if (!l && feof(f))
            break;
        if (at + l + 2 > sizeof meta->labels)
            rc = cli_usage_error(cmd, "--labels %s: more than %zu bytes of names", path, sizeof meta->labels);
        else {
            memcpy(meta->labels + at, line, l);
            at += l;
            meta->labels[at++] = '\n';
            meta->labels[at] = 0;
            n++;
        }
    }
    if (!rc && ferror(f))
        rc = cli_usage_error(cmd, "--labels %s: read error", path);
    fclose(f);
    if (!rc && n != classes)
        rc = cli_usage_error(cmd, "--labels %s: %d names for a model with %d outputs", path, n, classes);
    return rc;
}

/* An already-quantized (QDQ) model: pith quantizes the graph (int8
 * per-channel symmetric weights, int8 asymmetric activations) and takes the
 * file's scales and zero points as that quantizer state. */
static int load_qdq_state(pith_graph *g, const pith_onnx_info *info)
{
    pith_quant_config qc = pith_quant_defaults();
    int rc = pith_quant_apply(g, &qc);
    pith_qstate *st = rc ? NULL : calloc((size_t)info->n_qdq, sizeof *st);
    if (!rc && !st)
        rc = pith_error(PITH_ENOMEM, "out of memory");
    for (int k = 0; !rc && k < info->n_qdq; k++)
        st[k] = (pith_qstate){info->qdq[k].node, info->qdq[k].weights, info->qdq[k].n, info->qdq[k].scale,
                              info->qdq[k].zero_point};
    if (!rc)
        rc = pith_quant_set_state(g, st, info->n_qdq);
    free(st);
    return rc ? rc : pith_graph_compile(g, 1);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int cmd_import(int argc, char **argv)
{
    const char *cmd = "import";
    static const struct option opts[] = {
        {"out", 1, 0, 'o'}, {"input", 1, 0, 'i'}, CLI_PREPROCESS_OPTIONS, {"labels", 1, 0, 'l'},
        {"quiet", 0, 0, 'q'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    pith_onnx_opts o = {0};
    const char *labels = NULL;
    cli_data_flags df;
    cli_data_flags_init(&df);
    int c, rc = 0, code = EXIT_OK;
    cli_common co = {0};
    optind = 1;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        int taken = cli_data_flag(cmd, c, optarg, &df);
        if (taken > 1)
            return taken;
        switch (taken ? 0 : c) {
        case 'i': rc = cli_parse_shape(cmd, optarg, &o.input); break;
        case 'l': labels = optarg; break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one .onnx file");
    if (!co.out)
        return cli_usage_error(cmd, "--out FILE is required");
    const char *path = argv[optind];

    pith_graph *g = NULL;
    pith_onnx_info info;
    double t0 = now_s();
    rc = pith_onnx_import_file(path, &o, &g, &info);
    double t_import = now_s() - t0;
    if (!rc)
        rc = pith_graph_compile(g, 1);
    int qdq_acts = 0;
    for (int k = 0; k < info.n_qdq; k++)
        qdq_acts += !info.qdq[k].weights;
    if (!rc && info.n_qdq)
        rc = load_qdq_state(g, &info);
    pith_onnx_info_free(&info);
    if (rc) {
        pith_graph_free(g);
        return cli_fail(cmd, rc);
    }
    pith_ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    snprintf(meta.model, sizeof meta.model, "onnx:%s", base);
    cli_command_line(argc, argv, meta.command, sizeof meta.command);
    exp_utc_now(meta.created, sizeof meta.created);
    meta.seed = o.seed;
    meta.classes = (int)pith_shape_size(pith_graph_output_shape(g));
    meta.top1 = meta.top5 = meta.test_loss = NAN;
    int ch = g->input_shape.ndim == 3 ? g->input_shape.d[0] : 1;
    pith_data_opts dopts;
    pith_data_opts_default(&dopts);
    if ((rc = cli_data_apply(cmd, &df, ch, &dopts))) {
        pith_graph_free(g);
        return rc;
    }
    cli_data_to_meta(&dopts, &meta);
    if (labels && (rc = read_labels(cmd, labels, meta.classes, &meta))) {
        pith_graph_free(g);
        return rc;
    }
    t0 = now_s();
    rc = pith_checkpoint_save(co.out, g, &meta, NULL, NULL, NULL, 0);
    double t_save = now_s() - t0;
    if (rc) {
        pith_graph_free(g);
        return cli_fail(cmd, rc);
    }
    char in[48], out[48];
    pith_shape_format(&g->input_shape, in, sizeof in);
    pith_shape_format(pith_graph_output_shape(g), out, sizeof out);
    int layers = g->n_order - 1;
    if (co.as_json) {
        json j;
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "source", path);
        json_str(&j, "out", co.out);
        json_str(&j, "producer", info.producer);
        json_int(&j, "opset", info.opset);
        json_int(&j, "onnx_nodes", info.onnx_nodes);
        json_int(&j, "folded", info.folded);
        json_int(&j, "fused", info.fused);
        json_int(&j, "qdq_tensors", qdq_acts);
        json_int(&j, "layers", layers);
        json_str(&j, "input", in);
        json_str(&j, "output", out);
        json_int(&j, "params", pith_graph_params(g, 1));
        json_int(&j, "macs", pith_graph_macs(g));
        json_num(&j, "import_seconds", t_import);
        json_num(&j, "save_seconds", t_save);
        json_end_obj(&j);
        json_finish(&j);
    } else if (!co.quiet) {
        printf("%s (%s, opset %lld): %d nodes -> %d pith layers (%d folded, %d pairs fused), input %s '%s', "
               "output %s '%s'\n%lld parameters, %lld MACs per image; read and converted in %.2f s, "
               "checkpoint written in %.2f s -> %s\n",
               path, info.producer[0] && info.producer[0] != ' ' ? info.producer : "unknown producer",
               (long long)info.opset, info.onnx_nodes, layers, info.folded, info.fused, in, info.input_name, out,
               info.output_name, (long long)pith_graph_params(g, 1), (long long)pith_graph_macs(g), t_import, t_save,
               co.out);
        if (qdq_acts)
            printf("quantized (QDQ): %d tensors' scales and zero points and the int8 weights' scales taken as the "
                   "quantizer state\n", qdq_acts);
    }
    pith_graph_free(g);
    return EXIT_OK;
}
