/* The quantization pass: fold batchnorm, place fake_quant nodes where the
 * integer model will hold int8 tensors, and quantize the weights of every
 * conv2d / linear.
 *
 * Placement follows the integer kernels: the input is quantized; every op
 * that computes new values (conv2d, linear, add, concat, avgpool, global
 * average pool, hardswish, and the elementwise ops with a value function:
 * sigmoid, silu, hardsigmoid, leaky_relu, clip, each an int8 table in the
 * runtime) is followed by a requantization, and a relu /
 * relu6 that only feeds it is folded into it (qrelu), as the kernel folds it
 * into its output clamp; max pooling, flatten and dropout move quantized
 * values unchanged and need none. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "quant.h"
#include "quant_internal.h"

int pith_quant_register(void) { return pith_op_register(&pith_op_fake_quant); }

pith_quant_config pith_quant_defaults(void)
{
    pith_quant_config c;
    memset(&c, 0, sizeof c);
    c.method = PITH_WQ_UNIFORM;
    c.w = pith_qspec_weights_default();
    c.a = pith_qspec_activations_default();
    c.w_obs = PITH_OBS_MINMAX;
    c.io = PITH_QIO_FLOAT;
    c.fold_bn = 1;
    c.keep_ends = 1;
    c.km_init = PITH_KM_LINEAR;
    c.seed = 1;
    return c;
}

static int is_layer(const pith_node *n) { return (n->op == &pith_op_conv2d) || (n->op == &pith_op_linear); }
/* Layers whose weights get a quantizer: conv2d, linear, and transposed
 * convolutions (per-tensor uniform weights: their weight rows are input
 * channels, and one scale keeps the accumulator of every output channel on
 * one grid) */
static int has_weight_quant(const pith_node *n) { return is_layer(n) || n->op == &pith_op_conv_transpose; }

int pith_fold_batchnorm(pith_graph *g)
{
    int rc = pith_graph_sort(g), folded = 0;
    for (int k = 0; k < g->n_order && !rc; k++) {
        int bi = g->order[k];
        pith_node *bn = &g->nodes[bi];
        if (bn->op != &pith_op_batchnorm)
            continue;
        int li = bn->in[0], only = -1;
        if (!is_layer(&g->nodes[li]) || pith_graph_consumers(g, li, &only) != 1)
            continue;
        pith_node *l = &g->nodes[li];
        if (l->params[0].tf)
            return pith_error(PITH_ESTATE, "cannot fold '%s' into '%s': its weight is already quantized",
                              bn->name, l->name);
        const float *gamma = pith_node_param(bn, "weight")->data, *beta = pith_node_param(bn, "bias")->data;
        const float *mean = pith_node_param(bn, "running_mean")->data;
        const float *var = pith_node_param(bn, "running_var")->data;
        if (!l->a.bias) {
            if (!pith_node_new_param(l, "bias", 1, &l->a.out, 1))
                return PITH_ENOMEM;
            /* ops read the bias as parameter 1: move it before any quantizer state */
            pith_param b = l->params[l->n_params - 1];
            memmove(&l->params[2], &l->params[1], (size_t)(l->n_params - 2) * sizeof b);
            l->params[1] = b;
            l->a.bias = 1;
        }
        pith_param *w = &l->params[0];
        float *b = l->params[1].data;
        int rows = w->shape[0];
        size_t cols = w->size / (size_t)rows;
        for (int c = 0; c < rows; c++) {
            float inv = gamma[c] / sqrtf(var[c] + bn->a.eps);
            for (size_t j = 0; j < cols; j++)
                w->data[(size_t)c * cols + j] *= inv;
            b[c] = (b[c] - mean[c]) * inv + beta[c];
        }
        for (int i = 0; i < g->n_nodes; i++)
            for (int j = 0; j < g->nodes[i].n_in; j++)
                if (g->nodes[i].in[j] == bi)
                    g->nodes[i].in[j] = li;
        if (g->output == bi)
            g->output = li;
        folded++;
        rc = pith_graph_sort(g);
        k = -1; /* the order changed: start over (each fold removes one batchnorm) */
    }
    return rc ? rc : folded;
}

