/* Conv, Gemm, MatMul, BatchNormalization: the layers with weights. Their
 * constant operands become the pith layer's parameters. */
#include <math.h>
#include <string.h>

#include "../core/error.h"
#include "importer.h"

static ox_value *const_input(ox_importer *im, const Onnx__NodeProto *n, int k, const char *what)
{
    ox_value *v = ox_input(im, n, k);
    if (v && !v->is_const) {
        ox_fail(im, PITH_EFORMAT, "the %s (input %d '%s') is computed by the graph; pith needs it constant (an "
                "initializer)", what, k, v->name);
        return NULL;
    }
    return v;
}

/* Copies a constant into a parameter of the same element count. */
static int fill_param(ox_importer *im, pith_node *nd, const char *param, const ox_value *c, float scale)
{
    pith_param *p = pith_node_param(nd, param);
    if (!p || p->size != c->n)
        return ox_fail(im, PITH_ESHAPE, "'%s' has %zu values; the layer's %s needs %zu", c->name, c->n, param,
                       p ? p->size : 0);
    for (size_t k = 0; k < p->size; k++)
        p->data[k] = scale * (float)ox_getf(c, k);
    return PITH_OK;
}

/* pads from pads / auto_pad: before (pad) and after (end) each spatial
 * axis; only pools take different ones (pith's convolutions pad both sides
 * alike) */
static int conv_pads(ox_importer *im, const Onnx__NodeProto *n, int sp, const int64_t *in, const int64_t *k,
                     const int64_t *s, const int64_t *d, int64_t *pad, int64_t *end, int allow_asym)
{
    const char *ap = ox_attr_string(n, "auto_pad", "NOTSET");
    int64_t p[4] = {0, 0, 0, 0};
    if (strcmp(ap, "NOTSET") == 0) {
        int np = ox_attr_ints(im, n, "pads", p, 4);
        if (np < 0)
            return np;
        if (np && np != 2 * sp)
            return ox_fail(im, PITH_EFORMAT, "pads has %d values for %d spatial axes", np, sp);
    } else if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
        for (int a = 0; a < sp; a++) {
            int64_t out = (in[a] + s[a] - 1) / s[a];
            int64_t total = (out - 1) * s[a] + (k[a] - 1) * d[a] + 1 - in[a];
            if (total < 0)
                total = 0;
            int upper = ap[5] == 'U';
            p[a] = upper ? total / 2 : total - total / 2;
            p[a + sp] = total - p[a];
        }
    } else if (strcmp(ap, "VALID") != 0) {
        return ox_fail(im, PITH_EFORMAT, "auto_pad '%s' is not an ONNX value", ap);
    }
    for (int a = 0; a < sp; a++) {
        if (p[a] < 0 || p[a + sp] < 0 || p[a] > 1024)
            return ox_fail(im, PITH_EFORMAT, "pads [%lld, %lld] on axis %d", (long long)p[a], (long long)p[a + sp], a);
        if (p[a] != p[a + sp] && !allow_asym)
            return ox_fail(im, PITH_EFORMAT, "asymmetric padding (%lld before, %lld after on spatial axis %d%s) is "
                           "not supported yet", (long long)p[a], (long long)p[a + sp], a,
                           strcmp(ap, "NOTSET") ? ", from auto_pad" : "");
        pad[a] = p[a];
        end[a] = p[a + sp];
    }
    return PITH_OK;
}

/* Reads kernel_shape/strides/dilations for sp spatial axes (defaults 1). */
static int window_attrs(ox_importer *im, const Onnx__NodeProto *n, int sp, int64_t *k, int64_t *s, int64_t *d)
{
    int nk = ox_attr_ints(im, n, "kernel_shape", k, 2), ns, nd;
    if (nk < 0 || (ns = ox_attr_ints(im, n, "strides", s, 2)) < 0 || (nd = ox_attr_ints(im, n, "dilations", d, 2)) < 0)
        return PITH_EFORMAT;
    if ((nk && nk != sp) || (ns && ns != sp) || (nd && nd != sp))
        return ox_fail(im, PITH_EFORMAT, "kernel_shape, strides and dilations need %d values each", sp);
    for (int a = 0; a < sp; a++) {
        if (!ns)
            s[a] = 1;
        if (!nd)
            d[a] = 1;
        if (s[a] < 1 || s[a] > 64 || d[a] < 1 || d[a] > 64 || (nk && (k[a] < 1 || k[a] > 64)))
            return ox_fail(im, PITH_EFORMAT, "kernel, stride and dilation must be 1 to 64");
    }
    return nk;
}

