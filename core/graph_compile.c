/* Compiling a graph: the topological order (cycles rejected), shape
 * checks, the fusion plan (an activation computed inside the op before it),
 * and one arena for every activation, gradient and op workspace of `batch`
 * images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "error.h"
#include "graph.h"
#include "progress.h"

#define ALIGN 64

/* Depth-first topological sort from the output; rejects cycles. */
static int topo_visit(pith_graph *g, int i, char *state, int *order, int *n_order)
{
    if (state[i] == 2)
        return PITH_OK;
    if (state[i] == 1)
        return pith_error(PITH_EINVAL, "graph has a cycle through node '%s'", g->nodes[i].name);
    state[i] = 1;
    for (int j = 0; j < g->nodes[i].n_in; j++) {
        int rc = topo_visit(g, g->nodes[i].in[j], state, order, n_order);
        if (rc)
            return rc;
    }
    state[i] = 2;
    order[(*n_order)++] = i;
    return PITH_OK;
}

static size_t align_up(size_t x) { return (x + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

int pith_graph_sort(pith_graph *g)
{
    free(g->order);
    g->order = malloc((size_t)g->n_nodes * sizeof *g->order);
    char *state = calloc((size_t)g->n_nodes, 1);
    if (!g->order || !state) {
        free(state);
        return pith_error(PITH_ENOMEM, "out of memory sorting the graph");
    }
    g->n_order = 0;
    int rc = topo_visit(g, g->output, state, g->order, &g->n_order);
    int reached = state[0] == 2;
    free(state);
    if (rc)
        return rc;
    if (!reached)
        return pith_error(PITH_EINVAL, "graph output does not depend on the input");
    /* the input first (a constant node may have been reached before it; it
     * has no inputs, so moving it to the front keeps the order topological) */
    int at = 0;
    while (g->order[at] != 0)
        at++;
    memmove(g->order + 1, g->order, (size_t)at * sizeof *g->order);
    g->order[0] = 0;
    return PITH_OK;
}

/* Decides the fusions of the compiled plan (see pith_node); uses[i] is the
 * number of consumers of node i. */
static void plan_fusion(pith_graph *g, const int *uses)
{
    for (int k = 0; k < g->n_order; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        n->fused_act = 0;
        n->fused_into = n->computed_by = -1;
        n->pool_y = n->pool_dy = NULL;
    }
    if (g->fuse_off)
        return;
    for (int k = 1; k < g->n_order; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        const char *op = n->op->name;
        int src = n->in[0], is_output = g->order[k] == g->output;
        if (uses[src] != 1)
            continue;
        /* batchnorm -> relu/relu6: the batchnorm applies the activation */
        int act = !strcmp(op, "relu") ? 1 : !strcmp(op, "relu6") ? 2 : 0;
        if (act && !is_output && !strcmp(g->nodes[src].op->name, "batchnorm") && src != g->output) {
            g->nodes[src].fused_act = act;
            n->fused_into = src;
        }
        /* ... -> 2x2/2 maxpool whose windows tile the plane: the batchnorm computes it too */
        const pith_attrs *a = &n->a;
        const pith_node *r = &g->nodes[src];
        if (!strcmp(op, "maxpool") && r->fused_into >= 0 && a->kh == 2 && a->kw == 2 && a->sh == 2 &&
            a->sw == 2 && !a->ph && !a->pw && r->out.ndim == 3 && r->out.d[1] % 2 == 0 &&
            r->out.d[2] % 2 == 0 && g->nodes[r->fused_into].fused_act &&
            g->nodes[r->fused_into].needs_grad == n->needs_grad)
            n->computed_by = r->fused_into;
        /* flatten is a view of its input */
        if (!strcmp(op, "flatten") && !is_output && g->nodes[src].needs_grad == n->needs_grad)
            n->fused_into = src;
    }
}

int pith_graph_compile(pith_graph *g, int batch)
{
    if (batch <= 0 || batch > (1 << 20))
        return pith_error(PITH_EINVAL, "batch size %d out of range 1..%d", batch, 1 << 20);
    free(g->arena);
    g->arena = NULL;
    g->batch = 0;
    int rc = pith_graph_sort(g);
    if (rc)
        return rc;

    /* Shapes again (a pass may have changed a node), then which nodes need a gradient. */
    size_t total = 0;
    for (int k = 0; k < g->n_order; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        if (g->order[k] != 0) {
            pith_shape in[PITH_MAX_INPUTS];
            pith_node_in_shapes(g, n, in);
            rc = n->op->shape(n, in, n->n_in, &n->out);
            if (rc)
                return rc;
            n->ws_bytes = n->op->workspace ? n->op->workspace(n, in, batch) : 0;
        } else {
            n->ws_bytes = 0;
        }
        int needs = 0;
        for (int j = 0; j < n->n_params; j++)
            if (n->params[j].trainable && !n->params[j].frozen)
                needs = 1;
        for (int j = 0; j < n->n_in; j++)
            if (g->nodes[n->in[j]].needs_grad)
                needs = 1;
        n->needs_grad = needs || g->order[k] == g->output || (g->order[k] == 0 && g->input_grad);
        size_t sz = pith_shape_size(&n->out) * (size_t)batch * sizeof(float);
        if (sz / (size_t)batch / sizeof(float) != pith_shape_size(&n->out))
            return pith_error(PITH_ESHAPE, "node '%s': buffer size overflows", n->name);
        total += align_up(sz) * (n->needs_grad ? 2 : 1) + align_up(n->ws_bytes);
    }
    /* How many consumers each value has (counting repeats), and the last one. */
    int *uses = calloc((size_t)g->n_nodes * 2, sizeof *uses);
    if (!uses)
        return pith_error(PITH_ENOMEM, "out of memory compiling the graph");
    int *by = uses + g->n_nodes;
    for (int q = 0; q < g->n_order; q++) {
        const pith_node *m = &g->nodes[g->order[q]];
        for (int j = 0; j < m->n_in; j++) {
            uses[m->in[j]]++;
            by[m->in[j]] = g->order[q];
        }
    }
    plan_fusion(g, uses);
    /* A value with a single consumer that overwrites its gradient needs no zeroing. */
    for (int k = 0; k < g->n_order; k++) {
        int i = g->order[k];
        g->nodes[i].dy_overwritten =
            uses[i] == 1 && g->nodes[by[i]].op->overwrite_dx && i != g->output;
    }
    free(uses);
    /* Activations of a training batch are tens of MB walked every step: back
     * them with 2 MiB pages where the kernel allows (fewer TLB misses). */
    const size_t huge = (size_t)2 << 20;
    size_t bytes = total > huge ? (total + huge - 1) & ~(huge - 1) : align_up(total ? total : ALIGN);
    g->arena = aligned_alloc(total > huge ? huge : ALIGN, bytes);
    if (!g->arena)
        return pith_error(PITH_ENOMEM, "out of memory: the graph needs %zu bytes at batch %d", total,
                          batch);
#ifdef MADV_HUGEPAGE
    if (total > huge)
        madvise(g->arena, bytes, MADV_HUGEPAGE);
#endif
    memset(g->arena, 0, bytes);
    g->arena_bytes = total;
    char *p = g->arena;
    for (int k = 0; k < g->n_order; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        size_t sz = align_up(pith_shape_size(&n->out) * (size_t)batch * sizeof(float));
        if (n->fused_into >= 0) {
            n->y = g->nodes[n->fused_into].y;
            n->dy = g->nodes[n->fused_into].dy;
        } else {
            n->y = (float *)p;
            p += sz;
            n->dy = NULL;
            if (n->needs_grad) {
                n->dy = (float *)p;
                p += sz;
            }
        }
        n->ws = n->ws_bytes ? p : NULL;
        p += align_up(n->ws_bytes);
        if (n->computed_by >= 0) {
            g->nodes[n->computed_by].pool_y = n->y;
            g->nodes[n->computed_by].pool_dy = n->dy;
        }
        if (n->op->prepare && g->order[k] != 0) {
            pith_shape in[PITH_MAX_INPUTS];
            pith_node_in_shapes(g, n, in);
            n->op->prepare(n, in, batch);
        }
    }
    g->batch = batch;
    return PITH_OK;
}

