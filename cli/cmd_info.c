/* pith info: the layer table of a checkpoint or zoo model. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/error.h"
#include "../core/zoo.h"
#include "../quant/quant.h"
#include "cli.h"
#include "../experiments/json.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: pith info CKPT [--json]\n"
               "       pith info MODEL.pith [--json]\n"
               "       pith info --model NAME [--json]\n"
               "       pith info --zoo\n"
               "\n"
               "Prints every layer: name, op, output shape, trainable parameters and\n"
               "multiply-accumulates per image (conv and linear; other ops count 0), then\n"
               "totals and the float32 size of all parameters and buffers (BN running\n"
               "statistics). Of a .pith file: every op in the order it runs, its input and\n"
               "output types (s8, f32), output shape and weight type, and for each op an\n"
               "int8 model computes in float, why (softmax kept in float at the output, say).\n"
               "\n"
               "  --model NAME    describe a zoo model (1x28x28 input, 10 classes)\n"
               "  --zoo           list the zoo\n"
               "  --json          print one JSON object on stdout\n"
               "  -h, --help      this help\n");
}

int cmd_info(int argc, char **argv)
{
    const char *cmd = "info";
    static const struct option opts[] = {
        {"model", 1, 0, 'm'}, {"zoo", 0, 0, 'z'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *model = NULL;
    int as_json = 0, zoo = 0, c, rc;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'z': zoo = 1; break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    as_json = co.as_json;
    if (zoo) {
        for (int i = 0; pith_zoo[i].name; i++)
            printf("%-16s %s\n", pith_zoo[i].name, pith_zoo[i].about);
        return EXIT_OK;
    }
    if ((model != NULL) == (optind < argc) || optind < argc - 1)
        return cli_usage_error(cmd, "expected one checkpoint file or --model NAME");
    pith_graph *g = NULL;
    pith_ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    int has_meta = 0;
    const char *src = model;
    if (model) {
        rc = pith_zoo_build(model, 1, 28, 28, 10, 1, &g);
    } else {
        src = argv[optind];
        if (cli_is_pith_file(src)) { /* the runtime's file: its op table */
            rc = cli_info_pith(src, as_json);
            return rc ? cli_fail(cmd, rc) : EXIT_OK;
        }
        rc = exp_load_checkpoint(src, &g, &meta, NULL, NULL);
        has_meta = 1;
    }
    if (!rc)
        rc = pith_graph_sort(g);
    if (rc)
        return cli_fail(cmd, rc);

    const int64_t params = pith_graph_params(g, 0), trainable = pith_graph_params(g, 1);
    const int64_t macs = pith_graph_macs(g), bytes = pith_graph_bytes(g);
    char shape[48], qd[64];
    const int quantized = pith_graph_is_quantized(g);
    if (as_json) {
        json j;
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "source", src);
        json_str(&j, "model", has_meta ? meta.model : model);
        if (has_meta) {
            json_int(&j, "epoch", meta.epoch);
            json_num(&j, "top1", meta.top1);
            json_num(&j, "top5", meta.top5);
        }
        pith_shape_format(&g->input_shape, shape, sizeof shape);
        json_str(&j, "input", shape);
        json_int(&j, "params", trainable);
        json_int(&j, "buffers", params - trainable);
        json_int(&j, "macs", macs);
        json_int(&j, "bytes", bytes);
        if (quantized)
            json_int(&j, "quantized_bytes", pith_quant_weight_bytes(g));
        json_arr(&j, "layers");
        for (int k = 1; k < g->n_order; k++) {
            const pith_node *n = &g->nodes[g->order[k]];
            pith_shape_format(&n->out, shape, sizeof shape);
            json_obj(&j, NULL);
            json_str(&j, "name", n->name);
            json_str(&j, "op", n->op->name);
            json_arr(&j, "inputs");
            for (int q = 0; q < n->n_in; q++)
                json_str(&j, NULL, g->nodes[n->in[q]].name);
            json_end_arr(&j);
            json_str(&j, "shape", shape);
            json_int(&j, "params", pith_node_param_count(n, 1));
            json_int(&j, "buffers", pith_node_param_count(n, 0) - pith_node_param_count(n, 1));
            json_int(&j, "macs", pith_node_macs(g, n));
            pith_quant_describe(n, qd, sizeof qd);
            if (qd[0])
                json_str(&j, "quant", qd);
            json_end_obj(&j);
        }
        json_end_arr(&j);
        json_end_obj(&j);
        json_finish(&j);
    } else {
        if (has_meta && isnan(meta.top1))
            printf("%s: %s, epoch %d, not evaluated, made by: %s\n", src, meta.model, meta.epoch, meta.command);
        else if (has_meta)
            printf("%s: %s, epoch %d, test top-1 %.2f%%, trained with: %s\n", src, meta.model,
                   meta.epoch, 100 * meta.top1, meta.command);
        else
            printf("zoo model %s\n", model);
        pith_shape_format(&g->input_shape, shape, sizeof shape);
        printf("input %s", shape);
        if (has_meta) { /* how an image becomes it */
            const pithrt_preprocess *p = &meta.pre;
            const int nc = meta.norm_channels ? meta.norm_channels : 1;
            printf(": %s, %s, ", p->bgr ? "BGR" : "RGB", p->keep255 ? "0..255" : "divided by 255");
            if (p->resize)
                printf("shorter side %d then centre crop", p->resize);
            else
                printf("resized to it");
            printf(" (%s), mean", p->nearest ? "nearest" : "bilinear");
            for (int k = 0; k < nc; k++)
                printf("%s%g", k ? "," : " ", (double)(meta.norm_channels ? meta.norm_mean[k] : meta.mean));
            printf(" std");
            for (int k = 0; k < nc; k++)
                printf("%s%g", k ? "," : " ", (double)(meta.norm_channels ? meta.norm_std[k] : meta.std));
        }
        printf("\n\n");
        printf("%-22s %-15s %-12s %10s %12s%s\n", "layer", "op", "output", "params", "MACs",
               quantized ? "  quantization" : "");
        for (int k = 1; k < g->n_order; k++) {
            const pith_node *n = &g->nodes[g->order[k]];
            pith_shape_format(&n->out, shape, sizeof shape);
            pith_quant_describe(n, qd, sizeof qd);
            printf("%-22s %-15s %-12s %10lld %12lld%s%s\n", n->name, n->op->name, shape,
                   (long long)pith_node_param_count(n, 1), (long long)pith_node_macs(g, n), qd[0] ? "  " : "", qd);
        }
        printf("\ntotal: %lld parameters + %lld buffer values (BN statistics, quantizer state), %lld MACs per "
               "image, %lld bytes as float32",
               (long long)trainable, (long long)(params - trainable), (long long)macs, (long long)bytes);
        if (quantized)
            printf(", %lld bytes quantized", (long long)pith_quant_weight_bytes(g));
        printf("\n");
    }
    pith_graph_free(g);
    return EXIT_OK;
}