int ox_window(ox_importer *im, const Onnx__NodeProto *n, const ox_value *x, pith_attrs *a, int need_kernel)
{
    /* pools take the end padding as it is; a conv takes the smaller side of
     * each axis and gets the rest from a pad node in front (ox_conv) */
    int sp = x->rank - 2;
    if (sp != 1 && sp != 2)
        return ox_fail(im, PITH_EFORMAT, "input of rank %d; pith imports 1-D and 2-D windows (rank 3 or 4)", x->rank);
    int64_t k[2] = {1, 1}, s[2], d[2], p[2], e[2], in[2];
    int nk = window_attrs(im, n, sp, k, s, d);
    if (nk < 0)
        return nk;
    if (need_kernel && !nk)
        return ox_fail(im, PITH_EFORMAT, "kernel_shape is missing");
    for (int q = 0; q < sp; q++)
        in[q] = x->dims[2 + q];
    int rc = conv_pads(im, n, sp, in, k, s, d, p, e, 1);
    if (rc)
        return rc;
    if (p[0] != e[0] || (sp == 2 && p[1] != e[1])) {
        a->pool_ext |= 4; /* end padding of its own */
        a->ph_end = sp == 1 ? 0 : (int)e[0];
        a->pw_end = (int)e[sp - 1];
    }
    if (sp == 1) { /* C x 1 x L: the window runs along W */
        a->kh = 1, a->kw = (int)k[0], a->sh = 1, a->sw = (int)s[0], a->ph = 0, a->pw = (int)p[0];
        a->dh = 1, a->dw = (int)d[0];
    } else {
        a->kh = (int)k[0], a->kw = (int)k[1], a->sh = (int)s[0], a->sw = (int)s[1], a->ph = (int)p[0];
        a->pw = (int)p[1], a->dh = (int)d[0], a->dw = (int)d[1];
    }
    return nk;
}

int ox_conv(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_computed(im, n, 0, 0), *w = x ? const_input(im, n, 1, "weight") : NULL;
    if (!w)
        return PITH_EFORMAT;
    int xn = x->node, rank = x->rank; /* x may move as values are added */
    if (w->rank != rank)
        return ox_fail(im, PITH_ESHAPE, "weight of rank %d for an input of rank %d", w->rank, rank);
    pith_attrs a = {0};
    int64_t ks[2] = {w->dims[2], rank == 4 ? w->dims[3] : 1};
    int rc = ox_window(im, n, x, &a, 0);
    if (rc < 0)
        return rc;
    if (rc && (a.kh != (rank == 4 ? ks[0] : 1) || a.kw != (rank == 4 ? ks[1] : ks[0])))
        return ox_fail(im, PITH_ESHAPE, "kernel_shape disagrees with the weight's shape");
    a.kh = rank == 4 ? (int)ks[0] : 1;
    a.kw = rank == 4 ? (int)ks[1] : (int)ks[0];
    a.out = (int)w->dims[0];
    a.groups = (int)ox_attr_int(n, "group", 1);
    if (a.groups < 1)
        return ox_fail(im, PITH_EFORMAT, "group %d", a.groups);
    ox_value *b = NULL;
    if (ox_has_input(n, 2) && !(b = const_input(im, n, 2, "bias")))
        return PITH_EFORMAT;
    a.bias = b != NULL;
    if ((int64_t)im->g->nodes[xn].out.d[0] != w->dims[1] * a.groups)
        return ox_fail(im, PITH_ESHAPE, "weight [%lld, %lld, ...] with %d groups for %d input channels",
                       (long long)w->dims[0], (long long)w->dims[1], a.groups, im->g->nodes[xn].out.d[0]);
    if (a.pool_ext) {
        /* asymmetric padding: the common part in the conv, the rest a zero pad node */
        int th = a.ph < a.ph_end ? a.ph : a.ph_end, tw = a.pw < a.pw_end ? a.pw : a.pw_end;
        int pn = ox_pad_node(im, xn, a.ph - th, a.pw - tw, a.ph_end - th, a.pw_end - tw, 0, 0.0f, ".pad");
        if (pn < 0)
            return pn;
        xn = pn;
        a.ph = th, a.pw = tw;
        a.pool_ext = a.ph_end = a.pw_end = 0;
    }
    int idx = ox_add(im, "conv2d", "", &a, &xn, 1);
    if (idx < 0)
        return idx;
    if ((rc = fill_param(im, &im->g->nodes[idx], "weight", w, 1.0f)) ||
        (b && (rc = fill_param(im, &im->g->nodes[idx], "bias", b, 1.0f))) || (rc = ox_qdq_weights(im, w, idx)))
        return rc;
    return ox_define_node(im, n->output[0], idx, rank);
}

