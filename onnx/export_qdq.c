/* QDQ export: a quantized graph as ONNX's QuantizeLinear / DequantizeLinear
 * pairs at exactly the points where pith's integer kernels requantize (each
 * fake_quant node: after a conv and its relu, not between them), with pith's
 * scales and zero points; uniform weights as int8 codes through a per-axis
 * DequantizeLinear (axis 0), biases as int32 on the accumulator's grid
 * (s_in * s_w[c]). ONNX Runtime recognises the pattern and runs its own int8
 * kernels; docs/onnx.md says where its rounding can differ from pith's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../quant/quant.h"
#include "../quant/quantizer.h"
#include "export_ops.h"

static const char *named(oxw *w, const pith_node *n, const char *what)
{
    char name[PITH_NAME_MAX + 24];
    snprintf(name, sizeof name, "%s.%s", n->name, what);
    return oxw_strdup(w, name);
}

int ox_qdq_fake_quant(oxw *w, const pith_node *fq, const char *x, const char *out)
{
    if (fq->a.qmode != 1)
        return 1; /* pass-through: the value itself */
    pith_qspec s = pith_fq_spec(fq);
    int32_t qmin, qmax;
    pith_qspec_limits(&s, &qmin, &qmax);
    const int is_u8 = qmin == 0 && qmax == 255;
    if (!is_u8 && !(qmin == -128 && qmax == 127))
        return pith_error(PITH_EINVAL, "node '%s': %d-bit activations (codes %d..%d) have no ONNX QuantizeLinear; "
                          "QDQ export takes 8-bit activations", fq->name, fq->a.qbits, qmin, qmax);
    const char *r = x;
    if (fq->a.qrelu) { /* the activation the quantizer applies first (the kernel's clamp) */
        r = oxw_name(w, fq->name, fq->a.qrelu == 1 ? "relu" : "relu6");
        if (fq->a.qrelu == 1) {
            if (!oxw_node(w, "Relu", r, 1, &x, r))
                return pith_error(PITH_ENOMEM, "out of memory");
        } else {
            const float lo = 0.0f, hi = 6.0f;
            const char *args[3] = {x, oxw_f32(w, named(w, fq, "min"), 0, NULL, &lo),
                                   oxw_f32(w, named(w, fq, "max"), 0, NULL, &hi)};
            if (!oxw_node(w, "Clip", r, 3, args, r))
                return pith_error(PITH_ENOMEM, "out of memory");
        }
    }
    const float scale = fq->params[0].data[0];
    const int zp = (int)fq->params[1].data[0];
    const int8_t z8 = (int8_t)zp;
    const uint8_t zu8 = (uint8_t)zp;
    const char *sv = oxw_f32(w, named(w, fq, "scale"), 0, NULL, &scale);
    const char *zv = is_u8 ? oxw_u8(w, named(w, fq, "zero_point"), 0, NULL, &zu8)
                           : oxw_i8(w, named(w, fq, "zero_point"), 0, NULL, &z8);
    const char *q = oxw_name(w, fq->name, "q");
    const char *qa[3] = {r, sv, zv}, *da[3] = {q, sv, zv};
    if (!oxw_node(w, "QuantizeLinear", q, 3, qa, q) || !oxw_node(w, "DequantizeLinear", out, 3, da, out))
        return pith_error(PITH_ENOMEM, "out of memory");
    w->qdq_pairs++;
    return PITH_OK;
}

/* The fake_quant that quantizes layer idx's output (directly, or after its
 * relu / relu6), -1 if none. */
static int output_fq(const pith_graph *g, int idx)
{
    int via = idx;
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < g->n_order; k++) {
            const pith_node *c = &g->nodes[g->order[k]];
            if (c->n_in >= 1 && c->in[0] == via && c->op == &pith_op_fake_quant)
                return g->order[k];
        }
        int next = -1;
        for (int k = 0; k < g->n_order && next < 0; k++) {
            const pith_node *c = &g->nodes[g->order[k]];
            if (c->n_in == 1 && c->in[0] == via && (c->op == &pith_op_relu || c->op == &pith_op_relu6))
                next = g->order[k];
        }
        if (next < 0)
            return -1;
        via = next;
    }
    return -1;
}

