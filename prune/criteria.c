/* Channel importance: L1 / L2 norms of the producers' filters, the |gamma|
 * of the batchnorm after them (network slimming), first-order Taylor
 * (|mean of activation x gradient| over images and positions, Molchanov et
 * al. 2017) and random scores as the control. A group's score for channel c
 * is the sum over its member layers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../core/loss.h"
#include "prune.h"

const char *pith_prune_criterion_name(pith_prune_criterion c)
{
    static const char *names[] = {"l1", "l2", "bn_gamma", "taylor", "random"};
    return c >= PITH_CRIT_L1 && c <= PITH_CRIT_RANDOM ? names[c] : "?";
}

int pith_prune_criterion_parse(const char *s, pith_prune_criterion *c)
{
    for (int i = PITH_CRIT_L1; i <= PITH_CRIT_RANDOM; i++)
        if (!strcmp(s, pith_prune_criterion_name((pith_prune_criterion)i))) {
            *c = (pith_prune_criterion)i;
            return PITH_OK;
        }
    return pith_error(PITH_EINVAL, "unknown criterion '%s' (l1, l2, bn_gamma, taylor, random)", s);
}

/* The batchnorm that is the only consumer of node m, or -1. */
static int bn_after(const pith_graph *g, int m)
{
    int found = -1;
    return pith_graph_consumers(g, m, &found) == 1 && !(g->nodes[found].op != &pith_op_batchnorm) ? found : -1;
}

/* Taylor: sum over batches of (per image, per channel) |sum_hw a * dL/da| / positions. */
static int taylor(pith_graph *g, const pith_prune_group *groups, int n_groups, const pith_dataset *ds, int images,
                  float **scores)
{
    if (!ds || images < 1)
        return pith_error(PITH_EINVAL, "the taylor criterion needs data (images > 0)");
    if (!g->batch)
        return pith_error(PITH_ESTATE, "the taylor criterion needs a compiled graph");
    images = images < ds->n ? images : ds->n;
    const int bs = g->batch, classes = pith_graph_output_shape(g)->d[0];
    int *idx = malloc((size_t)bs * sizeof *idx), *labels = malloc((size_t)bs * sizeof *labels);
    int rc = !idx || !labels ? pith_error(PITH_ENOMEM, "out of memory") : PITH_OK;
    int was = g->training;
    /* training mode (batchnorm's backward needs batch statistics); the
     * running statistics it updates are put back afterwards */
    size_t nbuf = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_params; j++)
            nbuf += g->nodes[i].params[j].trainable ? 0 : g->nodes[i].params[j].size;
    float *saved = malloc((nbuf ? nbuf : 1) * sizeof(float));
    if (!saved)
        rc = pith_error(PITH_ENOMEM, "out of memory");
    for (size_t o = 0, i = 0; saved && i < (size_t)g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_params; j++)
            if (!g->nodes[i].params[j].trainable) {
                memcpy(saved + o, g->nodes[i].params[j].data, g->nodes[i].params[j].size * sizeof(float));
                o += g->nodes[i].params[j].size;
            }
    pith_graph_set_training(g, 1);
    for (int start = 0; start < images && !rc; start += bs) {
        int m = images - start < bs ? images - start : bs;
        for (int i = 0; i < m; i++)
            idx[i] = start + i;
        pith_dataset_gather(ds, idx, m, NULL, 0, pith_graph_input(g), labels);
        rc = pith_graph_forward(g, m);
        if (!rc)
            pith_softmax_cross_entropy(pith_graph_output(g), labels, m, classes, 0.0f, pith_graph_output_grad(g));
        if (!rc) {
            pith_graph_zero_grad(g);
            rc = pith_graph_backward(g, m);
        }
        for (int gi = 0; gi < n_groups && !rc; gi++)
            for (int k = 0; k < groups[gi].n_members; k++) {
                const pith_node *n = &g->nodes[groups[gi].members[k]];
                if (!n->dy)
                    continue;
                size_t per = pith_shape_size(&n->out), plane = per / (size_t)groups[gi].channels;
                for (int b = 0; b < m; b++)
                    for (int c = 0; c < groups[gi].channels; c++) {
                        const float *y = n->y + (size_t)b * per + (size_t)c * plane, *dy = n->dy + (size_t)b * per + (size_t)c * plane;
                        double s = 0.0;
                        for (size_t p = 0; p < plane; p++)
                            s += (double)y[p] * dy[p];
                        scores[gi][c] += (float)fabs(s / (double)plane);
                    }
            }
    }
    pith_graph_set_training(g, was);
    for (size_t o = 0, i = 0; saved && i < (size_t)g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_params; j++)
            if (!g->nodes[i].params[j].trainable) {
                memcpy(g->nodes[i].params[j].data, saved + o, g->nodes[i].params[j].size * sizeof(float));
                o += g->nodes[i].params[j].size;
            }
    pith_graph_zero_grad(g);
    free(saved);
    free(idx);
    free(labels);
    return rc;
}

