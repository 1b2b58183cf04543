/* Lowering a graph to the runtime's ops (see export.h for what becomes what). */
#include "export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../quant/quant.h"
#include "../runtime/format.h"
#include "../runtime/internal.h"
#include "../runtime/kernels/kernels.h"
#include "../runtime/pithrt.h"
#include "../runtime/writer.h"

/* What a workbench node's output became in the file. */
typedef struct value {
    int t;        /* runtime tensor, -1: not lowered yet */
    int f32;      /* a dequantized copy of an s8 value, -1: none yet */
} value;

typedef struct lower {
    pith_graph *g;
    pithrt_writer *b;
    value *val;
    unsigned char *done; /* nodes computed by an earlier fused op */
    int int8_layers, float_layers;
} lower;



/* The node's sole consumer if it is of op `op`, else -1. */
static int sole(const pith_graph *g, int node, const pith_op *op)
{
    int c = -1;
    if (pith_graph_consumers(g, node, &c) != 1 || node == g->output)
        return -1;
    return g->nodes[c].op == op ? c : -1;
}

static int dims_of(const pith_shape *s, int32_t *d)
{
    for (int i = 0; i < s->ndim; i++)
        d[i] = s->d[i];
    return s->ndim;
}

static int new_act(lower *L, const pith_node *n, const char *suffix, int s8, const pith_node *fq)
{
    int32_t d[4];
    int nd = dims_of(&n->out, d);
    char name[64];
    snprintf(name, sizeof name, "%s%s", n->name, suffix);
    pithrt_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = s8 ? PITHRT_S8 : PITHRT_F32;
    t.ndim = (uint8_t)nd;
    memcpy(t.dims, d, sizeof d);
    if (s8) {
        pith_qspec s = pith_fq_spec(fq);
        pith_qspec_limits(&s, &t.qmin, &t.qmax);
        t.scale = fq->params[0].data[0];
        t.zero_point = (int32_t)fq->params[1].data[0];
        if (t.qmin < -128 || t.qmax > 127)
            return pith_error(PITH_EINVAL, "node '%s': %d-bit %s activations do not fit int8 (export takes up to 8 bits, signed or unsigned 7)",
                              fq->name, s.bits, s.is_signed ? "signed" : "unsigned");
    }
    return pithrt_writer_tensor(L->b, &t, name);
}

/* The value of node i as f32 (dequantizing an s8 value once). */
static int as_f32(lower *L, int i)
{
    value *v = &L->val[i];
    if (L->b->tensors[v->t].dtype == PITHRT_F32)
        return v->t;
    if (v->f32 >= 0)
        return v->f32;
    pithrt_tensor t = L->b->tensors[v->t];
    t.dtype = PITHRT_F32;
    t.scale = 0;
    t.zero_point = t.qmin = t.qmax = 0;
    char name[64];
    snprintf(name, sizeof name, "%.40s.f32", L->b->names[v->t]);
    int y = pithrt_writer_tensor(L->b, &t, name);
    if (y < 0)
        return y;
    pithrt_op o = pithrt_writer_op0(PITHRT_OP_DEQUANTIZE, name, v->t, y);
    int rc = pithrt_writer_op(L->b, &o);
    return rc < 0 ? rc : (v->f32 = y);
}

static int is_s8(lower *L, int i) { return L->b->tensors[L->val[i].t].dtype == PITHRT_S8; }

static void set_geom(pithrt_op *o, const pith_attrs *a)
{
    o->kh = a->kh;
    o->kw = a->kw;
    o->sh = a->sh;
    o->sw = a->sw;
    o->ph = a->ph;
    o->pw = a->pw;
    o->dh = a->dh > 0 ? a->dh : 1;
    o->dw = a->dw > 0 ? a->dw : 1;
    o->groups = a->groups > 0 ? a->groups : 1;
}

/* Follows a layer's output through relu / relu6 (single consumers) to the
 * fake_quant node that quantizes it; *act is the activation met on the way
 * or folded into that node. Returns the node, or -1. */
