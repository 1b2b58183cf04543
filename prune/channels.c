/* Channel provenance, dependency groups and physical channel removal.
 *
 * For every node the analysis records where each channel of its output came
 * from: a (space, channel) pair, a space being one producer's output
 * channels. Spaces tied by an add are merged (union-find); the classes are
 * the dependency groups. Removal then walks the nodes in order and cuts each
 * parameter along the channels its input or output loses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "prune.h"

typedef struct chan {
    int space, ch;
} chan;

typedef struct analysis {
    int n_spaces;
    int *parent;      /* union-find over spaces */
    int *channels;    /* per space */
    int *producer;    /* per space: the node, or -1 for the model input */
    int *blocked;     /* per space: not prunable */
    char (*why)[96];
    chan **prov;      /* per node: its output channels' provenance (NULL: none) */
    int *n_prov;
    int *factor;      /* per node: features per channel (flatten: H * W) */
} analysis;


static int find(analysis *a, int s)
{
    while (a->parent[s] != s)
        s = a->parent[s] = a->parent[a->parent[s]];
    return s;
}

static void block(analysis *a, int s, const char *why)
{
    s = find(a, s);
    if (!a->blocked[s])
        snprintf(a->why[s], sizeof a->why[s], "%s", why);
    a->blocked[s] = 1;
}

static void unite(analysis *a, int x, int y)
{
    x = find(a, x);
    y = find(a, y);
    if (x == y)
        return;
    a->parent[y] = x;
    if (a->blocked[y] && !a->blocked[x]) {
        a->blocked[x] = 1;
        memcpy(a->why[x], a->why[y], sizeof a->why[x]);
    }
}

static void analysis_free(analysis *a, int n_nodes)
{
    for (int i = 0; a->prov && i < n_nodes; i++)
        free(a->prov[i]);
    free(a->prov);
    free(a->n_prov);
    free(a->factor);
    free(a->parent);
    free(a->channels);
    free(a->producer);
    free(a->blocked);
    free(a->why);
    memset(a, 0, sizeof *a);
}

static int new_space(analysis *a, int producer, int channels)
{
    int s = a->n_spaces++;
    a->parent[s] = s;
    a->channels[s] = channels;
    a->producer[s] = producer;
    a->blocked[s] = 0;
    return s;
}

/* Output provenance of node i as a fresh space of `c` channels. */
static int fresh(analysis *a, int i, int c)
{
    int s = new_space(a, i, c);
    a->prov[i] = malloc((size_t)c * sizeof(chan));
    if (!a->prov[i])
        return pith_error(PITH_ENOMEM, "out of memory");
    for (int k = 0; k < c; k++)
        a->prov[i][k] = (chan){s, k};
    a->n_prov[i] = c;
    a->factor[i] = 1;
    return PITH_OK;
}

static int copy_prov(analysis *a, int i, int from, int factor)
{
    int c = a->n_prov[from];
    a->prov[i] = malloc((size_t)(c ? c : 1) * sizeof(chan));
    if (!a->prov[i])
        return pith_error(PITH_ENOMEM, "out of memory");
    memcpy(a->prov[i], a->prov[from], (size_t)c * sizeof(chan));
    a->n_prov[i] = c;
    a->factor[i] = factor;
    return PITH_OK;
}

static void block_all(analysis *a, int node, const char *why)
{
    for (int k = 0; k < a->n_prov[node]; k++)
        block(a, a->prov[node][k].space, why);
}

/* Ties the channels of two operands of equal channel counts (an add, a
 * broadcast multiply of an SE gate): channel c of one is channel c of the
 * other, so their spaces become one group. */
static void tie(analysis *a, const pith_node *nd, int x, int y)
{
    const chan *px = a->prov[x], *py = a->prov[y];
    for (int c = 0; c < a->n_prov[x]; c++) {
        if (px[c].ch == py[c].ch) {
            unite(a, px[c].space, py[c].space);
        } else { /* channels tied out of order: leave both alone */
            char why[96];
            snprintf(why, sizeof why, "'%.40s' ties it to other channels out of order", nd->name);
            block(a, px[c].space, why);
            block(a, py[c].space, why);
        }
    }
}

/* Provenance of the numpy-broadcasting binaries (broadcast_add, sub, mul,
 * div): operands of the output's channel count are tied, an operand of one
 * channel broadcasts and ties nothing; a constant operand of C channels
 * would have to be cut with them, so they are left alone. */