/* A linear layer from x (a rank-2 value), weight w[out][in] given by `wt`
 * (the constant, read transposed when trans == 0), an optional bias. */
static int linear(ox_importer *im, int xn, const ox_value *wt, int trans, float alpha,
                  const ox_value *bias, float beta, const char *out_name)
{
    if (wt->rank != 2)
        return ox_fail(im, PITH_ESHAPE, "weight '%s' of rank %d (2 expected)", wt->name, wt->rank);
    int64_t in = trans ? wt->dims[1] : wt->dims[0], out = trans ? wt->dims[0] : wt->dims[1];
    const pith_shape *xs = &im->g->nodes[xn].out;
    if (xs->ndim != 1 || xs->d[0] != in)
        return ox_fail(im, PITH_ESHAPE, "a [%lld x %lld] weight for an input of %zu features", (long long)wt->dims[0],
                       (long long)wt->dims[1], pith_shape_size(xs));
    if (bias && bias->n != (size_t)out && bias->n != 1)
        return ox_fail(im, PITH_ESHAPE, "bias '%s' has %zu values for %lld outputs", bias->name, bias->n,
                       (long long)out);
    pith_attrs a = {0};
    a.out = (int)out;
    a.bias = bias != NULL;
    int idx = ox_add(im, "linear", "", &a, &xn, 1);
    if (idx < 0)
        return idx;
    int rc = trans || !wt->qw ? ox_qdq_weights(im, wt, idx) : PITH_OK; /* per-output scales: axis 0 of [out][in] */
    if (rc)
        return rc;
    pith_node *nd = &im->g->nodes[idx];
    float *w = pith_node_param(nd, "weight")->data;
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < in; i++)
            w[o * in + i] = alpha * (float)ox_getf(wt, trans ? (size_t)(o * in + i) : (size_t)(i * out + o));
    if (bias) {
        float *b = pith_node_param(nd, "bias")->data;
        for (int64_t o = 0; o < out; o++)
            b[o] = beta * (float)ox_getf(bias, bias->n == 1 ? 0 : (size_t)o);
    }
    return ox_define_node(im, out_name, idx, 2);
}

int ox_gemm(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_computed(im, n, 0, 0), *w = x ? const_input(im, n, 1, "weight (B)") : NULL;
    if (!w)
        return PITH_EFORMAT;
    if (x->rank != 2)
        return ox_fail(im, PITH_ESHAPE, "A has rank %d; Gemm takes rank 2", x->rank);
    if (ox_attr_int(n, "transA", 0))
        return ox_fail(im, PITH_EFORMAT, "transA = 1 (the batch along columns) is not supported");
    ox_value *c = NULL;
    if (ox_has_input(n, 2) && !(c = const_input(im, n, 2, "bias (C)")))
        return PITH_EFORMAT;
    if (c && c->rank == 2 && c->dims[0] != 1)
        return ox_fail(im, PITH_ESHAPE, "C of %lld rows; pith's bias is the same for every sample",
                       (long long)c->dims[0]);
    return linear(im, x->node, w, (int)ox_attr_int(n, "transB", 0), ox_attr_float(n, "alpha", 1.0f), c,
                  ox_attr_float(n, "beta", 1.0f), n->output[0]);
}

