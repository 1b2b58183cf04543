/* Data movement and shape arithmetic: Identity, Dropout, Constant, Shape,
 * Gather, Unsqueeze, Squeeze, Concat, Cast, ConstantOfShape, Reshape,
 * Flatten. On constants they fold at import (the input shape is fixed, the
 * batch folded as 1); on computed values they are views (flatten) or pith's
 * concat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "importer.h"

int ox_identity(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    /* Dropout's mask output is not computed by pith */
    for (size_t k = 1; k < n->n_output; k++)
        if (n->output[k][0] && ox_uses(im, n->output[k]))
            return ox_fail(im, PITH_EFORMAT, "output %zu (the dropout mask) is used; not supported", k);
    return ox_define_alias(im, n->output[0], x);
}

int ox_constant(ox_importer *im, const Onnx__NodeProto *n)
{
    const Onnx__AttributeProto *a;
    if ((a = ox_attr(n, "value")) && a->t) {
        ox_value *v = ox_define(im, n->output[0]);
        return v ? ox_tensor_value(im, a->t, n->output[0], v) : PITH_EFORMAT;
    }
    int64_t one = 1;
    ox_value *v;
    if ((a = ox_attr(n, "value_float")) && a->has_f) {
        if (!(v = ox_define_const(im, n->output[0], 0, 0, &one)))
            return PITH_EFORMAT;
        v->f[0] = a->f;
    } else if ((a = ox_attr(n, "value_int")) && a->has_i) {
        if (!(v = ox_define_const(im, n->output[0], 1, 0, &one)))
            return PITH_EFORMAT;
        v->i[0] = a->i;
    } else if ((a = ox_attr(n, "value_floats"))) {
        int64_t d = (int64_t)a->n_floats;
        if (!(v = ox_define_const(im, n->output[0], 0, 1, &d)))
            return PITH_EFORMAT;
        memcpy(v->f, a->floats, a->n_floats * sizeof(float));
    } else if ((a = ox_attr(n, "value_ints"))) {
        int64_t d = (int64_t)a->n_ints;
        if (!(v = ox_define_const(im, n->output[0], 1, 1, &d)))
            return PITH_EFORMAT;
        memcpy(v->i, a->ints, a->n_ints * sizeof(int64_t));
    } else {
        return ox_fail(im, PITH_EFORMAT, "no value (value, value_float(s) or value_int(s)) attribute");
    }
    return PITH_OK;
}

static int folded(ox_importer *im)
{
    if (im->info)
        im->info->folded++;
    return PITH_OK;
}

