/* ONNX export: a pith graph (float, pruned, low-rank, distilled, imported;
 * or quantized: QDQ) to a standard .onnx file, written with the same
 * protobuf-c code the importer reads with. docs/onnx.md says what each op
 * becomes. */
#ifndef PITH_ONNX_EXPORT_H
#define PITH_ONNX_EXPORT_H

#include <stddef.h>

#include "../core/checkpoint.h"
#include "../core/graph.h"

typedef struct pith_onnx_export_opts {
    int keep_bn;                 /* 1: batchnorms stay BatchNormalization nodes (default: folded into their layer) */
    const pith_ckpt_meta *meta;  /* the preprocessing and class names for metadata_props; NULL: none */
    const char *source;          /* what the graph came from (a checkpoint path), for doc_string; may be NULL */
} pith_onnx_export_opts;

typedef struct pith_onnx_export_report {
    int nodes, initializers;
    int opset;
    int qdq;                     /* 1: the graph's activation quantizers became Q/DQ pairs */
    size_t bytes;                /* the file */
} pith_onnx_export_report;

/* Writes g (modified: batchnorms folded unless keep_bn) to path, atomically
 * (a temporary file renamed into place; nothing is left on error). */
int pith_onnx_export(pith_graph *g, const pith_onnx_export_opts *o, const char *path, pith_onnx_export_report *rep);

#endif
