/* Import driver: the model's envelope (IR version, opsets, graph input and
 * output), the initializers, then one converter per node in file order (ONNX
 * requires topological order). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "importer.h"

#define OX_MIN_OPSET 1 /* older ops whose meaning changed (broadcast attributes, Reshape's shape attribute) are refused one by one */
#define OX_MAX_OPSET 21
#define OX_MAX_FILE ((size_t)2 << 30)

static const char *str(const char *s) { return s ? s : ""; }

static int default_domain(const char *d) { return !d || !d[0] || strcmp(d, "ai.onnx") == 0; }

static void free_values(ox_importer *im)
{
    for (int k = 0; k < im->n_vals; k++) {
        free(im->vals[k].f);
        free(im->vals[k].i);
    }
    free(im->vals);
    im->vals = NULL;
    im->n_vals = im->cap_vals = 0;
}

static int is_initializer(const Onnx__GraphProto *gr, const char *name)
{
    for (size_t k = 0; k < gr->n_initializer; k++)
        if (gr->initializer[k] && strcmp(str(gr->initializer[k]->name), name) == 0)
            return 1;
    return 0;
}

static const pith_onnx_binding *binding(const pith_onnx_opts *o, const char *name)
{
    for (int k = 0; o && k < o->n_bind; k++)
        if (strcmp(o->bind[k].name, name) == 0)
            return &o->bind[k];
    return NULL;
}

/* The input's per-sample shape from its declared type, or from o->input. */
static int input_shape(ox_importer *im, const Onnx__ValueInfoProto *vi, const pith_onnx_opts *o, pith_shape *s,
                       int *rank)
{
    const char *name = str(vi->name);
    const Onnx__TypeProto *t = vi->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type)
        return ox_fail(im, PITH_EFORMAT, "graph input '%s' is not a tensor", name);
    const Onnx__TypeProto__Tensor *tt = t->tensor_type;
    if (tt->has_elem_type && tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return ox_fail(im, PITH_EFORMAT, "graph input '%s' is of element type %d; pith imports float inputs", name,
                       tt->elem_type);
    int r = tt->shape ? (int)tt->shape->n_dim : -1;
    if (o && o->input.ndim) {
        int want = o->input.ndim + 1;
        if (r >= 0 && r != want && !(r == 3 && want == 4 && o->input.d[1] == 1))
            return ox_fail(im, PITH_ESHAPE, "graph input '%s' has rank %d; --input gives a rank-%d shape", name, r,
                           want);
        *s = o->input;
        *rank = r == 3 ? 3 : want;
        return PITH_OK;
    }
    if (r < 2 || r > 4)
        return ox_fail(im, PITH_ESHAPE, "graph input '%s' has %s; pith imports N x C x H x W, N x C x L or N x F "
                       "inputs (give the shape with --input CxHxW)", name, r < 0 ? "no shape" : "another rank");
    int64_t d[4] = {0, 0, 0, 0};
    for (int k = 1; k < r; k++) {
        const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[k];
        if (!dm || dm->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || dm->dim_value < 1 ||
            dm->dim_value > (1 << 20))
            return ox_fail(im, PITH_ESHAPE, "graph input '%s': dimension %d is not a fixed size; give the shape "
                           "with --input CxHxW", name, k);
        d[k] = dm->dim_value;
    }
    *rank = r;
    if (r == 2)
        *s = (pith_shape){1, {(int)d[1], 0, 0}};
    else if (r == 3)
        *s = (pith_shape){3, {(int)d[1], 1, (int)d[2]}};
    else
        *s = (pith_shape){3, {(int)d[1], (int)d[2], (int)d[3]}};
    return PITH_OK;
}

