#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "progress.h"


const pith_attr_desc pith_attr_table[] = {
    {"out", offsetof(pith_attrs, out), 0, 0},
    {"kh", offsetof(pith_attrs, kh), 0, 0},
    {"kw", offsetof(pith_attrs, kw), 0, 0},
    {"sh", offsetof(pith_attrs, sh), 0, 0},
    {"sw", offsetof(pith_attrs, sw), 0, 0},
    {"ph", offsetof(pith_attrs, ph), 0, 0},
    {"pw", offsetof(pith_attrs, pw), 0, 0},
    {"dh", offsetof(pith_attrs, dh), 0, 0},
    {"dw", offsetof(pith_attrs, dw), 0, 0},
    {"groups", offsetof(pith_attrs, groups), 0, 0},
    {"bias", offsetof(pith_attrs, bias), 0, 0},
    {"eps", offsetof(pith_attrs, eps), 1, 0},
    {"momentum", offsetof(pith_attrs, momentum), 1, 0},
    {"p", offsetof(pith_attrs, p), 1, 0},
    {"alpha", offsetof(pith_attrs, alpha), 1, 1},
    {"beta", offsetof(pith_attrs, beta), 1, 1},
    {"oh", offsetof(pith_attrs, oh), 0, 1},
    {"ow", offsetof(pith_attrs, ow), 0, 1},
    {"rsh", offsetof(pith_attrs, rsh), 1, 1},
    {"rsw", offsetof(pith_attrs, rsw), 1, 1},
    {"rmode", offsetof(pith_attrs, rmode), 0, 1},
    {"rcoord", offsetof(pith_attrs, rcoord), 0, 1},
    {"rnearest", offsetof(pith_attrs, rnearest), 0, 1},
    {"pool_ext", offsetof(pith_attrs, pool_ext), 0, 1},
    {"ph_end", offsetof(pith_attrs, ph_end), 0, 1},
    {"pw_end", offsetof(pith_attrs, pw_end), 0, 1},
    {"axis", offsetof(pith_attrs, axis), 0, 1},
    {"wq", offsetof(pith_attrs, wq), 0, 1},
    {"wbits", offsetof(pith_attrs, wbits), 0, 1},
    {"wsym", offsetof(pith_attrs, wsym), 0, 1},
    {"wgran", offsetof(pith_attrs, wgran), 0, 1},
    {"wgroup", offsetof(pith_attrs, wgroup), 0, 1},
    {"wlsq", offsetof(pith_attrs, wlsq), 0, 1},
    {"wbn", offsetof(pith_attrs, wbn), 0, 1},
    {"wstoch", offsetof(pith_attrs, wstoch), 0, 1},
    {"qbits", offsetof(pith_attrs, qbits), 0, 1},
    {"qsym", offsetof(pith_attrs, qsym), 0, 1},
    {"qsigned", offsetof(pith_attrs, qsigned), 0, 1},
    {"qnarrow", offsetof(pith_attrs, qnarrow), 0, 1},
    {"qmode", offsetof(pith_attrs, qmode), 0, 1},
    {"qlsq", offsetof(pith_attrs, qlsq), 0, 1},
    {"qema", offsetof(pith_attrs, qema), 0, 1},
    {"qrelu", offsetof(pith_attrs, qrelu), 0, 1},
    {"qstoch", offsetof(pith_attrs, qstoch), 0, 1},
    {"qio", offsetof(pith_attrs, qio), 0, 1},
    {"qacc", offsetof(pith_attrs, qacc), 0, 1},
    {NULL, 0, 0, 0},
};

size_t pith_shape_size(const pith_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= (size_t)s->d[i];
    return n;
}

int pith_shape_equal(const pith_shape *a, const pith_shape *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i])
            return 0;
    return 1;
}

void pith_shape_format(const pith_shape *s, char *buf, size_t len)
{
    if (s->ndim == 1)
        snprintf(buf, len, "%d", s->d[0]);
    else
        snprintf(buf, len, "%dx%dx%d", s->d[0], s->d[1], s->d[2]);
}

static void param_release(pith_param *p)
{
    free(p->data);
    free(p->grad);
    free(p->eff);
    if (p->tf && p->tf->destroy)
        p->tf->destroy(p->tf_ctx);
    memset(p, 0, sizeof *p);
}