int pith_prune_scores(pith_graph *g, const pith_prune_group *groups, int n_groups, pith_prune_criterion crit,
                      const pith_dataset *ds, int images, pith_rng *rng, float **scores)
{
    for (int gi = 0; gi < n_groups; gi++)
        memset(scores[gi], 0, (size_t)groups[gi].channels * sizeof(float));
    if (crit == PITH_CRIT_TAYLOR)
        return taylor(g, groups, n_groups, ds, images, scores);
    for (int gi = 0; gi < n_groups; gi++) {
        const pith_prune_group *grp = &groups[gi];
        if (!grp->prunable)
            continue;
        for (int k = 0; k < grp->n_members; k++) {
            const pith_node *n = &g->nodes[grp->members[k]];
            const pith_param *w = &n->params[0];
            size_t cols = w->size / (size_t)grp->channels;
            /* a transposed convolution's filter of output c: w[:, c, :, :] */
            const int ct = n->op == &pith_op_conv_transpose;
            const size_t kk = ct ? (size_t)w->shape[2] * w->shape[3] : 0, rows = ct ? (size_t)w->shape[0] : 0;
            int bn = crit == PITH_CRIT_BN_GAMMA ? bn_after(g, grp->members[k]) : -1;
            if (crit == PITH_CRIT_BN_GAMMA && bn < 0)
                break; /* no scaling factor: scores stay 0 and pith_prune_structured leaves the group alone */
            float *gathered = ct ? malloc(cols * sizeof(float)) : NULL;
            if (ct && !gathered)
                return pith_error(PITH_ENOMEM, "out of memory");
            for (int c = 0; c < grp->channels; c++) {
                const float *row = w->data + (size_t)c * cols;
                for (size_t r = 0; ct && r < rows; r++)
                    memcpy(gathered + r * kk, w->data + (r * (size_t)grp->channels + (size_t)c) * kk, kk * sizeof(float));
                if (ct)
                    row = gathered;
                double s = 0.0;
                switch (crit) {
                case PITH_CRIT_L1:
                    for (size_t j = 0; j < cols; j++)
                        s += fabs(row[j]);
                    break;
                case PITH_CRIT_L2:
                    for (size_t j = 0; j < cols; j++)
                        s += (double)row[j] * row[j];
                    s = sqrt(s);
                    break;
                case PITH_CRIT_BN_GAMMA: s = fabs(g->nodes[bn].params[0].data[c]); break;
                default: s = k == 0 ? pith_rng_uniform(rng) : 0.0; break;
                }
                scores[gi][c] += (float)s;
            }
            free(gathered);
        }
    }
    return PITH_OK;
}

int pith_prune_structured(pith_graph *g, pith_prune_criterion crit, float ratio, const pith_dataset *ds,
                          int images, uint64_t seed)
{
    return pith_prune_structured_group(g, -1, crit, ratio, ds, images, seed);
}

int pith_prune_structured_group(pith_graph *g, int only, pith_prune_criterion crit, float ratio,
                                const pith_dataset *ds, int images, uint64_t seed)
{
    if (!(ratio >= 0.0f && ratio < 1.0f))
        return pith_error(PITH_EINVAL, "pruning ratio %g is outside [0, 1)", (double)ratio);
    pith_prune_group *groups = NULL;
    int n = 0, removed = 0;
    int rc = pith_prune_groups(g, &groups, &n);
    if (rc)
        return rc;
    float **scores = calloc((size_t)(n ? n : 1), sizeof *scores);
    uint8_t **remove = calloc((size_t)(n ? n : 1), sizeof *remove);
    rc = !scores || !remove ? pith_error(PITH_ENOMEM, "out of memory") : PITH_OK;
    for (int i = 0; i < n && !rc; i++) {
        scores[i] = malloc((size_t)groups[i].channels * sizeof(float));
        if (!scores[i])
            rc = pith_error(PITH_ENOMEM, "out of memory");
    }
    pith_rng rng;
    pith_rng_seed(&rng, seed);
    if (!rc)
        rc = pith_prune_scores(g, groups, n, crit, ds, images, &rng, scores);
    for (int i = 0; i < n && !rc; i++) {
        int c = groups[i].channels, drop = (int)floorf(ratio * (float)c);
        if (!groups[i].prunable || drop < 1 || (only >= 0 && i != only))
            continue;
        int has_bn = 1; /* network slimming prunes only channels that have a batchnorm scale */
        for (int k = 0; crit == PITH_CRIT_BN_GAMMA && k < groups[i].n_members; k++)
            has_bn &= bn_after(g, groups[i].members[k]) >= 0;
        if (!has_bn)
            continue;
        if (drop > c - 1)
            drop = c - 1;
        remove[i] = calloc((size_t)c, 1);
        if (!remove[i]) {
            rc = pith_error(PITH_ENOMEM, "out of memory");
            break;
        }
        /* the `drop` lowest scores; ties go to the lower channel index */
        for (int d = 0; d < drop; d++) {
            int best = -1;
            for (int ch = 0; ch < c; ch++)
                if (!remove[i][ch] && (best < 0 || scores[i][ch] < scores[i][best]))
                    best = ch;
            remove[i][best] = 1;
        }
        removed += drop;
    }
    if (!rc)
        rc = pith_prune_remove(g, groups, n, remove);
    for (int i = 0; i < n; i++) {
        free(scores ? scores[i] : NULL);
        free(remove ? remove[i] : NULL);
    }
    free(scores);
    free(remove);
    free(groups);
    return rc ? rc : removed;
}