/* How many node inputs and graph outputs name `name`. */
int ox_uses(const ox_importer *im, const char *name)
{
    const Onnx__GraphProto *gr = im->graph;
    int u = 0;
    for (size_t k = 0; k < gr->n_node; k++)
        for (size_t j = 0; j < gr->node[k]->n_input; j++)
            u += strcmp(str(gr->node[k]->input[j]), name) == 0;
    for (size_t k = 0; k < gr->n_output; k++)
        u += gr->output[k] && strcmp(str(gr->output[k]->name), name) == 0;
    return u;
}

int ox_sole_consumer(const ox_importer *im, const char *name, int after)
{
    if (ox_uses(im, name) != 1)
        return -1;
    const Onnx__GraphProto *gr = im->graph;
    for (size_t k = (size_t)after + 1; k < gr->n_node; k++)
        for (size_t j = 0; j < gr->node[k]->n_input; j++)
            if (strcmp(str(gr->node[k]->input[j]), name) == 0)
                return (int)k;
    return -1;
}

static int import_graph(ox_importer *im, const pith_onnx_opts *o)
{
    const Onnx__ModelProto *m = im->model;
    const Onnx__GraphProto *gr = m->graph;
    int rc;
    if (!gr)
        return ox_fail(im, PITH_EFORMAT, "the model has no graph");
    im->graph = gr;
    /* opsets */
    im->opset = -1;
    for (size_t k = 0; k < m->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *op = m->opset_import[k];
        if (op && default_domain(op->domain))
            im->opset = op->has_version ? op->version : 1;
    }
    if (im->opset < 0)
        return ox_fail(im, PITH_EFORMAT, "the model imports no opset of the default ONNX domain");
    if (im->opset < OX_MIN_OPSET || im->opset > OX_MAX_OPSET)
        return ox_fail(im, PITH_EFORMAT, "opset %lld; pith imports opsets %d to %d", (long long)im->opset,
                       OX_MIN_OPSET, OX_MAX_OPSET);
    if (im->info) {
        im->info->opset = im->opset;
        im->info->ir_version = m->has_ir_version ? m->ir_version : 0;
        snprintf(im->info->producer, sizeof im->info->producer, "%s %s", str(m->producer_name),
                 str(m->producer_version));
        im->info->onnx_nodes = (int)gr->n_node;
    }
    if (gr->n_sparse_initializer)
        return ox_fail(im, PITH_EFORMAT, "sparse initializers are not supported");
    /* initializers and bound inputs: constants */
    for (size_t k = 0; k < gr->n_initializer; k++) {
        const Onnx__TensorProto *t = gr->initializer[k];
        if (!t || !str(t->name)[0])
            return ox_fail(im, PITH_EFORMAT, "initializer %zu has no name", k);
        if (ox_get(im, t->name))
            return ox_fail(im, PITH_EFORMAT, "initializer '%s' is defined twice", t->name);
        ox_value *v = ox_define(im, t->name);
        if (!v || (rc = ox_tensor_value(im, t, t->name, v)))
            return v ? rc : PITH_EFORMAT;
    }
    /* the graph input: the one input that is neither an initializer nor bound */
    const Onnx__ValueInfoProto *in = NULL;
    for (size_t k = 0; k < gr->n_input; k++) {
        const Onnx__ValueInfoProto *vi = gr->input[k];
        if (!vi || !str(vi->name)[0])
            return ox_fail(im, PITH_EFORMAT, "graph input %zu has no name", k);
        if (is_initializer(gr, vi->name))
            continue;
        const pith_onnx_binding *b = binding(o, vi->name);
        if (b) {
            Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, b->len, b->tensor);
            if (!t)
                return ox_fail(im, PITH_EFORMAT, "the value bound to input '%s' is not a TensorProto", vi->name);
            ox_value *v = ox_define(im, vi->name);
            rc = v ? ox_tensor_value(im, t, vi->name, v) : PITH_EFORMAT;
            onnx__tensor_proto__free_unpacked(t, NULL);
            if (rc)
                return rc;
            continue;
        }
        if (in)
            return ox_fail(im, PITH_EFORMAT, "graph inputs '%s' and '%s': pith models take one input", in->name,
                           vi->name);
        in = vi;
    }
    int folding = o && o->folded;
    if (!in && !folding)
        return ox_fail(im, PITH_EFORMAT, "the graph has no input that is not an initializer");
    if (in && folding)
        return ox_fail(im, PITH_EFORMAT, "graph input '%s' is not bound (folding needs every input)", in->name);
    pith_shape s = {1, {1, 0, 0}};
    int rank = 2;
    if (in && (rc = input_shape(im, in, o, &s, &rank)))
        return rc;
    if ((rc = pith_graph_create(&im->g, s, o ? o->seed : 0)))
        return ox_fail(im, rc, "%s", pith_last_error());
    if (in) {
        snprintf(im->g->nodes[0].name, PITH_NAME_MAX, "%s", in->name);
        if ((rc = ox_define_node(im, in->name, 0, rank)))
            return rc;
        if (im->info) {
            snprintf(im->info->input_name, sizeof im->info->input_name, "%s", in->name);
            im->info->input_rank = rank;
        }
    }
    im->skip = calloc(gr->n_node ? gr->n_node : 1, sizeof *im->skip);
    if (!im->skip)
        return ox_fail(im, PITH_ENOMEM, "out of memory");
    /* the nodes */
    for (size_t k = 0; k < gr->n_node; k++) {
        const Onnx__NodeProto *n = gr->node[k];
        im->node = n;
        im->node_index = (int)k;
        if (im->skip[k])
            continue;
        if (!default_domain(n->domain))
            return ox_fail(im, PITH_EFORMAT, "domain '%s' is not supported (only the default ONNX domain)",
                           n->domain);
        const ox_op *op = ox_find_op(str(n->op_type));
        if (!op)
            return ox_fail(im, PITH_EFORMAT, "op %s is not supported; pith imports %s", str(n->op_type),
                           ox_supported_ops());
        if (n->n_output < 1)
            return ox_fail(im, PITH_EFORMAT, "the node has no output");
        if ((rc = op->fn(im, n)))
            return rc;
    }
    im->node = NULL;
    /* the output */
    if (gr->n_output < 1 || !gr->output[0])
        return ox_fail(im, PITH_EFORMAT, "the graph has no output");
    const char *oname = str(gr->output[0]->name);
    if (o && o->output) {
        size_t k = 0;
        while (k < gr->n_output && strcmp(str(gr->output[k]->name), o->output))
            k++;
        if (k == gr->n_output)
            return ox_fail(im, PITH_EINVAL, "the graph has no output '%s'", o->output);
        oname = o->output;
    }
    ox_value *ov = ox_get(im, oname);
    if (!ov)
        return ox_fail(im, PITH_EFORMAT, "graph output '%s' is computed by no node", oname);
    if (folding) {
        if (!ov->is_const)
            return ox_fail(im, PITH_EFORMAT, "graph output '%s' did not fold to a constant", oname);
        pith_onnx_folded *f = o->folded;
        f->data = malloc((ov->n ? ov->n : 1) * sizeof(float));
        if (!f->data)
            return ox_fail(im, PITH_ENOMEM, "out of memory");
        for (size_t k = 0; k < ov->n; k++)
            f->data[k] = (float)ox_getf(ov, k);
        f->rank = ov->rank;
        memcpy(f->dims, ov->dims, (size_t)ov->rank * sizeof *ov->dims);
        f->n = ov->n;
        return PITH_OK;
    }
    if (ov->is_const)
        return ox_fail(im, PITH_EFORMAT, "graph output '%s' does not depend on the input", oname);
    if (ov->node == 0)
        return ox_fail(im, PITH_EFORMAT, "graph output '%s' is the input itself; nothing to import", oname);
    im->g->output = ov->node;
    if (im->info)
        snprintf(im->info->output_name, sizeof im->info->output_name, "%s", oname);
    if ((rc = pith_graph_sort(im->g)))
        return ox_fail(im, rc, "%s", pith_last_error());
    return PITH_OK;
}

