/* Transpose, Split and Slice. On constants they fold; on computed values
 * pith takes what CNNs do with them: the transpose inside a channel shuffle,
 * and splits and slices along channels (ShuffleNet's chunk). */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../core/error.h"
#include "importer.h"

int ox_transpose(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    int64_t perm[OX_MAX_RANK];
    int np = ox_attr_ints(im, n, "perm", perm, OX_MAX_RANK);
    if (np < 0)
        return np;
    int r = x->rank;
    if (np == 0) /* default: reverse the axes */
        for (int k = 0; k < r; k++)
            perm[k] = r - 1 - k;
    else if (np != r)
        return ox_fail(im, PITH_EFORMAT, "perm has %d values for rank %d", np, r);
    int seen[OX_MAX_RANK] = {0};
    for (int k = 0; k < r; k++) {
        if (perm[k] < 0 || perm[k] >= r || seen[perm[k]]++)
            return ox_fail(im, PITH_EFORMAT, "perm is not a permutation of 0..%d", r - 1);
    }
    if (x->shuffle == 1 && perm[0] == 0 && perm[1] == 2 && perm[2] == 1 && perm[3] == 3 && perm[4] == 4) {
        ox_value copy = *x;
        ox_value *v = ox_define(im, n->output[0]);
        if (!v)
            return PITH_EFORMAT;
        *v = copy;
        v->name = n->output[0];
        v->shuffle = 2;
        v->dims[1] = copy.dims[2];
        v->dims[2] = copy.dims[1];
        return PITH_OK;
    }
    if (!x->is_const)
        return ox_fail(im, PITH_EFORMAT, "Transpose of a computed value; pith imports it inside a channel shuffle "
                       "only (layouts stay N x C x H x W)");
    int64_t od[OX_MAX_RANK], src_stride[OX_MAX_RANK];
    size_t st = 1;
    for (int k = r - 1; k >= 0; k--) {
        src_stride[k] = (int64_t)st;
        st *= (size_t)x->dims[k];
    }
    for (int k = 0; k < r; k++)
        od[k] = x->dims[perm[k]];
    ox_value cx = *x;
    ox_value *y = ox_define_const(im, n->output[0], cx.is_int, r, od);
    if (!y)
        return PITH_EFORMAT;
    int64_t pos[OX_MAX_RANK] = {0};
    for (size_t q = 0; q < y->n; q++) {
        size_t src = 0;
        for (int k = 0; k < r; k++)
            src += (size_t)(pos[k] * src_stride[perm[k]]);
        if (cx.is_int)
            y->i[q] = cx.i[src];
        else
            y->f[q] = cx.f[src];
        ox_next_index(pos, od, r);
    }
    if (im->info)
        im->info->folded++;
    return PITH_OK;
}

/* Channels [start, start + count) of computed value x as a slice node. */
static int channel_slice(ox_importer *im, const ox_value *x, int64_t start, int64_t count, const char *out, int part)
{
    if (count < 1)
        return ox_fail(im, PITH_ESHAPE, "an empty slice along channels");
    pith_attrs a = {0};
    a.ph = (int)start;
    a.out = (int)count;
    char suffix[16] = "";
    if (part >= 0)
        snprintf(suffix, sizeof suffix, ".%d", part);
    int xn = x->node, rank = x->rank;
    int idx = ox_add(im, "slice", suffix, &a, &xn, 1);
    return idx < 0 ? idx : ox_define_node(im, out, idx, rank);
}