int pith_graph_create(pith_graph **out, pith_shape input, uint64_t seed)
{
    *out = NULL;
    if (input.ndim != 1 && input.ndim != 3)
        return pith_error(PITH_ESHAPE, "graph input must be (features) or (C,H,W), got %d dims",
                          input.ndim);
    for (int i = 0; i < input.ndim; i++)
        if (input.d[i] <= 0 || input.d[i] > (1 << 20))
            return pith_error(PITH_ESHAPE, "graph input dimension %d is %d", i, input.d[i]);
    pith_graph *g = calloc(1, sizeof *g);
    if (!g)
        return pith_error(PITH_ENOMEM, "out of memory creating a graph");
    g->cap = 16;
    g->nodes = calloc((size_t)g->cap, sizeof *g->nodes);
    if (!g->nodes) {
        free(g);
        return pith_error(PITH_ENOMEM, "out of memory creating a graph");
    }
    g->input_shape = input;
    g->seed = seed;
    pith_rng_seed(&g->init_rng, seed);
    pith_node *n = &g->nodes[0];
    snprintf(n->name, sizeof n->name, "input");
    n->op = pith_op_find("input");
    n->out = input;
    g->n_nodes = 1;
    g->output = 0;
    *out = g;
    return PITH_OK;
}

void pith_graph_free(pith_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_params; j++)
            param_release(&g->nodes[i].params[j]);
    free(g->nodes);
    free(g->order);
    free(g->arena);
    free(g);
}

void pith_node_in_shapes(const pith_graph *g, const pith_node *n, pith_shape *in)
{
    for (int j = 0; j < n->n_in; j++)
        in[j] = g->nodes[n->in[j]].out;
}

int pith_graph_consumers(const pith_graph *g, int node, int *only)
{
    int count = 0;
    for (int k = 0; k < g->n_order; k++) {
        const pith_node *n = &g->nodes[g->order[k]];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] == node) {
                count++;
                *only = g->order[k];
            }
    }
    return count;
}

int pith_graph_find(const pith_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return i;
    return -1;
}

static int new_node(pith_graph *g, const char *op_name, const char *name, const int *inputs,
                    int n_in, const pith_op **op_out)
{
    const pith_op *op = pith_op_find(op_name);
    if (!op || strcmp(op_name, "input") == 0)
        return pith_error(PITH_EINVAL, "unknown op '%s'", op_name);
    if (!name || !name[0] || strlen(name) >= PITH_NAME_MAX || strchr(name, '/'))
        return pith_error(PITH_EINVAL, "node name must have 1 to %d characters and no '/'",
                          PITH_NAME_MAX - 1);
    if (pith_graph_find(g, name) >= 0)
        return pith_error(PITH_EINVAL, "a node named '%s' already exists", name);
    if (n_in < op->min_in || n_in > op->max_in)
        return pith_error(PITH_EINVAL, "%s '%s' takes %d to %d inputs, got %d", op_name, name,
                          op->min_in, op->max_in, n_in);
    for (int j = 0; j < n_in; j++)
        if (inputs[j] < 0 || inputs[j] >= g->n_nodes)
            return pith_error(PITH_EINVAL, "%s '%s': input %d refers to node %d, which does not exist",
                              op_name, name, j, inputs[j]);
    if (g->n_nodes == g->cap) {
        int cap = g->cap * 2;
        pith_node *nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return pith_error(PITH_ENOMEM, "out of memory adding node '%s'", name);
        memset(nodes + g->cap, 0, (size_t)(cap - g->cap) * sizeof *nodes);
        g->nodes = nodes;
        g->cap = cap;
    }
    *op_out = op;
    return PITH_OK;
}

int pith_graph_add(pith_graph *g, const char *op_name, const char *name, const pith_attrs *a,
                   const int *inputs, int n_in)
{
    const pith_op *op = NULL;
    int rc = new_node(g, op_name, name, inputs, n_in, &op);
    if (rc)
        return rc;
    int idx = g->n_nodes;
    pith_node *n = &g->nodes[idx];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->op = op;
    if (a)
        n->a = *a;
    n->n_in = n_in;
    if (n_in) /* a constant node has none (and may pass NULL) */
        memcpy(n->in, inputs, (size_t)n_in * sizeof *inputs);
    pith_shape in[PITH_MAX_INPUTS];
    pith_node_in_shapes(g, n, in);
    rc = op->shape(n, in, n_in, &n->out);
    if (rc == PITH_OK && op->init)
        rc = op->init(n, in, &g->init_rng);
    if (rc) {
        for (int j = 0; j < n->n_params; j++)
            param_release(&n->params[j]);
        memset(n, 0, sizeof *n);
        return rc;
    }
    g->n_nodes++;
    g->output = idx;
    g->batch = 0; /* needs a compile */
    return idx;
}

