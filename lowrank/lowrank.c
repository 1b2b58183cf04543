#include "lowrank.h"

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"

/* m x n view of the weight: rows = output channels / features. */
static int matrix_of(const pith_graph *g, int layer, int *m, int *n)
{
    if (layer < 0 || layer >= g->n_nodes)
        return pith_error(PITH_EINVAL, "no such layer");
    const pith_node *l = &g->nodes[layer];
    if (l->op != &pith_op_linear && !((l->op == &pith_op_conv2d) && l->a.groups == 1))
        return pith_error(PITH_EINVAL, "'%s' is a %s: low-rank applies to linear and ungrouped conv2d layers", l->name,
                          l->op->name);
    if (l->params[0].tf)
        return pith_error(PITH_EINVAL, "'%s' has a quantizer or mask attached: factorize the float model first", l->name);
    *m = l->params[0].shape[0];
    *n = (int)(l->params[0].size / (size_t)*m);
    return PITH_OK;
}

/* Thin SVD of a copy of the m x n weight: s[k], u[m x k], vt[k x n]. */
static int svd(const float *w, int m, int n, float *s, float *u, float *vt)
{
    float *a = malloc((size_t)m * n * sizeof *a);
    if (!a)
        return pith_error(PITH_ENOMEM, "out of memory");
    memcpy(a, w, (size_t)m * n * sizeof *a);
    int k = m < n ? m : n;
    lapack_int info = LAPACKE_sgesdd(LAPACK_ROW_MAJOR, 'S', m, n, a, n, s, u, k, vt, n);
    free(a);
    if (info != 0)
        return pith_error(PITH_ENUM, "SVD failed (LAPACKE_sgesdd info %d)", (int)info);
    return PITH_OK;
}

int pith_lowrank_singular_values(const pith_graph *g, int layer, float *s)
{
    int m = 0, n = 0;
    int rc = matrix_of(g, layer, &m, &n);
    if (rc)
        return rc;
    int k = m < n ? m : n;
    float *u = malloc((size_t)m * k * sizeof *u), *vt = malloc((size_t)k * n * sizeof *vt);
    rc = !u || !vt ? pith_error(PITH_ENOMEM, "out of memory") : svd(g->nodes[layer].params[0].data, m, n, s, u, vt);
    free(u);
    free(vt);
    return rc;
}

int pith_lowrank_choose(const float *s, int k, int m, int n, int64_t positions, const pith_lowrank_rule *rule)
{
    if (rule->rank > 0)
        return rule->rank < k ? rule->rank : k;
    if (rule->energy > 0) {
        double total = 0.0, acc = 0.0;
        for (int i = 0; i < k; i++)
            total += (double)s[i] * s[i];
        for (int r = 1; r <= k; r++) {
            acc += (double)s[r - 1] * s[r - 1];
            if (acc >= rule->energy * total * (1.0 - 1e-12))
                return r;
        }
        return k;
    }
    /* MACs per position: m * n before, r * (m + n) after */
    int r = (int)floor(rule->macs_ratio * (double)m * n / (double)(m + n));
    (void)positions;
    return r < 1 ? 1 : r > k ? k : r;
}