static int output_fq(lower *L, int layer, int *act, int *path, int *n_path)
{
    pith_graph *g = L->g;
    int cur = layer, c;
    *act = PITHRT_ACT_NONE;
    *n_path = 0;
    for (;;) {
        if (cur == g->output || pith_graph_consumers(g, cur, &c) != 1)
            return -1;
        const pith_node *n = &g->nodes[c];
        if ((n->op == &pith_op_relu) || (n->op == &pith_op_relu6)) {
            *act = n->op == &pith_op_relu ? PITHRT_ACT_RELU : PITHRT_ACT_RELU6;
            path[(*n_path)++] = c;
            cur = c;
            if (*n_path > 4)
                return -1;
            continue;
        }
        if (n->op != &pith_op_fake_quant || n->a.qmode != 1)
            return -1;
        if (n->a.qrelu)
            *act = n->a.qrelu == 1 ? (*act == PITHRT_ACT_RELU6 ? PITHRT_ACT_RELU6 : PITHRT_ACT_RELU) : PITHRT_ACT_RELU6;
        return c;
    }
}

/* conv2d / linear as one int8 op, when the workbench computes it on the integer grid. */
static int lower_layer_s8(lower *L, int idx, int *handled)
{
    pith_graph *g = L->g;
    pith_node *n = &g->nodes[idx];
    *handled = 0;
    if (!n->a.wq || n->a.wq == PITH_WQ_KMEANS || n->a.wgran == PITH_QGRAN_GROUP || !is_s8(L, n->in[0]))
        return PITH_OK;
    if (n->a.wbn)
        return pith_error(PITH_EINVAL, "layer '%s' is quantized with its batchnorm unfolded (QAT before freezing); "
                          "fold it first (pith quantize --freeze-bn)", n->name);
    if (n->a.wq == PITH_WQ_UNIFORM && !n->a.wsym)
        return PITH_OK; /* asymmetric weight codes: the float path */
    int act, path[8], n_path;
    int fq = output_fq(L, idx, &act, path, &n_path);
    if (fq < 0 || !g->nodes[fq].a.qacc)
        return PITH_OK;
    pith_node *q = &g->nodes[fq];
    const pith_param *as = pith_node_param(q, "acc_scale"), *ws = pith_node_param(n, "w_scale");
    const int oc = n->a.out;
    if (!as || !ws || (int)as->size != oc)
        return PITH_OK;
    for (int k = 0; k < oc; k++)
        if (!(as->data[k] > 0.0f))
            return PITH_OK;
    const float s_out = q->params[0].data[0];
    /* weight codes */
    const pith_param *w = &n->params[0];
    const float *weff = pith_param_value(w);
    const size_t per = w->size / (size_t)oc;
    int8_t *codes = malloc(w->size);
    int32_t *requant = malloc(sizeof(int32_t) * 3 * oc), *bias = calloc((size_t)oc, sizeof(int32_t));
    int rc = codes && requant && bias ? PITH_OK : pith_error(PITH_ENOMEM, "out of memory");
    int lo = 127, hi = -128;
    for (int k = 0; k < oc && !rc; k++) {
        float s = ws->size == 1 ? ws->data[0] : ws->data[k];
        for (size_t j = 0; j < per; j++) {
            float v = s > 0.0f ? nearbyintf(weff[(size_t)k * per + j] / s) : 0.0f;
            if (!(v >= -128.0f && v <= 127.0f)) {
                rc = pith_error(PITH_EINVAL, "layer '%s': weight code %g outside int8", n->name, (double)v);
                break;
            }
            codes[(size_t)k * per + j] = (int8_t)v;
            lo = v < lo ? (int)v : lo;
            hi = v > hi ? (int)v : hi;
        }
        int sh = 0;
        if (!rc && pith_quantize_multiplier((double)as->data[k] / (double)s_out, &requant[3 * k], &sh)) {
            char why[256];
            snprintf(why, sizeof why, "%s", pith_last_error());
            rc = pith_error(PITH_EINVAL, "layer '%s', channel %d: %s", n->name, k, why);
        }
        if (!rc && n->a.bias) {
            float b = nearbyintf(n->params[1].data[k] / as->data[k]);
            b = b < -2147483520.0f ? -2147483520.0f : b > 2147483520.0f ? 2147483520.0f : b;
            bias[k] = (int32_t)b;
        }
        /* relu6 clamps the real value at 6 before the accumulator is recovered */
        float c6 = nearbyintf(6.0f / as->data[k]);
        requant[3 * k + 1] = sh;
        requant[3 * k + 2] = c6 >= 2147483520.0f ? INT32_MAX : (int32_t)c6;
    }
    if (!rc) {
        /* the narrowest packing that holds every code */
        int dt = PITHRT_S8;
        if (n->a.wq == PITH_WQ_BINARY && lo >= -1 && hi <= 1 && (lo != 0 && hi != 0))
            dt = PITHRT_W1;
        else if (lo >= -2 && hi <= 1)
            dt = PITHRT_W2;
        else if (lo >= -8 && hi <= 7)
            dt = PITHRT_W4;
        char name[64];
        int32_t wd[4];
        int wnd = w->ndim;
        for (int i = 0; i < wnd; i++)
            wd[i] = w->shape[i];
        snprintf(name, sizeof name, "%s.weight", n->name);
        int wt = pithrt_writer_codes(L->b, name, dt, wd, wnd, codes, w->size);
        snprintf(name, sizeof name, "%s.requant", n->name);
        int32_t cd[1] = {oc}, rd[2] = {oc, 3};
        int rt = pithrt_writer_const(L->b, name, PITHRT_S32, rd, 2, requant);
        int bt = -1;
        if (n->a.bias) {
            snprintf(name, sizeof name, "%s.bias", n->name);
            bt = pithrt_writer_const(L->b, name, PITHRT_S32, cd, 1, bias);
        }
        int y = new_act(L, q, "", 1, q);
        rc = wt < 0 ? wt : rt < 0 ? rt : bt < -1 ? bt : y < 0 ? y : 0;
        if (!rc) {
            pithrt_op o = pithrt_writer_op0((n->op == &pith_op_conv2d) ? PITHRT_OP_CONV2D : PITHRT_OP_FC, n->name,
                                           L->val[n->in[0]].t, y);
            o.act = (uint8_t)act;
            o.weight = wt;
            o.bias = bt;
            o.requant = rt;
            if (n->op == &pith_op_conv2d)
                set_geom(&o, &n->a);
            rc = pithrt_writer_op(L->b, &o);
        }
        if (!rc) {
            for (int i = 0; i < n_path; i++) {
                L->done[path[i]] = 1;
                L->val[path[i]].t = y;
            }
            L->done[fq] = 1;
            L->val[fq].t = y;
            L->val[idx].t = y;
            L->int8_layers++;
            *handled = 1;
        }
    }
    free(codes);
    free(requant);
    free(bias);
    return rc;
}

