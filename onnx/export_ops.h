/* The exporter's per-op emitters (export_ops.c): node n, whose inputs are
 * the ONNX values in[], becomes nodes whose last output is `out`. */
#ifndef PITH_ONNX_EXPORT_OPS_H
#define PITH_ONNX_EXPORT_OPS_H

#include "writer.h"

typedef int (*ox_emit_fn)(oxw *w, const pith_node *n, const char *const *in, const char *out);
/* The emitter of op, NULL when ONNX export does not know it. */
ox_emit_fn ox_emitter(const pith_op *op);

#endif
