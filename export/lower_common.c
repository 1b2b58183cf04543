/* Small pieces of the lowering: consumers, tensors, geometry, the fake_quant after a layer. */
#include "lower.h"

/* The node's sole consumer if it is of op `op`, else -1. */
int ex_sole(const pith_graph *g, int node, const pith_op *op)
{
    int c = -1;
    if (pith_graph_consumers(g, node, &c) != 1 || node == g->output)
        return -1;
    return g->nodes[c].op == op ? c : -1;
}

int ex_dims_of(const pith_shape *s, int32_t *d)
{
    for (int i = 0; i < s->ndim; i++)
        d[i] = s->d[i];
    return s->ndim;
}

int ex_new_act(lower *L, const pith_node *n, const char *suffix, int s8, const pith_node *fq)
{
    int32_t d[4];
    int nd = ex_dims_of(&n->out, d);
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
int ex_as_f32(lower *L, int i)
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

int ex_is_s8(lower *L, int i) { return L->b->tensors[L->val[i].t].dtype == PITHRT_S8; }

void ex_set_geom(pithrt_op *o, const pith_attrs *a)
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
int ex_output_fq(lower *L, int layer, int *act, int *path, int *n_path)
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

int ex_moved_act(lower *L, int x, const pith_node *n)
{
    pithrt_tensor t = L->b->tensors[x];
    int32_t d[4];
    t.ndim = (uint8_t)ex_dims_of(&n->out, d);
    memcpy(t.dims, d, sizeof d);
    t.is_const = 0;
    return pithrt_writer_tensor(L->b, &t, n->name);
}

/* The fake_quant directly after node i (sole consumer, quantizing, no relu
 * folded unless allow_act), or -1. */
int ex_next_fq(lower *L, int i, int *act)
{
    int c = ex_sole(L->g, i, &pith_op_fake_quant);
    if (c < 0 || L->g->nodes[c].a.qmode != 1)
        return -1;
    int r = L->g->nodes[c].a.qrelu;
    *act = r == 1 ? PITHRT_ACT_RELU : r == 2 ? PITHRT_ACT_RELU6 : PITHRT_ACT_NONE;
    return c;
}

int ex_lower_channel_tables(lower *L, int idx, int fq, int channels, float (*f)(const void *ctx, int ch, float x),
                            const void *ctx, int act)
{
    pith_graph *g = L->g;
    const pith_node *n = &g->nodes[idx];
    const pithrt_tensor *xt = &L->b->tensors[L->val[n->in[0]].t];
    const pith_node *q = &g->nodes[fq];
    pithrt_qact yq;
    pith_qspec s = pith_fq_spec(q);
    pith_qspec_limits(&s, &yq.qmin, &yq.qmax);
    yq.scale = q->params[0].data[0];
    yq.zero_point = (int32_t)q->params[1].data[0];
    uint8_t *table = malloc(256 * (size_t)channels);
    if (!table)
        return pith_error(PITH_ENOMEM, "out of memory");
    /* each input code's value through f, quantized as the fake_quant after
     * it quantizes: the workbench's own arithmetic, code by code */
    for (int ch = 0; ch < channels; ch++)
        for (int c = -128; c < 128; c++) {
            float v = (float)(c - xt->zero_point) * xt->scale;
            table[256 * ch + c + 128] = (uint8_t)(int8_t)pithrt_quantize_value(f(ctx, ch, v), yq, act);
        }
    char name[64];
    snprintf(name, sizeof name, "%.50s.table", n->name);
    int32_t d[2] = {channels, 256};
    int tt = channels > 1 ? pithrt_writer_const(L->b, name, PITHRT_U8, d, 2, table)
                          : pithrt_writer_const(L->b, name, PITHRT_U8, d + 1, 1, table);
    free(table);
    int y = ex_new_act(L, q, "", 1, q);
    if (tt < 0 || y < 0)
        return tt < 0 ? tt : y;
    pithrt_op o = pithrt_writer_op0(PITHRT_OP_LUT, n->name, L->val[n->in[0]].t, y);
    o.aux = tt;
    o.flags = channels > 1 ? PITHRT_LUT_PER_CHANNEL : 0;
    int rc = pithrt_writer_op(L->b, &o);
    if (rc)
        return rc;
    L->val[idx].t = L->val[fq].t = y;
    L->done[fq] = 1;
    return PITH_OK;
}

typedef struct one_table {
    float (*f)(const void *ctx, float x);
    const void *ctx;
} one_table;

static float one_table_value(const void *p, int ch, float x)
{
    const one_table *t = p;
    (void)ch;
    return t->f(t->ctx, x);
}

int ex_lower_table(lower *L, int idx, int fq, float (*f)(const void *ctx, float x), const void *ctx)
{
    one_table t = {f, ctx};
    return ex_lower_channel_tables(L, idx, fq, 1, one_table_value, &t, PITHRT_ACT_NONE);
}
