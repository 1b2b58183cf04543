/* What each pith op becomes in ONNX (opset 17), one emitter per op: its
 * inputs' value names in, one value out. Weights are the values the forward
 * computes with (pith_param_value), so k-means, binary and ternary layers
 * leave as float weights holding exactly their quantized values. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "export_ops.h"

static const char *param(oxw *w, const pith_node *n, int k, const char *what)
{
    const pith_param *p = &n->params[k];
    char name[PITH_NAME_MAX + 24];
    int64_t d[4];
    for (int i = 0; i < p->ndim; i++)
        d[i] = p->shape[i];
    snprintf(name, sizeof name, "%s.%s", n->name, what);
    return oxw_f32(w, name, p->ndim, d, pith_param_value(p));
}

static const char *ints1(oxw *w, const pith_node *n, const char *what, int count, const int64_t *v)
{
    char name[PITH_NAME_MAX + 24];
    snprintf(name, sizeof name, "%s.%s", n->name, what);
    int64_t d[1] = {count};
    return oxw_i64(w, name, 1, d, v);
}

static const char *scalar(oxw *w, const pith_node *n, const char *what, float v)
{
    char name[PITH_NAME_MAX + 24];
    snprintf(name, sizeof name, "%s.%s", n->name, what);
    return oxw_f32(w, name, 0, NULL, &v);
}

static int done(oxw *w, const pith_node *n, Onnx__NodeProto *o)
{
    if (!o || w->failed)
        return pith_error(PITH_ENOMEM, "out of memory writing node '%s'", n->name);
    return PITH_OK;
}

static void conv_attrs(oxw *w, Onnx__NodeProto *o, const pith_attrs *a)
{
    const int64_t k[2] = {a->kh, a->kw}, s[2] = {a->sh, a->sw}, d[2] = {a->dh, a->dw};
    const int64_t p[4] = {a->ph, a->pw, a->ph, a->pw};
    oxw_attr_ints(w, o, "kernel_shape", k, 2);
    oxw_attr_ints(w, o, "strides", s, 2);
    oxw_attr_ints(w, o, "pads", p, 4);
    oxw_attr_ints(w, o, "dilations", d, 2);
    oxw_attr_int(w, o, "group", a->groups);
}

int ox_emit_layer(oxw *w, const pith_node *n, const char *x, const char *weight, const char *bias, const char *out)
{
    const char *args[3] = {x, weight, bias};
    const char *type = n->op == &pith_op_conv2d ? "Conv" : n->op == &pith_op_linear ? "Gemm" : "ConvTranspose";
    Onnx__NodeProto *o = oxw_node(w, type, n->name, bias ? 3 : 2, args, out);
    if (n->op == &pith_op_linear) {
        oxw_attr_int(w, o, "transB", 1);
        return done(w, n, o);
    }
    conv_attrs(w, o, &n->a);
    if (n->op == &pith_op_conv_transpose && (n->a.oh || n->a.ow)) {
        const int64_t op[2] = {n->a.oh, n->a.ow};
        oxw_attr_ints(w, o, "output_padding", op, 2);
    }
    return done(w, n, o);
}

/* conv2d, conv_transpose, linear with float weights */
static int emit_layer(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    return ox_emit_layer(w, n, in[0], param(w, n, 0, "weight"), n->a.bias ? param(w, n, 1, "bias") : NULL, out);
}

static int emit_batchnorm(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    const char *args[5] = {in[0], param(w, n, 0, "weight"), param(w, n, 1, "bias"), param(w, n, 2, "running_mean"),
                           param(w, n, 3, "running_var")};
    Onnx__NodeProto *o = oxw_node(w, "BatchNormalization", n->name, 5, args, out);
    oxw_attr_float(w, o, "epsilon", n->a.eps);
    return done(w, n, o);
}

static const char *simple_type(const pith_op *op);

