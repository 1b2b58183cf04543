/* QuantizeLinear and DequantizeLinear: the QDQ form in which PyTorch and ONNX
 * Runtime's tools export an int8 model (float ops between
 * Quantize/Dequantize pairs, int8 weights dequantized from constants).
 *
 * The graph is imported as the float model the pairs surround, and the
 * pairs' parameters are kept as the quantizer state (info->qdq): a pair on a
 * computed value is the identity on it plus an activation scale and zero
 * point (a uint8 grid becomes the signed int8 grid by moving the zero point
 * by 128: the same values); a DequantizeLinear of an int8 constant folds to
 * the float weights and keeps their per-channel scales for the layer that
 * reads them. pith import then quantizes the graph and loads that state in
 * place of calibration (quant/state.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "importer.h"

static pith_onnx_qparam *new_qparam(ox_importer *im)
{
    if (im->n_qdq == im->cap_qdq) {
        int cap = im->cap_qdq ? 2 * im->cap_qdq : 64;
        pith_onnx_qparam *p = realloc(im->qdq, (size_t)cap * sizeof *p);
        if (!p) {
            ox_fail(im, PITH_ENOMEM, "out of memory");
            return NULL;
        }
        im->qdq = p;
        im->cap_qdq = cap;
    }
    pith_onnx_qparam *q = &im->qdq[im->n_qdq++];
    memset(q, 0, sizeof *q);
    return q;
}

/* Inputs 1 and 2 (scale, zero point) of a per-tensor pair: the scale, and
 * the zero point on the signed int8 grid. */
static int tensor_qparams(ox_importer *im, const Onnx__NodeProto *n, float *scale, int32_t *zp)
{
    ox_value *s = ox_input(im, n, 1);
    if (!s)
        return PITH_EFORMAT;
    if (!s->is_const || s->n != 1)
        return ox_fail(im, PITH_EFORMAT, "an activation's scale must be one constant (per-axis activation "
                       "quantization is not supported)");
    *scale = (float)ox_getf(s, 0);
    if (!(*scale > 0.0f) || !isfinite(*scale))
        return ox_fail(im, PITH_EFORMAT, "scale %g", (double)*scale);
    int is_unsigned = 1; /* ONNX's default zero point is uint8 0 */
    int64_t z = 0;
    if (ox_has_input(n, 2)) {
        ox_value *zv = ox_input(im, n, 2);
        if (!zv)
            return PITH_EFORMAT;
        if (!zv->is_const || zv->n != 1)
            return ox_fail(im, PITH_EFORMAT, "an activation's zero point must be one constant");
        if (zv->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 && zv->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__INT8)
            return ox_fail(im, PITH_EFORMAT, "zero point of element type %d: pith takes uint8 and int8 "
                           "activations", zv->dtype);
        is_unsigned = zv->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
        z = ox_geti(zv, 0);
    }
    if (is_unsigned ? z < 0 || z > 255 : z < -128 || z > 127)
        return ox_fail(im, PITH_EFORMAT, "zero point %lld outside its %s range", (long long)z,
                       is_unsigned ? "uint8" : "int8");
    *zp = (int32_t)(is_unsigned ? z - 128 : z);
    return PITH_OK;
}

/* The scale and zero point (inputs 1, 2) of a Q or DQ of constant x: per
 * tensor or along `axis`; *per scales, each covering *inner consecutive
 * elements, along *axis. The zero point may be absent (*zv NULL). */