static const pith_qlayer *plan_for(const pith_quant_config *c, const char *name)
{
    for (int i = 0; i < c->n_plan; i++)
        if (strcmp(c->plan[i].name, name) == 0)
            return &c->plan[i];
    return NULL;
}

static void act_attrs(pith_attrs *a, const pith_qspec *s, int bits, const pith_quant_config *c)
{
    memset(a, 0, sizeof *a);
    a->qbits = bits;
    a->qsym = s->symmetric;
    a->qsigned = s->is_signed;
    a->qnarrow = s->narrow;
    a->qlsq = c->lsq;
    a->qema = c->ema && !c->lsq;
    a->qstoch = s->round == PITH_QROUND_STOCHASTIC;
}

static int computes_values(const pith_node *n)
{
    static const pith_op *const ops[] = {&pith_op_conv2d, &pith_op_linear, &pith_op_add, &pith_op_concat,
                                         &pith_op_avgpool, &pith_op_global_avgpool, &pith_op_hardswish,
                                         &pith_op_batchnorm, &pith_op_broadcast_add, &pith_op_sub, &pith_op_mul,
                                         &pith_op_div, &pith_op_conv_transpose, NULL};
    for (int i = 0; ops[i]; i++)
        if (n->op == ops[i])
            return 1;
    if (n->op == &pith_op_resize)
        return n->a.rmode == 1; /* bilinear blends values; nearest moves them */
    return n->op->value != NULL; /* sigmoid, silu, hardsigmoid, leaky_relu, clip: an int8 table each */
}

/* Inserts the fake_quant nodes (all disabled until calibrated). */
static int insert_act_quant(pith_graph *g, const pith_quant_config *c)
{
    int rc = pith_graph_sort(g);
    if (rc)
        return rc;
    int n_order = g->n_order, *order = malloc((size_t)n_order * sizeof *order);
    if (!order)
        return pith_error(PITH_ENOMEM, "out of memory");
    memcpy(order, g->order, (size_t)n_order * sizeof *order);
    pith_attrs a;
    /* images are 8-bit data: fewer bits at the input would only discard pixels */
    act_attrs(&a, &c->a, c->a.bits < 8 ? 8 : c->a.bits, c);
    int idx = pith_graph_insert_after(g, 0, "fake_quant", "input_quant", &a);
    rc = idx < 0 ? idx : pith_graph_sort(g);
    for (int k = 1; k < n_order && !rc; k++) {
        int ni = order[k];
        if (!computes_values(&g->nodes[ni]))
            continue;
        /* a batchnorm right after a layer belongs to that layer (QAT without folding) */
        if ((g->nodes[ni].op == &pith_op_batchnorm) && is_layer(&g->nodes[g->nodes[ni].in[0]]))
            continue;
        int end = ni, next = -1, only_relu = 1;
        while (pith_graph_consumers(g, end, &next) == 1 &&
               ((g->nodes[next].op == &pith_op_relu) || (g->nodes[next].op == &pith_op_relu6) ||
                (g->nodes[next].op == &pith_op_batchnorm && is_layer(&g->nodes[ni])))) {
            /* relu and relu6 fold into the integer clamp; a layer's batchnorm
             * between (QAT before freezing) keeps the float path; any other
             * op's batchnorm is a layer of its own, quantized after it */
            only_relu &= g->nodes[next].op != &pith_op_batchnorm;
            end = next;
        }
        const pith_qlayer *pl = plan_for(c, g->nodes[ni].name);
        int bits = pl ? pl->abits : c->a.bits;
        if (bits == 0)
            continue; /* the plan keeps this layer's output float */
        int wq_on = has_weight_quant(&g->nodes[ni]) && (pl ? pl->wbits : c->w.bits) != 0 &&
                    c->method != PITH_WQ_KMEANS;
        /* the model's output is ranked (argmax, top-5): at 8 bits or more,
         * since a handful of levels would tie class scores */
        if (end == g->output && bits < 8)
            bits = 8;
        act_attrs(&a, &c->a, bits, c);
        a.qacc = wq_on && only_relu && c->w.gran != PITH_QGRAN_GROUP;
        char name[PITH_NAME_MAX];
        snprintf(name, sizeof name, "%.*s_quant", PITH_NAME_MAX - 7, g->nodes[ni].name);
        idx = pith_graph_insert_after(g, end, "fake_quant", name, &a);
        rc = idx < 0 ? idx : pith_graph_sort(g);
        /* fold the activation into the quantizer, as the kernel folds it into its clamp */
        pith_node *act = &g->nodes[end];
        int prev = act->in[0], only = -1;
        if (!rc && end != ni && ((act->op == &pith_op_relu) || (act->op == &pith_op_relu6)) &&
            pith_graph_consumers(g, prev, &only) == 1) {
            g->nodes[idx].in[0] = prev;
            g->nodes[idx].a.qrelu = act->op == &pith_op_relu ? 1 : 2;
            rc = pith_graph_sort(g);
        }
    }
    free(order);
    return rc;
}