/* Ops whose ONNX node has the same inputs and no attributes. */
static int emit_simple(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    return done(w, n, oxw_node(w, simple_type(n->op), n->name, n->n_in, in, out));
}

static int emit_clip(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    const float lo = n->op == &pith_op_clip ? n->a.alpha : 0.0f, hi = n->op == &pith_op_clip ? n->a.beta : 6.0f;
    const char *args[3] = {in[0], scalar(w, n, "min", lo), scalar(w, n, "max", hi)};
    return done(w, n, oxw_node(w, "Clip", n->name, 3, args, out));
}

static int emit_hardsigmoid(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    Onnx__NodeProto *o = oxw_node(w, "HardSigmoid", n->name, 1, in, out);
    oxw_attr_float(w, o, "alpha", n->a.alpha);
    oxw_attr_float(w, o, "beta", n->a.beta);
    return done(w, n, o);
}

static int emit_leaky_relu(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    Onnx__NodeProto *o = oxw_node(w, "LeakyRelu", n->name, 1, in, out);
    oxw_attr_float(w, o, "alpha", n->a.alpha);
    return done(w, n, o);
}

static int emit_prelu(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    /* the slopes broadcast along C of N x C x H x W: [C, 1, 1] */
    const pith_param *p = &n->params[0];
    int64_t d[3] = {(int64_t)p->size, 1, 1};
    char name[PITH_NAME_MAX + 24];
    snprintf(name, sizeof name, "%s.slope", n->name);
    const char *args[2] = {in[0], oxw_f32(w, name, n->out.ndim == 3 ? 3 : 1, d, pith_param_value(p))};
    return done(w, n, oxw_node(w, "PRelu", n->name, 2, args, out));
}

static int emit_silu(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    const char *sig = oxw_name(w, n->name, "sigmoid");
    if (done(w, n, oxw_node(w, "Sigmoid", sig, 1, in, sig)))
        return PITH_ENOMEM;
    const char *args[2] = {in[0], sig};
    return done(w, n, oxw_node(w, "Mul", n->name, 2, args, out));
}

static int emit_pool(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    const pith_attrs *a = &n->a;
    const int end = a->pool_ext & 4;
    const int64_t k[2] = {a->kh, a->kw}, s[2] = {a->sh, a->sw};
    const int64_t p[4] = {a->ph, a->pw, end ? a->ph_end : a->ph, end ? a->pw_end : a->pw};
    const int avg = n->op == &pith_op_avgpool;
    Onnx__NodeProto *o = oxw_node(w, avg ? "AveragePool" : "MaxPool", n->name, 1, in, out);
    oxw_attr_ints(w, o, "kernel_shape", k, 2);
    oxw_attr_ints(w, o, "strides", s, 2);
    oxw_attr_ints(w, o, "pads", p, 4);
    oxw_attr_int(w, o, "ceil_mode", a->pool_ext & 1);
    if (avg) /* pith's default is PyTorch's (padding counted); bit 1 is ONNX's default */
        oxw_attr_int(w, o, "count_include_pad", !(a->pool_ext & 2));
    if (!avg && (a->dh > 1 || a->dw > 1)) {
        const int64_t d[2] = {a->dh, a->dw};
        oxw_attr_ints(w, o, "dilations", d, 2);
    }
    return done(w, n, o);
}

static int emit_flatten(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    Onnx__NodeProto *o = oxw_node(w, "Flatten", n->name, 1, in, out);
    oxw_attr_int(w, o, "axis", 1);
    return done(w, n, o);
}

static int emit_add(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    return done(w, n, oxw_node(w, n->n_in == 2 ? "Add" : "Sum", n->name, n->n_in, in, out));
}

static int emit_concat(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    Onnx__NodeProto *o = oxw_node(w, "Concat", n->name, n->n_in, in, out);
    oxw_attr_int(w, o, "axis", 1);
    return done(w, n, o);
}

