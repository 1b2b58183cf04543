/* Fine-grained (unstructured) pruning: a mask on a conv / linear weight.
 *
 * The layer computes with w * mask; the mask is a parameter ("mask", a
 * buffer), so checkpoints carry it. The transform also zeroes the masked
 * master weights and their gradients, so that neither momentum nor weight
 * decay can bring a pruned weight back. Granularity: single weights, rows
 * (one kernel k x k of one input channel of one filter; for a linear, the
 * weight itself) or whole output channels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "prune.h"

typedef struct mask_ctx {
    float *mask;
} mask_ctx;

static int mask_forward(void *ctx, const pith_param *p, float *out)
{
    const float *m = ((mask_ctx *)ctx)->mask;
    float *w = p->data; /* the master copy stays pruned too */
    for (size_t i = 0; i < p->size; i++) {
        w[i] *= m[i];
        out[i] = w[i];
    }
    return PITH_OK;
}

static void mask_backward(void *ctx, const pith_param *p, float *grad)
{
    const float *m = ((mask_ctx *)ctx)->mask;
    for (size_t i = 0; i < p->size; i++)
        grad[i] *= m[i];
}

static void mask_destroy(void *ctx) { free(ctx); }

static const pith_param_transform mask_tf = {
    .name = "mask", .forward = mask_forward, .backward = mask_backward, .destroy = mask_destroy,
};

const char *pith_prune_gran_name(pith_prune_gran g)
{
    static const char *names[] = {"element", "kernel", "channel"};
    return g >= PITH_PRUNE_ELEMENT && g <= PITH_PRUNE_CHANNEL ? names[g] : "?";
}

int pith_prune_gran_parse(const char *s, pith_prune_gran *g)
{
    for (int i = PITH_PRUNE_ELEMENT; i <= PITH_PRUNE_CHANNEL; i++)
        if (!strcmp(s, pith_prune_gran_name((pith_prune_gran)i))) {
            *g = (pith_prune_gran)i;
            return PITH_OK;
        }
    if (!strcmp(s, "row")) {
        *g = PITH_PRUNE_KERNEL;
        return PITH_OK;
    }
    return pith_error(PITH_EINVAL, "unknown granularity '%s' (element, kernel, channel)", s);
}

static int is_layer(const pith_node *n) { return (n->op == &pith_op_conv2d) || (n->op == &pith_op_linear); }

static int attach(pith_node *n, float *mask)
{
    mask_ctx *c = malloc(sizeof *c);
    if (!c)
        return pith_error(PITH_ENOMEM, "out of memory");
    c->mask = mask;
    return pith_param_set_transform(&n->params[0], &mask_tf, c);
}

int pith_prune_restore(pith_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        pith_node *n = &g->nodes[i];
        pith_param *m = pith_node_param(n, "mask");
        if (!m)
            continue;
        if (!is_layer(n) || m->size != n->params[0].size)
            return pith_error(PITH_EFORMAT, "node '%s': its mask does not match its weight", n->name);
        for (size_t k = 0; k < m->size; k++)
            if (m->data[k] != 0.0f && m->data[k] != 1.0f)
                return pith_error(PITH_EFORMAT, "node '%s': mask[%zu] = %g is not 0 or 1", n->name, k, (double)m->data[k]);
        if (n->a.wq)
            continue; /* a k-means quantizer applies the mask itself */
        int rc = attach(n, m->data);
        if (rc)
            return rc;
    }
    return PITH_OK;
}

typedef struct ranked {
    float score;
    size_t unit;
} ranked;

/* by score, then by position, so that ties are cut in a fixed order */
static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return (x->unit > y->unit) - (x->unit < y->unit);
}

int pith_prune_magnitude(pith_graph *g, int layer, float sparsity, pith_prune_gran gran)
{
    pith_node *n = &g->nodes[layer];
    if (!is_layer(n))
        return pith_error(PITH_EINVAL, "'%s' is not a conv2d or linear", n->name);
    if (!(sparsity >= 0.0f && sparsity < 1.0f))
        return pith_error(PITH_EINVAL, "sparsity %g is outside [0, 1)", (double)sparsity);
    pith_param *w = &n->params[0];
    if (w->tf && w->tf != &mask_tf)
        return pith_error(PITH_EINVAL, "'%s' is quantized: prune before quantizing", n->name);
    pith_param *m = pith_node_param(n, "mask");
    if (!m) {
        m = pith_node_new_param(n, "mask", w->ndim, w->shape, 0);
        if (!m)
            return PITH_ENOMEM;
        for (size_t i = 0; i < m->size; i++)
            m->data[i] = 1.0f;
        w = &n->params[0];
        int rc = attach(n, m->data);
        if (rc)
            return rc;
    }
    /* units: a weight, a kernel (kh * kw weights), or a whole output channel */
    size_t unit = gran == PITH_PRUNE_ELEMENT ? 1
                  : gran == PITH_PRUNE_CHANNEL ? w->size / (size_t)w->shape[0]
                  : (w->ndim == 4 ? (size_t)w->shape[2] * w->shape[3] : 1);
    size_t units = w->size / unit;
    ranked *r = malloc(units * sizeof *r);
    if (!r)
        return pith_error(PITH_ENOMEM, "out of memory");
    for (size_t u = 0; u < units; u++) {
        double sum = 0.0;
        for (size_t k = 0; k < unit; k++)
            sum += fabs(w->data[u * unit + k] * m->data[u * unit + k]);
        r[u].score = (float)(sum / (double)unit);
        r[u].unit = u;
    }
    /* the round(sparsity * units) smallest go; pruned units score 0 and stay pruned */
    size_t drop = (size_t)llround((double)sparsity * (double)units);
    qsort(r, units, sizeof *r, cmp_ranked);
    for (size_t d = 0; d < drop; d++)
        for (size_t k = 0; k < unit; k++)
            m->data[r[d].unit * unit + k] = 0.0f;
    free(r);
    for (size_t i = 0; i < w->size; i++)
        w->data[i] *= m->data[i];
    return PITH_OK;
}

int pith_prune_magnitude_all(pith_graph *g, float sparsity, pith_prune_gran gran)
{
    int rc = pith_graph_sort(g);
    for (int k = 0; k < g->n_order && !rc; k++)
        if (is_layer(&g->nodes[g->order[k]]))
            rc = pith_prune_magnitude(g, g->order[k], sparsity, gran);
    return rc;
}

void pith_prune_apply_masks(pith_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        pith_node *n = &g->nodes[i];
        pith_param *m = n->params[0].tf == &mask_tf ? pith_node_param(n, "mask") : NULL;
        for (size_t k = 0; m && k < m->size; k++)
            n->params[0].data[k] *= m->data[k];
    }
}

double pith_prune_sparsity(const pith_graph *g, int layer)
{
    const pith_param *w = &g->nodes[layer].params[0];
    size_t zeros = 0;
    for (size_t i = 0; i < w->size; i++)
        zeros += w->data[i] == 0.0f;
    return w->size ? (double)zeros / (double)w->size : 0.0;
}

double pith_agp_sparsity(double s_initial, double s_final, int64_t t0, int64_t n, int64_t dt, int64_t t)
{
    if (t <= t0 || n <= 0)
        return t < t0 ? 0.0 : s_initial;
    int64_t k = (t - t0) / (dt > 0 ? dt : 1); /* updates made so far */
    if (k >= n)
        return s_final;
    double frac = 1.0 - (double)k / (double)n;
    return s_final + (s_initial - s_final) * frac * frac * frac;
}