int ox_qdq_layer(oxw *w, const pith_graph *g, int idx, const char *x, const char *out)
{
    const pith_node *n = &g->nodes[idx];
    const pith_param *ws = pith_node_param((pith_node *)n, "w_scale"), *wz = pith_node_param((pith_node *)n, "w_zp");
    const pith_param *wp = &n->params[0];
    const int oc = n->op == &pith_op_conv_transpose ? 1 : n->a.out;
    if (n->a.wq != PITH_WQ_UNIFORM || !ws || n->a.wgran == PITH_QGRAN_GROUP || (ws->size != 1 && (int)ws->size != oc))
        return 1;
    const size_t per = wp->size / ws->size;
    const float *weff = pith_param_value(wp);
    int8_t *codes = malloc(wp->size), *zps = malloc(ws->size);
    int rc = codes && zps ? PITH_OK : pith_error(PITH_ENOMEM, "out of memory");
    for (size_t k = 0; k < ws->size && !rc; k++) {
        const float s = ws->data[k], z = wz ? wz->data[k] : 0.0f;
        zps[k] = (int8_t)z;
        for (size_t j = 0; j < per && !rc; j++) {
            const float v = (s > 0.0f ? nearbyintf(weff[k * per + j] / s) : 0.0f) + z;
            if (!(v >= -128.0f && v <= 127.0f))
                rc = pith_error(PITH_EINVAL, "layer '%s': weight code %g outside int8", n->name, (double)v);
            else
                codes[k * per + j] = (int8_t)v;
        }
    }
    const char *wdq = NULL, *bdq = NULL;
    if (!rc) {
        int64_t d[4], dn = (int64_t)ws->size;
        for (int k = 0; k < wp->ndim; k++)
            d[k] = wp->shape[k];
        const int vec = ws->size > 1;
        const char *args[3] = {oxw_i8(w, named(w, n, "weight_quantized"), wp->ndim, d, codes),
                               oxw_f32(w, named(w, n, "weight_scale"), vec, &dn, ws->data),
                               oxw_i8(w, named(w, n, "weight_zero_point"), vec, &dn, zps)};
        wdq = named(w, n, "weight");
        Onnx__NodeProto *o = oxw_node(w, "DequantizeLinear", wdq, 3, args, wdq);
        if (vec)
            oxw_attr_int(w, o, "axis", 0);
        if (!o)
            rc = pith_error(PITH_ENOMEM, "out of memory");
    }
    /* the bias on the accumulator's grid when the output quantizer recovers it */
    const int fq = rc ? -1 : output_fq(g, idx);
    const pith_param *as = fq >= 0 && g->nodes[fq].a.qacc ? pith_node_param(&g->nodes[fq], "acc_scale") : NULL;
    if (!rc && n->a.bias && as && (int)as->size == n->a.out) {
        int32_t *b = malloc(sizeof *b * as->size);
        if (!b)
            rc = pith_error(PITH_ENOMEM, "out of memory");
        for (size_t k = 0; b && k < as->size; k++) {
            float v = as->data[k] > 0.0f ? nearbyintf(n->params[1].data[k] / as->data[k]) : 0.0f;
            v = v < -2147483520.0f ? -2147483520.0f : v > 2147483520.0f ? 2147483520.0f : v;
            b[k] = (int32_t)v;
        }
        int64_t dn = (int64_t)as->size;
        const int32_t *zero = calloc(as->size, sizeof *zero);
        if (b && zero) {
            const char *args[3] = {oxw_i32(w, named(w, n, "bias_quantized"), 1, &dn, b),
                                   oxw_f32(w, named(w, n, "bias_scale"), 1, &dn, as->data),
                                   oxw_i32(w, named(w, n, "bias_zero_point"), 1, &dn, zero)};
            bdq = named(w, n, "bias");
            Onnx__NodeProto *o = oxw_node(w, "DequantizeLinear", bdq, 3, args, bdq);
            oxw_attr_int(w, o, "axis", 0);
            if (!o)
                rc = pith_error(PITH_ENOMEM, "out of memory");
        } else if (!rc) {
            rc = pith_error(PITH_ENOMEM, "out of memory");
        }
        free(b);
        free((void *)zero);
    } else if (!rc && n->a.bias) {
        int64_t d = n->params[1].shape[0];
        bdq = oxw_f32(w, named(w, n, "bias"), 1, &d, pith_param_value(&n->params[1]));
    }
    free(codes);
    free(zps);
    return rc ? rc : ox_emit_layer(w, n, x, wdq, bdq, out);
}
