/* The ops imported graphs bring: constant nodes (constant tensors of the
 * file), sigmoid, silu and hardsigmoid (act ops), and the broadcasting
 * binaries (binary ops whose second operand may be a constant), in int8
 * where their inputs are and a fake-quant follows, else in f32. */
#include "lower.h"

static int is_const_value(const lower *L, int node)
{
    return L->g->nodes[node].op == &pith_op_constant;
}

static int lower_binary(lower *L, int idx, int kind)
{
    pith_node *n = &L->g->nodes[idx];
    int ca = is_const_value(L, n->in[0]), cb = is_const_value(L, n->in[1]);
    if (ca && cb)
        return pith_error(PITH_EINVAL, "node '%s': both operands are constants (fold them first)", n->name);
    /* int8 when every activation operand is and a fake-quant follows
     * (through any relu it folds): the kernel dequantizes, applies the op
     * and requantizes to that fake-quant's grid */
    int act = PITHRT_ACT_NONE, path[8], n_path = 0, fq = -1;
    if (ex_is_s8(L, n->in[ca ? 1 : 0]) && (ca || cb || ex_is_s8(L, n->in[1])))
        fq = ex_output_fq(L, idx, &act, path, &n_path);
    const int s8 = fq >= 0;
    int x = s8 ? L->val[n->in[ca ? 1 : 0]].t : ex_as_f32(L, n->in[ca ? 1 : 0]);
    int y = s8 ? ex_new_act(L, &L->g->nodes[fq], "", 1, &L->g->nodes[fq]) : ex_new_act(L, n, "", 0, NULL);
    if (x < 0 || y < 0)
        return x < 0 ? x : y;
    pithrt_op o = pithrt_writer_op0(PITHRT_OP_BINARY, n->name, x, y);
    o.flags = (uint8_t)kind;
    o.act = (uint8_t)act;
    if (ca || cb) {
        o.weight = L->val[n->in[ca ? 0 : 1]].t;
        if (ca)
            o.flags |= PITHRT_BIN_CONST_FIRST;
    } else {
        int b = s8 ? L->val[n->in[1]].t : ex_as_f32(L, n->in[1]);
        if (b < 0)
            return b;
        o.n_in = 2;
        o.in[1] = b;
    }
    L->val[idx].t = y;
    if (s8) {
        L->done[fq] = 1;
        L->val[fq].t = y;
        for (int i = 0; i < n_path; i++) {
            L->done[path[i]] = 1;
            L->val[path[i]].t = y;
        }
    }
    return pithrt_writer_op(L->b, &o);
}

/* A batchnorm no layer absorbed (an imported model normalising its input,
 * say): y = x * scale + shift per channel, two binary ops with constants. */
static int lower_batchnorm(lower *L, int idx)
{
    pith_node *n = &L->g->nodes[idx];
    const int c = n->out.d[0];
    float *k = malloc(2 * (size_t)c * sizeof *k);
    if (!k)
        return pith_error(PITH_ENOMEM, "out of memory");
    for (int i = 0; i < c; i++)
        pith_batchnorm_affine(n, i, &k[i], &k[c + i]);
    int32_t d[4] = {c, 1, 1, 0};
    int nd = n->out.ndim == 3 ? 3 : 1;
    char name[64];
    snprintf(name, sizeof name, "%.40s.scale", n->name);
    int ts = pithrt_writer_const(L->b, name, PITHRT_F32, d, nd, k);
    snprintf(name, sizeof name, "%.40s.shift", n->name);
    int tb = ts < 0 ? ts : pithrt_writer_const(L->b, name, PITHRT_F32, d, nd, k + c);
    free(k);
    int x = ex_as_f32(L, n->in[0]);
    int mid = ex_new_act(L, n, ".scaled", 0, NULL), y = ex_new_act(L, n, "", 0, NULL);
    if (tb < 0 || x < 0 || mid < 0 || y < 0)
        return tb < 0 ? tb : x < 0 ? x : mid < 0 ? mid : y;
    pithrt_op o = pithrt_writer_op0(PITHRT_OP_BINARY, n->name, x, mid);
    o.flags = PITHRT_BIN_MUL;
    o.weight = ts;
    int rc = pithrt_writer_op(L->b, &o);
    if (rc)
        return rc;
    o = pithrt_writer_op0(PITHRT_OP_BINARY, n->name, mid, y);
    o.flags = PITHRT_BIN_ADD;
    o.weight = tb;
    L->val[idx].t = y;
    return pithrt_writer_op(L->b, &o);
}