/* MatMul(x, W) with a constant W [in, out]; a following Add of a constant
 * [out] (PyTorch's Linear at some opsets) becomes the layer's bias. */
int ox_matmul(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_computed(im, n, 0, 0), *w = x ? const_input(im, n, 1, "second operand") : NULL;
    if (!w)
        return PITH_EFORMAT;
    if (x->rank != 2)
        return ox_fail(im, PITH_ESHAPE, "a rank-%d first operand; pith imports MatMul of N x F by a constant", x->rank);
    int xn = x->node;
    int k = ox_sole_consumer(im, n->output[0], im->node_index);
    if (k >= 0) {
        const Onnx__NodeProto *add = im->graph->node[k];
        if (strcmp(ox_str(add->op_type), "Add") == 0 && add->n_input == 2 && add->n_output >= 1 &&
            !ox_str(add->domain)[0]) {
            const char *other = strcmp(add->input[0], n->output[0]) == 0 ? add->input[1] : add->input[0];
            ox_value *b = ox_get(im, other);
            if (b && b->is_const && b->n == (size_t)w->dims[1] && b->rank <= 2) {
                im->skip[k] = 1;
                return linear(im, xn, w, 0, 1.0f, b, 1.0f, add->output[0]);
            }
        }
    }
    return linear(im, xn, w, 0, 1.0f, NULL, 1.0f, n->output[0]);
}

int ox_batchnorm(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_computed(im, n, 0, 0);
    if (!x)
        return PITH_EFORMAT;
    int xn = x->node, rank = x->rank;
    const char *what[4] = {"scale", "bias", "mean", "variance"};
    ox_value *c[4];
    for (int k = 0; k < 4; k++)
        if (!(c[k] = const_input(im, n, k + 1, what[k])))
            return PITH_EFORMAT;
    for (size_t k = 1; k < n->n_output; k++)
        if (n->output[k][0] && ox_uses(im, n->output[k]))
            return ox_fail(im, PITH_EFORMAT, "output %zu (training statistics) is used; pith imports inference "
                           "batch normalization", k);
    if (ox_attr_int(n, "spatial", 1) != 1 || ox_attr(n, "is_test") || ox_attr(n, "consumed_inputs"))
        return ox_fail(im, PITH_EFORMAT, "the spatial / is_test / consumed_inputs attributes of old opsets are not "
                       "supported");
    pith_attrs a = {0};
    a.eps = ox_attr_float(n, "epsilon", 1e-5f);
    /* ONNX: running = running * momentum + batch * (1 - momentum);
     * pith keeps PyTorch's convention, the weight of the batch */
    a.momentum = 1.0f - ox_attr_float(n, "momentum", 0.9f);
    if (!(a.eps > 0.0f) || !(a.momentum >= 0.0f && a.momentum <= 1.0f))
        return ox_fail(im, PITH_EFORMAT, "epsilon %g, momentum %g", (double)a.eps, 1.0 - a.momentum);
    int idx = ox_add(im, "batchnorm", "", &a, &xn, 1);
    if (idx < 0)
        return idx;
    const char *param[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++) {
        int rc = fill_param(im, &im->g->nodes[idx], param[k], c[k], 1.0f);
        if (rc)
            return rc;
    }
    return ox_define_node(im, n->output[0], idx, rank);
}

/* ConvTranspose: the weight [in][out / groups][k] constant; pads symmetric
 * per axis (or derived from output_shape); output_padding kept. */
