/* The exporter's per-op emitters (export_ops.c): node n, whose inputs are
 * the ONNX values in[], becomes nodes whose last output is `out`. */
#ifndef PITH_ONNX_EXPORT_OPS_H
#define PITH_ONNX_EXPORT_OPS_H

#include "writer.h"

typedef int (*ox_emit_fn)(oxw *w, const pith_node *n, const char *const *in, const char *out);
/* The emitter of op, NULL when ONNX export does not know it. */
ox_emit_fn ox_emitter(const pith_op *op);
/* A conv2d / conv_transpose / linear node n of input x with the weight and
 * bias values given (bias NULL: none): the float and the QDQ export's. */
int ox_emit_layer(oxw *w, const pith_node *n, const char *x, const char *weight, const char *bias, const char *out);

/* QDQ (export_qdq.c). A fake_quant node: its relu, QuantizeLinear and
 * DequantizeLinear (a pass-through one is an alias: returns 1). */
int ox_qdq_fake_quant(oxw *w, const pith_node *fq, const char *x, const char *out);
/* A layer whose weights are uniformly quantized per tensor or per output
 * channel: int8 weight codes and, when its quantizer recovers the
 * accumulator, an int32 bias, each through a DequantizeLinear. Returns 1
 * when the layer's weights are not of that kind (the float emitter then
 * writes them as the values they hold). */
int ox_qdq_layer(oxw *w, const pith_graph *g, int idx, const char *x, const char *out);

#endif
