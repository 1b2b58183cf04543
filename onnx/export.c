/* ONNX export driver: the graph prepared (batchnorms folded unless kept, the
 * weights' transforms evaluated), every node in topological order through
 * its op's emitter (export_ops.c) or, quantized, the Q/DQ pairs of
 * export_qdq.c; the model's envelope and metadata; the file written
 * atomically. */
#include "onnx_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../quant/quant.h"
#include "export_ops.h"

#define OX_EXPORT_OPSET 17
#define OX_EXPORT_IR 8 /* the IR version of opset 17 */

/* The weights' transforms (masks, weight quantizers) evaluated: one forward
 * in evaluation mode, so that pith_param_value is what the model computes. */
static int refresh_weights(pith_graph *g)
{
    int rc = pith_graph_compile(g, 1);
    if (rc)
        return rc;
    pith_graph_set_training(g, 0);
    memset(pith_graph_input(g), 0, sizeof(float) * pith_shape_size(&g->input_shape));
    return pith_graph_forward(g, 1);
}

static Onnx__StringStringEntryProto *entry(oxw *w, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = oxw_alloc(w, sizeof *e);
    if (!e)
        return NULL;
    onnx__string_string_entry_proto__init(e);
    e->key = oxw_strdup(w, key);
    e->value = oxw_strdup(w, value);
    return e;
}

static void floats_text(char *buf, size_t len, const float *v, int n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < n && at < len; k++)
        at += (size_t)snprintf(buf + at, len - at, "%s%.7g", k ? "," : "", (double)v[k]);
}

/* metadata_props: what a deployment needs to feed the model and read it. */
static int metadata(oxw *w, const pith_graph *g, const pith_ckpt_meta *m, Onnx__ModelProto *model)
{
    Onnx__StringStringEntryProto **e = oxw_alloc(w, 8 * sizeof *e);
    if (!e)
        return PITH_ENOMEM;
    int n = 0;
    char buf[256];
    pith_shape_format(&g->input_shape, buf, sizeof buf);
    e[n++] = entry(w, "pith.input_shape", buf);
    if (m) {
        const int nc = m->norm_channels > 0 ? m->norm_channels : 1;
        float mean[4], std[4];
        for (int k = 0; k < nc; k++) {
            mean[k] = m->norm_channels > 0 ? m->norm_mean[k] : m->mean;
            std[k] = m->norm_channels > 0 ? m->norm_std[k] : m->std;
        }
        floats_text(buf, sizeof buf, mean, nc);
        e[n++] = entry(w, "pith.mean", buf);
        floats_text(buf, sizeof buf, std, nc);
        e[n++] = entry(w, "pith.std", buf);
        char resize[64];
        if (m->pre.resize)
            snprintf(resize, sizeof resize, "shorter side resized to %d, centre cropped", m->pre.resize);
        else
            snprintf(resize, sizeof resize, "the whole image resized to the input");
        snprintf(buf, sizeof buf, "input = (pixel%s - mean) / std; %s; %s (%s)", m->pre.keep255 ? "" : " / 255",
                 g->input_shape.d[0] == 1 ? "grayscale" : m->pre.bgr ? "channels B, G, R" : "channels R, G, B", resize,
                 m->pre.nearest ? "nearest" : "bilinear");
        e[n++] = entry(w, "pith.preprocess", buf);
        if (m->labels[0])
            e[n++] = entry(w, "pith.labels", m->labels);
        if (m->model[0])
            e[n++] = entry(w, "pith.model", m->model);
    }
    for (int k = 0; k < n; k++)
        if (!e[k])
            return PITH_ENOMEM;
    model->metadata_props = e;
    model->n_metadata_props = (size_t)n;
    return PITH_OK;
}

