/* The mixed-precision proposal of pith analyze --propose. */
#include "propose.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/train.h"

static double finite_db(double v) { return isfinite(v) ? v : 999.0; }

/* A layer's bits as the run has them: weights (0: float), and its output quantizer's. */
static void current_bits(pith_graph *g, const char *name, int *wbits, int *abits)
{
    int idx = pith_graph_find(g, name);
    const pith_node *n = &g->nodes[idx];
    *wbits = n->a.wq == PITH_WQ_UNIFORM || n->a.wq == PITH_WQ_KMEANS ? n->a.wbits : n->a.wq ? 8 : 0;
    int f = pith_quant_output_fq(g, idx);
    *abits = f >= 0 && g->nodes[f].a.qmode ? g->nodes[f].a.qbits : 0;
}

/* Greedy: promote layers from most to least sensitive, first to 16 bits, then to float. */
int pith_quant_propose(pith_graph *g, const pith_layer_error *e, int n, const pith_dataset *test, float target,
                       FILE *progress, int *order, int *new_w, int *new_a, pith_mp_result *r)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < n; i++) {
        order[i] = i;
        current_bits(g, e[i].name, &new_w[i], &new_a[i]);
    }
    for (int i = 1; i < n; i++) /* insertion sort by single SQNR, lowest first */
        for (int k = i; k > 0 && finite_db(e[order[k]].single.sqnr_db) < finite_db(e[order[k - 1]].single.sqnr_db); k--) {
            int t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    double float_top1 = 0, top1 = 0;
    int *mode = malloc((size_t)g->n_nodes * sizeof *mode);
    if (!mode)
        return pith_error(PITH_ENOMEM, "out of memory");
    for (int i = 0; i < g->n_nodes; i++)
        mode[i] = g->nodes[i].a.qmode;
    int rc = pith_test_accuracy(g, test, 0, &top1, NULL, NULL); /* as loaded */
    if (!rc)
        rc = pith_quant_enable(g, NULL, 0, 0);
    if (!rc)
        rc = pith_test_accuracy(g, test, 0, &float_top1, NULL, NULL);
    if (!rc)
        rc = pith_quant_enable(g, NULL, 1, 0);
    for (int i = 0; i < g->n_nodes; i++) /* back to the run's quantizers, scales untouched */
        g->nodes[i].a.qmode = mode[i];
    free(mode);
    if (!rc)
        rc = pith_quant_relink(g);
    r->start_top1 = top1;
    for (int pass = 0; pass < 2 && !rc; pass++)
        for (int k = 0; k < n && !rc && 100 * (float_top1 - top1) > target; k++) {
            int i = order[k];
            int w = pass == 0 ? (new_w[i] && new_w[i] < 16 ? 16 : new_w[i]) : 0;
            int a = pass == 0 ? (new_a[i] && new_a[i] < 16 ? 16 : new_a[i]) : 0;
            if (w == new_w[i] && a == new_a[i])
                continue;
            rc = pith_quant_set_layer_bits(g, e[i].name, w, a);
            if (!rc)
                rc = pith_test_accuracy(g, test, 0, &top1, NULL, NULL);
            new_w[i] = w;
            new_a[i] = a;
            r->promoted++;
            if (progress && !rc)
                fprintf(progress, "propose: %s to %s -> top-1 %.2f%% (drop %.2f pt)\n", e[i].name,
                        w ? "16 bits" : "float", 100 * top1, 100 * (float_top1 - top1));
        }
    r->float_top1 = float_top1;
    r->top1 = top1;
    r->met = 100 * (float_top1 - top1) <= target;
    return rc;
}