static int broadcast_prov(pith_graph *g, analysis *a, int i)
{
    const pith_node *nd = &g->nodes[i];
    const int c = nd->out.d[0];
    int from = -1;
    for (int j = 0; j < nd->n_in; j++) {
        int in = nd->in[j];
        if (a->n_prov[in] != c || g->nodes[in].out.ndim != nd->out.ndim)
            continue; /* broadcast along channels */
        if (g->nodes[in].op == &pith_op_constant) {
            char why[96];
            snprintf(why, sizeof why, "'%.40s' combines it with a per-channel constant", nd->name);
            for (int k = 0; k < nd->n_in; k++)
                if (a->n_prov[nd->in[k]] == c)
                    block_all(a, nd->in[k], why);
        }
        if (from < 0)
            from = in;
        else
            tie(a, nd, from, in);
    }
    if (from < 0)
        return pith_error(PITH_EINVAL, "'%s': no operand has the output's %d channels", nd->name, c);
    return copy_prov(a, i, from, a->factor[from]);
}

static int analyze(pith_graph *g, analysis *a)
{
    memset(a, 0, sizeof *a);
    int rc = pith_graph_sort(g), n = g->n_nodes;
    if (rc)
        return rc;
    int max_spaces = n + 1;
    a->parent = malloc((size_t)max_spaces * sizeof(int));
    a->channels = malloc((size_t)max_spaces * sizeof(int));
    a->producer = malloc((size_t)max_spaces * sizeof(int));
    a->blocked = malloc((size_t)max_spaces * sizeof(int));
    a->why = calloc((size_t)max_spaces, sizeof *a->why);
    a->prov = calloc((size_t)n, sizeof(chan *));
    a->n_prov = calloc((size_t)n, sizeof(int));
    a->factor = calloc((size_t)n, sizeof(int));
    if (!a->parent || !a->channels || !a->producer || !a->blocked || !a->why || !a->prov || !a->n_prov || !a->factor) {
        analysis_free(a, n);
        return pith_error(PITH_ENOMEM, "out of memory");
    }
    /* the model input: its channels cannot go */
    const pith_shape *is = &g->input_shape;
    rc = fresh(a, 0, is->d[0]);
    if (!rc) {
        a->producer[a->prov[0][0].space] = -1;
        block(a, a->prov[0][0].space, "it is the model input");
    }
    for (int k = 1; k < g->n_order && !rc; k++) {
        int i = g->order[k];
        const pith_node *nd = &g->nodes[i];
        int in = nd->n_in ? nd->in[0] : -1;
        if (nd->op == &pith_op_conv2d) {
            int cin = a->n_prov[in];
            if (nd->a.groups == 1) {
                rc = fresh(a, i, nd->a.out);
            } else if (nd->a.groups == cin && nd->a.out == cin) {
                rc = copy_prov(a, i, in, 1); /* depthwise: channel c stays channel c */
            } else {
                block_all(a, in, "it feeds a grouped convolution");
                rc = fresh(a, i, nd->a.out);
                if (!rc)
                    block(a, a->prov[i][0].space, "it is a grouped convolution");
            }
        } else if (nd->op == &pith_op_linear) {
            rc = fresh(a, i, nd->a.out);
        } else if (nd->op == &pith_op_flatten) {
            const pith_shape *s = &g->nodes[in].out;
            rc = copy_prov(a, i, in, s->ndim == 3 ? a->factor[in] * s->d[1] * s->d[2] : a->factor[in]);
        } else if (nd->op == &pith_op_add) {
            for (int j = 1; j < nd->n_in; j++)
                tie(a, nd, nd->in[0], nd->in[j]);
            rc = copy_prov(a, i, nd->in[0], a->factor[nd->in[0]]);
        } else if (nd->op == &pith_op_broadcast_add || nd->op == &pith_op_sub || nd->op == &pith_op_mul ||
                   nd->op == &pith_op_div) {
            rc = broadcast_prov(g, a, i);
        } else if (nd->op == &pith_op_conv_transpose) {
            if (nd->a.groups == 1) {
                rc = fresh(a, i, nd->a.out);
            } else {
                block_all(a, in, "it feeds a grouped transposed convolution");
                rc = fresh(a, i, nd->a.out);
                if (!rc)
                    block(a, a->prov[i][0].space, "it is a grouped transposed convolution");
            }
        } else if (nd->op == &pith_op_slice) { /* a channel split: the channels it keeps */
            const int n_ch = nd->out.d[0];
            a->prov[i] = malloc((size_t)(n_ch ? n_ch : 1) * sizeof(chan));
            if (!a->prov[i]) {
                rc = pith_error(PITH_ENOMEM, "out of memory");
                break;
            }
            memcpy(a->prov[i], a->prov[in] + nd->a.ph, (size_t)n_ch * sizeof(chan));
            a->n_prov[i] = n_ch;
            a->factor[i] = a->factor[in];
        } else if (nd->op == &pith_op_channel_shuffle) {
            /* removing channel j of one group would have to remove it from
             * every group for the shuffle to stay one: refused */
            char why[96];
            snprintf(why, sizeof why, "channel shuffle '%.40s' interleaves it with other groups", nd->name);
            block_all(a, in, why);
            const int C = a->n_prov[in], gs = nd->a.groups, per = C / gs;
            a->prov[i] = malloc((size_t)(C ? C : 1) * sizeof(chan));
            if (!a->prov[i]) {
                rc = pith_error(PITH_ENOMEM, "out of memory");
                break;
            }
            for (int gi = 0; gi < gs; gi++)
                for (int j = 0; j < per; j++)
                    a->prov[i][j * gs + gi] = a->prov[in][gi * per + j];
            a->n_prov[i] = C;
            a->factor[i] = a->factor[in];
        } else if (nd->op == &pith_op_constant || nd->op == &pith_op_channel_mean ||
                   (nd->op == &pith_op_softmax && nd->a.axis != 1 && nd->a.axis != 2)) {
            /* values that mix or fix channels: consumers of theirs keep them */
            char why[96];
            snprintf(why, sizeof why, "%s '%.40s' mixes or fixes its channels", nd->op->name, nd->name);
            if (nd->n_in)
                block_all(a, in, why);
            rc = fresh(a, i, nd->out.ndim ? nd->out.d[0] : 1);
            if (!rc)
                block_all(a, i, why);
        } else if (nd->op == &pith_op_concat) {
            int total = 0;
            for (int j = 0; j < nd->n_in; j++)
                total += a->n_prov[nd->in[j]];
            a->prov[i] = malloc((size_t)(total ? total : 1) * sizeof(chan));
            if (!a->prov[i]) {
                rc = pith_error(PITH_ENOMEM, "out of memory");
                break;
            }
            int o = 0;
            for (int j = 0; j < nd->n_in; j++) {
                memcpy(a->prov[i] + o, a->prov[nd->in[j]], (size_t)a->n_prov[nd->in[j]] * sizeof(chan));
                o += a->n_prov[nd->in[j]];
            }
            a->n_prov[i] = total;
            a->factor[i] = 1;
        } else if ((nd->op == &pith_op_batchnorm) || (nd->op == &pith_op_relu) || (nd->op == &pith_op_relu6) || (nd->op == &pith_op_hardswish) ||
                   (nd->op == &pith_op_dropout) || (nd->op == &pith_op_maxpool) || (nd->op == &pith_op_avgpool) ||
                   (nd->op == &pith_op_global_avgpool) || (nd->op == &pith_op_global_maxpool) ||
                   (nd->op == &pith_op_pad) || (nd->op == &pith_op_resize) || (nd->op == &pith_op_softmax) ||
                   (nd->op == &pith_op_prelu) || nd->op->value) {
            /* channel by channel: sigmoid, silu, hardsigmoid, leaky_relu,
             * clip (the ops with a value function), pools, pads, resizes,
             * prelu (its slopes are cut with them) */
            rc = copy_prov(a, i, in, a->factor[in]);
        } else {
            rc = pith_error(PITH_EINVAL, "cannot prune through '%s' (%s): prune before quantizing", nd->name,
                            nd->op->name);
        }
    }
    if (!rc)
        block_all(a, g->output, "it is the model output");
    if (rc)
        analysis_free(a, n);
    return rc;
}