int pith_onnx_import_buffer(const uint8_t *buf, size_t len, const char *path, const pith_onnx_opts *o,
                            pith_graph **g, pith_onnx_info *info)
{
    *g = NULL;
    ox_importer im = {.path = path ? path : "(buffer)", .info = info};
    if (info)
        memset(info, 0, sizeof *info);
    if (!buf || len == 0)
        return pith_error(PITH_EFORMAT, "%s: empty file", im.path);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m)
        return pith_error(PITH_EFORMAT, "%s: not an ONNX model: the protobuf does not parse (truncated or corrupt "
                          "file, or another format)", im.path);
    im.model = m;
    int rc = import_graph(&im, o);
    /* the QDQ state of the layers and tensors the graph kept */
    int kept = 0;
    for (int k = 0; k < im.n_qdq; k++) {
        if (!rc && info && im.qdq[k].node[0])
            im.qdq[kept++] = im.qdq[k];
        else
            free(im.qdq[k].scale);
    }
    if (info && kept) {
        info->qdq = im.qdq;
        info->n_qdq = kept;
    } else {
        free(im.qdq);
    }
    free_values(&im);
    free(im.skip);
    onnx__model_proto__free_unpacked(m, NULL);
    if (rc || (o && o->folded)) {
        pith_graph_free(im.g);
        return rc;
    }
    *g = im.g;
    return PITH_OK;
}

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot open: %s", path, strerror(errno));
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0 || (size_t)sz > OX_MAX_FILE) {
        fclose(f);
        return pith_error(PITH_EIO, "%s: cannot size the file (or it is over 2 GiB: ONNX keeps larger models' "
                          "weights in external data, which pith does not read)", path);
    }
    *buf = malloc(sz ? (size_t)sz : 1);
    if (!*buf) {
        fclose(f);
        return pith_error(PITH_ENOMEM, "%s: out of memory for %ld bytes", path, sz);
    }
    size_t got = fread(*buf, 1, (size_t)sz, f);
    int err = ferror(f);
    fclose(f);
    if (got != (size_t)sz || err) {
        free(*buf);
        return pith_error(PITH_EIO, "%s: read %zu of %ld bytes", path, got, sz);
    }
    *len = (size_t)sz;
    return PITH_OK;
}

