/* The importer's values, tensors, attributes and node naming. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "importer.h"

static const char *str(const char *s) { return s ? s : ""; }

int ox_fail(ox_importer *im, int status, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const Onnx__NodeProto *n = im->node;
    if (!n)
        return pith_error(status, "%s: %s", im->path, msg);
    const char *name = str(n->name)[0] ? n->name : n->n_output ? str(n->output[0]) : "";
    return pith_error(status, "%s: node %d '%s' (%s, opset %lld): %s", im->path, im->node_index, name,
                      str(n->op_type), (long long)im->opset, msg);
}

size_t ox_elems(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int k = 0; k < rank; k++)
        n *= (size_t)dims[k];
    return n;
}

ox_value *ox_get(ox_importer *im, const char *name)
{
    for (int k = im->n_vals - 1; k >= 0; k--)
        if (strcmp(im->vals[k].name, name) == 0)
            return &im->vals[k];
    return NULL;
}

int ox_has_input(const Onnx__NodeProto *n, int k) { return (size_t)k < n->n_input && str(n->input[k])[0]; }

ox_value *ox_input(ox_importer *im, const Onnx__NodeProto *n, int k)
{
    if (!ox_has_input(n, k)) {
        ox_fail(im, PITH_EFORMAT, "input %d is missing", k);
        return NULL;
    }
    ox_value *v = ox_get(im, n->input[k]);
    if (!v) {
        ox_fail(im, PITH_EFORMAT, "input %d '%s' is not defined by an earlier node, an initializer or a graph input "
                "(the nodes must be in topological order)", k, n->input[k]);
        return NULL;
    }
    const char *t = n->op_type ? n->op_type : "";
    if (v->shuffle && strcmp(t, "Transpose") && strcmp(t, "Reshape") && strcmp(t, "Shape")) {
        ox_fail(im, PITH_EFORMAT, "input '%s' is a 5-D view that pith imports only as part of a channel shuffle "
                "(Reshape to N x g x C/g x H x W, Transpose 0,2,1,3,4, Reshape back)", v->name);
        return NULL;
    }
    return v;
}

ox_value *ox_computed(ox_importer *im, const Onnx__NodeProto *n, int k, int rank)
{
    ox_value *v = ox_input(im, n, k);
    if (v && v->is_const) {
        ox_fail(im, PITH_EFORMAT, "input %d '%s' is a constant; pith imports this op on computed values", k, v->name);
        return NULL;
    }
    if (v && rank && v->rank != rank) {
        ox_fail(im, PITH_EFORMAT, "input %d '%s' has rank %d; this op takes rank %d (N x C x H x W)", k, v->name,
                v->rank, rank);
        return NULL;
    }
    return v;
}

ox_value *ox_define(ox_importer *im, const char *name)
{
    if (!name || !name[0]) {
        ox_fail(im, PITH_EFORMAT, "an output has no name");
        return NULL;
    }
    if (ox_get(im, name)) {
        ox_fail(im, PITH_EFORMAT, "value '%s' is defined twice", name);
        return NULL;
    }
    if (im->n_vals == im->cap_vals) {
        int cap = im->cap_vals ? 2 * im->cap_vals : 64;
        ox_value *v = realloc(im->vals, (size_t)cap * sizeof *v);
        if (!v) {
            ox_fail(im, PITH_ENOMEM, "out of memory");
            return NULL;
        }
        im->vals = v;
        im->cap_vals = cap;
    }
    ox_value *v = &im->vals[im->n_vals++];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->node = -1;
    return v;
}

int ox_define_node(ox_importer *im, const char *name, int node, int rank)
{
    ox_value *v = ox_define(im, name);
    if (!v)
        return PITH_EFORMAT;
    v->node = node;
    v->rank = rank;
    ox_graph_dims(im, v, v->dims);
    return PITH_OK;
}

int ox_define_alias(ox_importer *im, const char *name, const ox_value *src)
{
    ox_value copy = *src; /* src may move when the table grows */
    ox_value *v = ox_define(im, name);
    if (!v)
        return PITH_EFORMAT;
    *v = copy;
    v->name = name;
    /* the constant's arrays belong to src; share them read-only */
    if (v->is_const) {
        size_t bytes = v->n * (v->is_int ? sizeof(int64_t) : sizeof(float));
        void *p = malloc(bytes ? bytes : 1);
        if (!p)
            return ox_fail(im, PITH_ENOMEM, "out of memory");
        memcpy(p, v->is_int ? (void *)v->i : (void *)v->f, bytes);
        if (v->is_int)
            v->i = p;
        else
            v->f = p;
    }
    return PITH_OK;
}