int pith_prune_groups(pith_graph *g, pith_prune_group **groups, int *n_groups)
{
    analysis a;
    int rc = analyze(g, &a);
    if (rc)
        return rc;
    pith_prune_group *out = calloc((size_t)(a.n_spaces ? a.n_spaces : 1), sizeof *out);
    int *index = malloc((size_t)(a.n_spaces ? a.n_spaces : 1) * sizeof(int)), n = 0;
    if (!out || !index) {
        free(out);
        free(index);
        analysis_free(&a, g->n_nodes);
        return pith_error(PITH_ENOMEM, "out of memory");
    }
    for (int s = 0; s < a.n_spaces; s++)
        index[s] = -1;
    for (int s = 0; s < a.n_spaces && !rc; s++) {
        if (a.producer[s] < 0)
            continue; /* the model input */
        int r = find(&a, s);
        if (index[r] < 0) {
            index[r] = n++;
            out[index[r]].channels = a.channels[s];
            out[index[r]].prunable = !a.blocked[r];
            snprintf(out[index[r]].why, sizeof out[index[r]].why, "%s", a.blocked[r] ? a.why[r] : "");
        }
        pith_prune_group *grp = &out[index[r]];
        if (grp->n_members == PITH_PRUNE_MAX_MEMBERS)
            rc = pith_error(PITH_EINVAL, "a dependency group has more than %d layers", PITH_PRUNE_MAX_MEMBERS);
        else
            grp->members[grp->n_members++] = a.producer[s];
    }
    free(index);
    analysis_free(&a, g->n_nodes);
    if (rc) {
        free(out);
        return rc;
    }
    *groups = out;
    *n_groups = n;
    return PITH_OK;
}