static int quantize_weights(pith_graph *g, const pith_quant_config *c)
{
    int first = -1, last = -1;
    for (int k = 0; k < g->n_order; k++)
        if (is_layer(&g->nodes[g->order[k]])) {
            if (first < 0)
                first = g->order[k];
            last = g->order[k];
        }
    pith_rng rng;
    pith_rng_seed(&rng, c->seed);
    for (int k = 0; k < g->n_order; k++) {
        int li = g->order[k];
        pith_node *n = &g->nodes[li];
        if (!has_weight_quant(n))
            continue;
        const pith_qlayer *pl = plan_for(c, n->name);
        int bits = pl ? pl->wbits : c->w.bits;
        if (bits == 0)
            continue;
        pith_wq_kind kind = c->method;
        pith_qspec s = c->w;
        s.bits = bits;
        if (kind != PITH_WQ_UNIFORM && c->keep_ends && (li == first || li == last) &&
            !(kind == PITH_WQ_KMEANS && pith_node_param(n, "mask"))) { /* a pruned layer stays in the sparse k-means form */
            kind = PITH_WQ_UNIFORM;
            s = pith_qspec_weights_default();
        }
        if (pl && kind != PITH_WQ_UNIFORM && bits >= 8 && kind != PITH_WQ_KMEANS)
            kind = PITH_WQ_UNIFORM; /* a plan promoting a binary/ternary layer means uniform bits */
        if (n->op == &pith_op_conv_transpose) { /* the integer kernel's form: uniform, symmetric, per tensor */
            kind = PITH_WQ_UNIFORM;
            s.symmetric = 1;
            s.gran = PITH_QGRAN_TENSOR;
            s.bits = bits > 8 ? 8 : bits;
        }
        if (pith_node_param(n, "mask") && kind != PITH_WQ_KMEANS)
            return pith_error(PITH_EINVAL, "'%s' is magnitude-pruned: combine its mask with k-means (--method kmeans), "
                                           "or quantize before pruning", n->name);
        pith_param *w = &n->params[0];
        int rows = w->shape[0], cols = (int)(w->size / (size_t)rows);
        n->a.wq = kind;
        n->a.wbits = kind == PITH_WQ_BINARY ? 1 : kind == PITH_WQ_TERNARY ? 2 : s.bits;
        n->a.wsym = s.symmetric;
        n->a.wgran = kind == PITH_WQ_UNIFORM ? (int)s.gran : PITH_QGRAN_CHANNEL;
        n->a.wgroup = s.gran == PITH_QGRAN_GROUP ? s.group : 0;
        n->a.wlsq = kind == PITH_WQ_UNIFORM && c->lsq;
        n->a.wstoch = kind == PITH_WQ_UNIFORM && s.round == PITH_QROUND_STOCHASTIC;
        int only = -1;
        n->a.wbn = kind == PITH_WQ_UNIFORM && is_layer(n) && pith_graph_consumers(g, li, &only) == 1 &&
                   (g->nodes[only].op == &pith_op_batchnorm);
        if (kind == PITH_WQ_KMEANS) {
            int kc = 1 << s.bits, size = (int)w->size;
            pith_param *cb = pith_node_new_param(n, "codebook", 1, &kc, 1);
            pith_param *ix = cb ? pith_node_new_param(n, "w_index", 1, &size, 0) : NULL;
            if (!ix)
                return PITH_ENOMEM;
            /* after magnitude pruning, cluster the surviving weights only (Deep Compression) */
            const pith_param *mk = pith_node_param(n, "mask");
            int rc;
            if (mk && mk->size == w->size) {
                size_t live = 0;
                for (size_t i = 0; i < w->size; i++)
                    live += mk->data[i] != 0.0f;
                float *vals = malloc((live ? live : 1) * sizeof *vals), *vidx = malloc((live ? live : 1) * sizeof *vidx);
                if (!vals || !vidx) {
                    free(vals);
                    free(vidx);
                    return pith_error(PITH_ENOMEM, "out of memory");
                }
                for (size_t i = 0, o = 0; i < w->size; i++)
                    if (mk->data[i] != 0.0f)
                        vals[o++] = w->data[i];
                rc = live ? pith_kmeans_1d(vals, live, kc, c->km_init, &rng, cb->data, vidx) : PITH_OK;
                for (size_t i = 0, o = 0; !rc && i < w->size; i++)
                    ix->data[i] = mk->data[i] != 0.0f ? vidx[o++] : 0.0f;
                free(vals);
                free(vidx);
            } else {
                rc = pith_kmeans_1d(w->data, w->size, kc, c->km_init, &rng, cb->data, ix->data);
            }
            if (rc)
                return rc;
        } else {
            int ns = kind == PITH_WQ_UNIFORM ? pith_wq_scale_count(&s, rows, cols) : rows;
            pith_param *ps = pith_node_new_param(n, "w_scale", 1, &ns, n->a.wlsq);
            pith_param *pz = ps ? pith_node_new_param(n, "w_zp", 1, &ns, 0) : NULL;
            if (!pz)
                return PITH_ENOMEM;
            if (kind == PITH_WQ_UNIFORM) {
                const float *src = w->data;
                float *folded = NULL;
                if (n->a.wbn) { /* scales of the weight the folded model will hold */
                    const pith_node *bn = &g->nodes[only];
                    folded = malloc(w->size * sizeof *folded);
                    if (!folded)
                        return pith_error(PITH_ENOMEM, "out of memory");
                    const float *gm = bn->params[0].data, *var = pith_node_param((pith_node *)bn, "running_var")->data;
                    for (int r = 0; r < rows; r++)
                        for (int j = 0; j < cols; j++)
                            folded[(size_t)r * cols + j] = w->data[(size_t)r * cols + j] * (gm[r] / sqrtf(var[r] + bn->a.eps));
                    src = folded;
                }
                int rc = pith_weight_qparams(&s, c->w_obs, src, rows, cols, ps->data, pz->data);
                free(folded);
                if (rc)
                    return rc;
            }
        }
        int rc = pith_quant_attach(g, li);
        if (rc)
            return rc;
    }
    return PITH_OK;
}

