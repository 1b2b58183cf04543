/* Attaching quantizers to layers and the links between a layer and its
 * fake_quant neighbours: the input's scale (for the int32 bias), the output
 * quantizer (which receives the accumulator's scale); restoring them after a
 * checkpoint load, switching them on and off, per-layer bits, BN freezing. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "quant.h"
#include "quant_internal.h"

/* The scale of the fake_quant node the layer's input comes from, through ops
 * that keep values on the quantized grid; NULL when the input is float. */
static const float *input_scale(const pith_graph *g, const pith_node *layer)
{
    const pith_node *n = &g->nodes[layer->in[0]];
    /* max pools, views, channel split and shuffle, nearest resize and pads
     * of zeros or of the edge move codes unchanged */
    while ((n->op == &pith_op_maxpool) || (n->op == &pith_op_global_maxpool) || (n->op == &pith_op_flatten) ||
           (n->op == &pith_op_dropout) ||
           (n->op == &pith_op_relu) || (n->op == &pith_op_slice) || (n->op == &pith_op_channel_shuffle) ||
           (n->op == &pith_op_resize && n->a.rmode == 0) ||
           (n->op == &pith_op_pad && (n->a.rmode != 0 || n->a.alpha == 0.0f)))
        n = &g->nodes[n->in[0]];
    return (n->op == &pith_op_fake_quant) && n->a.qmode == 1 ? n->params[0].data : NULL;
}

int pith_quant_output_fq(const pith_graph *g, int layer)
{
    int cur = layer, next = -1;
    while (pith_graph_consumers(g, cur, &next) == 1) {
        const pith_node *n = &g->nodes[next];
        if (n->op == &pith_op_fake_quant)
            return next;
        if (n->op != &pith_op_relu && n->op != &pith_op_relu6 && n->op != &pith_op_batchnorm)
            return -1;
        cur = next;
    }
    return -1;
}

static pith_param *need_param(pith_node *n, const char *name, size_t size)
{
    pith_param *p = pith_node_param(n, name);
    if (!p || p->size != size) {
        pith_error(PITH_EFORMAT, "layer '%s': quantizer parameter '%s' is %s (expected %zu values)",
                   n->name, name, p ? "the wrong size" : "missing", size);
        return NULL;
    }
    return p;
}