int pith_graph_insert_after(pith_graph *g, int target, const char *op_name, const char *name,
                            const pith_attrs *a)
{
    if (target < 0 || target >= g->n_nodes)
        return pith_error(PITH_EINVAL, "insert after node %d: no such node", target);
    int old_output = g->output;
    int idx = pith_graph_add(g, op_name, name, a, &target, 1);
    if (idx < 0)
        return idx;
    for (int i = 0; i < g->n_nodes; i++) {
        if (i == idx)
            continue;
        for (int j = 0; j < g->nodes[i].n_in; j++)
            if (g->nodes[i].in[j] == target)
                g->nodes[i].in[j] = idx;
    }
    g->output = old_output == target ? idx : old_output;
    return idx;
}

pith_param *pith_node_param(pith_node *n, const char *name)
{
    for (int j = 0; j < n->n_params; j++)
        if (strcmp(n->params[j].name, name) == 0)
            return &n->params[j];
    return NULL;
}

int pith_param_replace(pith_param *p, int ndim, const int *shape, float *data)
{
    if (ndim < 1 || ndim > 4)
        return pith_error(PITH_EINVAL, "parameter '%s': %d dimensions", p->name, ndim);
    size_t size = 1;
    for (int i = 0; i < ndim; i++)
        size *= (size_t)shape[i];
    float *grad = NULL;
    if (p->grad && !(grad = calloc(size ? size : 1, sizeof(float))))
        return pith_error(PITH_ENOMEM, "out of memory resizing '%s'", p->name);
    int rc = pith_param_set_transform(p, NULL, NULL);
    if (rc) {
        free(grad);
        return rc;
    }
    free(p->data);
    free(p->grad);
    p->data = data;
    p->grad = grad;
    p->ndim = ndim;
    for (int i = 0; i < 4; i++)
        p->shape[i] = i < ndim ? shape[i] : 0;
    p->size = size;
    return PITH_OK;
}

pith_param *pith_node_new_param(pith_node *n, const char *name, int ndim, const int *shape,
                                int trainable)
{
    if (n->n_params >= PITH_MAX_PARAMS || ndim < 1 || ndim > 4) {
        pith_error(PITH_EINVAL, "node '%s': cannot add parameter '%s'", n->name, name);
        return NULL;
    }
    pith_param *p = &n->params[n->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->size = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->size *= (size_t)shape[i];
    }
    p->trainable = trainable;
    p->data = calloc(p->size, sizeof(float));
    p->grad = trainable ? calloc(p->size, sizeof(float)) : NULL;
    if (!p->data || (trainable && !p->grad)) {
        free(p->data);
        free(p->grad);
        memset(p, 0, sizeof *p);
        pith_error(PITH_ENOMEM, "node '%s': out of memory for parameter '%s'", n->name, name);
        return NULL;
    }
    n->n_params++;
    return p;
}

void pith_fill_uniform(float *x, size_t n, float bound, pith_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (2.0f * pith_rng_uniform(rng) - 1.0f) * bound;
}

int pith_param_set_transform(pith_param *p, const pith_param_transform *tf, void *ctx)
{
    if (p->tf && p->tf->destroy)
        p->tf->destroy(p->tf_ctx);
    free(p->eff);
    p->eff = NULL;
    p->tf = NULL;
    p->tf_ctx = NULL;
    if (!tf)
        return PITH_OK;
    p->eff = malloc(p->size * sizeof(float));
    if (!p->eff) {
        if (tf->destroy)
            tf->destroy(ctx);
        return pith_error(PITH_ENOMEM, "out of memory attaching transform '%s' to '%s'", tf->name,
                          p->name);
    }
    p->tf = tf;
    p->tf_ctx = ctx;
    return PITH_OK;
}

void pith_graph_set_training(pith_graph *g, int training) { g->training = training; }

float *pith_graph_input(pith_graph *g) { return g->batch ? g->nodes[0].y : NULL; }
const float *pith_graph_input_grad(const pith_graph *g) { return g->batch ? g->nodes[0].dy : NULL; }
const float *pith_graph_output(const pith_graph *g) { return g->batch ? g->nodes[g->output].y : NULL; }
float *pith_graph_output_grad(pith_graph *g) { return g->batch ? g->nodes[g->output].dy : NULL; }
const pith_shape *pith_graph_output_shape(const pith_graph *g) { return &g->nodes[g->output].out; }

