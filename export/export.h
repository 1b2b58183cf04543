/* Export: lowers a workbench graph to a .pith file for the runtime.
 *
 * A float model becomes fp32 ops with batchnorm folded and activations fused.
 * A quantized model becomes the integer scheme of DESIGN.md: every conv2d /
 * linear whose input is int8 and whose output feeds a fake-quant node becomes
 * one int8 op (weight codes from the model's quantizers, int32 bias,
 * per-channel fixed-point multipliers, relu / relu6 in the clamp); adds and
 * average pools followed by a fake-quant node become int8 ops; a fake-quant
 * node elsewhere becomes a quantize op. Layers the integer path cannot take
 * (k-means codebooks, per-group scales, float layers of a mixed-precision
 * plan) are exported as fp32 with their fake-quantized weights, between
 * dequantize and quantize ops, so the file computes what the workbench does. */
#ifndef PITH_EXPORT_H
#define PITH_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/image.h"

#include "../core/graph.h"

typedef struct pith_export_opts {
    int norm_channels;        /* 0: no normalisation recorded */
    float mean[4], std[4];
    const char *const *labels; /* class names, or NULL */
    int n_labels;
    pithrt_preprocess pre;    /* how an image becomes the input */
    const float *golden_in;   /* one normalised input to embed with the workbench's output for it, or NULL */
} pith_export_opts;

typedef struct pith_export_report {
    int ops, tensors;
    int int8_layers, float_layers; /* conv2d / linear lowered each way */
    size_t weight_bytes;      /* the blob */
    size_t file_bytes;
    int golden;               /* 1: golden vectors embedded */
} pith_export_report;

/* Builds the file in a malloc'd buffer (*buf, *len). g is compiled for batch 1
 * and run once in evaluation mode (so every quantizer is current). */
int pith_export(pith_graph *g, const pith_export_opts *o, uint8_t **buf, size_t *len, pith_export_report *rep);
/* The same, written to path (through a temporary file renamed into place). */
int pith_export_file(pith_graph *g, const pith_export_opts *o, const char *path, pith_export_report *rep);

#endif
