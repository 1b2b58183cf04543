/* conv2d, linear and conv_transpose: to one int8 op (weight codes, int32 bias, per-channel
 * multipliers, the activation in the clamp), or to fp32 with batchnorm
 * folded and the activation fused. */
#include "lower.h"

/* conv2d / linear / conv_transpose as one int8 op, when the workbench computes it on the integer grid. */
int ex_lower_layer_s8(lower *L, int idx, int *handled)
{
    pith_graph *g = L->g;
    pith_node *n = &g->nodes[idx];
    *handled = 0;
    if (!n->a.wq || n->a.wq == PITH_WQ_KMEANS || n->a.wgran == PITH_QGRAN_GROUP || !ex_is_s8(L, n->in[0]))
        return PITH_OK;
    if (n->a.wbn)
        return pith_error(PITH_EINVAL, "layer '%s' is quantized with its batchnorm unfolded (QAT before freezing); "
                          "fold it first (pith quantize --freeze-bn)", n->name);
    if (n->a.wq == PITH_WQ_UNIFORM && !n->a.wsym)
        return PITH_OK; /* asymmetric weight codes: the float path */
    int act, path[8], n_path;
    int fq = ex_output_fq(L, idx, &act, path, &n_path);
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
        if (n->op == &pith_op_conv_transpose)
            dt = PITHRT_S8; /* its kernel reads int8 codes only */
        else if (n->a.wq == PITH_WQ_BINARY && lo >= -1 && hi <= 1 && (lo != 0 && hi != 0))
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
        int y = ex_new_act(L, q, "", 1, q);
        rc = wt < 0 ? wt : rt < 0 ? rt : bt < -1 ? bt : y < 0 ? y : 0;
        if (!rc) {
            int type = n->op == &pith_op_conv2d           ? PITHRT_OP_CONV2D
                       : n->op == &pith_op_conv_transpose ? PITHRT_OP_CONV_TRANSPOSE
                                                           : PITHRT_OP_FC;
            pithrt_op o = pithrt_writer_op0(type, n->name, L->val[n->in[0]].t, y);
            o.act = (uint8_t)act;
            o.weight = wt;
            o.bias = bt;
            o.requant = rt;
            if (n->op != &pith_op_linear)
                ex_set_geom(&o, &n->a);
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
int ex_lower_layer_f32(lower *L, int idx)
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
    int last = idx, bn = ex_sole(g, idx, &pith_op_batchnorm);
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
    if ((a = ex_sole(g, last, &pith_op_relu)) >= 0)
        act = PITHRT_ACT_RELU;
    else if ((a = ex_sole(g, last, &pith_op_relu6)) >= 0)
        act = PITHRT_ACT_RELU6;
    else if ((a = ex_sole(g, last, &pith_op_hardswish)) >= 0)
        act = PITHRT_ACT_HARDSWISH;
    if (act != PITHRT_ACT_NONE) {
        L->done[a] = 1;
        last = a;
    }
    int x = ex_as_f32(L, n->in[0]);
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
    int y = ex_new_act(L, &g->nodes[last], "", 0, NULL);
    int rc = x < 0 ? x : wti < 0 ? wti : bti < -1 ? bti : y < 0 ? y : 0;
    if (rc)
        return rc;
    pithrt_op o = pithrt_writer_op0((n->op == &pith_op_conv2d) ? PITHRT_OP_CONV2D : PITHRT_OP_FC, n->name, x, y);
    o.act = (uint8_t)act;
    o.weight = wti;
    o.bias = bti;
    o.aux = cbi;
    if (n->op == &pith_op_conv2d)
        ex_set_geom(&o, &n->a);
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
