/* Activations: Relu, Clip, Sigmoid, HardSigmoid, HardSwish, and the
 * Sigmoid + Mul and HardSigmoid + Mul pairs PyTorch exports for SiLU and
 * (before opset 14) hardswish, each taken as one pith op. */
#include <math.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "importer.h"

/* The activation on a constant, folded at import with the formula of the
 * pith op it would have become. */
static float fold1(const pith_op *op, const pith_attrs *a, float v)
{
    if (op == &pith_op_relu)
        return v > 0.0f ? v : 0.0f;
    if (op == &pith_op_relu6)
        return v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f;
    if (op == &pith_op_sigmoid)
        return 1.0f / (1.0f + expf(-v));
    if (op == &pith_op_silu)
        return v / (1.0f + expf(-v));
    if (op == &pith_op_hardswish)
        return v <= -3.0f ? 0.0f : v >= 3.0f ? v : v * (v + 3.0f) / 6.0f;
    if (op == &pith_op_clip)
        return v < a->alpha ? a->alpha : v > a->beta ? a->beta : v;
    if (op == &pith_op_leaky_relu)
        return v > 0.0f ? v : a->alpha * v;
    if (op == &pith_op_softmax)
        return NAN; /* not elementwise: never folded (ox_softmax refuses constants) */
    float h = a->alpha * v + a->beta; /* hardsigmoid */
    return h <= 0.0f ? 0.0f : h >= 1.0f ? 1.0f : h;
}

static int unary(ox_importer *im, const Onnx__NodeProto *n, const pith_op *op, const pith_attrs *a, const char *out)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    if (x->is_const) {
        ox_value cx = *x;
        ox_value *y = ox_define_const(im, out, cx.is_int, cx.rank, cx.dims);
        if (!y)
            return PITH_EFORMAT;
        for (size_t k = 0; k < cx.n; k++) {
            float v = fold1(op, a ? a : &(pith_attrs){0}, (float)ox_getf(&cx, k));
            if (cx.is_int)
                y->i[k] = ox_f2i(v);
            else
                y->f[k] = v;
        }
        if (im->info)
            im->info->folded++;
        return PITH_OK;
    }
    int xn = x->node, rank = x->rank;
    int idx = ox_add(im, op->name, "", a ? a : &(pith_attrs){0}, &xn, 1);
    return idx < 0 ? idx : ox_define_node(im, out, idx, rank);
}

int ox_relu(ox_importer *im, const Onnx__NodeProto *n) { return unary(im, n, &pith_op_relu, NULL, n->output[0]); }

/* The Mul that is the sole reader of this node's output and multiplies it by
 * this node's own input: its index, else -1. */
static int gating_mul(ox_importer *im, const Onnx__NodeProto *n)
{
    if (n->n_input < 1)
        return -1;
    int k = ox_sole_consumer(im, n->output[0], im->node_index);
    if (k < 0)
        return -1;
    const Onnx__NodeProto *m = im->graph->node[k];
    if (strcmp(ox_str(m->op_type), "Mul") || m->n_input != 2 || m->n_output < 1 || ox_str(m->domain)[0])
        return -1;
    int a = strcmp(m->input[0], n->output[0]) == 0, b = strcmp(m->input[1], n->output[0]) == 0;
    if (a == b)
        return -1;
    return strcmp(m->input[a ? 1 : 0], n->input[0]) == 0 ? k : -1;
}

int ox_sigmoid(ox_importer *im, const Onnx__NodeProto *n)
{
    int k = gating_mul(im, n);
    if (k >= 0) {
        im->skip[k] = 1;
        if (im->info)
            im->info->fused++;
        return unary(im, n, &pith_op_silu, NULL, im->graph->node[k]->output[0]);
    }
    return unary(im, n, &pith_op_sigmoid, NULL, n->output[0]);
}

int ox_hardsigmoid(ox_importer *im, const Onnx__NodeProto *n)
{
    pith_attrs a = {0};
    a.alpha = ox_attr_float(n, "alpha", 0.2f);
    a.beta = ox_attr_float(n, "beta", 0.5f);
    int k = gating_mul(im, n);
    /* x * clamp(x/6 + 1/2, 0, 1) is hardswish exactly */
    if (k >= 0 && fabsf(a.alpha - 1.0f / 6.0f) < 1e-7f && a.beta == 0.5f) {
        im->skip[k] = 1;
        if (im->info)
            im->info->fused++;
        return unary(im, n, &pith_op_hardswish, NULL, im->graph->node[k]->output[0]);
    }
    return unary(im, n, &pith_op_hardsigmoid, &a, n->output[0]);
}

int ox_hardswish(ox_importer *im, const Onnx__NodeProto *n) { return unary(im, n, &pith_op_hardswish, NULL, n->output[0]); }

/* Clip(min, max): bounds from attributes before opset 11, from constant
 * inputs after. [0, inf) is relu and [0, 6] relu6. */