/* Normalises axis (negative counts from the end) for a rank. */
static int axis_of(ox_importer *im, int64_t axis, int rank, int64_t *out)
{
    if (axis < -rank || axis >= rank)
        return ox_fail(im, PITH_EFORMAT, "axis %lld for rank %d", (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return PITH_OK;
}

int ox_shape(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    int64_t dims[OX_MAX_RANK];
    int r = x->rank;
    memcpy(dims, x->dims, sizeof dims);
    int64_t start = ox_attr_int(n, "start", 0), end = ox_attr_int(n, "end", r);
    if (start < 0)
        start += r;
    if (end < 0)
        end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < start ? start : end > r ? r : end;
    int64_t len = end - start;
    ox_value *y = ox_define_const(im, n->output[0], 1, 1, &len);
    if (!y)
        return PITH_EFORMAT;
    for (int64_t k = 0; k < len; k++)
        y->i[k] = dims[start + k];
    return folded(im);
}

int ox_gather(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *d = ox_input(im, n, 0), *ix = d ? ox_input(im, n, 1) : NULL;
    if (!ix)
        return PITH_EFORMAT;
    if (!d->is_const || !ix->is_const)
        return ox_fail(im, PITH_EFORMAT, "Gather of a computed value is not supported (only shape arithmetic folds)");
    int64_t axis = 0;
    int rc = axis_of(im, ox_attr_int(n, "axis", 0), d->rank, &axis);
    if (rc)
        return rc;
    if (d->rank + ix->rank - 1 > OX_MAX_RANK)
        return ox_fail(im, PITH_EFORMAT, "result of rank above %d", OX_MAX_RANK);
    int64_t od[OX_MAX_RANK];
    int r = 0;
    for (int k = 0; k < axis; k++)
        od[r++] = d->dims[k];
    for (int k = 0; k < ix->rank; k++)
        od[r++] = ix->dims[k];
    for (int k = (int)axis + 1; k < d->rank; k++)
        od[r++] = d->dims[k];
    size_t outer = ox_elems((int)axis, d->dims), inner = ox_elems(d->rank - (int)axis - 1, d->dims + axis + 1);
    ox_value cd = *d, ci = *ix;
    ox_value *y = ox_define_const(im, n->output[0], cd.is_int, r, od);
    if (!y)
        return PITH_EFORMAT;
    for (size_t o = 0; o < outer; o++)
        for (size_t q = 0; q < ci.n; q++) {
            int64_t j = ox_geti(&ci, q);
            if (j < 0)
                j += cd.dims[axis];
            if (j < 0 || j >= cd.dims[axis])
                return ox_fail(im, PITH_EFORMAT, "index %lld out of range [0, %lld)", (long long)ox_geti(&ci, q),
                               (long long)cd.dims[axis]);
            for (size_t e = 0; e < inner; e++) {
                size_t src = (o * (size_t)cd.dims[axis] + (size_t)j) * inner + e, dst = (o * ci.n + q) * inner + e;
                if (cd.is_int)
                    y->i[dst] = cd.i[src];
                else
                    y->f[dst] = cd.f[src];
            }
        }
    return folded(im);
}

/* The axes of Unsqueeze / Squeeze: an attribute before opset 13, an input after. */
static int axes_of(ox_importer *im, const Onnx__NodeProto *n, int64_t *axes, int max)
{
    if (im->opset < 13)
        return ox_attr_ints(im, n, "axes", axes, max);
    if (!ox_has_input(n, 1))
        return 0;
    ox_value *a = ox_input(im, n, 1);
    if (!a)
        return PITH_EFORMAT;
    if (!a->is_const || a->n > (size_t)max)
        return ox_fail(im, PITH_EFORMAT, "axes must be a constant of at most %d values", max);
    for (size_t k = 0; k < a->n; k++)
        axes[k] = ox_geti(a, k);
    return (int)a->n;
}

/* A constant with new dims (same elements): the folded reshape. */
static int reshaped_const(ox_importer *im, const char *name, const ox_value *x, int r, const int64_t *dims)
{
    ox_value cx = *x;
    ox_value *y = ox_define_const(im, name, cx.is_int, r, dims);
    if (!y)
        return PITH_EFORMAT;
    if (y->n != cx.n)
        return ox_fail(im, PITH_ESHAPE, "%zu elements into %zu", cx.n, y->n);
    memcpy(cx.is_int ? (void *)y->i : (void *)y->f, cx.is_int ? (void *)cx.i : (void *)cx.f,
           cx.n * (cx.is_int ? sizeof(int64_t) : sizeof(float)));
    return folded(im);
}

/* A computed value reshaped: N x C x H x W or N x C x L to N x F is
 * flatten; a reshape to the same shape (or N x F to N x F) is the value itself. */
static int reshaped_graph(ox_importer *im, const char *name, const ox_value *x, int r, const int64_t *dims)
{
    int64_t xd[OX_MAX_RANK];
    memcpy(xd, x->dims, sizeof xd);
    if (!x->shuffle && x->rank == 4 && r == 5 && dims[0] == 1 && dims[1] > 1 && dims[1] * dims[2] == xd[1] &&
        dims[3] == xd[2] && dims[4] == xd[3]) {
        /* the first step of a channel shuffle: a view, no node yet */
        ox_value copy = *x;
        ox_value *v = ox_define(im, name);
        if (!v)
            return PITH_EFORMAT;
        *v = copy;
        v->name = name;
        v->rank = 5;
        memcpy(v->dims, dims, 5 * sizeof *dims);
        v->shuffle = 1;
        v->groups = (int)dims[1];
        return PITH_OK;
    }
    if (x->shuffle == 2 && r == 4 && dims[0] == 1 && dims[1] == xd[1] * xd[2] && dims[2] == xd[3] &&
        dims[3] == xd[4]) {
        pith_attrs a = {0};
        a.groups = x->groups;
        int xn = x->node;
        int idx = ox_add(im, "channel_shuffle", "", &a, &xn, 1);
        return idx < 0 ? idx : ox_define_node(im, name, idx, 4);
    }
    if (x->shuffle)
        return ox_fail(im, PITH_EFORMAT, "a reshape of a channel-shuffle view that does not complete the shuffle");
    if (r == x->rank && memcmp(xd, dims, (size_t)r * sizeof *dims) == 0)
        return ox_define_alias(im, name, x);
    if (r == 2 && dims[0] == 1 && (size_t)dims[1] == ox_elems(x->rank - 1, xd + 1)) {
        if (x->rank == 2)
            return ox_define_alias(im, name, x);
        int xn = x->node;
        int idx = ox_add(im, "flatten", "", &(pith_attrs){0}, &xn, 1);
        return idx < 0 ? idx : ox_define_node(im, name, idx, 2);
    }
    char a[96] = "", b[96] = "";
    for (int k = 0; k < x->rank; k++)
        snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", k ? "x" : "", (long long)xd[k]);
    for (int k = 0; k < r; k++)
        snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", k ? "x" : "", (long long)dims[k]);
    return ox_fail(im, PITH_EFORMAT, "reshape of a computed %s value to %s; pith imports reshapes to N x F "
                   "(flatten) only", a, b);
}

int ox_unsqueeze(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    int64_t axes[OX_MAX_RANK];
    int na = axes_of(im, n, axes, OX_MAX_RANK);
    if (na < 0)
        return na;
    x = ox_get(im, n->input[0]);
    int r = x->rank + na;
    if (r > OX_MAX_RANK)
        return ox_fail(im, PITH_EFORMAT, "result of rank %d", r);
    int64_t dims[OX_MAX_RANK];
    int mark[OX_MAX_RANK] = {0};
    for (int k = 0; k < na; k++) {
        int64_t a = 0;
        int rc = axis_of(im, axes[k], r, &a);
        if (rc)
            return rc;
        if (mark[a])
            return ox_fail(im, PITH_EFORMAT, "axis %lld repeated", (long long)axes[k]);
        mark[a] = 1;
    }
    for (int k = 0, j = 0; k < r; k++)
        dims[k] = mark[k] ? 1 : x->dims[j++];
    return x->is_const ? reshaped_const(im, n->output[0], x, r, dims) : reshaped_graph(im, n->output[0], x, r, dims);
}

int ox_squeeze(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    int64_t axes[OX_MAX_RANK];
    int na = axes_of(im, n, axes, OX_MAX_RANK);
    if (na < 0)
        return na;
    x = ox_get(im, n->input[0]);
    int mark[OX_MAX_RANK] = {0};
    for (int k = 0; k < na; k++) {
        int64_t a = 0;
        int rc = axis_of(im, axes[k], x->rank, &a);
        if (rc)
            return rc;
        if (x->dims[a] != 1)
            return ox_fail(im, PITH_ESHAPE, "axis %lld has size %lld, not 1", (long long)axes[k],
                           (long long)x->dims[a]);
        mark[a] = 1;
    }
    int64_t dims[OX_MAX_RANK];
    int r = 0;
    for (int k = 0; k < x->rank; k++)
        if (!(na ? mark[k] : x->dims[k] == 1) || (!x->is_const && k == 0 && !na))
            dims[r++] = x->dims[k]; /* without axes, a computed value keeps its batch */
    return x->is_const ? reshaped_const(im, n->output[0], x, r, dims) : reshaped_graph(im, n->output[0], x, r, dims);
}

int ox_reshape(ox_importer *im, const Onnx__NodeProto *n)
{
    if (ox_attr(n, "shape"))
        return ox_fail(im, PITH_EFORMAT, "Reshape's shape attribute (opsets before 5) is not supported");
    ox_value *x = ox_input(im, n, 0), *s = x ? ox_input(im, n, 1) : NULL;
    if (!s)
        return PITH_EFORMAT;
    if (!s->is_const)
        return ox_fail(im, PITH_EFORMAT, "the target shape is computed from values, not from shapes; it must fold");
    if (s->rank != 1 || s->n > OX_MAX_RANK)
        return ox_fail(im, PITH_EFORMAT, "the target shape must be a vector of at most %d values", OX_MAX_RANK);
    int allowzero = (int)ox_attr_int(n, "allowzero", 0);
    int64_t dims[OX_MAX_RANK];
    int r = (int)s->n, infer = -1;
    size_t known = 1, total = ox_elems(x->rank, x->dims);
    for (int k = 0; k < r; k++) {
        int64_t v = ox_geti(s, (size_t)k);
        if (v == 0 && !allowzero) {
            if (k >= x->rank)
                return ox_fail(im, PITH_EFORMAT, "0 (copy) at axis %d of a rank-%d input", k, x->rank);
            v = x->dims[k];
        }
        if (v == -1) {
            if (infer >= 0)
                return ox_fail(im, PITH_EFORMAT, "two -1 in the target shape");
            infer = k;
            v = 1;
        } else if (v < 0) {
            return ox_fail(im, PITH_EFORMAT, "target dimension %lld", (long long)v);
        }
        dims[k] = v;
        known *= (size_t)v;
    }
    if (infer >= 0) {
        if (!known || total % known)
            return ox_fail(im, PITH_ESHAPE, "%zu elements do not reshape with -1 and %zu", total, known);
        dims[infer] = (int64_t)(total / known);
    } else if (known != total) {
        return ox_fail(im, PITH_ESHAPE, "%zu elements into a shape of %zu", total, known);
    }
    return x->is_const ? reshaped_const(im, n->output[0], x, r, dims) : reshaped_graph(im, n->output[0], x, r, dims);
}

int ox_flatten(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    int64_t axis = ox_attr_int(n, "axis", 1);
    if (axis < 0)
        axis += x->rank;
    if (axis < 0 || axis > x->rank)
        return ox_fail(im, PITH_EFORMAT, "axis %lld for rank %d", (long long)ox_attr_int(n, "axis", 1), x->rank);
    int64_t dims[2] = {(int64_t)ox_elems((int)axis, x->dims), (int64_t)ox_elems(x->rank - (int)axis, x->dims + axis)};
    return x->is_const ? reshaped_const(im, n->output[0], x, 2, dims) : reshaped_graph(im, n->output[0], x, 2, dims);
}

int ox_concat(ox_importer *im, const Onnx__NodeProto *n)
{
    if (n->n_input < 1 || n->n_input > PITH_MAX_INPUTS)
        return ox_fail(im, PITH_EFORMAT, "%zu inputs (1 to %d)", n->n_input, PITH_MAX_INPUTS);
    int n_const = 0;
    for (size_t k = 0; k < n->n_input; k++) {
        ox_value *v = ox_input(im, n, (int)k);
        if (!v)
            return PITH_EFORMAT;
        n_const += v->is_const;
    }
    ox_value *x0 = ox_get(im, n->input[0]);
    int64_t axis = 0;
    int rc = axis_of(im, ox_attr_int(n, "axis", im->opset < 4 ? 1 : 0), x0->rank, &axis);
    if (rc)
        return rc;
    if (n_const == (int)n->n_input) {
        int64_t dims[OX_MAX_RANK];
        memcpy(dims, x0->dims, sizeof dims);
        int rank = x0->rank, is_int = x0->is_int;
        dims[axis] = 0;
        for (size_t k = 0; k < n->n_input; k++) {
            ox_value *v = ox_get(im, n->input[k]);
            if (v->rank != rank || v->is_int != is_int)
                return ox_fail(im, PITH_ESHAPE, "inputs of different ranks or types");
            for (int d = 0; d < rank; d++)
                if (d != axis && v->dims[d] != x0->dims[d])
                    return ox_fail(im, PITH_ESHAPE, "inputs differ along axis %d", d);
            dims[axis] += v->dims[axis];
        }
        ox_value *y = ox_define_const(im, n->output[0], is_int, rank, dims);
        if (!y)
            return PITH_EFORMAT;
        size_t outer = ox_elems((int)axis, dims), at = 0;
        for (size_t o = 0; o < outer; o++)
            for (size_t k = 0; k < n->n_input; k++) {
                ox_value *v = ox_get(im, n->input[k]);
                size_t chunk = ox_elems(rank - (int)axis, v->dims + axis);
                for (size_t e = 0; e < chunk; e++, at++)
                    if (is_int)
                        y->i[at] = v->i[o * chunk + e];
                    else
                        y->f[at] = v->f[o * chunk + e];
            }
        return folded(im);
    }
    if (n_const)
        return ox_fail(im, PITH_EFORMAT, "Concat of computed values with constants is not supported");
    if (axis != 1)
        return ox_fail(im, PITH_EFORMAT, "Concat along axis %lld of rank-%d values; pith concatenates along axis 1 "
                       "(channels, or the features of N x F)", (long long)axis, x0->rank);
    const int rank = x0->rank;
    int in[PITH_MAX_INPUTS];
    for (size_t k = 0; k < n->n_input; k++)
        in[k] = ox_get(im, n->input[k])->node;
    if (n->n_input == 1)
        return ox_define_alias(im, n->output[0], x0);
    int idx = ox_add(im, "concat", "", &(pith_attrs){0}, in, (int)n->n_input);
    return idx < 0 ? idx : ox_define_node(im, n->output[0], idx, rank);
}

int ox_cast(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    int64_t to = ox_attr_int(n, "to", 0);
    int to_float = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || to == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    int to_int = to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ||
                 to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL || to == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ||
                 to == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
    if (!to_float && !to_int)
        return ox_fail(im, PITH_EFORMAT, "Cast to element type %lld is not supported", (long long)to);
    if (!x->is_const) {
        /* a QuantizeLinear's codes cast between uint8 and int8 stay the same values */
        int codes = x->qa && (to == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 || to == ONNX__TENSOR_PROTO__DATA_TYPE__INT8);
        if (!to_float && !codes)
            return ox_fail(im, PITH_EFORMAT, "Cast of a computed value to an integer type is not supported");
        return ox_define_alias(im, n->output[0], x);
    }
    ox_value cx = *x;
    ox_value *y = ox_define_const(im, n->output[0], to_int, cx.rank, cx.dims);
    if (!y)
        return PITH_EFORMAT;
    for (size_t k = 0; k < cx.n; k++) {
        if (to_int) {
            int64_t v = ox_geti(&cx, k);
            y->i[k] = to == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? v != 0 : v;
        } else {
            y->f[k] = (float)ox_getf(&cx, k);
        }
    }
    return folded(im);
}

int ox_constant_of_shape(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *s = ox_input(im, n, 0);
    if (!s)
        return PITH_EFORMAT;
    if (!s->is_const || s->rank > 1 || s->n > OX_MAX_RANK)
        return ox_fail(im, PITH_EFORMAT, "the shape must be a constant vector of at most %d values", OX_MAX_RANK);
    int64_t dims[OX_MAX_RANK];
    for (size_t k = 0; k < s->n; k++)
        dims[k] = ox_geti(s, k);
    const Onnx__AttributeProto *a = ox_attr(n, "value");
    ox_value fill = {.name = "value"};
    int is_int = 0;
    if (a && a->t) {
        int rc = ox_tensor_value(im, a->t, "value", &fill);
        if (rc)
            return rc;
        if (fill.n != 1) {
            free(fill.f);
            free(fill.i);
            return ox_fail(im, PITH_EFORMAT, "value must hold one element");
        }
        is_int = fill.is_int;
    }
    double fv = a && a->t ? ox_getf(&fill, 0) : 0.0;
    int64_t iv = a && a->t ? ox_geti(&fill, 0) : 0;
    free(fill.f);
    free(fill.i);
    ox_value *y = ox_define_const(im, n->output[0], is_int, (int)s->n, dims);
    if (!y)
        return PITH_EFORMAT;
    for (size_t k = 0; k < y->n; k++)
        if (is_int)
            y->i[k] = iv;
        else
            y->f[k] = (float)fv;
    return folded(im);
}