int pith_quant_attach(pith_graph *g, int idx)
{
    pith_node *n = &g->nodes[idx];
    if (!n->a.wq)
        return PITH_OK;
    if (n->op != &pith_op_conv2d && n->op != &pith_op_linear && n->op != &pith_op_conv_transpose)
        return pith_error(PITH_EFORMAT, "node '%s': weight quantization on a %s", n->name, n->op->name);
    if (n->a.wq < PITH_WQ_UNIFORM || n->a.wq > PITH_WQ_TERNARY)
        return pith_error(PITH_EFORMAT, "node '%s': unknown weight quantizer %d", n->name, n->a.wq);
    pith_param *w = &n->params[0];
    wq_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return pith_error(PITH_ENOMEM, "out of memory");
    c->g = g;
    c->kind = (pith_wq_kind)n->a.wq;
    c->stochastic = n->a.wstoch;
    c->rows = w->shape[0];
    c->cols = (int)(w->size / (size_t)c->rows);
    pith_qspec s = {n->a.wbits, n->a.wsym, 1, n->a.wsym, (pith_qgran)n->a.wgran, n->a.wgroup, PITH_QROUND_EVEN};
    c->spec = s;
    int rc = PITH_OK;
    if (c->kind == PITH_WQ_UNIFORM) {
        rc = pith_qspec_check(&s);
        if (rc) {
            free(c);
            return pith_error(rc, "node '%s': %s", n->name, pith_last_error());
        }
        if (s.gran == PITH_QGRAN_GROUP)
            c->groups_per_row = (c->cols + s.group - 1) / s.group;
        int ns = pith_wq_scale_count(&s, c->rows, c->cols);
        pith_param *ps = need_param(n, "w_scale", (size_t)ns), *pz = ps ? need_param(n, "w_zp", (size_t)ns) : NULL;
        if (!pz) {
            free(c);
            return PITH_EFORMAT;
        }
        c->scale = ps->data;
        c->scale_grad = n->a.wlsq ? ps->grad : NULL;
        c->zp = pz->data;
        int32_t qmin, qmax;
        pith_qspec_limits(&s, &qmin, &qmax);
        for (int u = 0; u < ns; u++)
            if (!(pz->data[u] >= (float)qmin && pz->data[u] <= (float)qmax) || pz->data[u] != floorf(pz->data[u])) {
                free(c);
                return pith_error(PITH_EFORMAT, "node '%s': w_zp[%d] = %g is not an integer in [%d, %d]", n->name, u,
                                  (double)pz->data[u], (int)qmin, (int)qmax);
            }
    } else if (c->kind == PITH_WQ_KMEANS) {
        if (n->a.wbits < 1 || n->a.wbits > 8) {
            free(c);
            return pith_error(PITH_EFORMAT, "node '%s': k-means with %d bits (1 to 8)", n->name, n->a.wbits);
        }
        c->k = 1 << n->a.wbits;
        pith_param *cb = need_param(n, "codebook", (size_t)c->k), *ix = cb ? need_param(n, "w_index", w->size) : NULL;
        if (!ix) {
            free(c);
            return PITH_EFORMAT;
        }
        for (size_t i = 0; i < w->size; i++)
            if (!(ix->data[i] >= 0.0f && ix->data[i] < (float)c->k && ix->data[i] == floorf(ix->data[i]))) {
                free(c);
                return pith_error(PITH_EFORMAT, "node '%s': w_index[%zu] = %g is not a centroid number", n->name,
                                  i, (double)ix->data[i]);
            }
        c->codebook = cb->data;
        c->codebook_grad = cb->grad;
        c->index = ix->data;
        pith_param *mk = pith_node_param(n, "mask");
        c->mask = mk && mk->size == w->size ? mk->data : NULL;
        w->frozen = 1;
    } else {
        pith_param *ps = need_param(n, "w_scale", (size_t)c->rows), *pz = ps ? need_param(n, "w_zp", (size_t)c->rows) : NULL;
        if (!pz) {
            free(c);
            return PITH_EFORMAT;
        }
        c->scale = ps->data;
        c->zp = pz->data;
    }
    rc = pith_graph_sort(g);
    if (!rc && n->a.wbn) {
        int bn = -1;
        if (c->kind != PITH_WQ_UNIFORM || pith_graph_consumers(g, idx, &bn) != 1 || g->nodes[bn].op != &pith_op_batchnorm ||
            g->nodes[bn].params[0].size != (size_t)c->rows)
            rc = pith_error(PITH_EFORMAT, "node '%s': wbn set, but its only consumer is not a matching batchnorm",
                            n->name);
        else {
            c->bn_gamma = g->nodes[bn].params[0].data;
            c->bn_var = pith_node_param(&g->nodes[bn], "running_var")->data;
            c->bn_eps = g->nodes[bn].a.eps;
            c->bn_factor = malloc((size_t)c->rows * sizeof *c->bn_factor);
            if (!c->bn_factor)
                rc = pith_error(PITH_ENOMEM, "out of memory");
            for (int r = 0; !rc && r < c->rows; r++)
                c->bn_factor[r] = 1.0f;
        }
    }
    if (rc) {
        pith_wq_destroy(c);
        return rc;
    }
    c->in_scale = input_scale(g, n);
    int ofq = pith_quant_output_fq(g, idx);
    if (ofq >= 0 && g->nodes[ofq].a.qacc) {
        pith_param *as = pith_node_param(&g->nodes[ofq], "acc_scale");
        /* one accumulator scale per output channel: per-channel weights'
         * rows are output channels; one per-tensor scale serves any count
         * (a transposed convolution's rows are its input channels) */
        if (as && ((int)as->size == c->rows || (c->kind == PITH_WQ_UNIFORM && s.gran == PITH_QGRAN_TENSOR))) {
            c->acc_scale = as->data;
            c->n_acc = (int)as->size;
        }
    }
    rc = pith_param_set_transform(w, &pith_wq_weight_tf, c);
    if (rc)
        return rc;
    n = &g->nodes[idx];
    if (n->a.bias && c->in_scale && c->kind != PITH_WQ_KMEANS && s.gran != PITH_QGRAN_GROUP)
        rc = pith_param_set_transform(&n->params[1], &pith_wq_bias_tf, c);
    return rc;
}

/* A loaded activation quantizer must hold a usable state: a positive finite
 * scale and an integer zero point inside its range. */