/* A batchnorm's channel ch at x: the forward's own scale and shift. */
static float batchnorm_value(const void *node, int ch, float x)
{
    float scale, shift;
    pith_batchnorm_affine(node, ch, &scale, &shift);
    return x * scale + shift;
}

static float node_value(const void *node, float x)
{
    const pith_node *n = node;
    return n->op->value(n, x);
}

int ex_lower_imported(lower *L, int idx, int *handled)
{
    pith_node *n = &L->g->nodes[idx];
    const pith_op *op = n->op;
    *handled = 1;
    if (op == &pith_op_batchnorm) { /* int8: a table per channel where a fake_quant follows */
        int act = PITHRT_ACT_NONE, fq = ex_is_s8(L, n->in[0]) ? ex_next_fq(L, idx, &act) : -1;
        return fq >= 0 ? ex_lower_channel_tables(L, idx, fq, n->out.d[0], batchnorm_value, n, act)
                       : lower_batchnorm(L, idx);
    }
    if (op == &pith_op_softmax || op == &pith_op_global_maxpool) {
        const pith_shape *in = &L->g->nodes[n->in[0]].out;
        /* a max of int8 codes is the code of the max: the global max pool
         * moves codes; softmax stays in float (pith info says so) */
        const int s8 = op == &pith_op_global_maxpool && ex_is_s8(L, n->in[0]);
        int x = s8 ? L->val[n->in[0]].t : ex_as_f32(L, n->in[0]);
        int y = x < 0 ? x : s8 ? ex_moved_act(L, x, n) : ex_new_act(L, n, "", 0, NULL);
        if (x < 0 || y < 0)
            return x < 0 ? x : y;
        pithrt_op o = pithrt_writer_op0(op == &pith_op_softmax ? PITHRT_OP_SOFTMAX : PITHRT_OP_MAXPOOL, n->name, x, y);
        if (op == &pith_op_softmax) {
            /* 0: the whole tensor (version 1's softmax), else axis + 1 of C x H x W */
            o.ph = n->a.axis == 3 ? 0 : in->ndim == 1 ? 3 : n->a.axis + 1;
        } else { /* a max pool whose window is the plane */
            if (in->d[1] > 64 || in->d[2] > 64)
                return pith_error(PITH_EINVAL, "node '%s': the runtime's pools take windows up to 64 x 64, not %d x %d",
                                  n->name, in->d[1], in->d[2]);
            o.kh = o.sh = in->d[1];
            o.kw = o.sw = in->d[2];
        }
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    if (op == &pith_op_concat && n->n_in > 4) {
        /* the runtime's concat takes up to 4 inputs: a chain, each step
         * joining the previous one's output and up to 3 more; int8 when
         * every input is and a fake-quant follows, each step on its grid
         * (a step requantizes its new inputs and copies the previous
         * step's codes, which are already on it) */
        int act = PITHRT_ACT_NONE, fq = -1, all_s8 = 1;
        for (int i = 0; i < n->n_in; i++)
            all_s8 = all_s8 && ex_is_s8(L, n->in[i]);
        if (all_s8 && ((fq = ex_next_fq(L, idx, &act)) < 0 || act != PITHRT_ACT_NONE))
            fq = -1;
        const pith_node *q = fq >= 0 ? &L->g->nodes[fq] : NULL;
        int prev = q ? L->val[n->in[0]].t : ex_as_f32(L, n->in[0]), at = 1, step = 0;
        int32_t d[4];
        int nd = ex_dims_of(&n->out, d);
        int ch = L->g->nodes[n->in[0]].out.d[0];
        while (prev >= 0 && at < n->n_in) {
            pithrt_op o = pithrt_writer_op0(PITHRT_OP_CONCAT, n->name, prev, -1);
            for (; o.n_in < 4 && at < n->n_in; at++) {
                int t = q ? L->val[n->in[at]].t : ex_as_f32(L, n->in[at]);
                if (t < 0)
                    return t;
                o.in[o.n_in++] = t;
                ch += L->g->nodes[n->in[at]].out.d[0];
            }
            int y;
            if (at == n->n_in) {
                y = q ? ex_new_act(L, q, "", 1, q) : ex_new_act(L, n, "", 0, NULL);
            } else if (q) {
                char suffix[16];
                snprintf(suffix, sizeof suffix, ".part%d", step++);
                pith_node part = *q;
                part.out.d[0] = ch;
                y = ex_new_act(L, &part, suffix, 1, q);
            } else {
                pithrt_tensor t;
                memset(&t, 0, sizeof t);
                t.dtype = PITHRT_F32;
                t.ndim = (uint8_t)nd;
                memcpy(t.dims, d, sizeof d);
                t.dims[0] = ch;
                char name[64];
                snprintf(name, sizeof name, "%.40s.part%d", n->name, step++);
                y = pithrt_writer_tensor(L->b, &t, name);
            }
            if (y < 0)
                return y;
            o.out = y;
            int rc = pithrt_writer_op(L->b, &o);
            if (rc)
                return rc;
            prev = y;
        }
        if (prev < 0)
            return prev;
        L->val[idx].t = prev;
        if (q) {
            L->done[fq] = 1;
            L->val[fq].t = prev;
        }
        return PITH_OK;
    }
    if (op == &pith_op_conv_transpose) {
        char name[64];
        int32_t d[4] = {(int32_t)n->params[0].shape[0], (int32_t)n->params[0].shape[1], (int32_t)n->params[0].shape[2],
                        (int32_t)n->params[0].shape[3]};
        snprintf(name, sizeof name, "%.40s.weight", n->name);
        int tw = pithrt_writer_const(L->b, name, PITHRT_F32, d, 4, pith_param_value(&n->params[0]));
        int tb = -1;
        if (n->a.bias && tw >= 0) {
            snprintf(name, sizeof name, "%.40s.bias", n->name);
            d[0] = n->a.out;
            tb = pithrt_writer_const(L->b, name, PITHRT_F32, d, 1, pith_param_value(&n->params[1]));
        }
        int x = ex_as_f32(L, n->in[0]);
        int y = ex_new_act(L, n, "", 0, NULL);
        if (tw < 0 || (n->a.bias && tb < 0) || x < 0 || y < 0)
            return tw < 0 ? tw : tb < 0 && n->a.bias ? tb : x < 0 ? x : y;
        pithrt_op o = pithrt_writer_op0(PITHRT_OP_CONV_TRANSPOSE, n->name, x, y);
        ex_set_geom(&o, &n->a);
        o.weight = tw;
        o.bias = tb;
        L->val[idx].t = y;
        L->float_layers++;
        return pithrt_writer_op(L->b, &o);
    }
    if (op == &pith_op_pad) {
        /* reflect, edge and zero padding move int8 codes (0 is the zero
         * point's value); another constant keeps the pad in f32 */
        int s8 = ex_is_s8(L, n->in[0]) && (n->a.rmode != 0 || n->a.alpha == 0.0f);
        int x = s8 ? L->val[n->in[0]].t : ex_as_f32(L, n->in[0]), y;
        if (s8) {
            y = ex_moved_act(L, x, n);
        } else {
            y = ex_new_act(L, n, "", 0, NULL);
        }
        char name[64];
        snprintf(name, sizeof name, "%.40s.value", n->name);
        int32_t d[1] = {1};
        int t = pithrt_writer_const(L->b, name, PITHRT_F32, d, 1, &n->a.alpha);
        if (x < 0 || y < 0 || t < 0)
            return x < 0 ? x : y < 0 ? y : t;
        pithrt_op o = pithrt_writer_op0(PITHRT_OP_PAD, n->name, x, y);
        o.ph = n->a.ph, o.pw = n->a.pw, o.dh = n->a.ph_end, o.dw = n->a.pw_end;
        o.flags = (uint8_t)n->a.rmode;
        o.aux = t;
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    if (op == &pith_op_channel_mean) {
        /* a 1 x 1 convolution (a vector: a one-output fc) with every weight 1/C */
        const pith_shape *in = &L->g->nodes[n->in[0]].out;
        const int c = in->d[0];
        float *w = malloc((size_t)c * sizeof *w);
        if (!w)
            return pith_error(PITH_ENOMEM, "out of memory");
        for (int k = 0; k < c; k++)
            w[k] = 1.0f / (float)c;
        char name[64];
        snprintf(name, sizeof name, "%.40s.weight", n->name);
        int32_t d[4] = {1, c, 1, 1};
        int t = in->ndim == 3 ? pithrt_writer_const(L->b, name, PITHRT_F32, d, 4, w)
                              : pithrt_writer_const(L->b, name, PITHRT_F32, d, 2, w);
        free(w);
        int x = ex_as_f32(L, n->in[0]);
        int y = ex_new_act(L, n, "", 0, NULL);
        if (t < 0 || x < 0 || y < 0)
            return t < 0 ? t : x < 0 ? x : y;
        pithrt_op o = pithrt_writer_op0(in->ndim == 3 ? PITHRT_OP_CONV2D : PITHRT_OP_FC, n->name, x, y);
        o.weight = t;
        o.kh = o.kw = o.sh = o.sw = 1;
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    if ((op == &pith_op_maxpool || op == &pith_op_avgpool) && n->a.pool_ext) {
        /* ONNX's pool geometry: the flags and the end padding; a max pool
         * moves int8 codes, an int8 average requantizes to its fake_quant's grid */
        int act = PITHRT_ACT_NONE;
        const int fq = op == &pith_op_avgpool && ex_is_s8(L, n->in[0]) ? ex_next_fq(L, idx, &act) : -1;
        const int s8 = (op == &pith_op_maxpool && ex_is_s8(L, n->in[0])) || fq >= 0;
        int x = s8 ? L->val[n->in[0]].t : ex_as_f32(L, n->in[0]);
        int y = x < 0 ? x : fq >= 0 ? ex_new_act(L, &L->g->nodes[fq], "", 1, &L->g->nodes[fq])
                          : s8 ? ex_moved_act(L, x, n) : ex_new_act(L, n, "", 0, NULL);
        if (x < 0 || y < 0)
            return x < 0 ? x : y;
        if (fq >= 0) {
            L->done[fq] = 1;
            L->val[fq].t = y;
        }
        pithrt_op o = pithrt_writer_op0(op == &pith_op_maxpool ? PITHRT_OP_MAXPOOL : PITHRT_OP_AVGPOOL, n->name, x, y);
        ex_set_geom(&o, &n->a);
        o.flags = (uint8_t)n->a.pool_ext;
        o.act = (uint8_t)act;
        if (n->a.pool_ext & PITHRT_POOL_END_PADS) {
            char name[64];
            snprintf(name, sizeof name, "%.40s.end_pads", n->name);
            int32_t end[2] = {n->a.ph_end, n->a.pw_end}, d[1] = {2};
            if ((o.aux = pithrt_writer_const(L->b, name, PITHRT_S32, d, 1, end)) < 0)
                return o.aux;
        }
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    if (op == &pith_op_constant) {
        int32_t d[4];
        int nd = ex_dims_of(&n->out, d);
        int t = pithrt_writer_const(L->b, n->name, PITHRT_F32, d, nd, n->params[0].data);
        if (t < 0)
            return t;
        L->val[idx].t = t;
        return PITH_OK;
    }
    if (op == &pith_op_broadcast_add)
        return lower_binary(L, idx, PITHRT_BIN_ADD);
    if (op == &pith_op_sub)
        return lower_binary(L, idx, PITHRT_BIN_SUB);
    if (op == &pith_op_mul)
        return lower_binary(L, idx, PITHRT_BIN_MUL);
    if (op == &pith_op_div)
        return lower_binary(L, idx, PITHRT_BIN_DIV);
    if (op == &pith_op_sigmoid || op == &pith_op_silu || op == &pith_op_hardsigmoid || op == &pith_op_clip ||
        op == &pith_op_leaky_relu || op == &pith_op_prelu) {
        int act = PITHRT_ACT_NONE, fq = op->value && ex_is_s8(L, n->in[0]) ? ex_next_fq(L, idx, &act) : -1;
        if (fq >= 0 && act == PITHRT_ACT_NONE) /* int8 to int8: a table of the op's own values */
            return ex_lower_table(L, idx, fq, node_value, n);
        int x = ex_as_f32(L, n->in[0]);
        int y = ex_new_act(L, n, "", 0, NULL);
        if (x < 0 || y < 0)
            return x < 0 ? x : y;
        pithrt_op o = pithrt_writer_op0(PITHRT_OP_ACT, n->name, x, y);
        o.act = op == &pith_op_sigmoid       ? PITHRT_ACT_SIGMOID
                : op == &pith_op_silu        ? PITHRT_ACT_SILU
                : op == &pith_op_hardsigmoid ? PITHRT_ACT_HARDSIGMOID
                : op == &pith_op_clip        ? PITHRT_ACT_CLIP
                : op == &pith_op_leaky_relu  ? PITHRT_ACT_LEAKY_RELU
                                             : PITHRT_ACT_PRELU;
        if (o.act >= PITHRT_ACT_HARDSIGMOID) {
            char name[64];
            snprintf(name, sizeof name, "%s.params", n->name);
            float ab[2] = {n->a.alpha, n->a.beta};
            const float *pv = ab;
            int32_t d[1] = {2};
            if (op == &pith_op_prelu) {
                pv = pith_param_value(&n->params[0]);
                d[0] = (int32_t)n->params[0].size;
            }
            if ((o.aux = pithrt_writer_const(L->b, name, PITHRT_F32, d, 1, pv)) < 0)
                return o.aux;
        }
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    if (op == &pith_op_resize) {
        /* int8 from int8: nearest moves codes and keeps the input's grid,
         * bilinear requantizes to the fake-quant after it */
        int act = PITHRT_ACT_NONE, fq = -1, s8 = ex_is_s8(L, n->in[0]);
        if (s8 && n->a.rmode == 1 && ((fq = ex_next_fq(L, idx, &act)) < 0 || act != PITHRT_ACT_NONE))
            s8 = 0, fq = -1;
        int x = s8 ? L->val[n->in[0]].t : ex_as_f32(L, n->in[0]), y;
        if (s8 && fq < 0) {
            y = ex_moved_act(L, x, n);
        } else {
            y = s8 ? ex_new_act(L, &L->g->nodes[fq], "", 1, &L->g->nodes[fq]) : ex_new_act(L, n, "", 0, NULL);
        }
        if (fq >= 0 && y >= 0) {
            L->done[fq] = 1;
            L->val[fq].t = y;
        }
        char name[64];
        snprintf(name, sizeof name, "%s.scales", n->name);
        float sc[2] = {n->a.rsh, n->a.rsw};
        int32_t d[1] = {2};
        int t = pithrt_writer_const(L->b, name, PITHRT_F32, d, 1, sc);
        if (x < 0 || y < 0 || t < 0)
            return x < 0 ? x : y < 0 ? y : t;
        pithrt_op o = pithrt_writer_op0(PITHRT_OP_RESIZE, n->name, x, y);
        o.flags = (uint8_t)(n->a.rmode | n->a.rcoord << 1 | n->a.rnearest << 3);
        o.aux = t;
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    if (op == &pith_op_channel_shuffle || op == &pith_op_slice) {
        /* data movement: int8 codes move as they are, keeping their scale */
        int s8 = ex_is_s8(L, n->in[0]);
        int x = s8 ? L->val[n->in[0]].t : ex_as_f32(L, n->in[0]);
        if (x < 0)
            return x;
        int y = ex_moved_act(L, x, n);
        if (y < 0)
            return y;
        pithrt_op o = pithrt_writer_op0(op == &pith_op_slice ? PITHRT_OP_SLICE : PITHRT_OP_SHUFFLE, n->name, x, y);
        if (op == &pith_op_channel_shuffle)
            o.groups = n->a.groups;
        else
            o.ph = n->a.ph;
        L->val[idx].t = y;
        return pithrt_writer_op(L->b, &o);
    }
    *handled = 0;
    return PITH_OK;
}