static int const_qparams(ox_importer *im, const Onnx__NodeProto *n, const ox_value *x, ox_value **s, ox_value **zv,
                         size_t *per, size_t *inner, int64_t *axis_out)
{
    *s = ox_input(im, n, 1);
    *zv = ox_has_input(n, 2) ? ox_input(im, n, 2) : NULL;
    if (!*s || (ox_has_input(n, 2) && !*zv))
        return PITH_EFORMAT;
    if (!(*s)->is_const || (*zv && !(*zv)->is_const))
        return ox_fail(im, PITH_EFORMAT, "the scale and zero point of a constant's %s must be constants",
                       ox_str(n->op_type));
    int64_t axis = ox_attr_int(n, "axis", 1);
    if (axis < 0)
        axis += x->rank;
    *per = (*s)->n;
    if (*per != 1 && (axis < 0 || axis >= x->rank || (int64_t)*per != x->dims[axis]))
        return ox_fail(im, PITH_ESHAPE, "%zu scales along axis %lld of a rank-%d constant", *per, (long long)axis,
                       x->rank);
    if (*zv && (*zv)->n != *per)
        return ox_fail(im, PITH_ESHAPE, "%zu zero points for %zu scales", (*zv)->n, *per);
    *inner = 1;
    for (int d = (int)axis + 1; *per > 1 && d < x->rank; d++)
        *inner *= (size_t)x->dims[d];
    *axis_out = axis;
    return PITH_OK;
}

/* Inputs 1 and 2 again after a new value was defined (the value table may
 * have moved). */
static void refetch(ox_importer *im, const Onnx__NodeProto *n, ox_value **s, ox_value **zv)
{
    *s = ox_get(im, n->input[1]);
    *zv = ox_has_input(n, 2) ? ox_get(im, n->input[2]) : NULL;
}

/* QuantizeLinear of a constant: folded, saturate(round(x / s) + z) with
 * ties to even, per tensor or along `axis`, to the zero point's type. */
static int fold_quantize(ox_importer *im, const Onnx__NodeProto *n, ox_value *x)
{
    ox_value *s, *zv;
    size_t per, inner;
    int64_t axis;
    int rc = const_qparams(im, n, x, &s, &zv, &per, &inner, &axis);
    if (rc)
        return rc;
    int dt = zv ? zv->dtype : ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
    if (dt != ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 && dt != ONNX__TENSOR_PROTO__DATA_TYPE__INT8)
        return ox_fail(im, PITH_EFORMAT, "zero point of element type %d: pith takes uint8 and int8", dt);
    const float lo = dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 ? 0.0f : -128.0f, hi = lo + 255.0f;
    ox_value cx = *x;
    ox_value *y = ox_define_const(im, n->output[0], 1, cx.rank, cx.dims);
    if (!y)
        return PITH_EFORMAT;
    y->dtype = dt;
    refetch(im, n, &s, &zv);
    for (size_t k = 0; k < cx.n; k++) {
        size_t c = per == 1 ? 0 : (k / inner) % per;
        float q = nearbyintf((float)ox_getf(&cx, k) / (float)ox_getf(s, c)) + (float)(zv ? ox_geti(zv, c) : 0);
        y->i[k] = (int64_t)(q > hi ? hi : q >= lo ? q : lo); /* NaN as lo */
    }
    if (im->info)
        im->info->folded++;
    return PITH_OK;
}

int ox_quantize_linear(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *c = ox_input(im, n, 0);
    if (!c)
        return PITH_EFORMAT;
    if (c->is_const)
        return fold_quantize(im, n, c);
    ox_value *x = ox_computed(im, n, 0, 0);
    if (!x)
        return PITH_EFORMAT;
    int node = x->node;
    float s;
    int32_t z;
    int rc = tensor_qparams(im, n, &s, &z);
    if (rc)
        return rc;
    /* one quantizer per computed tensor: a second pair must agree */
    const char *name = im->g->nodes[node].name;
    for (int k = 0; k < im->n_qdq; k++)
        if (!im->qdq[k].weights && !strcmp(im->qdq[k].node, name)) {
            if (im->qdq[k].scale[0] != s || im->qdq[k].zero_point != z)
                return ox_fail(im, PITH_EFORMAT, "'%s' is quantized twice with different parameters (scale %g, "
                               "zero point %d and %g, %d)", name, (double)im->qdq[k].scale[0],
                               im->qdq[k].zero_point, (double)s, z);
            goto define;
        }
    pith_onnx_qparam *q = new_qparam(im);
    if (!q)
        return PITH_ENOMEM;
    q->scale = malloc(sizeof *q->scale);
    if (!q->scale)
        return ox_fail(im, PITH_ENOMEM, "out of memory");
    snprintf(q->node, sizeof q->node, "%s", name);
    q->n = 1;
    q->scale[0] = s;
    q->zero_point = z;
define:
    x = ox_get(im, n->input[0]);
    if ((rc = ox_define_alias(im, n->output[0], x)))
        return rc;
    ox_value *y = ox_get(im, n->output[0]);
    y->qa = 1;
    y->qscale = s;
    y->qzp = z;
    return PITH_OK;
}