int ox_conv_transpose(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_computed(im, n, 0, 0), *w = x ? const_input(im, n, 1, "weight") : NULL;
    if (!w)
        return PITH_EFORMAT;
    int xn = x->node, rank = x->rank;
    if ((rank != 4 && rank != 3) || w->rank != rank)
        return ox_fail(im, PITH_EFORMAT, "ConvTranspose of rank %d; pith imports 1-D and 2-D ones", rank);
    /* 1-D (N x C x L, held as C x 1 x L): the H axis is 1 wide, unpadded */
    const int sp = rank - 2;
    int64_t s[2] = {1, 1}, d[2] = {1, 1}, p[4] = {0, 0, 0, 0}, op[2] = {0, 0}, os[2], t[4];
    int ns = ox_attr_ints(im, n, "strides", t, 2);
    for (int q = 0; q < ns; q++)
        s[2 - sp + q] = t[q];
    int nd = ox_attr_ints(im, n, "dilations", t, 2);
    for (int q = 0; q < nd; q++)
        d[2 - sp + q] = t[q];
    int np = ox_attr_ints(im, n, "pads", t, 4);
    for (int q = 0; q < np / 2 && np == 2 * sp; q++)
        p[2 - sp + q] = t[q], p[4 - sp + q] = t[sp + q];
    int no = ox_attr_ints(im, n, "output_padding", t, 2);
    for (int q = 0; q < no; q++)
        op[2 - sp + q] = t[q];
    int nos = ox_attr_ints(im, n, "output_shape", t, 2);
    for (int q = 0; q < nos; q++)
        os[2 - sp + q] = t[q];
    if (sp == 1 && nos == 1)
        os[0] = 1, nos = 2;
    if (ns < 0 || nd < 0 || np < 0 || no < 0 || nos < 0 || (np && np != 2 * sp))
        return PITH_EFORMAT;
    const char *ap = ox_attr_string(n, "auto_pad", "NOTSET");
    const int64_t k[2] = {sp == 2 ? w->dims[2] : 1, w->dims[rank - 1]};
    const int64_t in[2] = {sp == 2 ? x->dims[2] : 1, x->dims[rank - 1]};
    if (nos == 2 || strcmp(ap, "NOTSET")) {
        /* the padding that gives output_shape (or in * stride for SAME) */
        for (int a = 0; a < 2; a++) {
            int64_t want = nos == 2 ? os[a] : in[a] * s[a];
            int64_t total = s[a] * (in[a] - 1) + op[a] + (k[a] - 1) * d[a] + 1 - want;
            if (strcmp(ap, "VALID") == 0 && nos != 2)
                total = 0;
            int upper = strcmp(ap, "SAME_UPPER") == 0;
            int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2); /* floor, as ONNX's numpy reference */
            p[a] = upper ? half : total - half;
            p[a + 2] = total - p[a];
        }
    }
    for (int q = 0; q < 2; q++)
        if (p[q] < -64 || p[q] > 64 || p[q + 2] < -64 || p[q + 2] > 64)
            return ox_fail(im, PITH_EFORMAT, "ConvTranspose padding %lld, %lld on axis %d", (long long)p[q],
                           (long long)p[q + 2], q);
    pith_attrs a = {0};
    a.groups = (int)ox_attr_int(n, "group", 1);
    a.out = (int)w->dims[1] * a.groups;
    a.kh = (int)k[0], a.kw = (int)k[1], a.sh = (int)s[0], a.sw = (int)s[1], a.ph = (int)p[0], a.pw = (int)p[1];
    a.dh = (int)d[0], a.dw = (int)d[1];
    /* the end padding as a difference in the output size */
    a.oh = (int)(op[0] + p[0] - p[2]), a.ow = (int)(op[1] + p[1] - p[3]);
    ox_value *b = NULL;
    if (ox_has_input(n, 2) && !(b = const_input(im, n, 2, "bias")))
        return PITH_EFORMAT;
    a.bias = b != NULL;
    if ((int64_t)im->g->nodes[xn].out.d[0] != w->dims[0])
        return ox_fail(im, PITH_ESHAPE, "a weight of %lld input channels for %d", (long long)w->dims[0],
                       im->g->nodes[xn].out.d[0]);
    int idx = ox_add(im, "conv_transpose", "", &a, &xn, 1);
    if (idx < 0)
        return idx;
    int rc;
    if ((rc = fill_param(im, &im->g->nodes[idx], "weight", w, 1.0f)) ||
        (b && (rc = fill_param(im, &im->g->nodes[idx], "bias", b, 1.0f))))
        return rc;
    return ox_define_node(im, n->output[0], idx, rank);
}