static int check_fq_state(const pith_node *n)
{
    pith_qspec s = pith_fq_spec(n);
    int32_t qmin, qmax;
    pith_qspec_limits(&s, &qmin, &qmax);
    float sc = n->params[0].data[0], z = n->params[1].data[0];
    if (!(sc > 0.0f) || !isfinite(sc))
        return pith_error(PITH_EFORMAT, "node '%s': scale %g is not a positive number", n->name, (double)sc);
    if (!(z >= (float)qmin && z <= (float)qmax) || z != floorf(z))
        return pith_error(PITH_EFORMAT, "node '%s': zero point %g is not an integer in [%d, %d]", n->name,
                          (double)z, (int)qmin, (int)qmax);
    return PITH_OK;
}

int pith_quant_restore(pith_graph *g)
{
    int rc = pith_graph_sort(g);
    for (int k = 0; k < g->n_order && !rc; k++) {
        const pith_node *n = &g->nodes[g->order[k]];
        if (n->a.wq)
            rc = pith_quant_attach(g, g->order[k]);
        else if (n->op == &pith_op_fake_quant)
            rc = check_fq_state(n);
    }
    return rc;
}

int pith_graph_is_quantized(const pith_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].a.wq || (g->nodes[i].op == &pith_op_fake_quant))
            return 1;
    return 0;
}

int pith_quant_enable(pith_graph *g, const char *layer, int weights, int acts)
{
    int rc = pith_graph_sort(g), found = 0;
    for (int k = 0; k < g->n_order && !rc; k++) {
        int idx = g->order[k];
        pith_node *n = &g->nodes[idx];
        if (layer && strcmp(n->name, layer) != 0)
            continue;
        if (!layer && (n->op == &pith_op_fake_quant)) {
            n->a.qmode = acts ? 1 : 0;
            found = 1;
            continue;
        }
        if (n->op != &pith_op_conv2d && n->op != &pith_op_linear)
            continue;
        found = 1;
        if (n->params[0].tf == &pith_wq_weight_tf)
            ((wq_ctx *)n->params[0].tf_ctx)->off = !weights;
        int ofq = pith_quant_output_fq(g, idx);
        if (layer && ofq >= 0)
            g->nodes[ofq].a.qmode = acts ? 1 : 0;
    }
    if (!rc && !found)
        rc = pith_error(PITH_EINVAL, "no layer named '%s'", layer ? layer : "");
    return rc ? rc : pith_quant_relink(g);
}

int pith_quant_relink(pith_graph *g)
{
    /* the bias quantizer needs the input's scale, which exists only while
     * the input quantizer is on */
    int rc = pith_graph_sort(g);
    for (int k = 0; k < g->n_order && !rc; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        if (n->n_params && n->params[0].tf == &pith_wq_weight_tf) {
            wq_ctx *c = n->params[0].tf_ctx;
            c->in_scale = input_scale(g, n);
            if (n->a.bias) {
                int want = c->in_scale && c->kind != PITH_WQ_KMEANS && c->spec.gran != PITH_QGRAN_GROUP;
                if (want && n->params[1].tf != &pith_wq_bias_tf)
                    rc = pith_param_set_transform(&n->params[1], &pith_wq_bias_tf, c);
                else if (!want && n->params[1].tf == &pith_wq_bias_tf)
                    rc = pith_param_set_transform(&n->params[1], NULL, NULL);
            }
        }
    }
    return rc;
}

