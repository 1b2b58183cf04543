/* Activations: Relu, Clip, Sigmoid, HardSigmoid, HardSwish, and the
 * Sigmoid + Mul and HardSigmoid + Mul pairs PyTorch exports for SiLU and
 * (before opset 14) hardswish, each taken as one pith op. */
#include <math.h>
#include <string.h>

#include "../core/error.h"
#include "importer.h"

static int unary(ox_importer *im, const Onnx__NodeProto *n, const char *op, const pith_attrs *a, const char *out)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    if (x->is_const)
        return ox_fail(im, PITH_EFORMAT, "input '%s' is a constant (folding %s is not supported)", x->name,
                       n->op_type);
    int xn = x->node, rank = x->rank;
    int idx = ox_add(im, op, "", a ? a : &(pith_attrs){0}, &xn, 1);
    return idx < 0 ? idx : ox_define_node(im, out, idx, rank);
}

int ox_relu(ox_importer *im, const Onnx__NodeProto *n) { return unary(im, n, "relu", NULL, n->output[0]); }

/* The Mul that is the sole reader of this node's output and multiplies it by
 * this node's own input: its index, else -1. */
static int gating_mul(ox_importer *im, const Onnx__NodeProto *n)
{
    int k = ox_sole_consumer(im, n->output[0], im->node_index);
    if (k < 0)
        return -1;
    const Onnx__NodeProto *m = im->graph->node[k];
    if (strcmp(m->op_type, "Mul") || m->n_input != 2 || (m->domain && m->domain[0]))
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
        return unary(im, n, "silu", NULL, im->graph->node[k]->output[0]);
    }
    return unary(im, n, "sigmoid", NULL, n->output[0]);
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
        return unary(im, n, "hardswish", NULL, im->graph->node[k]->output[0]);
    }
    return unary(im, n, "hardsigmoid", &a, n->output[0]);
}

int ox_hardswish(ox_importer *im, const Onnx__NodeProto *n) { return unary(im, n, "hardswish", NULL, n->output[0]); }

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
        return unary(im, n, "relu", NULL, n->output[0]);
    if (lo == 0.0f && hi == 6.0f)
        return unary(im, n, "relu6", NULL, n->output[0]);
    return ox_fail(im, PITH_EFORMAT, "Clip to [%g, %g]; pith imports [0, inf) (relu) and [0, 6] (relu6)",
                   (double)lo, (double)hi);
}