int pith_quant_apply(pith_graph *g, const pith_quant_config *c)
{
    if (pith_graph_is_quantized(g))
        return pith_error(PITH_ESTATE, "the model is already quantized; start from the float checkpoint");
    pith_qspec w = c->w, a = c->a;
    int rc = pith_quant_register();
    if (!rc && c->method == PITH_WQ_UNIFORM)
        rc = pith_qspec_check(&w);
    if (!rc && c->io != PITH_QIO_WEIGHT_ONLY)
        rc = pith_qspec_check(&a);
    if (!rc && c->method == PITH_WQ_KMEANS && (w.bits < 1 || w.bits > 8))
        rc = pith_error(PITH_EINVAL, "k-means needs 1 to 8 bits per index, not %d", w.bits);
    if (rc)
        return rc;
    rc = pith_graph_sort(g);
    for (int i = 0; i < c->n_plan && !rc; i++) {
        int li = pith_graph_find(g, c->plan[i].name);
        if (li < 0 || !is_layer(&g->nodes[li]))
            rc = pith_error(PITH_EINVAL, "the plan names layer '%s', which is not a conv2d or linear of this model",
                            c->plan[i].name);
    }
    if (!rc && c->fold_bn) {
        int n = pith_fold_batchnorm(g);
        rc = n < 0 ? n : 0;
    }
    if (!rc && c->cle) {
        pith_cle_report own;
        rc = c->fold_bn ? pith_cle(g, 20, c->cle_report ? c->cle_report : &own)
                        : pith_error(PITH_EINVAL, "cross-layer equalization needs the batchnorms folded (not --no-fold)");
    }
    if (!rc && c->io != PITH_QIO_WEIGHT_ONLY)
        rc = insert_act_quant(g, c);
    if (!rc)
        rc = pith_graph_sort(g);
    if (!rc)
        rc = quantize_weights(g, c);
    if (!rc && c->io == PITH_QIO_INT8) {
        /* int8 in and out: the caller quantizes the input and reads codes */
        int in = pith_graph_find(g, "input_quant");
        if (in >= 0)
            g->nodes[in].a.qio = 1;
        if (g->nodes[g->output].op == &pith_op_fake_quant)
            g->nodes[g->output].a.qio = 1;
    }
    g->batch = 0; /* rewritten: compile again */
    return rc;
}

