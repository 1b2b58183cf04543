/* pith info MODEL.pith: the runtime file's op table, op by op in the order
 * it runs: inputs' and output's types, output shape, weight type, and where
 * an int8 model computes in float, which ops and why. */
#include <stdio.h>
#include <string.h>

#include "../core/error.h"
#include "../export/bench.h"
#include "../experiments/json.h"
#include "cli.h"

static const char *dtype_name(int d)
{
    static const char *const names[] = {"?", "f32", "s8", "s32", "w4", "w2", "w1", "u8", "u4", "u2"};
    return d >= 1 && d <= 9 ? names[d] : "?";
}

static void shape_text(const pithrt_tensor *t, char *s, size_t n)
{
    int at = snprintf(s, n, "%d", (int)t->dims[0]);
    for (int k = 1; k < t->ndim && at < (int)n; k++)
        at += snprintf(s + at, n - (size_t)at, "x%d", (int)t->dims[k]);
}

/* Why an op of an int8 model computes in float, or NULL when it does not. */
static const char *float_reason(const pithrt_model *m, const pithrt_op *o)
{
    if (m->tensors[o->out].dtype != PITHRT_F32 || o->type == PITHRT_OP_DEQUANTIZE || o->type == PITHRT_OP_RESHAPE)
        return NULL;
    switch (o->type) {
    case PITHRT_OP_SOFTMAX: return "softmax kept in float (its int8 input dequantized)";
    case PITHRT_OP_CONV_TRANSPOSE: return "transposed convolution in float";
    default: return "float: its input or its quantizer is";
    }
}

int cli_info_pith(const char *path, int as_json)
{
    pith_rt r;
    int rc = pith_rt_open(path, 1, "ref", &r);
    if (rc)
        return rc;
    const pithrt_model *m = &r.m;
    int has_s8 = 0, n_float = 0, n_s8 = 0;
    for (int i = 0; i < m->n_tensors; i++)
        has_s8 |= !m->tensors[i].is_const && m->tensors[i].dtype == PITHRT_S8;
    char shape[48];
    json j;
    if (as_json) {
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "file", path);
        json_int(&j, "version", m->version);
        json_int(&j, "ops", m->n_ops);
        json_int(&j, "file_bytes", (long long)m->size);
        json_int(&j, "weight_bytes", m->blob_size);
        json_arr(&j, "layers");
    } else {
        printf("%s: format version %u, %d ops, %zu bytes (%u of constants)\n", path, m->version, m->n_ops, m->size,
               m->blob_size);
        printf("\n%-36s %-14s %-9s %-14s %-6s %s\n", "op", "type", "in -> out", "output", "weight", "note");
    }
    for (int k = 0; k < m->n_ops; k++) {
        const pithrt_op *o = &m->ops[m->order[k]];
        const pithrt_tensor *x = &m->tensors[o->in[0]], *y = &m->tensors[o->out];
        const char *why = has_s8 ? float_reason(m, o) : NULL;
        n_float += why != NULL;
        n_s8 += y->dtype == PITHRT_S8;
        shape_text(y, shape, sizeof shape);
        const char *wt = o->weight >= 0 ? dtype_name(m->tensors[o->weight].dtype) : "";
        if (as_json) {
            json_obj(&j, NULL);
            json_str(&j, "name", o->name);
            json_str(&j, "op", pithrt_op_name(o->type));
            json_str(&j, "in", dtype_name(x->dtype));
            json_str(&j, "out", dtype_name(y->dtype));
            json_str(&j, "shape", shape);
            if (o->weight >= 0)
                json_str(&j, "weight", wt);
            if (why)
                json_str(&j, "float", why);
            json_end_obj(&j);
        } else {
            char io[16];
            snprintf(io, sizeof io, "%s->%s", dtype_name(x->dtype), dtype_name(y->dtype));
            printf("%-36.36s %-14s %-9s %-14s %-6s %s\n", o->name, pithrt_op_name(o->type), io, shape, wt,
                   why ? why : "");
        }
    }
    if (as_json) {
        json_end_arr(&j);
        json_int(&j, "int8_ops", n_s8);
        json_int(&j, "float_ops", n_float);
        json_end_obj(&j);
        json_finish(&j);
    } else {
        printf("\n%d ops with int8 outputs", n_s8);
        if (has_s8)
            printf(", %d in float%s", n_float, n_float ? " (the notes say why)" : "");
        printf("\n");
    }
    pith_rt_close(&r);
    return PITH_OK;
}
