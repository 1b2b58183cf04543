/* The exporter's ModelProto builder: an arena for every string, array and
 * message, and appenders for nodes, attributes and initializers. */
#include "writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct oxw_block {
    oxw_block *next;
    size_t used, cap;
    max_align_t data[];
};

#define OXW_BLOCK (1u << 20)

void *oxw_alloc(oxw *w, size_t n)
{
    if (w->failed)
        return NULL;
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    oxw_block *b = w->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > OXW_BLOCK ? n : OXW_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b) {
            w->failed = 1;
            return NULL;
        }
        b->next = w->arena;
        b->used = 0;
        b->cap = cap;
        w->arena = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *oxw_strdup(oxw *w, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = oxw_alloc(w, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

int oxw_init(oxw *w, const pith_graph *g)
{
    memset(w, 0, sizeof *w);
    onnx__graph_proto__init(&w->graph);
    w->g = g;
    w->value = oxw_alloc(w, sizeof *w->value * (size_t)(g->n_nodes > 0 ? g->n_nodes : 1));
    return w->failed ? -1 : 0;
}

void oxw_free(oxw *w)
{
    for (oxw_block *b = w->arena, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    w->arena = NULL;
}

const char *oxw_name(oxw *w, const char *base, const char *what)
{
    char buf[PITH_NAME_MAX + 48];
    snprintf(buf, sizeof buf, "%s/%s_%d", base, what, w->uniq++);
    return oxw_strdup(w, buf);
}

/* Appends p to a growing array of pointers (the arena keeps old copies). */
static void **push(oxw *w, void **arr, size_t *n, size_t *cap, void *p)
{
    if (!p || w->failed)
        return arr;
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        void **na = oxw_alloc(w, nc * sizeof *na);
        if (!na)
            return arr;
        if (*n)
            memcpy(na, arr, *n * sizeof *na);
        arr = na;
        *cap = nc;
    }
    arr[(*n)++] = p;
    return arr;
}

Onnx__NodeProto *oxw_node(oxw *w, const char *op_type, const char *name, int n_in, const char *const *in,
                          const char *out)
{
    Onnx__NodeProto *n = oxw_alloc(w, sizeof *n);
    char **ins = oxw_alloc(w, sizeof *ins * (size_t)(n_in > 0 ? n_in : 1));
    char **outs = oxw_alloc(w, sizeof *outs);
    if (!n || !ins || !outs)
        return NULL;
    onnx__node_proto__init(n);
    for (int k = 0; k < n_in; k++)
        ins[k] = oxw_strdup(w, in[k] ? in[k] : "");
    outs[0] = oxw_strdup(w, out);
    n->n_input = (size_t)n_in;
    n->input = ins;
    n->n_output = 1;
    n->output = outs;
    n->name = oxw_strdup(w, name);
    n->op_type = oxw_strdup(w, op_type);
    w->graph.node = (Onnx__NodeProto **)push(w, (void **)w->graph.node, &w->graph.n_node, &w->cap_node, n);
    return w->failed ? NULL : n;
}

static Onnx__AttributeProto *attr(oxw *w, Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType t)
{
    if (!n || w->failed)
        return NULL;
    Onnx__AttributeProto *a = oxw_alloc(w, sizeof *a);
    Onnx__AttributeProto **arr = oxw_alloc(w, sizeof *arr * (n->n_attribute + 1));
    if (!a || !arr)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = oxw_strdup(w, name);
    a->has_type = 1;
    a->type = t;
    if (n->n_attribute)
        memcpy(arr, n->attribute, n->n_attribute * sizeof *arr);
    arr[n->n_attribute++] = a;
    n->attribute = arr;
    return a;
}

void oxw_attr_int(oxw *w, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(w, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a)
        a->has_i = 1, a->i = v;
}

void oxw_attr_ints(oxw *w, Onnx__NodeProto *n, const char *name, const int64_t *v, int count)
{
    Onnx__AttributeProto *a = attr(w, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *p = a ? oxw_alloc(w, sizeof *p * (size_t)count) : NULL;
    if (p && count > 0) {
        memcpy(p, v, sizeof *p * (size_t)count);
        a->ints = p;
        a->n_ints = (size_t)count;
    }
}

void oxw_attr_float(oxw *w, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(w, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a)
        a->has_f = 1, a->f = v;
}

void oxw_attr_string(oxw *w, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = attr(w, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    char *s = a ? oxw_strdup(w, v) : NULL;
    if (s) {
        a->has_s = 1;
        a->s.data = (uint8_t *)s;
        a->s.len = strlen(s);
    }
}

/* An initializer of elem_type with `bytes` of raw data (x86 and aarch64 are
 * little-endian, as ONNX's raw_data is). */
static const char *initializer(oxw *w, const char *name, int elem_type, int rank, const int64_t *dims,
                               const void *data, size_t bytes)
{
    Onnx__TensorProto *t = oxw_alloc(w, sizeof *t);
    int64_t *d = oxw_alloc(w, sizeof *d * (size_t)(rank > 0 ? rank : 1));
    uint8_t *raw = oxw_alloc(w, bytes ? bytes : 1);
    if (!t || !d || !raw)
        return NULL;
    onnx__tensor_proto__init(t);
    if (rank > 0) /* a scalar has no dims (and may pass NULL) */
        memcpy(d, dims, sizeof *d * (size_t)rank);
    if (bytes)
        memcpy(raw, data, bytes);
    t->n_dims = (size_t)rank;
    t->dims = d;
    t->has_data_type = 1;
    t->data_type = elem_type;
    t->has_raw_data = 1;
    t->raw_data.data = raw;
    t->raw_data.len = bytes;
    t->name = oxw_strdup(w, name);
    w->graph.initializer =
        (Onnx__TensorProto **)push(w, (void **)w->graph.initializer, &w->graph.n_initializer, &w->cap_init, t);
    return w->failed ? NULL : t->name;
}

static size_t count(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int k = 0; k < rank; k++)
        n *= (size_t)dims[k];
    return n;
}

const char *oxw_f32(oxw *w, const char *name, int rank, const int64_t *dims, const float *data)
{
    return initializer(w, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims, data, 4 * count(rank, dims));
}

const char *oxw_i64(oxw *w, const char *name, int rank, const int64_t *dims, const int64_t *data)
{
    return initializer(w, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, rank, dims, data, 8 * count(rank, dims));
}

const char *oxw_i8(oxw *w, const char *name, int rank, const int64_t *dims, const int8_t *data)
{
    return initializer(w, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, rank, dims, data, count(rank, dims));
}

const char *oxw_u8(oxw *w, const char *name, int rank, const int64_t *dims, const uint8_t *data)
{
    return initializer(w, name, ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, rank, dims, data, count(rank, dims));
}

const char *oxw_i32(oxw *w, const char *name, int rank, const int64_t *dims, const int32_t *data)
{
    return initializer(w, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT32, rank, dims, data, 4 * count(rank, dims));
}

Onnx__ValueInfoProto *oxw_value_info(oxw *w, const char *name, const pith_shape *s)
{
    Onnx__ValueInfoProto *vi = oxw_alloc(w, sizeof *vi);
    Onnx__TypeProto *tp = oxw_alloc(w, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = oxw_alloc(w, sizeof *tt);
    Onnx__TensorShapeProto *sh = oxw_alloc(w, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = oxw_alloc(w, sizeof *dims * (size_t)(s->ndim + 1));
    if (!vi || !tp || !tt || !sh || !dims)
        return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int k = 0; k <= s->ndim; k++) {
        Onnx__TensorShapeProto__Dimension *d = oxw_alloc(w, sizeof *d);
        if (!d)
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (k == 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = oxw_strdup(w, "N");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = s->d[k - 1];
        }
        dims[k] = d;
    }
    sh->n_dim = (size_t)s->ndim + 1;
    sh->dim = dims;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = oxw_strdup(w, name);
    vi->type = tp;
    return vi;
}