int64_t pith_quant_weight_bytes(const pith_graph *g)
{
    int64_t bytes = 0;
    for (int k = 0; k < g->n_order; k++) {
        const pith_node *n = &g->nodes[g->order[k]];
        if (n->op == &pith_op_fake_quant) {
            bytes += 8; /* scale + zero point */
            continue;
        }
        for (int j = 0; j < n->n_params; j++) {
            const pith_param *p = &n->params[j];
            int64_t sz = (int64_t)p->size;
            const pith_param *mk = j == 0 ? pith_node_param((pith_node *)n, "mask") : NULL;
            if (j == 0 && mk && mk->size == p->size) {
                /* Deep Compression's sparse form: each surviving weight as its code plus a
                 * 4-bit gap to the previous one; a gap over 15 takes a filler entry */
                int64_t bits = n->a.wq == PITH_WQ_KMEANS ? n->a.wbits : 32, entries = 0, gap = 0;
                for (size_t i = 0; i < mk->size; i++) {
                    if (mk->data[i] == 0.0f) {
                        gap++;
                        continue;
                    }
                    entries += 1 + gap / 16;
                    gap = 0;
                }
                bytes += (entries * (bits + 4) + 7) / 8;
            } else if (j == 0 && n->a.wq) {
                int64_t bits = n->a.wq == PITH_WQ_BINARY ? 1 : n->a.wq == PITH_WQ_TERNARY ? 2 : n->a.wbits;
                bytes += (sz * bits + 7) / 8; /* packed codes or indices */
            } else if (strcmp(p->name, "mask") == 0) {
                continue; /* implied by the sparse form */
            } else if (strcmp(p->name, "w_index") == 0) {
                continue; /* counted as the weight's packed indices */
            } else if (strcmp(p->name, "w_zp") == 0) {
                if (n->a.wq == PITH_WQ_UNIFORM && !n->a.wsym)
                    bytes += sz * 4;
            } else {
                bytes += sz * 4; /* float32, int32 bias, scales, codebook */
            }
        }
    }
    return bytes;
}
