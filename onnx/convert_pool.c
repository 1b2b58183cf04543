/* Pooling: MaxPool, AveragePool, GlobalAveragePool. */
#include <string.h>

#include "../core/error.h"
#include "../runtime/kernels/pool_dims.h"
#include "importer.h"

int ox_window(ox_importer *im, const Onnx__NodeProto *n, const ox_value *x, pith_attrs *a, int need_kernel);

static int pool(ox_importer *im, const Onnx__NodeProto *n, const char *op)
{
    ox_value *x = ox_computed(im, n, 0, 0);
    if (!x)
        return PITH_EFORMAT;
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
    const pith_shape *in = &im->g->nodes[xn].out;
    int eh = a.pool_ext & 4 ? a.ph_end : a.ph, ew = a.pool_ext & 4 ? a.pw_end : a.pw;
    /* ceil mode only where it adds a window (the fast kernels take the rest) */
    if (ox_attr_int(n, "ceil_mode", 0) &&
        (pithrt_pool_out_dim(in->d[1], a.kh, a.sh, a.ph, eh, 1) != pithrt_pool_out_dim(in->d[1], a.kh, a.sh, a.ph, eh, 0) ||
         pithrt_pool_out_dim(in->d[2], a.kw, a.sw, a.pw, ew, 1) != pithrt_pool_out_dim(in->d[2], a.kw, a.sw, a.pw, ew, 0)))
        a.pool_ext |= 1;
    /* ONNX's default leaves padding out of the mean, PyTorch's counts it */
    if (strcmp(op, "avgpool") == 0 && !ox_attr_int(n, "count_include_pad", 0))
        a.pool_ext |= 2;
    if (a.pool_ext == 2 && !a.ph && !a.pw) /* no padding: the two agree */
        a.pool_ext = 0;
    int idx = ox_add(im, op, "", &a, &xn, 1);
    return idx < 0 ? idx : ox_define_node(im, n->output[0], idx, rank);
}

int ox_maxpool(ox_importer *im, const Onnx__NodeProto *n) { return pool(im, n, "maxpool"); }
int ox_avgpool(ox_importer *im, const Onnx__NodeProto *n) { return pool(im, n, "avgpool"); }

int ox_global_avgpool(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_computed(im, n, 0, 4);
    if (!x)
        return PITH_EFORMAT;
    int xn = x->node;
    int idx = ox_add(im, "global_avgpool", "", &(pith_attrs){0}, &xn, 1);
    return idx < 0 ? idx : ox_define_node(im, n->output[0], idx, 4);
}

int ox_global_maxpool(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_computed(im, n, 0, 4);
    if (!x)
        return PITH_EFORMAT;
    int xn = x->node;
    int idx = ox_add(im, "global_maxpool", "", &(pith_attrs){0}, &xn, 1);
    return idx < 0 ? idx : ox_define_node(im, n->output[0], idx, 4);
}

/* ReduceMean over H and W (x.mean([2, 3])): global average pooling, then a
 * flatten when keepdims = 0. */
int ox_reduce_mean(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    if (x->is_const)
        return ox_fail(im, PITH_EFORMAT, "ReduceMean of a constant is not supported");
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
    x = ox_get(im, n->input[0]);
    const int rank = x->rank, keep = (int)ox_attr_int(n, "keepdims", 1);
    int h = 0, w = 0, ch = 0, other = 0;
    for (int k = 0; k < na; k++) {
        int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
        ch |= a == 1, h |= rank == 4 && a == 2, w |= rank == 4 && a == 3, other |= a == 0 || a >= rank ||
                                                                              (rank < 4 && a > 1);
    }
    int xn = x->node;
    if (na == 1 && ch && !other) { /* over channels */
        if (!keep && rank != 3)
            return ox_fail(im, PITH_EFORMAT, "ReduceMean over channels without keepdims of a rank-%d value is not "
                           "supported (rank 3 only)", rank);
        int idx = ox_add(im, "channel_mean", "", &(pith_attrs){0}, &xn, 1);
        if (idx < 0 || keep)
            return idx < 0 ? idx : ox_define_node(im, n->output[0], idx, rank);
        int f = ox_add(im, "flatten", ".flatten", &(pith_attrs){0}, &idx, 1);
        return f < 0 ? f : ox_define_node(im, n->output[0], f, 2);
    }
    if (!(rank == 4 && na == 2 && h && w && !other && !ch))
        return ox_fail(im, PITH_EFORMAT, "ReduceMean over these axes is not supported (pith reduces over the "
                       "channels, or over H and W)");
    int idx = ox_add(im, "global_avgpool", "", &(pith_attrs){0}, &xn, 1);
    if (idx < 0)
        return idx;
    if (keep)
        return ox_define_node(im, n->output[0], idx, 4);
    int f = ox_add(im, "flatten", ".flatten", &(pith_attrs){0}, &idx, 1);
    return f < 0 ? f : ox_define_node(im, n->output[0], f, 2);
}