/* keep[k] = 1 for the positions of prov that survive. Returns how many do. */
static int kept(analysis *a, int node, uint8_t *const *rm_space, uint8_t *keep)
{
    int n = 0;
    for (int k = 0; k < a->n_prov[node]; k++) {
        chan c = a->prov[node][k];
        const uint8_t *r = rm_space[find(a, c.space)];
        keep[k] = !(r && r[c.ch]);
        n += keep[k];
    }
    return n;
}

/* Copies the kept slices of a [rows, inner] array, rows then columns filtered. */
static float *cut(const float *src, int rows, int cols, int inner, const uint8_t *keep_rows, const uint8_t *keep_cols,
                  int col_factor, int *new_rows, int *new_cols)
{
    int nr = 0, nc = 0;
    for (int r = 0; r < rows; r++)
        nr += !keep_rows || keep_rows[r];
    for (int c = 0; c < cols; c++)
        nc += !keep_cols || keep_cols[c / col_factor];
    float *dst = malloc((size_t)(nr ? nr : 1) * (nc ? nc : 1) * (inner ? inner : 1) * sizeof(float));
    if (!dst)
        return NULL;
    size_t o = 0;
    for (int r = 0; r < rows; r++) {
        if (keep_rows && !keep_rows[r])
            continue;
        for (int c = 0; c < cols; c++) {
            if (keep_cols && !keep_cols[c / col_factor])
                continue;
            memcpy(dst + o, src + ((size_t)r * cols + c) * inner, (size_t)inner * sizeof(float));
            o += (size_t)inner;
        }
    }
    *new_rows = nr;
    *new_cols = nc;
    return dst;
}

static int cut_param(pith_param *p, int rows, int cols, int inner, const uint8_t *keep_rows, const uint8_t *keep_cols,
                     int col_factor)
{
    int nr, nc;
    float *d = cut(p->data, rows, cols, inner, keep_rows, keep_cols, col_factor, &nr, &nc);
    if (!d)
        return pith_error(PITH_ENOMEM, "out of memory");
    int shape[4] = {nr, 0, 0, 0}, ndim = p->ndim;
    if (ndim >= 2)
        shape[1] = nc;
    for (int i = 2; i < ndim; i++)
        shape[i] = p->shape[i];
    int rc = pith_param_replace(p, ndim, shape, d);
    if (rc)
        free(d);
    return rc;
}