ox_value *ox_define_const(ox_importer *im, const char *name, int is_int, int rank, const int64_t *dims)
{
    if (rank < 0 || rank > OX_MAX_RANK) {
        ox_fail(im, PITH_EFORMAT, "a constant of rank %d (at most %d)", rank, OX_MAX_RANK);
        return NULL;
    }
    size_t n = 1;
    for (int k = 0; k < rank; k++) {
        if (dims[k] < 0 || dims[k] > INT_MAX || (dims[k] && n > ((size_t)1 << 34) / (size_t)dims[k])) {
            ox_fail(im, PITH_EFORMAT, "constant '%s': dimension %d is %lld", name, k, (long long)dims[k]);
            return NULL;
        }
        n *= (size_t)dims[k];
    }
    ox_value *v = ox_define(im, name);
    if (!v)
        return NULL;
    v->is_const = 1;
    v->is_int = is_int;
    v->rank = rank;
    memcpy(v->dims, dims, (size_t)rank * sizeof *dims);
    v->n = n;
    void *p = calloc(n ? n : 1, is_int ? sizeof(int64_t) : sizeof(float));
    if (!p) {
        im->n_vals--;
        ox_fail(im, PITH_ENOMEM, "out of memory for constant '%s' (%zu elements)", name, n);
        return NULL;
    }
    if (is_int)
        v->i = p;
    else
        v->f = p;
    return v;
}

void ox_graph_dims(const ox_importer *im, const ox_value *v, int64_t *dims)
{
    const pith_shape *s = &im->g->nodes[v->node].out;
    dims[0] = 1;
    if (s->ndim == 1) {
        dims[1] = s->d[0];
    } else if (v->rank == 3) {
        dims[1] = s->d[0];
        dims[2] = s->d[2];
    } else {
        for (int k = 0; k < 3; k++)
            dims[1 + k] = s->d[k];
    }
}

/* --- tensors --- */

static int tensor_elem_bytes(int dt)
{
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return 4;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return 8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return 1;
    default: return 0;
    }
}

static const char *dtype_name(int dt)
{
    static const char *names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                  "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
                                  "complex128", "bfloat16"};
    return dt >= 0 && dt <= 16 ? names[dt] : "unknown";
}

