/* Pooling: MaxPool, AveragePool, GlobalAveragePool. */
#include <string.h>

#include "../core/error.h"
#include "importer.h"

int ox_window(ox_importer *im, const Onnx__NodeProto *n, const ox_value *x, pith_attrs *a, int need_kernel);

static int out_dim(int in, int k, int s, int p, int d, int ceil_mode)
{
    int span = in + 2 * p - d * (k - 1) - 1;
    return (ceil_mode ? (span + s - 1) / s : span / s) + 1;
}

static int pool(ox_importer *im, const Onnx__NodeProto *n, const char *op)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    if (x->is_const)
        return ox_fail(im, PITH_EFORMAT, "input '%s' is a constant", x->name);
    int xn = x->node, rank = x->rank;
    pith_attrs a = {0};
    int rc = ox_window(im, n, x, &a, 1);
    if (rc < 0)
        return rc;
    if (a.dh != 1 || a.dw != 1)
        return ox_fail(im, PITH_EFORMAT, "dilated pooling is not supported");
    a.dh = a.dw = 0;
    if (n->n_output > 1 && n->output[1][0] && ox_uses(im, n->output[1]))
        return ox_fail(im, PITH_EFORMAT, "the Indices output is used; not supported");
    const pith_shape *s = &im->g->nodes[xn].out;
    if (ox_attr_int(n, "ceil_mode", 0)) {
        /* ceil_mode only matters when it adds a window */
        if (out_dim(s->d[1], a.kh, a.sh, a.ph, 1, 1) != out_dim(s->d[1], a.kh, a.sh, a.ph, 1, 0) ||
            out_dim(s->d[2], a.kw, a.sw, a.pw, 1, 1) != out_dim(s->d[2], a.kw, a.sw, a.pw, 1, 0))
            return ox_fail(im, PITH_EFORMAT, "ceil_mode = 1 adds a partial window on a %dx%d input; not supported yet",
                           s->d[1], s->d[2]);
    }
    if (strcmp(op, "avgpool") == 0 && (a.ph || a.pw) && !ox_attr_int(n, "count_include_pad", 0))
        return ox_fail(im, PITH_EFORMAT, "padded average pooling with count_include_pad = 0 is not supported yet "
                       "(pith counts padding in the divisor, as PyTorch's default)");
    int idx = ox_add(im, op, "", &a, &xn, 1);
    return idx < 0 ? idx : ox_define_node(im, n->output[0], idx, rank);
}

int ox_maxpool(ox_importer *im, const Onnx__NodeProto *n) { return pool(im, n, "maxpool"); }
int ox_avgpool(ox_importer *im, const Onnx__NodeProto *n) { return pool(im, n, "avgpool"); }

int ox_global_avgpool(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    if (x->is_const || x->rank != 4)
        return ox_fail(im, PITH_EFORMAT, "input must be a computed N x C x H x W value");
    int xn = x->node;
    int idx = ox_add(im, "global_avgpool", "", &(pith_attrs){0}, &xn, 1);
    return idx < 0 ? idx : ox_define_node(im, n->output[0], idx, 4);
}

/* ReduceMean over H and W (x.mean([2, 3])): global average pooling, then a
 * flatten when keepdims = 0. */
int ox_reduce_mean(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    if (x->is_const || x->rank != 4)
        return ox_fail(im, PITH_EFORMAT, "ReduceMean of a computed N x C x H x W value only");
    int64_t axes[4];
    int na;
    if (im->opset < 18) {
        na = ox_attr_ints(im, n, "axes", axes, 4);
    } else if (ox_has_input(n, 1)) {
        ox_value *a = ox_input(im, n, 1);
        if (!a || !a->is_const || a->n > 4)
            return a ? ox_fail(im, PITH_EFORMAT, "axes must be a constant") : PITH_EFORMAT;
        na = (int)a->n;
        for (int k = 0; k < na; k++)
            axes[k] = ox_geti(a, (size_t)k);
    } else {
        na = 0;
    }
    if (na < 0)
        return na;
    int h = 0, w = 0, other = 0;
    for (int k = 0; k < na; k++) {
        int64_t a = axes[k] < 0 ? axes[k] + 4 : axes[k];
        h |= a == 2, w |= a == 3, other |= a != 2 && a != 3;
    }
    if (!(na == 2 && h && w && !other))
        return ox_fail(im, PITH_EFORMAT, "ReduceMean over axes other than {2, 3} (H and W) is not supported yet");
    int xn = ox_get(im, n->input[0])->node;
    int idx = ox_add(im, "global_avgpool", "", &(pith_attrs){0}, &xn, 1);
    if (idx < 0)
        return idx;
    if (ox_attr_int(n, "keepdims", 1))
        return ox_define_node(im, n->output[0], idx, 4);
    int f = ox_add(im, "flatten", ".flatten", &(pith_attrs){0}, &idx, 1);
    return f < 0 ? f : ox_define_node(im, n->output[0], f, 2);
}
