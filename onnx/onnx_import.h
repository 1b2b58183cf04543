/* ONNX import: an .onnx file (a PyTorch export, opsets 7 to 17) becomes a
 * trainable pith graph.
 *
 * Parsing is protobuf-c's code generated from the onnx.proto that Debian's
 * libonnx-dev installs; nothing here reads the wire format by hand. The
 * importer folds shape arithmetic for the given input shape (batch 1),
 * turns initializers into parameters (weights and BN statistics) or constant
 * nodes, recognises PyTorch's x*Sigmoid(x) and x*HardSigmoid(x) as silu and
 * hardswish, and keeps ONNX node names as pith node names ('/' becomes '.',
 * as in "layer1.layer1.0.conv1.Conv"). docs/onnx.md lists the ops. */
#ifndef PITH_ONNX_IMPORT_H
#define PITH_ONNX_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/graph.h"

/* A graph input bound to a fixed value (an ONNX node test's second operand). */
typedef struct pith_onnx_binding {
    const char *name;
    const uint8_t *tensor; /* a serialized TensorProto */
    size_t len;
} pith_onnx_binding;

/* A graph output that folded to a constant (every input bound). */
typedef struct pith_onnx_folded {
    float *data;            /* malloc'd; the caller frees */
    int64_t dims[8];
    int rank;
    size_t n;
} pith_onnx_folded;

typedef struct pith_onnx_opts {
    pith_shape input;      /* per-sample input shape; ndim 0: the model's own */
    const pith_onnx_binding *bind;
    int n_bind;
    const char *output;    /* the graph output to import (NULL: the first) */
    uint64_t seed;
    /* Conformance tests: every graph input is bound, the output must fold
     * to a constant, and it is returned here instead of a graph. */
    pith_onnx_folded *folded;
} pith_onnx_opts;

/* The quantizer state of an already-quantized (QDQ) model: an activation
 * quantizer on node `node`'s output (one scale, the zero point on the signed
 * int8 grid: a uint8 zero point minus 128), or a layer's weight scales (one
 * per output channel, or one; symmetric). */
typedef struct pith_onnx_qparam {
    char node[PITH_NAME_MAX];
    int weights;
    int n;
    float *scale;           /* n values, malloc'd */
    int32_t zero_point;
} pith_onnx_qparam;

typedef struct pith_onnx_info {
    int64_t opset;            /* of the default domain */
    int64_t ir_version;
    char producer[64];        /* "pytorch 2.x" */
    char input_name[64], output_name[64];
    int input_rank;           /* of the ONNX input, with the batch */
    int onnx_nodes;           /* nodes in the file */
    int folded;               /* nodes folded into constants at import */
    int fused;                /* Sigmoid/HardSigmoid + Mul pairs taken as one op */
    /* QDQ models (QuantizeLinear / DequantizeLinear): the quantizer state,
     * malloc'd (pith_onnx_info_free) */
    pith_onnx_qparam *qdq;
    int n_qdq;
} pith_onnx_info;

/* Frees what an import left in info (the QDQ state). */
void pith_onnx_info_free(pith_onnx_info *info);

/* Imports the model in buf (len bytes); `path` names it in messages. */
int pith_onnx_import_buffer(const uint8_t *buf, size_t len, const char *path, const pith_onnx_opts *o,
                            pith_graph **g, pith_onnx_info *info);
/* The same from a file. */
int pith_onnx_import_file(const char *path, const pith_onnx_opts *o, pith_graph **g, pith_onnx_info *info);

/* The ONNX op types the importer takes, in name order (k from 0 to count - 1). */
int pith_onnx_op_count(void);
const char *pith_onnx_op_type(int k);

/* Decodes a serialized TensorProto (float, double, int32, int64) into floats
 * (*data malloc'd; caller frees), with its dims. For test data. */
int pith_onnx_read_tensor(const uint8_t *buf, size_t len, const char *path, float **data, int64_t *dims,
                          int *ndim, size_t *n);

#endif
