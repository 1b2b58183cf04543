/* The importer's state, shared by its files (internal). */
#ifndef PITH_ONNX_IMPORTER_H
#define PITH_ONNX_IMPORTER_H

#include <stdint.h>

#include "onnx.pb-c.h"
#include "onnx_import.h"

#define OX_MAX_RANK 8

/* A value of the ONNX graph: a constant known at import time (an
 * initializer, a Constant, or folded shape arithmetic), or the output of a
 * pith node. A graph value's ONNX shape is the batch (1 while folding)
 * followed by the node's per-sample shape; `rank` keeps the ONNX rank, since
 * a rank-3 N x C x L value is held as C x 1 x L. */
typedef struct ox_value {
    const char *name;
    int is_const;
    int rank;
    int64_t dims[OX_MAX_RANK];
    /* constants: int64 (shape arithmetic) or float; n elements */
    int is_int;
    size_t n;
    float *f;
    int64_t *i;
    /* graph values */
    int node;
    /* a channel shuffle in progress (PyTorch's Reshape -> Transpose ->
     * Reshape of node `node`): 1 after the reshape to N x g x C/g x H x W,
     * 2 after the transpose to N x C/g x g x H x W */
    int shuffle;
    int groups;
    /* a tensor constant's ONNX element type (0: not known) */
    int dtype;
    /* QDQ models: a computed value a QuantizeLinear quantized (qa: scale
     * qscale, zero point qzp of the signed int8 grid), or a constant a
     * DequantizeLinear made of int8 weights (qw: 1 + its entry in qdq) */
    int qa;
    float qscale;
    int32_t qzp;
    int qw;
} ox_value;

typedef struct ox_importer {
    const char *path;
    const Onnx__ModelProto *model;
    const Onnx__GraphProto *graph;
    int64_t opset;
    pith_graph *g;
    ox_value *vals;
    int n_vals, cap_vals;
    const Onnx__NodeProto *node;   /* the node being converted (for messages) */
    int node_index;
    int *skip;                     /* per node: 1 when an earlier node's conversion absorbed it */
    pith_onnx_info *info;
    /* QDQ models: the quantizer state found (handed out in info) */
    pith_onnx_qparam *qdq;
    int n_qdq, cap_qdq;
} ox_importer;

/* protobuf-c leaves an absent optional string NULL */
static inline const char *ox_str(const char *s) { return s ? s : ""; }

/* A converter: reads node im->node, defines its outputs. */
typedef int (*ox_convert_fn)(ox_importer *im, const Onnx__NodeProto *n);

typedef struct ox_op {
    const char *type;
    ox_convert_fn fn;
} ox_op;

/* The op table (ops.c), sorted by type; NULL if unsupported. */
const ox_op *ox_find_op(const char *type);
/* Names of the supported ops, comma-separated, for messages. */
const char *ox_supported_ops(void);

/* Errors naming the node: "FILE: node 'NAME' (TYPE, opset N): ..." */
int ox_fail(ox_importer *im, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* model.c: how many node inputs and graph outputs read the value */
int ox_uses(const ox_importer *im, const char *name);
/* The index of the one node reading `name` (and no graph output), after
 * node `after`; -1 if it has other readers or none. */
int ox_sole_consumer(const ox_importer *im, const char *name, int after);

/* convert_math.c: numpy broadcasting of two shapes (rank, or -1) */
int ox_broadcast_shape(const ox_value *a, const ox_value *b, int64_t *out);

/* values.c */
ox_value *ox_get(ox_importer *im, const char *name);           /* NULL if undefined */
ox_value *ox_input(ox_importer *im, const Onnx__NodeProto *n, int k); /* error if missing or undefined */
int ox_has_input(const Onnx__NodeProto *n, int k);               /* present and not "" */
/* input k as a value the graph computes (not a constant) of ONNX rank
 * `rank` (0: any); NULL with the error set otherwise */
ox_value *ox_computed(ox_importer *im, const Onnx__NodeProto *n, int k, int rank);
ox_value *ox_define(ox_importer *im, const char *name);        /* a new value (error if defined twice) */
int ox_define_node(ox_importer *im, const char *name, int node, int rank);
int ox_define_alias(ox_importer *im, const char *name, const ox_value *v);
/* A new constant of the given shape; its f or i array is allocated, zeroed. */
ox_value *ox_define_const(ox_importer *im, const char *name, int is_int, int rank, const int64_t *dims);
int ox_tensor_value(ox_importer *im, const Onnx__TensorProto *t, const char *what, ox_value *v);
size_t ox_elems(int rank, const int64_t *dims);
/* The ONNX dims of a graph value (batch 1). */
void ox_graph_dims(const ox_importer *im, const ox_value *v, int64_t *dims);
/* Steps pos to the next index of an array of rank r and dims, last axis fastest. */
static inline void ox_next_index(int64_t *pos, const int64_t *dims, int r)
{
    for (int d = r - 1; d >= 0; d--) {
        if (++pos[d] < dims[d])
            return;
        pos[d] = 0;
    }
}
/* A constant element as double / int64. */
static inline double ox_getf(const ox_value *v, size_t k) { return v->is_int ? (double)v->i[k] : v->f[k]; }
/* A float as int64, truncated toward zero; saturated (NaN as 0) because a
 * file may hold any float and converting one out of range is undefined. */
static inline int64_t ox_f2i(double f)
{
    if (!(f == f))
        return 0;
    if (f >= 9.2e18)
        return INT64_MAX;
    if (f <= -9.2e18)
        return INT64_MIN;
    return (int64_t)f;
}
static inline int64_t ox_geti(const ox_value *v, size_t k) { return v->is_int ? v->i[k] : ox_f2i(v->f[k]); }

/* attributes (values.c) */
const Onnx__AttributeProto *ox_attr(const Onnx__NodeProto *n, const char *name);
int64_t ox_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt);
float ox_attr_float(const Onnx__NodeProto *n, const char *name, float dflt);
/* ints attribute into out[max]; returns the count, 0 if absent, <0 on error */
int ox_attr_ints(ox_importer *im, const Onnx__NodeProto *n, const char *name, int64_t *out, int max);
const char *ox_attr_string(const Onnx__NodeProto *n, const char *name, const char *dflt);

/* graph building (values.c) */
/* A pith node name from the ONNX node's (or its output's) name, unique. */
void ox_node_name(ox_importer *im, const Onnx__NodeProto *n, const char *suffix, char *out);
/* Adds a pith node for the current ONNX node; returns its index or <0. */
int ox_add(ox_importer *im, const char *op, const char *suffix, const pith_attrs *a, const int *in, int n_in);
/* A constant value as a graph node whose per-sample shape matches a graph
 * value of rank `rank` (leading batch dim of the constant must be 1 when the
 * constant has that rank). */
int ox_const_node(ox_importer *im, const ox_value *c, int rank, const char *suffix);

/* convert_qdq.c: layer node `node` takes weight constant w; a DequantizeLinear
 * made w: its scales become the layer's weight quantizer state */
int ox_qdq_weights(ox_importer *im, const ox_value *w, int node);

/* convert_pad.c: a pad node on computed value node xn; its index or <0 */
int ox_pad_node(ox_importer *im, int xn, int top, int left, int bottom, int right, int mode, float value,
                const char *suffix);

#endif
