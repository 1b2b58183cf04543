/* Every other node: pools, adds, concats, activations, flatten, fake_quant. */
#include "lower.h"

/* Ops without weights. */
static float act_value(const void *act, float x) { return pithrt_apply_act(x, *(const int *)act); }

int ex_lower_other(lower *L, int idx)
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
        int x = ex_as_f32(L, n->in[0]);
        int r = n->a.qrelu;
        act = r == 1 ? PITHRT_ACT_RELU : r == 2 ? PITHRT_ACT_RELU6 : PITHRT_ACT_NONE;
        y = ex_new_act(L, n, "", n->a.qmode == 1, n);
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
        int s8 = ex_is_s8(L, n->in[0]);
        int x = s8 ? L->val[n->in[0]].t : ex_as_f32(L, n->in[0]);
        pithrt_tensor t = L->b->tensors[x];
        int32_t d[4];
        t.ndim = (uint8_t)ex_dims_of(&n->out, d);
        memcpy(t.dims, d, sizeof d);
        y = pithrt_writer_tensor(L->b, &t, n->name);
        if (y < 0)
            return y;
        pithrt_op o = pithrt_writer_op0(PITHRT_OP_MAXPOOL, n->name, x, y);
        ex_set_geom(&o, &n->a);
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    int type = op == &pith_op_avgpool ? PITHRT_OP_AVGPOOL : op == &pith_op_global_avgpool ? PITHRT_OP_GAVGPOOL
             : op == &pith_op_add ? PITHRT_OP_ADD : op == &pith_op_concat ? PITHRT_OP_CONCAT : 0;
    if (type) {
        int all_s8 = 1;
        for (int i = 0; i < n->n_in; i++)
            all_s8 = all_s8 && ex_is_s8(L, n->in[i]);
        fq = all_s8 ? ex_next_fq(L, idx, &act) : -1;
        int mid = -1; /* a relu between the op and its fake_quant */
        if (fq < 0 && ex_sole(g, idx, &pith_op_relu) >= 0 && all_s8) {
            int r = ex_sole(g, idx, &pith_op_relu), a2;
            int f2 = ex_next_fq(L, r, &a2);
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
            in[i] = fq >= 0 ? L->val[n->in[i]].t : ex_as_f32(L, n->in[i]);
            if (in[i] < 0)
                return in[i];
        }
        int last = fq >= 0 ? fq : idx;
        if (fq < 0 && type == PITHRT_OP_ADD) {
            int r = ex_sole(g, idx, &pith_op_relu), r6 = ex_sole(g, idx, &pith_op_relu6);
            if (r >= 0 || r6 >= 0) {
                act = r >= 0 ? PITHRT_ACT_RELU : PITHRT_ACT_RELU6;
                last = r >= 0 ? r : r6;
                L->done[last] = 1;
            }
        }
        y = fq >= 0 ? ex_new_act(L, &g->nodes[fq], "", 1, &g->nodes[fq]) : ex_new_act(L, &g->nodes[last], "", 0, NULL);
        if (y < 0)
            return y;
        pithrt_op o = pithrt_writer_op0(type, n->name, in[0], y);
        o.n_in = n->n_in;
        for (int i = 1; i < n->n_in; i++)
            o.in[i] = in[i];
        o.act = (uint8_t)act;
        if (type == PITHRT_OP_AVGPOOL)
            ex_set_geom(&o, &n->a);
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
        fq = ex_is_s8(L, n->in[0]) ? ex_next_fq(L, idx, &a2) : -1;
        if (fq >= 0 && a2 == PITHRT_ACT_NONE) /* int8 -> int8 through a table */
            return ex_lower_table(L, idx, fq, act_value, &act);
        int x = ex_as_f32(L, n->in[0]);
        y = ex_new_act(L, n, "", 0, NULL);
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