/* [start, start + count) along `axis` of constant x, folded */
static int const_slice(ox_importer *im, const char *name, const ox_value *x, int axis, int64_t start, int64_t count)
{
    ox_value cx = *x;
    int64_t dims[OX_MAX_RANK];
    memcpy(dims, cx.dims, sizeof dims);
    dims[axis] = count;
    ox_value *y = ox_define_const(im, name, cx.is_int, cx.rank, dims);
    if (!y)
        return PITH_EFORMAT;
    size_t outer = ox_elems(axis, cx.dims), inner = ox_elems(cx.rank - axis - 1, cx.dims + axis + 1);
    for (size_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < count; j++)
            for (size_t e = 0; e < inner; e++) {
                size_t src = (o * (size_t)cx.dims[axis] + (size_t)(start + j)) * inner + e;
                size_t dst = (o * (size_t)count + (size_t)j) * inner + e;
                if (cx.is_int)
                    y->i[dst] = cx.i[src];
                else
                    y->f[dst] = cx.f[src];
            }
    if (im->info)
        im->info->folded++;
    return PITH_OK;
}

int ox_split(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    int64_t axis = ox_attr_int(n, "axis", 0);
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis >= x->rank || (!x->is_const && axis != 1))
        return ox_fail(im, PITH_EFORMAT, "Split along axis %lld; pith splits computed values along channels (axis 1)",
                       (long long)ox_attr_int(n, "axis", 0));
    int64_t sizes[PITH_MAX_INPUTS * 4];
    int parts = (int)n->n_output, ns = 0;
    const int max = (int)(sizeof sizes / sizeof sizes[0]);
    if (parts > max)
        return ox_fail(im, PITH_EFORMAT, "%d outputs (at most %d)", parts, max);
    if (im->opset < 13) {
        if ((ns = ox_attr_ints(im, n, "split", sizes, max)) < 0)
            return ns;
    } else if (ox_has_input(n, 1)) {
        ox_value *s = ox_input(im, n, 1);
        if (!s)
            return PITH_EFORMAT;
        if (!s->is_const || s->n > (size_t)max)
            return ox_fail(im, PITH_EFORMAT, "split sizes must be a constant of at most %d values", max);
        for (size_t k = 0; k < s->n; k++)
            sizes[k] = ox_geti(s, k);
        ns = (int)s->n;
    }
    x = ox_get(im, n->input[0]);
    int64_t c = x->dims[axis];
    if (ns == 0) {
        if (c % parts)
            return ox_fail(im, PITH_ESHAPE, "%lld channels do not split into %d equal parts", (long long)c, parts);
        for (int k = 0; k < parts; k++)
            sizes[k] = c / parts;
    } else if (ns != parts) {
        return ox_fail(im, PITH_EFORMAT, "%d split sizes for %d outputs", ns, parts);
    }
    int64_t at = 0;
    for (int k = 0; k < parts; k++) {
        if (sizes[k] < 0 || at + sizes[k] > c)
            return ox_fail(im, PITH_ESHAPE, "split sizes exceed the %lld channels", (long long)c);
        if (n->output[k][0]) {
            ox_value copy = *ox_get(im, n->input[0]);
            int rc = copy.is_const ? const_slice(im, n->output[k], &copy, (int)axis, at, sizes[k])
                                   : channel_slice(im, &copy, at, sizes[k], n->output[k], k);
            if (rc)
                return rc;
        }
        at += sizes[k];
    }
    if (at != c)
        return ox_fail(im, PITH_ESHAPE, "split sizes sum to %lld of %lld channels", (long long)at, (long long)c);
    return PITH_OK;
}

/* one axis' range, ONNX's clamping rules, step 1 or -1 .. any */
static int slice_range(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *s0, int64_t *count)
{
    if (step == 0)
        return -1;
    if (start < 0)
        start += dim;
    if (end < 0)
        end += dim;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        *count = end > start ? (end - start + step - 1) / step : 0;
    } else {
        start = start < 0 ? -1 : start >= dim ? dim - 1 : start;
        end = end < -1 ? -1 : end >= dim ? dim - 1 : end;
        *count = start > end ? (start - end - step - 1) / -step : 0;
    }
    *s0 = start;
    return 0;
}