static void make_ctx(pith_graph *g, int idx, int batch, pith_ctx *c)
{
    pith_node *n = &g->nodes[idx];
    c->batch = batch;
    c->training = g->training;
    c->n_in = n->n_in;
    c->seed = pith_hash64(g->seed, g->step, (uint64_t)idx);
    for (int j = 0; j < n->n_in; j++) {
        pith_node *src = &g->nodes[n->in[j]];
        c->in[j] = src->out;
        c->x[j] = src->y;
        c->dx[j] = src->needs_grad ? src->dy : NULL;
        c->dx_overwrite[j] = src->dy_overwritten;
    }
}

int pith_graph_forward(pith_graph *g, int batch)
{
    if (!g->batch)
        return pith_error(PITH_ESTATE, "graph is not compiled");
    if (batch <= 0 || batch > g->batch)
        return pith_error(PITH_EINVAL, "batch %d exceeds the compiled batch %d", batch, g->batch);
    for (int k = 0; k < g->n_order; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        for (int j = 0; j < n->n_params; j++) {
            pith_param *p = &n->params[j];
            if (p->tf) {
                int rc = p->tf->forward(p->tf_ctx, p, p->eff);
                if (rc)
                    return rc;
            }
        }
    }
    for (int k = 1; k < g->n_order; k++) {
        pith_ctx c;
        make_ctx(g, g->order[k], batch, &c);
        pith_node *n = &g->nodes[g->order[k]];
        if (n->fused_into >= 0 || n->computed_by >= 0)
            continue;
        double t0 = g->profile ? pith_now() : 0.0;
        n->op->forward(n, &c);
        if (g->profile)
            n->fwd_seconds += pith_now() - t0;
    }
    return PITH_OK;
}

void pith_graph_zero_grad(pith_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_params; j++) {
            pith_param *p = &g->nodes[i].params[j];
            if (p->grad)
                memset(p->grad, 0, p->size * sizeof(float));
        }
}

int pith_graph_backward(pith_graph *g, int batch)
{
    if (!g->batch)
        return pith_error(PITH_ESTATE, "graph is not compiled");
    if (batch <= 0 || batch > g->batch)
        return pith_error(PITH_EINVAL, "batch %d exceeds the compiled batch %d", batch, g->batch);
    for (int k = 0; k < g->n_order; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        if (n->dy && g->order[k] != g->output && !n->dy_overwritten && !n->fused_act)
            memset(n->dy, 0, pith_shape_size(&n->out) * (size_t)batch * sizeof(float));
    }
    for (int k = g->n_order - 1; k >= 1; k--) {
        pith_node *n = &g->nodes[g->order[k]];
        if (!n->needs_grad || n->fused_into >= 0 || n->computed_by >= 0)
            continue;
        pith_ctx c;
        make_ctx(g, g->order[k], batch, &c);
        double t0 = g->profile ? pith_now() : 0.0;
        n->op->backward(n, &c);
        if (g->profile)
            n->bwd_seconds += pith_now() - t0;
    }
    for (int k = 0; k < g->n_order; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        for (int j = 0; j < n->n_params; j++) {
            pith_param *p = &n->params[j];
            if (p->tf && p->grad && p->tf->backward)
                p->tf->backward(p->tf_ctx, p, p->grad);
        }
    }
    return PITH_OK;
}

void pith_graph_profile(pith_graph *g, int on)
{
    g->profile = on;
    for (int i = 0; i < g->n_nodes; i++)
        g->nodes[i].fwd_seconds = g->nodes[i].bwd_seconds = 0.0;
}

int64_t pith_node_param_count(const pith_node *n, int trainable_only)
{
    int64_t t = 0;
    for (int j = 0; j < n->n_params; j++)
        if (!trainable_only || n->params[j].trainable)
            t += (int64_t)n->params[j].size;
    return t;
}

int64_t pith_node_macs(const pith_graph *g, const pith_node *n)
{
    if (!n->op->macs)
        return 0;
    pith_shape in[PITH_MAX_INPUTS];
    pith_node_in_shapes(g, n, in);
    return n->op->macs(n, in);
}

int64_t pith_graph_params(const pith_graph *g, int trainable_only)
{
    int64_t t = 0;
    for (int i = 0; i < g->n_nodes; i++)
        t += pith_node_param_count(&g->nodes[i], trainable_only);
    return t;
}

int64_t pith_graph_macs(const pith_graph *g)
{
    int64_t t = 0;
    for (int i = 0; i < g->n_nodes; i++)
        t += pith_node_macs(g, &g->nodes[i]);
    return t;
}

int64_t pith_graph_bytes(const pith_graph *g) { return 4 * pith_graph_params(g, 0); }