int ox_clip(ox_importer *im, const Onnx__NodeProto *n)
{
    float lo = -INFINITY, hi = INFINITY;
    if (im->opset < 11) {
        lo = ox_attr_float(n, "min", -INFINITY);
        hi = ox_attr_float(n, "max", INFINITY);
    } else {
        for (int k = 1; k <= 2; k++) {
            if (!ox_has_input(n, k))
                continue;
            ox_value *b = ox_input(im, n, k);
            if (!b)
                return PITH_EFORMAT;
            if (!b->is_const || b->n != 1)
                return ox_fail(im, PITH_EFORMAT, "the %s bound must be a constant scalar", k == 1 ? "lower" : "upper");
            (k == 1 ? &lo : &hi)[0] = (float)ox_getf(b, 0);
        }
    }
    if (lo == 0.0f && hi == INFINITY)
        return unary(im, n, &pith_op_relu, NULL, n->output[0]);
    if (lo == 0.0f && hi == 6.0f)
        return unary(im, n, &pith_op_relu6, NULL, n->output[0]);
    if (!(lo <= hi))
        return ox_fail(im, PITH_EFORMAT, "Clip to [%g, %g]", (double)lo, (double)hi);
    pith_attrs a = {0};
    a.alpha = lo;
    a.beta = hi;
    return unary(im, n, &pith_op_clip, &a, n->output[0]);
}

int ox_leaky_relu(ox_importer *im, const Onnx__NodeProto *n)
{
    pith_attrs a = {0};
    a.alpha = ox_attr_float(n, "alpha", 0.01f);
    return unary(im, n, &pith_op_leaky_relu, &a, n->output[0]);
}

/* A slope that varies along other axes (any broadcast shape): a fixed
 * constant, as relu(x) + slope * (x - relu(x)). */
static int prelu_composed(ox_importer *im, const Onnx__NodeProto *n, int xn, int rank, const ox_value *slope)
{
    ox_value cs = *slope;
    int64_t od[OX_MAX_RANK];
    ox_value xv = {.rank = rank};
    ox_graph_dims(im, &(ox_value){.node = xn, .rank = rank}, xv.dims);
    if (ox_broadcast_shape(&xv, &cs, od) != rank)
        return ox_fail(im, PITH_ESHAPE, "the slope does not broadcast to the input");
    int k = ox_const_node(im, &cs, rank, ".slope");
    int r = k < 0 ? k : ox_add(im, "relu", ".relu", &(pith_attrs){0}, &xn, 1);
    int in[2] = {xn, r};
    int neg = r < 0 ? r : ox_add(im, "sub", ".neg", &(pith_attrs){0}, in, 2);
    in[0] = k, in[1] = neg;
    int sc = neg < 0 ? neg : ox_add(im, "mul", ".scaled", &(pith_attrs){0}, in, 2);
    in[0] = r, in[1] = sc;
    int y = sc < 0 ? sc : ox_add(im, "add", "", &(pith_attrs){0}, in, 2);
    return y < 0 ? y : ox_define_node(im, n->output[0], y, rank);
}

/* PRelu(x, slope): the slope is a trainable parameter, one per channel or
 * one for all. */
int ox_prelu(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0), *s = x ? ox_input(im, n, 1) : NULL;
    if (!s)
        return PITH_EFORMAT;
    if (x->is_const || !s->is_const)
        return ox_fail(im, PITH_EFORMAT, "PRelu of a computed value by a constant slope only");
    int xn = x->node, rank = x->rank;
    int c = im->g->nodes[xn].out.d[0];
    /* the slope must broadcast as one value or one per channel */
    int per_channel = s->n == (size_t)c && s->n > 1;
    if (per_channel) {
        int at = -1; /* the slope's non-1 axis must be the channel axis */
        for (int k = 0; k < s->rank; k++)
            if (s->dims[k] != 1)
                at = s->rank - k;
        per_channel = at == rank - 1;
    }
    if (s->n != 1 && !per_channel)
        return prelu_composed(im, n, xn, rank, s);
    pith_attrs a = {0};
    a.out = per_channel ? c : 1;
    ox_value cs = *s;
    int idx = ox_add(im, "prelu", "", &a, &xn, 1);
    if (idx < 0)
        return idx;
    pith_param *p = &im->g->nodes[idx].params[0];
    for (size_t k = 0; k < p->size; k++)
        p->data[k] = (float)ox_getf(&cs, k);
    return ox_define_node(im, n->output[0], idx, rank);
}

/* Softmax along one axis (opset 13+), or over the axes from `axis` on
 * (before 13, which flattened them); the batch is never an axis here. */
int ox_softmax(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    if (x->is_const)
        return ox_fail(im, PITH_EFORMAT, "Softmax of a constant is not supported");
    const int rank = x->rank;
    int64_t axis = ox_attr_int(n, "axis", im->opset < 13 ? 1 : -1);
    if (axis < 0)
        axis += rank;
    if (axis < 1 || axis >= rank)
        return ox_fail(im, PITH_EFORMAT, "Softmax along axis %lld of a rank-%d value (the batch is axis 0)",
                       (long long)ox_attr_int(n, "axis", -1), rank);
    pith_attrs a = {0};
    if (im->opset < 13 && axis != rank - 1)
        a.axis = axis == 1 ? 3 : -1; /* the flattened trailing axes: the whole sample */
    else if (rank == 2)
        a.axis = 0;
    else if (rank == 3) /* N x C x L held as C x 1 x L */
        a.axis = axis == 1 ? 0 : 2;
    else
        a.axis = (int)axis - 1;
    if (a.axis < 0)
        return ox_fail(im, PITH_EFORMAT, "Softmax over axes %lld.. of a rank-%d value (opset %lld) is not supported",
                       (long long)axis, rank, (long long)im->opset);
    return unary(im, n, &pith_op_softmax, &a, n->output[0]);
}