/* The nodes of g in order; the graph output's value is named "output". */
static int emit_graph(oxw *w, pith_graph *g)
{
    /* int8 weight codes go out only with quantized activations; a weight-only
     * model's weights leave as the float values they hold */
    int acts_quantized = 0;
    for (int k = 0; k < g->n_order; k++)
        acts_quantized |= g->nodes[g->order[k]].op == &pith_op_fake_quant && g->nodes[g->order[k]].a.qmode == 1;
    w->value[0] = oxw_strdup(w, "input");
    for (int k = 1; k < g->n_order; k++) {
        const int idx = g->order[k];
        const pith_node *n = &g->nodes[idx];
        const char *out = idx == g->output ? "output" : n->name;
        if (n->op == &pith_op_dropout) { /* evaluation: the identity */
            w->value[idx] = w->value[n->in[0]];
            continue;
        }
        if (n->op == &pith_op_constant) {
            int64_t d[3];
            for (int j = 0; j < n->out.ndim; j++)
                d[j] = n->out.d[j];
            const char *name = oxw_f32(w, n->name, n->out.ndim, d, n->params[0].data);
            if (!name)
                return pith_error(PITH_ENOMEM, "out of memory");
            w->value[idx] = name;
            continue;
        }
        const char *in[PITH_MAX_INPUTS];
        for (int j = 0; j < n->n_in; j++)
            in[j] = w->value[n->in[j]];
        int rc = 1; /* 1: not handled by the QDQ writers */
        if (n->op == &pith_op_fake_quant) {
            if ((rc = ox_qdq_fake_quant(w, n, in[0], out)) == 1) { /* pass-through */
                w->value[idx] = w->value[n->in[0]];
                continue;
            }
        } else if (acts_quantized &&
                   (n->op == &pith_op_conv2d || n->op == &pith_op_linear || n->op == &pith_op_conv_transpose)) {
            rc = ox_qdq_layer(w, g, idx, in[0], out);
        }
        if (rc == 1) {
            ox_emit_fn emit = ox_emitter(n->op);
            if (!emit)
                return pith_error(PITH_EINVAL, "node '%s': ONNX export does not know op '%s'", n->name, n->op->name);
            rc = emit(w, n, in, out);
        }
        if (rc)
            return rc;
        w->value[idx] = oxw_strdup(w, out);
    }
    if (strcmp(w->value[g->output], "output") != 0) { /* the output is an alias (a dropout, the input) */
        const char *in = w->value[g->output];
        if (!oxw_node(w, "Identity", "output", 1, &in, "output"))
            return pith_error(PITH_ENOMEM, "out of memory");
    }
    return w->failed ? pith_error(PITH_ENOMEM, "out of memory") : PITH_OK;
}

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return pith_error(PITH_EINVAL, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot create", tmp);
    int ok = fwrite(buf, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return pith_error(PITH_EIO, "%s: cannot write", path);
    }
    return PITH_OK;
}

int pith_onnx_export(pith_graph *g, const pith_onnx_export_opts *o, const char *path, pith_onnx_export_report *rep)
{
    memset(rep, 0, sizeof *rep);
    const int quantized = pith_graph_is_quantized(g);
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].a.wbn)
            return pith_error(PITH_EINVAL, "layer '%s' is quantized with its batchnorm unfolded (QAT before "
                              "freezing); freeze the batchnorms (--freeze-bn) or quantize with BN folded",
                              g->nodes[k].name);
    /* a quantized graph's batchnorms were folded when it was quantized */
    int rc = o->keep_bn || quantized ? PITH_OK : pith_fold_batchnorm(g);
    rc = rc < 0 ? rc : pith_graph_sort(g);
    if (!rc)
        rc = refresh_weights(g);
    if (rc)
        return rc;
    oxw w;
    if (oxw_init(&w, g))
        return pith_error(PITH_ENOMEM, "out of memory");
    rc = emit_graph(&w, g);
    Onnx__ValueInfoProto *in = rc ? NULL : oxw_value_info(&w, "input", &g->input_shape);
    Onnx__ValueInfoProto *out = rc ? NULL : oxw_value_info(&w, "output", &g->nodes[g->output].out);
    Onnx__ValueInfoProto **ins = oxw_alloc(&w, sizeof *ins), **outs = oxw_alloc(&w, sizeof *outs);
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets[1] = {&opset};
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    if (!rc && (!in || !out || !ins || !outs))
        rc = pith_error(PITH_ENOMEM, "out of memory");
    if (!rc) {
        ins[0] = in;
        outs[0] = out;
        w.graph.input = ins;
        w.graph.n_input = 1;
        w.graph.output = outs;
        w.graph.n_output = 1;
        w.graph.name = oxw_strdup(&w, o->meta && o->meta->model[0] ? o->meta->model : "pith");
        opset.domain = oxw_strdup(&w, "");
        opset.has_version = 1;
        opset.version = OX_EXPORT_OPSET;
        model.has_ir_version = 1;
        model.ir_version = OX_EXPORT_IR;
        model.n_opset_import = 1;
        model.opset_import = opsets;
        model.producer_name = oxw_strdup(&w, "pith");
        model.producer_version = oxw_strdup(&w, "1");
        model.doc_string = o->source ? oxw_strdup(&w, o->source) : NULL;
        model.graph = &w.graph;
        rc = metadata(&w, g, o->meta, &model);
    }
    if (!rc && w.failed)
        rc = pith_error(PITH_ENOMEM, "out of memory");
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!rc) {
        len = onnx__model_proto__get_packed_size(&model);
        buf = malloc(len ? len : 1);
        if (!buf)
            rc = pith_error(PITH_ENOMEM, "out of memory (%zu bytes)", len);
        else if (onnx__model_proto__pack(&model, buf) != len)
            rc = pith_error(PITH_EFORMAT, "%s: protobuf packing failed", path);
    }
    if (!rc)
        rc = write_file(path, buf, len);
    if (!rc) {
        rep->nodes = (int)w.graph.n_node;
        rep->initializers = (int)w.graph.n_initializer;
        rep->opset = OX_EXPORT_OPSET;
        rep->qdq = w.qdq_pairs > 0;
        rep->bytes = len;
    }
    free(buf);
    oxw_free(&w);
    return rc;
}