/* Decodes t into v (is_const, dims, f or i). v->name must be set. */
int ox_tensor_value(ox_importer *im, const Onnx__TensorProto *t, const char *what, ox_value *v)
{
    const char *name = str(t->name)[0] ? t->name : what;
    if (t->n_external_data || (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
        return ox_fail(im, PITH_EFORMAT, "tensor '%s' keeps its data in an external file; pith reads models with "
                       "the weights inside the .onnx (onnx.save_model(m, f, save_as_external_data=False))", name);
    if (t->segment)
        return ox_fail(im, PITH_EFORMAT, "tensor '%s' is segmented; not supported", name);
    if (t->n_dims > OX_MAX_RANK)
        return ox_fail(im, PITH_EFORMAT, "tensor '%s' has rank %zu (at most %d)", name, t->n_dims, OX_MAX_RANK);
    int dt = t->has_data_type ? t->data_type : 0;
    int eb = tensor_elem_bytes(dt);
    if (!eb)
        return ox_fail(im, PITH_EFORMAT, "tensor '%s' is of type %s; pith imports float, double, int8/uint8, "
                       "int32, int64 and bool tensors", name, dtype_name(dt));
    size_t n = 1;
    for (size_t k = 0; k < t->n_dims; k++) {
        if (t->dims[k] < 0 || t->dims[k] > INT_MAX || (t->dims[k] && n > ((size_t)1 << 34) / (size_t)t->dims[k]))
            return ox_fail(im, PITH_EFORMAT, "tensor '%s': dimension %zu is %lld", name, k, (long long)t->dims[k]);
        n *= (size_t)t->dims[k];
        v->dims[k] = t->dims[k];
    }
    v->rank = (int)t->n_dims;
    v->n = n;
    v->is_const = 1;
    v->dtype = dt;
    int is_int = dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && dt != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    v->is_int = is_int;
    size_t have;
    if (t->has_raw_data)
        have = t->raw_data.len / (size_t)eb;
    else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        have = t->n_float_data;
    else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
        have = t->n_double_data;
    else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
        have = t->n_int64_data;
    else
        have = t->n_int32_data;
    if (have != n || (t->has_raw_data && t->raw_data.len != n * (size_t)eb))
        return ox_fail(im, PITH_EFORMAT, "tensor '%s' (%s, %zu elements by its dims) holds %zu elements", name,
                       dtype_name(dt), n, have);
    void *p = calloc(n ? n : 1, is_int ? sizeof(int64_t) : sizeof(float));
    if (!p)
        return ox_fail(im, PITH_ENOMEM, "out of memory for tensor '%s'", name);
    const uint8_t *raw = t->has_raw_data ? t->raw_data.data : NULL;
    for (size_t k = 0; k < n; k++) {
        switch (dt) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
            float x;
            if (raw)
                memcpy(&x, raw + 4 * k, 4);
            else
                x = t->float_data[k];
            ((float *)p)[k] = x;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
            double x;
            if (raw)
                memcpy(&x, raw + 8 * k, 8);
            else
                x = t->double_data[k];
            ((float *)p)[k] = (float)x;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: {
            int64_t x;
            if (raw)
                memcpy(&x, raw + 8 * k, 8);
            else
                x = t->int64_data[k];
            ((int64_t *)p)[k] = x;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
            int32_t x;
            if (raw)
                memcpy(&x, raw + 4 * k, 4);
            else
                x = t->int32_data[k];
            ((int64_t *)p)[k] = x;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
            ((int64_t *)p)[k] = raw ? (int8_t)raw[k] : (int8_t)t->int32_data[k];
            break;
        default: /* uint8, bool */
            ((int64_t *)p)[k] = raw ? raw[k] : (uint8_t)t->int32_data[k];
            break;
        }
    }
    if (is_int)
        v->i = p;
    else
        v->f = p;
    return PITH_OK;
}

/* --- attributes --- */

const Onnx__AttributeProto *ox_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t k = 0; k < n->n_attribute; k++)
        if (n->attribute[k] && strcmp(str(n->attribute[k]->name), name) == 0)
            return n->attribute[k];
    return NULL;
}

int64_t ox_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    return a && a->has_i ? a->i : dflt;
}

float ox_attr_float(const Onnx__NodeProto *n, const char *name, float dflt)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    return a && a->has_f ? a->f : dflt;
}

int ox_attr_ints(ox_importer *im, const Onnx__NodeProto *n, const char *name, int64_t *out, int max)
{
    const Onnx__AttributeProto *a = ox_attr(n, name);
    if (!a)
        return 0;
    if (a->n_ints > (size_t)max)
        return ox_fail(im, PITH_EFORMAT, "attribute %s has %zu values (at most %d)", name, a->n_ints, max);
    for (size_t k = 0; k < a->n_ints; k++)
        out[k] = a->ints[k];
    return (int)a->n_ints;
}