/* Reshape to the per-sample dims d (rank r) with the batch kept (0). */
static int reshape(oxw *w, const pith_node *n, const char *x, int r, const int64_t *d, const char *out,
                   const char *what)
{
    int64_t shape[6] = {0};
    memcpy(shape + 1, d, sizeof *d * (size_t)r);
    const char *args[2] = {x, ints1(w, n, what, r + 1, shape)};
    return done(w, n, oxw_node(w, "Reshape", out, 2, args, out));
}

static int emit_channel_shuffle(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    const int64_t g = n->a.groups, c = n->out.d[0], h = n->out.d[1], wd = n->out.d[2];
    const int64_t five[4] = {g, c / g, h, wd}, back[3] = {c, h, wd}, perm[5] = {0, 2, 1, 3, 4};
    const char *a = oxw_name(w, n->name, "grouped"), *t = oxw_name(w, n->name, "transposed");
    if (reshape(w, n, in[0], 4, five, a, "grouped_shape"))
        return PITH_ENOMEM;
    Onnx__NodeProto *o = oxw_node(w, "Transpose", t, 1, &a, t);
    oxw_attr_ints(w, o, "perm", perm, 5);
    if (done(w, n, o))
        return PITH_ENOMEM;
    return reshape(w, n, t, 3, back, out, "shape");
}

static int emit_slice(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    const int64_t start = n->a.ph, end = n->a.ph + n->a.out, axis = 1;
    const char *args[4] = {in[0], ints1(w, n, "starts", 1, &start), ints1(w, n, "ends", 1, &end),
                           ints1(w, n, "axes", 1, &axis)};
    return done(w, n, oxw_node(w, "Slice", n->name, 4, args, out));
}

static int emit_resize(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    static const char *const coord[] = {"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"};
    static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const pith_attrs *a = &n->a;
    const pith_node *x = &w->g->nodes[n->in[0]];
    /* scales when they give the output size (ONNX floors in x scale), else sizes */
    const int by_scales = (int)floorf((float)x->out.d[1] * a->rsh) == a->oh &&
                          (int)floorf((float)x->out.d[2] * a->rsw) == a->ow;
    const float sc[4] = {1.0f, 1.0f, a->rsh, a->rsw};
    const int64_t sz[4] = {1, n->out.d[0], a->oh, a->ow}, four = 4;
    char name[PITH_NAME_MAX + 24];
    snprintf(name, sizeof name, "%s.%s", n->name, by_scales ? "scales" : "sizes");
    const char *args[4] = {in[0], "", by_scales ? oxw_f32(w, name, 1, &four, sc) : "",
                           by_scales ? NULL : oxw_i64(w, name, 1, &four, sz)};
    Onnx__NodeProto *o = oxw_node(w, "Resize", n->name, by_scales ? 3 : 4, args, out);
    oxw_attr_string(w, o, "mode", a->rmode == 1 ? "linear" : "nearest");
    oxw_attr_string(w, o, "coordinate_transformation_mode", coord[a->rcoord & 3]);
    if (a->rmode != 1)
        oxw_attr_string(w, o, "nearest_mode", nearest[a->rnearest & 3]);
    return done(w, n, o);
}

static int emit_channel_mean(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    const int64_t axis = 1;
    Onnx__NodeProto *o = oxw_node(w, "ReduceMean", n->name, 1, in, out);
    oxw_attr_ints(w, o, "axes", &axis, 1);
    oxw_attr_int(w, o, "keepdims", 1);
    return done(w, n, o);
}