int pith_lowrank_factorize(pith_graph *g, int layer, const pith_lowrank_rule *rule, pith_lowrank_report *rep)
{
    int m = 0, n = 0;
    int rc = matrix_of(g, layer, &m, &n);
    if (rc)
        return rc;
    int k = m < n ? m : n;
    float *s = malloc((size_t)k * sizeof *s), *u = malloc((size_t)m * k * sizeof *u),
          *vt = malloc((size_t)k * n * sizeof *vt);
    rc = !s || !u || !vt ? pith_error(PITH_ENOMEM, "out of memory") : svd(g->nodes[layer].params[0].data, m, n, s, u, vt);
    pith_node *l = &g->nodes[layer];
    int64_t positions = l->op == &pith_op_conv2d ? (int64_t)l->out.d[1] * l->out.d[2] : 1;
    int r = rc ? 0 : pith_lowrank_choose(s, k, m, n, positions, rule);
    memset(rep, 0, sizeof *rep);
    snprintf(rep->name, sizeof rep->name, "%s", l->name);
    rep->full_rank = k;
    rep->rank = r;
    rep->macs_before = (int64_t)m * n * positions;
    /* after: the k x k conv to r channels, then r -> m per position */
    rep->macs_after = ((int64_t)r * n + (int64_t)m * r) * positions;
    double total = 0.0, kept = 0.0;
    for (int i = 0; !rc && i < k; i++) {
        total += (double)s[i] * s[i];
        kept += i < r ? (double)s[i] * s[i] : 0.0;
    }
    rep->energy = total > 0 ? kept / total : 1.0;
    if (rc || rep->macs_after >= rep->macs_before) {
        free(s);
        free(u);
        free(vt);
        return rc;
    }
    /* first factor sqrt(S) V^T (r x n), second U sqrt(S) (m x r) */
    float *first = malloc((size_t)r * n * sizeof *first), *second = malloc((size_t)m * r * sizeof *second);
    if (!first || !second) {
        free(first);
        free(second);
        rc = pith_error(PITH_ENOMEM, "out of memory");
    }
    for (int i = 0; !rc && i < r; i++) {
        float q = sqrtf(s[i]);
        for (int j = 0; j < n; j++)
            first[(size_t)i * n + j] = q * vt[(size_t)i * n + j];
        for (int o = 0; o < m; o++)
            second[(size_t)o * r + i] = q * u[(size_t)o * k + i];
    }
    free(s);
    free(u);
    free(vt);
    if (rc)
        return rc;
    pith_attrs a = l->a;
    a.out = r;
    a.bias = 0;
    char name[PITH_NAME_MAX];
    snprintf(name, sizeof name, "%.*s.svd_in", PITH_NAME_MAX - 8, l->name);
    int input = l->in[0], output = g->output;
    int idx = pith_graph_add(g, l->op->name, name, &a, &input, 1);
    if (idx < 0) {
        free(first);
        free(second);
        return idx;
    }
    g->output = output;
    l = &g->nodes[layer]; /* the node array may have moved */
    memcpy(g->nodes[idx].params[0].data, first, (size_t)r * n * sizeof *first);
    free(first);
    l->in[0] = idx;
    int shape[4] = {m, r, 1, 1};
    if (l->op == &pith_op_conv2d) {
        l->a.kh = l->a.kw = 1;
        l->a.sh = l->a.sw = 1;
        l->a.ph = l->a.pw = 0;
        l->a.dh = l->a.dw = 1;
        rc = pith_param_replace(&l->params[0], 4, shape, second);
    } else {
        rc = pith_param_replace(&l->params[0], 2, shape, second);
    }
    if (rc)
        free(second);
    rep->replaced = !rc;
    g->batch = 0; /* rewritten: compile again */
    return rc;
}

/* 1 if `name` is an entry of the comma-separated list. */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

int pith_lowrank_apply(pith_graph *g, const char *layers, const pith_lowrank_rule *rule, pith_lowrank_report *rep,
                       int max, int *n)
{
    *n = 0;
    if (layers && !layers[0])
        layers = NULL;
    for (const char *p = layers; p && *p;) {
        const char *e = strchr(p, ',');
        char name[PITH_NAME_MAX];
        snprintf(name, sizeof name, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
        int i = pith_graph_find(g, name);
        if (i < 0 || (g->nodes[i].op != &pith_op_linear && g->nodes[i].op != &pith_op_conv2d))
            return pith_error(PITH_EINVAL, "layers: no linear or conv2d named '%s'", name);
        p = e ? e + 1 : NULL;
    }
    int rc = pith_graph_sort(g);
    if (rc)
        return rc;
    /* the candidates, in order, before any rewrite changes the order */
    int *cand = malloc(sizeof *cand * (size_t)(g->n_order > 0 ? g->n_order : 1)), n_cand = 0;
    if (!cand)
        return pith_error(PITH_ENOMEM, "out of memory");
    for (int k = 0; k < g->n_order; k++) {
        int i = g->order[k];
        const pith_node *nd = &g->nodes[i];
        int eligible = nd->op == &pith_op_linear || (nd->op == &pith_op_conv2d && nd->a.groups == 1);
        if (eligible && (layers ? listed(layers, nd->name) : i != g->output))
            cand[n_cand++] = i;
    }
    if (n_cand > max)
        rc = pith_error(PITH_EINVAL, "%d layers to factorize; at most %d", n_cand, max);
    for (int q = 0; q < n_cand && !rc; q++)
        rc = pith_lowrank_factorize(g, cand[q], rule, &rep[(*n)++]);
    free(cand);
    return rc;
}