const char *ox_attr_string(const Onnx__NodeProto *n, const char *name, const char *dflt)
{
    static __thread char buf[64];
    const Onnx__AttributeProto *a = ox_attr(n, name);
    if (!a || !a->has_s)
        return dflt;
    size_t len = a->s.len < sizeof buf - 1 ? a->s.len : sizeof buf - 1;
    memcpy(buf, a->s.data, len);
    buf[len] = 0;
    return buf;
}

/* --- graph building --- */

void ox_node_name(ox_importer *im, const Onnx__NodeProto *n, const char *suffix, char *out)
{
    const char *base = str(n->name)[0] ? n->name : n->n_output ? str(n->output[0]) : "";
    char clean[256];
    size_t j = 0;
    for (const char *p = base; *p && j < sizeof clean - 1; p++) {
        if (*p == '/' && j == 0)
            continue; /* "/layer1/..." */
        clean[j++] = *p == '/' ? '.' : (unsigned char)*p < 32 ? '_' : *p;
    }
    clean[j] = 0;
    if (!j)
        snprintf(clean, sizeof clean, "%s_%d", str(n->op_type), im->node_index);
    /* the name and the suffix in PITH_NAME_MAX - 1 characters, the tail of a
     * long name kept (it says the layer: "...conv1.Conv") */
    char want[PITH_NAME_MAX];
    size_t sl = strlen(suffix), room = PITH_NAME_MAX - 1 - sl - 4;
    size_t cl = strlen(clean);
    const char *tail = cl > room ? clean + (cl - room) : clean;
    while (tail != clean && *tail == '.' && tail[1])
        tail++; /* a cut name starts at a word */
    snprintf(want, sizeof want, "%.*s%s", (int)room, tail, suffix);
    snprintf(out, PITH_NAME_MAX, "%s", want);
    for (int k = 2; pith_graph_find(im->g, out) >= 0; k++)
        snprintf(out, PITH_NAME_MAX, "%.*s~%d", PITH_NAME_MAX - 12, want, k);
}

int ox_add(ox_importer *im, const char *op, const char *suffix, const pith_attrs *a, const int *in, int n_in)
{
    char name[PITH_NAME_MAX];
    ox_node_name(im, im->node, suffix, name);
    int idx = pith_graph_add(im->g, op, name, a, in, n_in);
    if (idx < 0)
        return ox_fail(im, idx, "%s", pith_last_error());
    return idx;
}

int ox_const_node(ox_importer *im, const ox_value *c, int rank, const char *suffix)
{
    int r = c->rank, ps = rank - 1; /* per-sample ONNX rank */
    const int64_t *d = c->dims;
    if (r > rank)
        return ox_fail(im, PITH_ESHAPE, "a rank-%d constant operand for a rank-%d value", r, rank);
    if (r == rank) {
        if (d[0] != 1)
            return ox_fail(im, PITH_ESHAPE, "a constant operand of %lld along the batch; pith broadcasts "
                           "constants over the batch only", (long long)d[0]);
        d++, r--;
    }
    int64_t e[3] = {1, 1, 1}; /* the per-sample dims, left-padded with 1s */
    for (int k = 0; k < r; k++)
        e[ps - r + k] = d[k];
    pith_attrs a = {0};
    if (ps == 1) {
        a.out = (int)e[0];
    } else if (ps == 2) { /* N x C x L is held as C x 1 x L */
        a.out = (int)e[0], a.kh = 1, a.kw = (int)e[1];
    } else {
        a.out = (int)e[0], a.kh = (int)e[1], a.kw = (int)e[2];
    }
    int idx = ox_add(im, "constant", suffix, &a, NULL, 0);
    if (idx < 0)
        return idx;
    pith_param *p = &im->g->nodes[idx].params[0];
    for (size_t k = 0; k < p->size; k++)
        p->data[k] = (float)ox_getf(c, k);
    return idx;
}