int pith_quant_set_layer_bits(pith_graph *g, const char *layer, int wbits, int abits)
{
    int idx = pith_graph_find(g, layer);
    if (idx < 0 || (g->nodes[idx].op != &pith_op_conv2d && g->nodes[idx].op != &pith_op_linear))
        return pith_error(PITH_EINVAL, "no conv2d or linear layer named '%s'", layer);
    if ((wbits && !((wbits >= 2 && wbits <= 8) || wbits == 16)) || (abits && !((abits >= 2 && abits <= 8) || abits == 16)))
        return pith_error(PITH_EINVAL, "layer '%s': bits %d / %d (2 to 8, 16, or 0 for float)", layer, wbits, abits);
    int rc = pith_graph_sort(g);
    pith_node *n = &g->nodes[idx];
    if (!rc && n->params[0].tf == &pith_wq_weight_tf) {
        wq_ctx *c = n->params[0].tf_ctx;
        c->off = wbits == 0;
        if (wbits && c->kind == PITH_WQ_UNIFORM) {
            c->spec.bits = wbits;
            n->a.wbits = wbits;
            rc = pith_weight_qparams(&c->spec, PITH_OBS_MINMAX, n->params[0].data, c->rows, c->cols, c->scale, c->zp);
        }
    }
    int f = rc ? -1 : pith_quant_output_fq(g, idx);
    if (f >= 0) {
        pith_node *q = &g->nodes[f];
        q->a.qmode = abits ? 1 : 0;
        if (abits) {
            q->a.qbits = abits;
            pith_qspec s = pith_fq_spec(q);
            int32_t zp;
            rc = pith_qparams(&s, q->params[2].data[0], q->params[3].data[0], q->params[0].data, &zp);
            q->params[1].data[0] = (float)zp;
        }
    }
    return rc ? rc : pith_quant_relink(g);
}

void pith_quant_describe(const pith_node *n, char *buf, size_t len)
{
    buf[0] = 0;
    if (n->op == &pith_op_fake_quant) {
        snprintf(buf, len, "a%d %s%s%s%s%s", n->a.qbits, n->a.qsym ? "sym" : "asym",
                 n->a.qrelu == 1 ? " +relu" : n->a.qrelu == 2 ? " +relu6" : "", n->a.qlsq ? " lsq" : "",
                 n->a.qstoch ? " stochastic" : "", n->a.qmode ? "" : " (off)");
        return;
    }
    static const char *gran[] = {"tensor", "channel", "group"};
    switch (n->a.wq) {
    case PITH_WQ_UNIFORM:
        if (n->a.wgran == PITH_QGRAN_GROUP)
            snprintf(buf, len, "w%d %s g%d%s", n->a.wbits, n->a.wsym ? "sym" : "asym", n->a.wgroup, n->a.wlsq ? " lsq" : "");
        else
            snprintf(buf, len, "w%d %s %s%s%s%s", n->a.wbits, n->a.wsym ? "sym" : "asym",
                     gran[n->a.wgran >= 0 && n->a.wgran <= 2 ? n->a.wgran : 0], n->a.wlsq ? " lsq" : "",
                     n->a.wstoch ? " stochastic" : "", n->a.wbn ? " (BN-folded)" : "");
        break;
    case PITH_WQ_KMEANS: snprintf(buf, len, "kmeans %d-bit", n->a.wbits); break;
    case PITH_WQ_BINARY: snprintf(buf, len, "binary"); break;
    case PITH_WQ_TERNARY: snprintf(buf, len, "ternary"); break;
    default: break;
    }
}

int pith_quant_freeze_bn(pith_graph *g)
{
    int rc = pith_graph_sort(g), n_bn = 0;
    int *layers = malloc((size_t)(g->n_order + 1) * sizeof *layers);
    if (!layers)
        return pith_error(PITH_ENOMEM, "out of memory");
    /* detach the BN-aware quantizers, fold, attach the plain ones */
    for (int k = 0; k < g->n_order && !rc; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        if (!n->a.wbn)
            continue;
        layers[n_bn++] = g->order[k];
        rc = pith_param_set_transform(&n->params[0], NULL, NULL);
        if (!rc && n->a.bias)
            rc = pith_param_set_transform(&n->params[1], NULL, NULL);
        n->a.wbn = 0;
    }
    if (!rc && n_bn) {
        int folded = pith_fold_batchnorm(g);
        rc = folded < 0 ? folded : 0;
    }
    for (int i = 0; i < n_bn && !rc; i++) {
        /* the output quantizer now follows the layer directly: requantize its accumulator */
        int f = pith_quant_output_fq(g, layers[i]), only = -1;
        if (f >= 0 && !g->nodes[f].a.qacc && pith_graph_consumers(g, layers[i], &only) == 1 &&
            only == f) {
            if (!pith_node_new_param(&g->nodes[f], "acc_scale", 1, &g->nodes[layers[i]].a.out, 0))
                rc = PITH_ENOMEM;
            else
                g->nodes[f].a.qacc = 1;
        }
        if (!rc)
            rc = pith_quant_attach(g, layers[i]);
    }
    free(layers);
    g->batch = 0; /* rewritten: compile again */
    return rc ? rc : pith_quant_relink(g);
}
