/* Building an ONNX ModelProto with protobuf-c's generated structs (inside
 * the exporter). Every string and array comes from the writer's arena, freed
 * at once with oxw_free; the first allocation failure sets w->failed and
 * later calls do nothing, so emitters check once, at the end. */
#ifndef PITH_ONNX_WRITER_H
#define PITH_ONNX_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/graph.h"
#include "onnx.pb-c.h"

typedef struct oxw_block oxw_block;

typedef struct oxw {
    oxw_block *arena;
    int failed;
    Onnx__GraphProto graph;
    size_t cap_node, cap_init;
    const pith_graph *g;
    const char **value;  /* the ONNX value name of each pith node's output (NULL: not yet emitted) */
    int uniq;            /* counter for helper values */
    int qdq_pairs;       /* QuantizeLinear / DequantizeLinear pairs written */
} oxw;

int oxw_init(oxw *w, const pith_graph *g);
void oxw_free(oxw *w);
void *oxw_alloc(oxw *w, size_t n);
char *oxw_strdup(oxw *w, const char *s);
/* A new value name "<base>/<what>" not used before. */
const char *oxw_name(oxw *w, const char *base, const char *what);

/* A node op_type(in...) -> out, named `name`, appended to the graph. */
Onnx__NodeProto *oxw_node(oxw *w, const char *op_type, const char *name, int n_in, const char *const *in,
                          const char *out);
void oxw_attr_int(oxw *w, Onnx__NodeProto *n, const char *name, int64_t v);
void oxw_attr_ints(oxw *w, Onnx__NodeProto *n, const char *name, const int64_t *v, int count);
void oxw_attr_float(oxw *w, Onnx__NodeProto *n, const char *name, float v);
void oxw_attr_string(oxw *w, Onnx__NodeProto *n, const char *name, const char *v);

/* Initializers (raw little-endian data); return their names. */
const char *oxw_f32(oxw *w, const char *name, int rank, const int64_t *dims, const float *data);
const char *oxw_i64(oxw *w, const char *name, int rank, const int64_t *dims, const int64_t *data);
const char *oxw_i8(oxw *w, const char *name, int rank, const int64_t *dims, const int8_t *data);
const char *oxw_u8(oxw *w, const char *name, int rank, const int64_t *dims, const uint8_t *data);
const char *oxw_i32(oxw *w, const char *name, int rank, const int64_t *dims, const int32_t *data);
/* A float tensor value's declaration: [N, per-sample dims...] with N symbolic. */
Onnx__ValueInfoProto *oxw_value_info(oxw *w, const char *name, const pith_shape *s);

#endif