/* y = (x - zero_point[c]) * scale[c] of a constant x, c along `axis` (or one
 * pair for all). */
static int fold_dequantize(ox_importer *im, const Onnx__NodeProto *n, ox_value *x)
{
    ox_value *s, *zv;
    size_t per, inner;
    int64_t axis;
    int rc = const_qparams(im, n, x, &s, &zv, &per, &inner, &axis);
    if (rc)
        return rc;
    ox_value cx = *x;
    int int8_weights = cx.dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    ox_value *y = ox_define_const(im, n->output[0], 0, cx.rank, cx.dims);
    if (!y)
        return PITH_EFORMAT;
    refetch(im, n, &s, &zv);
    int symmetric = 1;
    for (size_t k = 0; k < cx.n; k++) {
        size_t c = per == 1 ? 0 : (k / inner) % per;
        int64_t z = zv ? ox_geti(zv, c) : 0;
        symmetric &= z == 0;
        y->f[k] = (float)((double)ox_geti(&cx, k) - (double)z) * (float)ox_getf(s, c); /* any int64 in a file */
    }
    if (im->info)
        im->info->folded++;
    /* int8 weights, symmetric: their scales are the layer's weight quantizer */
    if (!int8_weights || !symmetric || (per > 1 && axis != 0))
        return PITH_OK;
    pith_onnx_qparam *q = new_qparam(im);
    if (!q)
        return PITH_ENOMEM;
    q->weights = 1;
    q->n = (int)per;
    q->scale = malloc(per * sizeof *q->scale);
    if (!q->scale)
        return ox_fail(im, PITH_ENOMEM, "out of memory");
    for (size_t c = 0; c < per; c++)
        q->scale[c] = (float)ox_getf(s, c);
    ox_get(im, n->output[0])->qw = im->n_qdq;
    return PITH_OK;
}

int ox_dequantize_linear(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    if (x->is_const)
        return fold_dequantize(im, n, x);
    if (!x->qa)
        return ox_fail(im, PITH_EFORMAT, "DequantizeLinear of '%s', which no QuantizeLinear quantized", x->name);
    float s;
    int32_t z;
    int rc = tensor_qparams(im, n, &s, &z);
    if (rc)
        return rc;
    x = ox_get(im, n->input[0]);
    if (s != x->qscale || z != x->qzp)
        return ox_fail(im, PITH_EFORMAT, "DequantizeLinear with scale %g, zero point %d of a value quantized with "
                       "%g, %d (a requantization pith does not take)", (double)s, z, (double)x->qscale, x->qzp);
    if ((rc = ox_define_alias(im, n->output[0], x)))
        return rc;
    ox_get(im, n->output[0])->qa = 0; /* float again */
    return PITH_OK;
}

int ox_qdq_weights(ox_importer *im, const ox_value *w, int node)
{
    if (!w->qw)
        return PITH_OK;
    pith_onnx_qparam *q = &im->qdq[w->qw - 1];
    if (q->node[0])
        return ox_fail(im, PITH_EFORMAT, "the quantized weight '%s' is read by two layers", w->name);
    snprintf(q->node, sizeof q->node, "%s", im->g->nodes[node].name);
    return PITH_OK;
}

void pith_onnx_info_free(pith_onnx_info *info)
{
    if (!info)
        return;
    for (int k = 0; k < info->n_qdq; k++)
        free(info->qdq[k].scale);
    free(info->qdq);
    info->qdq = NULL;
    info->n_qdq = 0;
}