static int emit_softmax(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    if (n->a.axis < 3) {
        Onnx__NodeProto *o = oxw_node(w, "Softmax", n->name, 1, in, out);
        oxw_attr_int(w, o, "axis", n->a.axis + 1);
        return done(w, n, o);
    }
    /* over the whole sample (opsets before 13): flatten, softmax, back */
    const char *f = oxw_name(w, n->name, "flat"), *s = oxw_name(w, n->name, "softmax");
    Onnx__NodeProto *o = oxw_node(w, "Flatten", f, 1, in, f);
    oxw_attr_int(w, o, "axis", 1);
    Onnx__NodeProto *o2 = oxw_node(w, "Softmax", s, 1, &f, s);
    oxw_attr_int(w, o2, "axis", 1);
    if (done(w, n, o) || done(w, n, o2))
        return PITH_ENOMEM;
    int64_t d[3];
    for (int k = 0; k < n->out.ndim; k++)
        d[k] = n->out.d[k];
    return reshape(w, n, s, n->out.ndim, d, out, "shape");
}

static int emit_pad(oxw *w, const pith_node *n, const char *const *in, const char *out)
{
    static const char *const mode[] = {"constant", "reflect", "edge"};
    const pith_attrs *a = &n->a;
    const int64_t pads[8] = {0, 0, a->ph, a->pw, 0, 0, a->ph_end, a->pw_end};
    const char *args[3] = {in[0], ints1(w, n, "pads", 8, pads), scalar(w, n, "value", a->alpha)};
    Onnx__NodeProto *o = oxw_node(w, "Pad", n->name, a->rmode == 0 ? 3 : 2, args, out);
    oxw_attr_string(w, o, "mode", mode[a->rmode > 2 ? 0 : a->rmode]);
    return done(w, n, o);
}

static const struct {
    const pith_op *op;
    ox_emit_fn fn;
    const char *type; /* emit_simple's op type */
} emitters[] = {
    {&pith_op_conv2d, emit_layer, NULL},
    {&pith_op_conv_transpose, emit_layer, NULL},
    {&pith_op_linear, emit_layer, NULL},
    {&pith_op_batchnorm, emit_batchnorm, NULL},
    {&pith_op_relu, emit_simple, "Relu"},
    {&pith_op_hardswish, emit_simple, "HardSwish"},
    {&pith_op_sigmoid, emit_simple, "Sigmoid"},
    {&pith_op_global_avgpool, emit_simple, "GlobalAveragePool"},
    {&pith_op_global_maxpool, emit_simple, "GlobalMaxPool"},
    {&pith_op_broadcast_add, emit_simple, "Add"},
    {&pith_op_sub, emit_simple, "Sub"},
    {&pith_op_mul, emit_simple, "Mul"},
    {&pith_op_div, emit_simple, "Div"},
    {&pith_op_relu6, emit_clip, NULL},
    {&pith_op_clip, emit_clip, NULL},
    {&pith_op_hardsigmoid, emit_hardsigmoid, NULL},
    {&pith_op_leaky_relu, emit_leaky_relu, NULL},
    {&pith_op_prelu, emit_prelu, NULL},
    {&pith_op_silu, emit_silu, NULL},
    {&pith_op_maxpool, emit_pool, NULL},
    {&pith_op_avgpool, emit_pool, NULL},
    {&pith_op_flatten, emit_flatten, NULL},
    {&pith_op_add, emit_add, NULL},
    {&pith_op_concat, emit_concat, NULL},
    {&pith_op_channel_shuffle, emit_channel_shuffle, NULL},
    {&pith_op_slice, emit_slice, NULL},
    {&pith_op_resize, emit_resize, NULL},
    {&pith_op_channel_mean, emit_channel_mean, NULL},
    {&pith_op_softmax, emit_softmax, NULL},
    {&pith_op_pad, emit_pad, NULL},
};

static const char *simple_type(const pith_op *op)
{
    for (size_t k = 0; k < sizeof emitters / sizeof emitters[0]; k++)
        if (emitters[k].op == op)
            return emitters[k].type;
    return NULL;
}

ox_emit_fn ox_emitter(const pith_op *op)
{
    for (size_t k = 0; k < sizeof emitters / sizeof emitters[0]; k++)
        if (emitters[k].op == op)
            return emitters[k].fn;
    return NULL;
}