int ox_slice(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    int64_t starts[OX_MAX_RANK], ends[OX_MAX_RANK], axes[OX_MAX_RANK], steps[OX_MAX_RANK];
    int na;
    if (im->opset < 10) {
        na = ox_attr_ints(im, n, "starts", starts, OX_MAX_RANK);
        int ne = na < 0 ? na : ox_attr_ints(im, n, "ends", ends, OX_MAX_RANK);
        int nx = ne < 0 ? ne : ox_attr_ints(im, n, "axes", axes, OX_MAX_RANK);
        if (na < 0 || ne < 0 || nx < 0)
            return PITH_EFORMAT;
        if (ne != na || (nx && nx != na))
            return ox_fail(im, PITH_EFORMAT, "starts, ends and axes differ in length");
        for (int k = 0; k < na; k++) {
            if (!nx)
                axes[k] = k;
            steps[k] = 1;
        }
    } else {
        int64_t *dst[4] = {starts, ends, axes, steps};
        na = -1;
        for (int q = 0; q < 4; q++) {
            if (!ox_has_input(n, q + 1)) {
                if (q < 2)
                    return ox_fail(im, PITH_EFORMAT, "starts and ends are required");
                for (int k = 0; k < na; k++)
                    dst[q][k] = q == 2 ? k : 1;
                continue;
            }
            ox_value *v = ox_input(im, n, q + 1);
            if (!v)
                return PITH_EFORMAT;
            if (!v->is_const || v->n > OX_MAX_RANK || (na >= 0 && (int)v->n != na))
                return ox_fail(im, PITH_EFORMAT, "starts, ends, axes and steps must be constants of one length");
            na = (int)v->n;
            for (size_t k = 0; k < v->n; k++)
                dst[q][k] = ox_geti(v, k);
        }
    }
    x = ox_get(im, n->input[0]);
    int r = x->rank;
    int64_t s0[OX_MAX_RANK], cnt[OX_MAX_RANK], st[OX_MAX_RANK];
    for (int d = 0; d < r; d++)
        s0[d] = 0, cnt[d] = x->dims[d], st[d] = 1;
    for (int k = 0; k < na; k++) {
        int64_t a = axes[k] < 0 ? axes[k] + r : axes[k];
        if (a < 0 || a >= r)
            return ox_fail(im, PITH_EFORMAT, "axis %lld for rank %d", (long long)axes[k], r);
        if (slice_range(x->dims[a], starts[k], ends[k], steps[k], &s0[a], &cnt[a]))
            return ox_fail(im, PITH_EFORMAT, "step 0");
        st[a] = steps[k];
    }
    if (!x->is_const) {
        for (int d = 0; d < r; d++)
            if (d != 1 && (cnt[d] != x->dims[d] || st[d] != 1 || s0[d] != 0))
                return ox_fail(im, PITH_EFORMAT, "Slice of a computed value along axis %d; pith slices along "
                               "channels (axis 1) only", d);
        if (st[1] != 1)
            return ox_fail(im, PITH_EFORMAT, "Slice along channels with step %lld (1 only)", (long long)st[1]);
        if (cnt[1] == x->dims[1])
            return ox_define_alias(im, n->output[0], x);
        ox_value copy = *x;
        return channel_slice(im, &copy, s0[1], cnt[1], n->output[0], -1);
    }
    ox_value cx = *x;
    ox_value *y = ox_define_const(im, n->output[0], cx.is_int, r, cnt);
    if (!y)
        return PITH_EFORMAT;
    int64_t pos[OX_MAX_RANK] = {0};
    for (size_t q = 0; q < y->n; q++) {
        size_t src = 0;
        for (int d = 0; d < r; d++)
            src = src * (size_t)cx.dims[d] + (size_t)(s0[d] + pos[d] * st[d]);
        if (cx.is_int)
            y->i[q] = cx.i[src];
        else
            y->f[q] = cx.f[src];
        ox_next_index(pos, cnt, r);
    }
    if (im->info)
        im->info->folded++;
    return PITH_OK;
}