/* conv2d / linear in fp32: the weights the workbench computes with (after
 * fake quantization, masks, codebooks), a following batchnorm folded in and
 * a following relu / relu6 / hardswish fused. */
static int lower_layer_f32(lower *L, int idx)
{
    pith_graph *g = L->g;
    pith_node *n = &g->nodes[idx];
    const pith_param *w = &n->params[0];
    const size_t per = w->size / (size_t)n->a.out;
    const int oc = n->a.out;
    float *wt = malloc(sizeof(float) * w->size), *bias = calloc((size_t)oc, sizeof(float));
    if (!wt || !bias) {
        free(wt);
        free(bias);
        return pith_error(PITH_ENOMEM, "out of memory");
    }
    memcpy(wt, pith_param_value(w), sizeof(float) * w->size);
    int has_bias = n->a.bias;
    if (has_bias)
        memcpy(bias, pith_param_value(&n->params[1]), sizeof(float) * oc);
    int last = idx, bn = sole(g, idx, &pith_op_batchnorm);
    if (bn >= 0) {
        pith_node *b = &g->nodes[bn];
        const float *gamma = b->params[0].data, *beta = b->params[1].data, *mean = b->params[2].data,
                    *var = b->params[3].data;
        for (int k = 0; k < oc; k++) {
            float f = gamma[k] / sqrtf(var[k] + b->a.eps);
            for (size_t j = 0; j < per; j++)
                wt[(size_t)k * per + j] *= f;
            bias[k] = (bias[k] - mean[k]) * f + beta[k];
        }
        has_bias = 1;
        L->done[bn] = 1;
        last = bn;
    }
    int act = PITHRT_ACT_NONE, a;
    if ((a = sole(g, last, &pith_op_relu)) >= 0)
        act = PITHRT_ACT_RELU;
    else if ((a = sole(g, last, &pith_op_relu6)) >= 0)
        act = PITHRT_ACT_RELU6;
    else if ((a = sole(g, last, &pith_op_hardswish)) >= 0)
        act = PITHRT_ACT_HARDSWISH;
    if (act != PITHRT_ACT_NONE) {
        L->done[a] = 1;
        last = a;
    }
    int x = as_f32(L, n->in[0]);
    char name[64];
    int32_t wd[4], cd[1] = {oc};
    for (int i = 0; i < w->ndim; i++)
        wd[i] = w->shape[i];
    snprintf(name, sizeof name, "%s.weight", n->name);
    int wti, cbi = -1;
    const pith_param *cb = pith_node_param(n, "codebook"), *ix = pith_node_param(n, "w_index");
    if (n->a.wq == PITH_WQ_KMEANS && bn < 0 && cb && ix && ix->size == w->size && cb->size <= 255) {
        /* k-means: packed indices into the codebook (plus an exact zero for
         * weights a pruning mask removed) instead of float weights */
        const pith_param *mk = pith_node_param(n, "mask");
        int k = (int)cb->size, zero = -1;
        float book[256];
        memcpy(book, cb->data, sizeof(float) * cb->size);
        for (size_t i = 0; mk && mk->size == w->size && i < w->size && zero < 0; i++)
            if (mk->data[i] == 0.0f)
                book[zero = k++] = 0.0f;
        int dt = k <= 4 ? PITHRT_U2 : k <= 16 ? PITHRT_U4 : PITHRT_U8;
        int8_t *codes = malloc(w->size);
        if (!codes) {
            free(wt);
            free(bias);
            return pith_error(PITH_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < w->size; i++) {
            int v = zero >= 0 && mk->data[i] == 0.0f ? zero : (int)ix->data[i];
            codes[i] = (int8_t)(uint8_t)v;
        }
        wti = pithrt_writer_codes(L->b, name, dt, wd, w->ndim, codes, w->size);
        free(codes);
        int32_t kd[1] = {k};
        snprintf(name, sizeof name, "%s.codebook", n->name);
        cbi = pithrt_writer_const(L->b, name, PITHRT_F32, kd, 1, book);
        if (cbi < 0)
            wti = cbi;
    } else {
        wti = pithrt_writer_const(L->b, name, PITHRT_F32, wd, w->ndim, wt);
    }
    int bti = -1;
    if (has_bias) {
        snprintf(name, sizeof name, "%s.bias", n->name);
        bti = pithrt_writer_const(L->b, name, PITHRT_F32, cd, 1, bias);
    }
    free(wt);
    free(bias);
    int y = new_act(L, &g->nodes[last], "", 0, NULL);
    int rc = x < 0 ? x : wti < 0 ? wti : bti < -1 ? bti : y < 0 ? y : 0;
    if (rc)
        return rc;
    pithrt_op o = pithrt_writer_op0((n->op == &pith_op_conv2d) ? PITHRT_OP_CONV2D : PITHRT_OP_FC, n->name, x, y);
    o.act = (uint8_t)act;
    o.weight = wti;
    o.bias = bti;
    o.aux = cbi;
    if (n->op == &pith_op_conv2d)
        set_geom(&o, &n->a);
    rc = pithrt_writer_op(L->b, &o);
    if (rc)
        return rc;
    for (int i = idx; i != last;) {
        int c = -1;
        if (pith_graph_consumers(g, i, &c) < 1 || c < 0)
            break;
        L->val[c].t = y;
        i = c;
    }
    L->val[idx].t = y;
    L->float_layers++;
    return PITH_OK;
}

/* The fake_quant directly after node i (sole consumer, quantizing, no relu
 * folded unless allow_act), or -1. */
static int next_fq(lower *L, int i, int *act)
{
    int c = sole(L->g, i, &pith_op_fake_quant);
    if (c < 0 || L->g->nodes[c].a.qmode != 1)
        return -1;
    int r = L->g->nodes[c].a.qrelu;
    *act = r == 1 ? PITHRT_ACT_RELU : r == 2 ? PITHRT_ACT_RELU6 : PITHRT_ACT_NONE;
    return c;
}

/* Ops without weights. */
static int lower_other(lower *L, int idx)
{
    pith_graph *g = L->g;
    pith_node *n = &g->nodes[idx];
    const pith_op *op = n->op;
    int act = PITHRT_ACT_NONE, fq, y, rc;
    if (op == &pith_op_dropout) {
        L->val[idx] = L->val[n->in[0]];
        return PITH_OK;
    }
    if (op == &pith_op_fake_quant) {
        if (n->a.qmode != 1 && !n->a.qrelu) {
            L->val[idx] = L->val[n->in[0]];
            return PITH_OK;
        }
        int x = as_f32(L, n->in[0]);
        int r = n->a.qrelu;
        act = r == 1 ? PITHRT_ACT_RELU : r == 2 ? PITHRT_ACT_RELU6 : PITHRT_ACT_NONE;
        y = new_act(L, n, "", n->a.qmode == 1, n);
        if (x < 0 || y < 0)
            return x < 0 ? x : y;
        pithrt_op o = pithrt_writer_op0(n->a.qmode == 1 ? PITHRT_OP_QUANTIZE : PITHRT_OP_ACT, n->name, x, y);
        o.act = (uint8_t)act;
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    if (op == &pith_op_flatten) {
        int x = L->val[n->in[0]].t;
        pithrt_tensor t = L->b->tensors[x];
        t.ndim = 1;
        t.dims[0] = (int32_t)pith_shape_size(&n->out);
        t.dims[1] = t.dims[2] = t.dims[3] = 0;
        y = pithrt_writer_tensor(L->b, &t, n->name);
        if (y < 0)
            return y;
        pithrt_op o = pithrt_writer_op0(PITHRT_OP_RESHAPE, n->name, x, y);
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    if (op == &pith_op_maxpool) {
        int s8 = is_s8(L, n->in[0]);
        int x = s8 ? L->val[n->in[0]].t : as_f32(L, n->in[0]);
        pithrt_tensor t = L->b->tensors[x];
        int32_t d[4];
        t.ndim = (uint8_t)dims_of(&n->out, d);
        memcpy(t.dims, d, sizeof d);
        y = pithrt_writer_tensor(L->b, &t, n->name);
        if (y < 0)
            return y;
        pithrt_op o = pithrt_writer_op0(PITHRT_OP_MAXPOOL, n->name, x, y);
        set_geom(&o, &n->a);
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    int type = op == &pith_op_avgpool ? PITHRT_OP_AVGPOOL : op == &pith_op_global_avgpool ? PITHRT_OP_GAVGPOOL
             : op == &pith_op_add ? PITHRT_OP_ADD : op == &pith_op_concat ? PITHRT_OP_CONCAT : 0;
    if (type) {
        int all_s8 = 1;
        for (int i = 0; i < n->n_in; i++)
            all_s8 = all_s8 && is_s8(L, n->in[i]);
        fq = all_s8 ? next_fq(L, idx, &act) : -1;
        int mid = -1; /* a relu between the op and its fake_quant */
        if (fq < 0 && sole(g, idx, &pith_op_relu) >= 0 && all_s8) {
            int r = sole(g, idx, &pith_op_relu), a2;
            int f2 = next_fq(L, r, &a2);
            if (f2 >= 0) {
                mid = r;
                L->done[r] = 1;
                fq = f2;
                act = a2 == PITHRT_ACT_RELU6 ? a2 : PITHRT_ACT_RELU;
            }
        }
        if (type == PITHRT_OP_CONCAT && !all_s8)
            fq = -1;
        int in[4];
        if (n->n_in > 4 || (type == PITHRT_OP_ADD && n->n_in != 2))
            return pith_error(PITH_EINVAL, "node '%s': %s of %d inputs cannot be exported", n->name, op->name, n->n_in);
        for (int i = 0; i < n->n_in; i++) {
            in[i] = fq >= 0 ? L->val[n->in[i]].t : as_f32(L, n->in[i]);
            if (in[i] < 0)
                return in[i];
        }
        int last = fq >= 0 ? fq : idx;
        if (fq < 0 && type == PITHRT_OP_ADD) {
            int r = sole(g, idx, &pith_op_relu), r6 = sole(g, idx, &pith_op_relu6);
            if (r >= 0 || r6 >= 0) {
                act = r >= 0 ? PITHRT_ACT_RELU : PITHRT_ACT_RELU6;
                last = r >= 0 ? r : r6;
                L->done[last] = 1;
            }
        }
        y = fq >= 0 ? new_act(L, &g->nodes[fq], "", 1, &g->nodes[fq]) : new_act(L, &g->nodes[last], "", 0, NULL);
        if (y < 0)
            return y;
        pithrt_op o = pithrt_writer_op0(type, n->name, in[0], y);
        o.n_in = n->n_in;
        for (int i = 1; i < n->n_in; i++)
            o.in[i] = in[i];
        o.act = (uint8_t)act;
        if (type == PITHRT_OP_AVGPOOL)
            set_geom(&o, &n->a);
        if ((rc = pithrt_writer_op(L->b, &o)))
            return rc;
        L->val[idx].t = y;
        if (fq >= 0) {
            L->done[fq] = 1;
            L->val[fq].t = y;
        }
        if (mid >= 0)
            L->val[mid].t = y;
        L->val[last].t = y;
        return PITH_OK;
    }
    if (op == &pith_op_relu || op == &pith_op_relu6 || op == &pith_op_hardswish) {
        act = op == &pith_op_relu ? PITHRT_ACT_RELU : op == &pith_op_relu6 ? PITHRT_ACT_RELU6 : PITHRT_ACT_HARDSWISH;
        int a2;
        fq = is_s8(L, n->in[0]) ? next_fq(L, idx, &a2) : -1;
        if (fq >= 0 && a2 == PITHRT_ACT_NONE) {
            /* int8 -> int8 through a table: the workbench's own op on each code */
            const pithrt_tensor *xt = &L->b->tensors[L->val[n->in[0]].t];
            const pith_node *q = &g->nodes[fq];
            pithrt_qact yq;
            pith_qspec s = pith_fq_spec(q);
            pith_qspec_limits(&s, &yq.qmin, &yq.qmax);
            yq.scale = q->params[0].data[0];
            yq.zero_point = (int32_t)q->params[1].data[0];
            uint8_t table[256];
            for (int c = -128; c < 128; c++) {
                float v = (float)(c - xt->zero_point) * xt->scale;
                table[c + 128] = (uint8_t)(int8_t)pithrt_quantize_value(pithrt_apply_act(v, act), yq, PITHRT_ACT_NONE);
            }
            char name[64];
            snprintf(name, sizeof name, "%s.table", n->name);
            int32_t d[1] = {256};
            int tt = pithrt_writer_const(L->b, name, PITHRT_U8, d, 1, table);
            y = new_act(L, q, "", 1, q);
            if (tt < 0 || y < 0)
                return tt < 0 ? tt : y;
            pithrt_op o = pithrt_writer_op0(PITHRT_OP_LUT, n->name, L->val[n->in[0]].t, y);
            o.aux = tt;
            if ((rc = pithrt_writer_op(L->b, &o)))
                return rc;
            L->val[idx].t = L->val[fq].t = y;
            L->done[fq] = 1;
            return PITH_OK;
        }
        int x = as_f32(L, n->in[0]);
        y = new_act(L, n, "", 0, NULL);
        if (x < 0 || y < 0)
            return x < 0 ? x : y;
        pithrt_op o = pithrt_writer_op0(PITHRT_OP_ACT, n->name, x, y);
        o.act = (uint8_t)act;
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    if (op == &pith_op_batchnorm)
        return pith_error(PITH_EINVAL, "batchnorm '%s' does not follow a conv2d or linear with no other consumer; "
                          "export cannot fold it", n->name);
    return pith_error(PITH_EINVAL, "node '%s': the runtime has no %s op", n->name, op->name);
}

static int run_once(pith_graph *g, const float *x)
{
    int rc = pith_graph_compile(g, 1);
    if (rc)
        return rc;
    pith_graph_set_training(g, 0);
    size_t n = pith_shape_size(&g->input_shape);
    float *in = pith_graph_input(g);
    if (x)
        memcpy(in, x, n * sizeof *in);
    else
        memset(in, 0, n * sizeof *in);
    return pith_graph_forward(g, 1);
}

int pith_export(pith_graph *g, const pith_export_opts *opt, uint8_t **buf, size_t *len, pith_export_report *rep)
{
    *buf = NULL;
    *len = 0;
    memset(rep, 0, sizeof *rep);
    int rc = run_once(g, opt ? opt->golden_in : NULL);
    if (rc)
        return rc;
    pithrt_writer b;
    pithrt_writer_init(&b);
    lower L = {g, &b, calloc((size_t)g->n_nodes, sizeof(value)), calloc((size_t)g->n_nodes, 1), 0, 0};
    if (!L.val || !L.done) {
        rc = pith_error(PITH_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < g->n_nodes; i++)
        L.val[i].t = L.val[i].f32 = -1;
    pithrt_tensor it;
    memset(&it, 0, sizeof it);
    it.dtype = PITHRT_F32;
    it.ndim = (uint8_t)dims_of(&g->input_shape, it.dims);
    L.val[0].t = pithrt_writer_tensor(&b, &it, "input");
    int input = L.val[0].t;
    for (int k = 0; k < g->n_order && !rc; k++) {
        int i = g->order[k];
        if (i == 0 || L.done[i])
            continue;
        pith_node *n = &g->nodes[i];
        if ((n->op == &pith_op_conv2d) || (n->op == &pith_op_linear)) {
            int handled;
            rc = lower_layer_s8(&L, i, &handled);
            if (!rc && !handled)
                rc = lower_layer_f32(&L, i);
        } else {
            rc = lower_other(&L, i);
        }
    }
    if (!rc && L.val[g->output].t < 0)
        rc = pith_error(PITH_ESTATE, "export: the output node was not lowered");
    if (!rc) {
        pithrt_writer_meta m;
        memset(&m, 0, sizeof m);
        m.input = input;
        m.output = L.val[g->output].t;
        if (opt) {
            m.norm_channels = opt->norm_channels;
            memcpy(m.mean, opt->mean, sizeof m.mean);
            memcpy(m.std, opt->std, sizeof m.std);
            m.labels = opt->labels;
            m.n_labels = opt->n_labels;
        }
        m.golden_in = m.golden_out = -1;
        if (opt && opt->golden_in) {
            int32_t d[1] = {(int32_t)pith_shape_size(&g->input_shape)};
            int32_t e[1] = {(int32_t)pith_shape_size(&g->nodes[g->output].out)};
            m.golden_in = pithrt_writer_const(&b, "golden.input", PITHRT_F32, d, 1, opt->golden_in);
            m.golden_out = pithrt_writer_const(&b, "golden.output", PITHRT_F32, e, 1, pith_graph_output(g));
            rep->golden = 1;
            if (m.golden_in < 0 || m.golden_out < 0)
                rc = m.golden_in < 0 ? m.golden_in : m.golden_out;
        }
        if (!rc)
            rc = pithrt_writer_finish(&b, &m, buf, len);
    }
    if (!rc) {
        rep->ops = b.n_ops;
        rep->tensors = b.n_tensors;
        rep->int8_layers = L.int8_layers;
        rep->float_layers = L.float_layers;
        rep->weight_bytes = b.blob_len;
        rep->file_bytes = *len;
    }
out:
    /* the writer's failures carry runtime statuses and keep their own message */
    if (rc < 0 && b.msg[0])
        rc = pith_error(rc == PITHRT_ENOMEM ? PITH_ENOMEM : PITH_EINVAL, "export: %s", b.msg);
    free(L.val);
    free(L.done);
    pithrt_writer_free(&b);
    return rc;
}

int pith_export_file(pith_graph *g, const pith_export_opts *o, const char *path, pith_export_report *rep)
{
    uint8_t *buf;
    size_t len;
    int rc = pith_export(g, o, &buf, &len, rep);
    if (rc)
        return rc;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(buf, 1, len, f) == len;
    ok = f && fclose(f) == 0 && ok;
    free(buf);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return pith_error(PITH_EIO, "%s: cannot write", path);
    }
    return PITH_OK;
}
