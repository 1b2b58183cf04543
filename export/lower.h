/* Inside export/ (not its API): the lowering's state, what each workbench
 * node became in the file, and the lowering steps the files share. */
#ifndef PITH_EXPORT_LOWER_H
#define PITH_EXPORT_LOWER_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../quant/quant.h"
#include "../runtime/format.h"
#include "../runtime/internal.h"
#include "../runtime/kernels/kernels.h"
#include "../runtime/pithrt.h"
#include "../runtime/writer.h"

/* What a workbench node's output became in the file. */
typedef struct value {
    int t;        /* runtime tensor, -1: not lowered yet */
    int f32;      /* a dequantized copy of an s8 value, -1: none yet */
} value;

typedef struct lower {
    pith_graph *g;
    pithrt_writer *b;
    value *val;
    unsigned char *done; /* nodes computed by an earlier fused op */
    int int8_layers, float_layers;
} lower;

int ex_sole(const pith_graph *g, int node, const pith_op *op);
int ex_dims_of(const pith_shape *s, int32_t *d);
int ex_new_act(lower *L, const pith_node *n, const char *suffix, int s8, const pith_node *fq);
int ex_as_f32(lower *L, int i);
int ex_is_s8(lower *L, int i);
void ex_set_geom(pithrt_op *o, const pith_attrs *a);
int ex_output_fq(lower *L, int layer, int *act, int *path, int *n_path);
/* The output tensor of node n, a data movement of tensor x: x's type and
 * quantization, n's shape. */
int ex_moved_act(lower *L, int x, const pith_node *n);
int ex_next_fq(lower *L, int i, int *act);
/* Node idx, an elementwise op of an int8 input followed by the fake_quant
 * fq, as a 256-entry table: f(ctx, value) of each input code, requantized
 * as fq does. */
int ex_lower_table(lower *L, int idx, int fq, float (*f)(const void *ctx, float x), const void *ctx);
/* The same with one table per channel (of `channels`): f(ctx, channel,
 * value), then act (fq's relu), then fq's quantization. */
int ex_lower_channel_tables(lower *L, int idx, int fq, int channels, float (*f)(const void *ctx, int ch, float x),
                            const void *ctx, int act);
int ex_lower_layer_s8(lower *L, int idx, int *handled);
int ex_lower_layer_f32(lower *L, int idx);
int ex_lower_other(lower *L, int idx);
/* constant, sigmoid, silu, hardsigmoid and the broadcasting binaries; *handled 0 for other ops */
int ex_lower_imported(lower *L, int idx, int *handled);

#endif