int pith_prune_remove(pith_graph *g, const pith_prune_group *groups, int n_groups, uint8_t *const *remove)
{
    analysis a;
    int rc = analyze(g, &a);
    if (rc)
        return rc;
    uint8_t **rm = calloc((size_t)(a.n_spaces ? a.n_spaces : 1), sizeof *rm);
    uint8_t *keep_in = NULL, *keep_out = NULL;
    int max_c = 1;
    for (int i = 0; i < g->n_nodes; i++)
        max_c = a.n_prov[i] > max_c ? a.n_prov[i] : max_c;
    keep_in = malloc((size_t)max_c);
    keep_out = malloc((size_t)max_c);
    if (!rm || !keep_in || !keep_out)
        rc = pith_error(PITH_ENOMEM, "out of memory");
    /* map each group's mask onto its spaces' root */
    for (int gi = 0; gi < n_groups && !rc; gi++) {
        if (!remove[gi])
            continue;
        const pith_prune_group *grp = &groups[gi];
        int left = 0;
        for (int c = 0; c < grp->channels; c++)
            left += !remove[gi][c];
        if (!grp->prunable)
            rc = pith_error(PITH_EINVAL, "group of '%s' cannot be pruned: %s", g->nodes[grp->members[0]].name, grp->why);
        else if (!left)
            rc = pith_error(PITH_EINVAL, "pruning would remove every channel of '%s'", g->nodes[grp->members[0]].name);
        for (int s = 0; s < a.n_spaces && !rc; s++)
            if (a.producer[s] == grp->members[0]) {
                if (a.channels[s] != grp->channels)
                    rc = pith_error(PITH_EINVAL, "the groups do not match this graph (re-run pith_prune_groups)");
                rm[find(&a, s)] = remove[gi];
            }
    }
    for (int k = 1; k < g->n_order && !rc; k++) {
        int i = g->order[k];
        pith_node *nd = &g->nodes[i];
        int in = nd->n_in ? nd->in[0] : -1;
        if (nd->op == &pith_op_conv2d) {
            pith_param *w = &nd->params[0];
            int n_in = kept(&a, in, rm, keep_in), out = nd->a.out, kk = w->shape[2] * w->shape[3];
            if (nd->a.groups > 1 && nd->a.groups == a.n_prov[in] && out == a.n_prov[in]) { /* depthwise */
                rc = cut_param(w, out, 1, kk, keep_in, NULL, 1);
                if (!rc && nd->a.bias)
                    rc = cut_param(&nd->params[1], out, 1, 1, keep_in, NULL, 1);
                nd->a.out = nd->a.groups = n_in;
            } else if (nd->a.groups == 1) {
                int n_out = kept(&a, i, rm, keep_out);
                rc = cut_param(w, out, w->shape[1], kk, keep_out, keep_in, 1);
                if (!rc && nd->a.bias)
                    rc = cut_param(&nd->params[1], out, 1, 1, keep_out, NULL, 1);
                nd->a.out = n_out;
            } else if (n_in != a.n_prov[in] || kept(&a, i, rm, keep_out) != out) {
                rc = pith_error(PITH_EINVAL, "'%s' is a grouped convolution: its channels cannot be pruned", nd->name);
            }
        } else if (nd->op == &pith_op_linear) {
            pith_param *w = &nd->params[0];
            kept(&a, in, rm, keep_in);
            int n_out = kept(&a, i, rm, keep_out);
            rc = cut_param(w, nd->a.out, w->shape[1], 1, keep_out, keep_in, a.factor[in]);
            if (!rc && nd->a.bias)
                rc = cut_param(&nd->params[1], nd->a.out, 1, 1, keep_out, NULL, 1);
            nd->a.out = n_out;
        } else if (nd->op == &pith_op_conv_transpose && nd->a.groups == 1) {
            pith_param *w = &nd->params[0]; /* [in][out][kh][kw] */
            int c_in = a.n_prov[in], kk = w->shape[2] * w->shape[3];
            kept(&a, in, rm, keep_in);
            int n_out = kept(&a, i, rm, keep_out);
            rc = cut_param(w, c_in, nd->a.out, kk, keep_in, keep_out, 1);
            if (!rc && nd->a.bias)
                rc = cut_param(&nd->params[1], nd->a.out, 1, 1, keep_out, NULL, 1);
            nd->a.out = n_out;
        } else if (nd->op == &pith_op_batchnorm) {
            int c = a.n_prov[in];
            kept(&a, in, rm, keep_in);
            for (int j = 0; j < nd->n_params && !rc; j++)
                rc = cut_param(&nd->params[j], c, 1, 1, keep_in, NULL, 1);
        } else if (nd->op == &pith_op_prelu && nd->a.out > 1) {
            int n_in = kept(&a, in, rm, keep_in);
            rc = cut_param(&nd->params[0], nd->a.out, 1, 1, keep_in, NULL, 1);
            nd->a.out = n_in;
        } else if (nd->op == &pith_op_slice) {
            /* the split point and width in the surviving channels */
            kept(&a, in, rm, keep_in);
            int before = 0, within = 0;
            for (int c = 0; c < nd->a.ph + nd->a.out; c++)
                *(c < nd->a.ph ? &before : &within) += keep_in[c];
            if (!within)
                rc = pith_error(PITH_EINVAL, "pruning would empty the channel split '%s'", nd->name);
            nd->a.ph = before;
            nd->a.out = within;
        }
    }
    free(rm);
    free(keep_in);
    free(keep_out);
    analysis_free(&a, g->n_nodes);
    g->batch = 0; /* rewritten: compile again */
    return rc;
}
