/* Cross-layer equalization (Nagel et al., "Data-Free Quantization Through
 * Weight Equalization and Bias Correction", ICCV 2019). For two layers A -> B
 * with only operations between them that commute with a positive
 * per-channel scale (relu, max pooling, dropout), scaling A's output channel
 * i by 1 / s_i and B's input channel i by s_i leaves the function unchanged.
 * s_i = sqrt(r1_i / r2_i), where r1_i is the largest |weight| of A's output
 * channel i and r2_i that of B's weights reading channel i, makes both ranges
 * sqrt(r1_i r2_i): the channels of a depthwise layer, whose ranges differ by
 * orders of magnitude, then share a per-tensor scale far better. relu6,
 * hardswish and the like do not commute with scaling: such a pair is skipped
 * and named. Runs after batchnorm folding, on the float weights. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "quant.h"

static int is_layer(const pith_node *n) { return n->op == &pith_op_conv2d || n->op == &pith_op_linear; }

/* Ops between A and B that commute with a positive per-channel scale. */
static int commutes(const pith_node *n)
{
    return n->op == &pith_op_relu || n->op == &pith_op_maxpool || n->op == &pith_op_dropout;
}

/* Ops that do not, and would make a pair unsound (the ones worth naming). */
static int blocks(const pith_node *n)
{
    return n->op == &pith_op_relu6 || n->op == &pith_op_hardswish || n->op == &pith_op_clip ||
           n->op == &pith_op_sigmoid || n->op == &pith_op_silu || n->op == &pith_op_hardsigmoid ||
           n->op == &pith_op_leaky_relu;
}

/* B's weight index range reading A's output channel i: rows [o0, o1), column
 * li of each row's per-group input block of `cg` channels, `taps` each. */
typedef struct reader {
    int o0, o1, li, cg, taps;
} reader;

static reader reader_of(const pith_node *b, int channels, int i)
{
    reader r;
    const int groups = b->op == &pith_op_conv2d ? b->a.groups : 1;
    r.cg = channels / groups;
    const int og = b->a.out / groups, gi = i / r.cg;
    r.o0 = gi * og;
    r.o1 = r.o0 + og;
    r.li = i % r.cg;
    r.taps = b->op == &pith_op_conv2d ? b->a.kh * b->a.kw : 1;
    return r;
}

static float range_b(const pith_node *b, reader r)
{
    const float *w = b->params[0].data;
    float m = 0.0f;
    for (int o = r.o0; o < r.o1; o++)
        for (int t = 0; t < r.taps; t++)
            m = fmaxf(m, fabsf(w[((size_t)o * r.cg + r.li) * r.taps + t]));
    return m;
}

static void scale_b(pith_node *b, reader r, float s)
{
    float *w = b->params[0].data;
    for (int o = r.o0; o < r.o1; o++)
        for (int t = 0; t < r.taps; t++)
            w[((size_t)o * r.cg + r.li) * r.taps + t] *= s;
}

/* The pair starting at layer a: B's index, or -1 (*why names a blocking op). */
static int pair_of(const pith_graph *g, int a, const char **why)
{
    int at = a, next = -1;
    *why = NULL;
    for (;;) {
        if (pith_graph_consumers(g, at, &next) != 1)
            return -1;
        const pith_node *n = &g->nodes[next];
        if (is_layer(n))
            break;
        if (blocks(n)) {
            *why = n->name;
            return -1;
        }
        if (!commutes(n))
            return -1;
        at = next;
    }
    const pith_node *A = &g->nodes[a], *B = &g->nodes[next];
    /* B must read A's channels as its input channels: a flatten in between
     * (conv -> linear) is not followed, so a linear B reads a linear A */
    if (B->op == &pith_op_linear && A->op != &pith_op_linear)
        return -1;
    return next;
}

static void equalize(pith_node *A, pith_node *B)
{
    const int c = A->a.out;
    const size_t per = A->params[0].size / (size_t)c;
    float *wa = A->params[0].data, *ba = A->a.bias ? A->params[1].data : NULL;
    for (int i = 0; i < c; i++) {
        float r1 = 0.0f;
        for (size_t j = 0; j < per; j++)
            r1 = fmaxf(r1, fabsf(wa[(size_t)i * per + j]));
        reader r = reader_of(B, c, i);
        const float r2 = range_b(B, r);
        if (!(r1 > 0.0f) || !(r2 > 0.0f))
            continue; /* a dead channel: nothing to balance */
        const float s = sqrtf(r1 / r2);
        for (size_t j = 0; j < per; j++)
            wa[(size_t)i * per + j] /= s;
        if (ba)
            ba[i] /= s;
        scale_b(B, r, s);
    }
}

int pith_cle(pith_graph *g, int sweeps, pith_cle_report *rep)
{
    memset(rep, 0, sizeof *rep);
    int rc = pith_graph_sort(g);
    if (rc)
        return rc;
    for (int k = 0; k < g->n_order; k++)
        if (g->nodes[g->order[k]].op == &pith_op_batchnorm)
            return pith_error(PITH_EINVAL, "CLE runs on a model with its batchnorms folded ('%s' is not)",
                              g->nodes[g->order[k]].name);
    int pairs[2 * 256], n = 0;
    for (int k = 0; k < g->n_order && n < 256; k++) {
        const int a = g->order[k];
        if (!is_layer(&g->nodes[a]))
            continue;
        const char *why;
        const int b = pair_of(g, a, &why);
        if (b >= 0) {
            pairs[2 * n] = a, pairs[2 * n + 1] = b;
            n++;
        } else if (why && rep->n_skipped < PITH_CLE_MAX_SKIPPED) {
            snprintf(rep->skipped[rep->n_skipped].layer, sizeof rep->skipped[0].layer, "%s", g->nodes[a].name);
            snprintf(rep->skipped[rep->n_skipped].by, sizeof rep->skipped[0].by, "%s", why);
            rep->n_skipped++;
        }
    }
    /* chains A -> B -> C: equalizing (B, C) moves B's ranges again, so sweep
     * over the pairs until they settle */
    for (int s = 0; s < sweeps; s++)
        for (int p = 0; p < n; p++)
            equalize(&g->nodes[pairs[2 * p]], &g->nodes[pairs[2 * p + 1]]);
    rep->pairs = n;
    return PITH_OK;
}
