/* pith export CKPT --format onnx: the checkpoint (its quantizers and masks
 * re-attached) through the ONNX exporter. */
#include <stdio.h>
#include <string.h>

#include "../core/error.h"
#include "../experiments/json.h"
#include "../experiments/workbench.h"
#include "../onnx/onnx_export.h"
#include "cli.h"

int cli_export_onnx(const char *cmd, const char *ckpt, const char *out, int keep_bn, int as_json)
{
    pith_graph *g = NULL;
    pith_ckpt_meta meta;
    int rc = exp_load_checkpoint(ckpt, &g, &meta, NULL, NULL);
    /* a model trained on a dataset whose classes have names (Fashion-MNIST)
     * carries them, as its .pith file does; no made-up "class k" names */
    const pith_shape *os = rc ? NULL : pith_graph_output_shape(g);
    if (!rc && !meta.labels[0] && meta.dataset[0] && os->ndim == 1 && os->d[0] <= 1000) {
        char name[64];
        size_t at = 0;
        for (int k = 0; k < os->d[0]; k++) {
            const char *c = exp_class_name(meta.dataset, os->d[0], k, name, sizeof name);
            if (!strncmp(c, "class ", 6)) {
                at = 0;
                break;
            }
            at += (size_t)snprintf(meta.labels + at, sizeof meta.labels - at, "%s\n", c);
            if (at >= sizeof meta.labels) {
                at = 0;
                break;
            }
        }
        meta.labels[at] = '\0';
    }
    pith_onnx_export_opts o = {keep_bn, &meta, ckpt};
    pith_onnx_export_report rep;
    if (!rc)
        rc = pith_onnx_export(g, &o, out, &rep);
    pith_graph_free(g);
    if (rc)
        return cli_fail(cmd, rc);
    if (as_json) {
        json j;
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "checkpoint", ckpt);
        json_str(&j, "out", out);
        json_str(&j, "format", rep.qdq ? "onnx-qdq" : "onnx");
        json_int(&j, "opset", rep.opset);
        json_int(&j, "nodes", rep.nodes);
        json_int(&j, "initializers", rep.initializers);
        json_int(&j, "file_bytes", (int64_t)rep.bytes);
        json_end_obj(&j);
        json_finish(&j);
    } else {
        printf("%s -> %s: ONNX opset %d, %s, %d nodes, %d initializers, %zu bytes\n", ckpt, out, rep.opset,
               rep.qdq ? "QDQ int8" : "fp32", rep.nodes, rep.initializers, rep.bytes);
    }
    return EXIT_OK;
}