int pith_onnx_import_file(const char *path, const pith_onnx_opts *o, pith_graph **g, pith_onnx_info *info)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    *g = NULL;
    int rc = read_file(path, &buf, &len);
    if (rc)
        return rc;
    rc = pith_onnx_import_buffer(buf, len, path, o, g, info);
    free(buf);
    return rc;
}

int pith_onnx_read_tensor(const uint8_t *buf, size_t len, const char *path, float **data, int64_t *dims, int *ndim,
                          size_t *n)
{
    *data = NULL;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, buf);
    if (!t)
        return pith_error(PITH_EFORMAT, "%s: not a TensorProto", path);
    ox_importer im = {.path = path};
    ox_value v = {.name = path};
    int rc = ox_tensor_value(&im, t, path, &v);
    onnx__tensor_proto__free_unpacked(t, NULL);
    if (rc)
        return rc;
    if (v.is_int) {
        v.f = malloc((v.n ? v.n : 1) * sizeof(float));
        if (!v.f) {
            free(v.i);
            return pith_error(PITH_ENOMEM, "%s: out of memory", path);
        }
        for (size_t k = 0; k < v.n; k++)
            v.f[k] = (float)v.i[k];
        free(v.i);
    }
    *data = v.f;
    *ndim = v.rank;
    memcpy(dims, v.dims, (size_t)v.rank * sizeof *dims);
    *n = v.n;
    return PITH_OK;
}
