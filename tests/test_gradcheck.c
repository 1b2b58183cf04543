/* Every op's backward against central finite differences (core/gradcheck.c),
 * on small random shapes: stride, padding, dilation, groups, depthwise, odd
 * sizes, and values that fan out to several consumers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/gradcheck.h"
#include "testutil.h"

static pith_attrs conv_attrs(int out, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
                             int groups, int bias)
{
    pith_attrs a = {0};
    a.out = out;
    a.kh = kh;
    a.kw = kw;
    a.sh = sh;
    a.sw = sw;
    a.ph = ph;
    a.pw = pw;
    a.dh = dh;
    a.dw = dw;
    a.groups = groups;
    a.bias = bias;
    return a;
}

static pith_attrs pool_attrs(int k, int s, int p)
{
    pith_attrs a = {0};
    a.kh = a.kw = k;
    a.sh = a.sw = s;
    a.ph = a.pw = p;
    return a;
}

static pith_attrs bn_attrs(void)
{
    pith_attrs a = {0};
    a.eps = 1e-5f;
    a.momentum = 0.1f;
    return a;
}

static pith_graph *new_graph(int c, int h, int w)
{
    pith_shape s = {3, {c, h, w}};
    if (h == 0)
        s = (pith_shape){1, {c, 0, 0}};
    pith_graph *g;
    CHECK_OK(pith_graph_create(&g, s, 42));
    g->input_grad = 1;
    return g;
}

static int add1(pith_graph *g, const char *op, const char *name, pith_attrs a, int in)
{
    int idx = pith_graph_add(g, op, name, &a, &in, 1);
    if (idx < 0)
        fail_msg("adding %s: %s", name, pith_last_error());
    return idx;
}

/* Compiles for `batch`, fills the input with U(lo, hi), checks, frees. The step
 * is 1e-3: at 1e-2 a step moves enough activations across a relu or maxpool
 * kink to bias the numeric estimate of a weight gradient by a few percent. */
static void run_check(pith_graph *g, int batch, float lo, float hi, int training)
{
    CHECK_OK(pith_graph_compile(g, batch));
    pith_graph_set_training(g, training);
    tu_fill(pith_graph_input(g), pith_shape_size(&g->input_shape) * (size_t)batch, lo, hi, 7);
    pith_gradcheck_result r;
    CHECK_OK(pith_gradcheck(g, batch, getenv("GC_H") ? atof(getenv("GC_H")) : 1e-3, 2e-3, 1e-2, 200, 99, &r));
    if (r.failed || r.checked < 10 || r.skipped * 5 > r.checked)
        fail_msg("gradcheck: %d checked, %d skipped, %d failed; worst %.3g at %s", r.checked,
                 r.skipped, r.failed, r.max_err, r.worst);
    pith_graph_free(g);
}

static void test_conv_basic(void **state)
{
    (void)state;
    pith_graph *g = new_graph(3, 7, 6);
    add1(g, "conv2d", "conv", conv_attrs(4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1), 0);
    run_check(g, 2, -1, 1, 1);
}

static void test_conv_dilated_grouped(void **state)
{
    (void)state;
    pith_graph *g = new_graph(4, 9, 8);
    add1(g, "conv2d", "conv", conv_attrs(6, 3, 2, 1, 2, 1, 0, 2, 1, 2, 1), 0);
    run_check(g, 3, -1, 1, 1);
}

static void test_conv_same_shifted(void **state)
{
    (void)state;
    /* stride 1 with output size == input size: im2col/col2im by shifted copies */
    pith_graph *g = new_graph(4, 6, 7);
    add1(g, "conv2d", "conv", conv_attrs(4, 3, 5, 1, 1, 2, 4, 2, 2, 2, 1), 0);
    run_check(g, 2, -1, 1, 1);
    g = new_graph(2, 5, 3);
    add1(g, "conv2d", "conv", conv_attrs(3, 5, 3, 1, 1, 2, 1, 1, 1, 1, 0), 0);
    run_check(g, 2, -1, 1, 1);
}

static void test_conv_1x1_no_bias(void **state)
{
    (void)state;
    pith_graph *g = new_graph(5, 4, 3);
    add1(g, "conv2d", "conv", conv_attrs(3, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0), 0);
    run_check(g, 2, -1, 1, 1);
}

static void test_conv_depthwise(void **state)
{
    (void)state;
    pith_graph *g = new_graph(4, 7, 7);
    /* channel multiplier 2, stride 2, padding 1 */
    add1(g, "conv2d", "dw", conv_attrs(8, 3, 3, 2, 2, 1, 1, 1, 1, 4, 1), 0);
    run_check(g, 2, -1, 1, 1);
}

static void test_conv_depthwise_dilated(void **state)
{
    (void)state;
    pith_graph *g = new_graph(3, 8, 9);
    add1(g, "conv2d", "dw", conv_attrs(3, 3, 3, 1, 1, 2, 2, 2, 2, 3, 0), 0);
    run_check(g, 2, -1, 1, 1);
}

static void test_linear(void **state)
{
    (void)state;
    pith_graph *g = new_graph(7, 0, 0);
    pith_attrs a = {0};
    a.out = 5;
    a.bias = 1;
    int x = add1(g, "linear", "fc1", a, 0);
    a.out = 3;
    a.bias = 0;
    add1(g, "linear", "fc2", a, x);
    run_check(g, 4, -1, 1, 1);
}

static void test_batchnorm2d_train(void **state)
{
    (void)state;
    pith_graph *g = new_graph(3, 5, 4);
    int x = add1(g, "batchnorm", "bn", bn_attrs(), 0);
    /* give gamma/beta non-trivial values */
    tu_fill(g->nodes[x].params[0].data, 3, 0.5f, 1.5f, 3);
    tu_fill(g->nodes[x].params[1].data, 3, -0.5f, 0.5f, 4);
    run_check(g, 3, -2, 2, 1);
}

static void test_batchnorm2d_eval(void **state)
{
    (void)state;
    pith_graph *g = new_graph(3, 5, 4);
    int x = add1(g, "batchnorm", "bn", bn_attrs(), 0);
    tu_fill(g->nodes[x].params[0].data, 3, 0.5f, 1.5f, 3);
    tu_fill(g->nodes[x].params[2].data, 3, -0.5f, 0.5f, 5);
    tu_fill(g->nodes[x].params[3].data, 3, 0.5f, 2.0f, 6);
    run_check(g, 3, -2, 2, 0);
}

static void test_batchnorm1d_train(void **state)
{
    (void)state;
    pith_graph *g = new_graph(6, 0, 0);
    int x = add1(g, "batchnorm", "bn", bn_attrs(), 0);
    tu_fill(g->nodes[x].params[0].data, 6, 0.5f, 1.5f, 3);
    run_check(g, 5, -2, 2, 1);
}

static void test_activations(void **state)
{
    (void)state;
    const char *ops[] = {"relu", "relu6", "hardswish", "sigmoid", "silu", "hardsigmoid", "clip", "leaky_relu"};
    for (int i = 0; i < 8; i++) {
        pith_graph *g = new_graph(3, 4, 5);
        pith_attrs a = {0};
        a.alpha = 0.2f; /* hardsigmoid: ONNX's default, the ramp spans [-2.5, 2.5] */
        a.beta = 0.5f;
        if (i == 6) /* clip to [-2, 3] */
            a.alpha = -2.0f, a.beta = 3.0f;
        add1(g, ops[i], ops[i], a, 0);
        /* spans both kinks of relu6 and hardswish */
        run_check(g, 2, -8, 8, 1);
    }
}

static int add_constant(pith_graph *g, const char *name, int c, int h, int w, float lo, float hi)
{
    pith_attrs a = {0};
    a.out = c, a.kh = h, a.kw = w;
    int idx = pith_graph_add(g, "constant", name, &a, NULL, 0);
    if (idx < 0)
        fail_msg("adding %s: %s", name, pith_last_error());
    pith_param *p = &g->nodes[idx].params[0];
    tu_fill(p->data, p->size, lo, hi, 11);
    return idx;
}

static int add2(pith_graph *g, const char *op, const char *name, int a, int b)
{
    int in[2] = {a, b};
    int idx = pith_graph_add(g, op, name, &(pith_attrs){0}, in, 2);
    if (idx < 0)
        fail_msg("adding %s: %s", name, pith_last_error());
    return idx;
}

/* The broadcasting binaries: each operand's gradient is reduced over the
 * dimensions it was broadcast along (SE gating C x 1 x 1, a 1 x 1 x W row, a
 * per-channel constant on either side, a vector and a scalar). */
static void test_broadcast(void **state)
{
    (void)state;
    const char *ops[] = {"broadcast_add", "sub", "mul", "div"};
    for (int i = 0; i < 4; i++) {
        /* SE: x (op) sigmoid(gap(conv(x))), the gate > 0 so div is smooth */
        pith_graph *g = new_graph(3, 4, 5);
        int cv = add1(g, "conv2d", "c", conv_attrs(3, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1), 0);
        int gp = add1(g, "global_avgpool", "gap", (pith_attrs){0}, cv);
        int gt = add1(g, "sigmoid", "gate", (pith_attrs){0}, gp);
        add2(g, ops[i], "se", 0, gt);
        run_check(g, 2, -1, 1, 1);
        /* a per-channel constant first, then a row constant second */
        g = new_graph(3, 4, 5);
        int k = add_constant(g, "k", 3, 1, 1, 0.5f, 2.0f);
        int y = add2(g, ops[i], "kx", k, 0);
        int r = add_constant(g, "r", 1, 1, 5, 0.5f, 2.0f);
        add2(g, ops[i], "xr", y, r);
        run_check(g, 2, 0.5f, 2, 1);
        /* vectors: (6) with a scalar (1) */
        g = new_graph(6, 0, 0);
        int s = add_constant(g, "s", 1, 0, 0, 0.5f, 2.0f);
        add2(g, ops[i], "xs", 0, s);
        run_check(g, 3, 0.5f, 2, 1);
    }
}

/* channel shuffle and channel slices (ShuffleNet's unit: split, branch, concat, shuffle) */
static void test_shuffle_slice(void **state)
{
    (void)state;
    pith_graph *g = new_graph(6, 3, 4);
    pith_attrs a = {0};
    a.ph = 0, a.out = 3;
    int lo = add1(g, "slice", "lo", a, 0);
    a.ph = 3;
    int hi = add1(g, "slice", "hi", a, 0);
    int br = add1(g, "conv2d", "br", conv_attrs(3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), hi);
    int in[2] = {lo, br};
    int cat = pith_graph_add(g, "concat", "cat", &(pith_attrs){0}, in, 2);
    pith_attrs s = {0};
    s.groups = 2;
    int sh = add1(g, "channel_shuffle", "shuffle", s, cat);
    add1(g, "conv2d", "mix", conv_attrs(4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1), sh);
    run_check(g, 2, -1, 1, 1);
    /* the permutation itself, by hand: 6 channels in 3 groups of 2 */
    g = new_graph(6, 1, 1);
    s.groups = 3;
    add1(g, "channel_shuffle", "shuffle", s, 0);
    CHECK_OK(pith_graph_compile(g, 1));
    float *x = pith_graph_input(g);
    for (int k = 0; k < 6; k++)
        x[k] = (float)k;
    CHECK_OK(pith_graph_forward(g, 1));
    const float want[6] = {0, 2, 4, 1, 3, 5}; /* out[j*g + i] = in[i*k + j], k = 2 */
    for (int k = 0; k < 6; k++)
        assert_true(pith_graph_output(g)[k] == want[k]);
    pith_graph_free(g);
}

/* resize: bilinear up and down with each coordinate transform, and nearest */
static void test_resize(void **state)
{
    (void)state;
    const int sizes[3][2] = {{7, 9}, {2, 3}, {5, 5}};
    for (int mode = 0; mode < 2; mode++)
        for (int coord = 0; coord < 4; coord++)
            for (int s = 0; s < 3; s++) {
                pith_graph *g = new_graph(2, 4, 5);
                pith_attrs a = {0};
                a.oh = sizes[s][0], a.ow = sizes[s][1];
                a.rsh = (float)a.oh / 4, a.rsw = (float)a.ow / 5;
                a.rmode = mode, a.rcoord = coord, a.rnearest = coord; /* every rounding rule once */
                add1(g, "resize", "resize", a, 0);
                run_check(g, 2, -1, 1, 1);
            }
}

/* prelu: the slope's gradient, per channel and shared */
static void test_prelu(void **state)
{
    (void)state;
    for (int shared = 0; shared < 2; shared++) {
        pith_graph *g = new_graph(3, 4, 5);
        pith_attrs a = {0};
        a.out = shared ? 1 : 3;
        add1(g, "prelu", "prelu", a, 0);
        run_check(g, 2, -2, 2, 1);
    }
}

/* ONNX's pools: ceil mode, end padding other than the start's, and the
 * mean without the padding */
static void test_pool_onnx_geometry(void **state)
{
    (void)state;
    const char *ops[] = {"maxpool", "avgpool"};
    for (int op = 0; op < 2; op++)
        for (int ext = 1; ext < 8; ext++) {
            pith_graph *g = new_graph(2, 7, 6);
            pith_attrs a = pool_attrs(3, 2, 1);
            a.pool_ext = ext;
            a.ph_end = 0, a.pw_end = 1;
            add1(g, ops[op], "pool", a, 0);
            run_check(g, 2, -1, 1, 1);
        }
}

static void test_channel_mean(void **state)
{
    (void)state;
    pith_graph *g = new_graph(4, 3, 5);
    add1(g, "channel_mean", "mean", (pith_attrs){0}, 0);
    run_check(g, 2, -1, 1, 1);
    g = new_graph(6, 0, 0);
    add1(g, "channel_mean", "mean", (pith_attrs){0}, 0);
    run_check(g, 3, -1, 1, 1);
}

static void test_softmax_gmax(void **state)
{
    (void)state;
    for (int axis = 0; axis < 4; axis++) {
        pith_graph *g = new_graph(3, 4, 5);
        pith_attrs a = {0};
        a.axis = axis;
        add1(g, "softmax", "softmax", a, 0);
        run_check(g, 2, -2, 2, 1);
    }
    pith_graph *g = new_graph(7, 0, 0);
    add1(g, "softmax", "softmax", (pith_attrs){0}, 0);
    run_check(g, 2, -2, 2, 1);
    g = new_graph(3, 4, 5);
    add1(g, "global_maxpool", "gmax", (pith_attrs){0}, 0);
    run_check(g, 2, -1, 1, 1);
}

static void test_pad(void **state)
{
    (void)state;
    for (int mode = 0; mode < 3; mode++) {
        pith_graph *g = new_graph(2, 4, 5);
        pith_attrs a = {0};
        a.ph = 1, a.pw = 3, a.ph_end = 2, a.pw_end = 0, a.rmode = mode, a.alpha = 0.5f;
        add1(g, "pad", "pad", a, 0);
        run_check(g, 2, -1, 1, 1);
    }
}

/* transposed convolution: stride, padding, dilation, groups, output padding */
static void test_conv_transpose(void **state)
{
    (void)state;
    const int cfg[4][7] = {/* k s p d groups out_pad bias */
                           {3, 2, 1, 1, 1, 1, 1}, {2, 2, 0, 1, 1, 0, 0}, {3, 1, 1, 2, 2, 0, 1}, {4, 3, 1, 1, 1, 2, 1}};
    for (int k = 0; k < 4; k++) {
        pith_graph *g = new_graph(4, 3, 4);
        pith_attrs a = conv_attrs(6, cfg[k][0], cfg[k][0], cfg[k][1], cfg[k][1], cfg[k][2], cfg[k][2], cfg[k][3],
                                  cfg[k][3], cfg[k][4], cfg[k][6]);
        a.oh = a.ow = cfg[k][5];
        add1(g, "conv_transpose", "up", a, 0);
        run_check(g, 2, -1, 1, 1);
    }
}

static void test_maxpool(void **state)
{
    (void)state;
    pith_graph *g = new_graph(2, 6, 8); /* 2x2/2 fast path */
    add1(g, "maxpool", "pool", pool_attrs(2, 2, 0), 0);
    run_check(g, 2, -1, 1, 1);
    g = new_graph(2, 7, 7); /* odd size: windows do not tile */
    add1(g, "maxpool", "pool", pool_attrs(2, 2, 0), 0);
    run_check(g, 2, -1, 1, 1);
    g = new_graph(2, 7, 6); /* overlapping windows with padding */
    add1(g, "maxpool", "pool", pool_attrs(3, 2, 1), 0);
    run_check(g, 2, -1, 1, 1);
}

static void test_avgpool(void **state)
{
    (void)state;
    pith_graph *g = new_graph(2, 7, 6);
    add1(g, "avgpool", "pool", pool_attrs(3, 2, 1), 0);
    run_check(g, 2, -1, 1, 1);
    g = new_graph(3, 4, 4);
    add1(g, "avgpool", "pool", pool_attrs(2, 2, 0), 0);
    run_check(g, 2, -1, 1, 1);
}

static void test_gap_flatten(void **state)
{
    (void)state;
    pith_graph *g = new_graph(3, 5, 4);
    int x = add1(g, "global_avgpool", "gap", (pith_attrs){0}, 0);
    add1(g, "flatten", "flat", (pith_attrs){0}, x);
    run_check(g, 2, -1, 1, 1);
}

static void test_add_concat_fanout(void **state)
{
    (void)state;
    /* The input fans out to three consumers; conv's output to two. */
    pith_graph *g = new_graph(2, 5, 5);
    int c = add1(g, "conv2d", "conv", conv_attrs(2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), 0);
    int r = add1(g, "relu", "relu", (pith_attrs){0}, c);
    int ins[3] = {0, c, r};
    int s = pith_graph_add(g, "add", "add3", NULL, ins, 3);
    assert_true(s >= 0);
    int cat[2] = {s, 0};
    assert_true(pith_graph_add(g, "concat", "cat", NULL, cat, 2) >= 0);
    run_check(g, 2, -1, 1, 1);
}

static void test_concat_features(void **state)
{
    (void)state;
    pith_graph *g = new_graph(4, 0, 0);
    pith_attrs a = {0};
    a.out = 3;
    a.bias = 1;
    int f1 = add1(g, "linear", "fc1", a, 0);
    int f2 = add1(g, "linear", "fc2", a, 0);
    int ins[3] = {f1, f2, 0};
    assert_true(pith_graph_add(g, "concat", "cat", NULL, ins, 3) >= 0);
    run_check(g, 3, -1, 1, 1);
}

static void test_dropout(void **state)
{
    (void)state;
    pith_graph *g = new_graph(3, 4, 4);
    pith_attrs a = {0};
    a.p = 0.3f;
    add1(g, "dropout", "drop", a, 0);
    run_check(g, 2, -1, 1, 1);
}

static void test_dropout_statistics(void **state)
{
    (void)state;
    /* In training about p of the elements are dropped and the rest scaled by 1/(1-p);
     * in eval mode dropout is the identity. */
    pith_graph *g = new_graph(50, 20, 20);
    pith_attrs a = {0};
    a.p = 0.25f;
    add1(g, "dropout", "drop", a, 0);
    CHECK_OK(pith_graph_compile(g, 2));
    size_t n = 2 * 50 * 20 * 20;
    for (size_t i = 0; i < n; i++)
        pith_graph_input(g)[i] = 1.0f;
    pith_graph_set_training(g, 1);
    CHECK_OK(pith_graph_forward(g, 2));
    size_t zeros = 0;
    for (size_t i = 0; i < n; i++) {
        float v = pith_graph_output(g)[i];
        if (v == 0.0f)
            zeros++;
        else
            assert_float_equal(v, 1.0f / 0.75f, 1e-6);
    }
    double frac = (double)zeros / n;
    assert_true(frac > 0.24 && frac < 0.26);
    pith_graph_set_training(g, 0);
    CHECK_OK(pith_graph_forward(g, 2));
    for (size_t i = 0; i < n; i++)
        assert_float_equal(pith_graph_output(g)[i], 1.0f, 0);
    pith_graph_free(g);
}

static void test_small_network(void **state)
{
    (void)state;
    /* conv-bn-relu-pool-flatten-linear: the chain in which gradients overwrite. */
    pith_graph *g = new_graph(2, 6, 6);
    int x = add1(g, "conv2d", "conv", conv_attrs(3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0), 0);
    x = add1(g, "batchnorm", "bn", bn_attrs(), x);
    x = add1(g, "relu", "relu", (pith_attrs){0}, x);
    x = add1(g, "maxpool", "pool", pool_attrs(2, 2, 0), x);
    x = add1(g, "flatten", "flat", (pith_attrs){0}, x);
    pith_attrs a = {0};
    a.out = 4;
    a.bias = 1;
    add1(g, "linear", "fc", a, x);
    run_check(g, 3, -1, 1, 1);
}

/* Builds conv -> bn -> act -> pool (and a second bn with two consumers,
 * which must not fuse), runs forward and backward, returns the graph. */
static pith_graph *fusion_graph(const char *act, int fuse_off)
{
    pith_graph *g = new_graph(2, 6, 6);
    g->fuse_off = fuse_off;
    int x = add1(g, "conv2d", "conv", conv_attrs(3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0), 0);
    x = add1(g, "batchnorm", "bn", bn_attrs(), x);
    x = add1(g, act, "act", (pith_attrs){0}, x);
    int b2 = add1(g, "batchnorm", "bn2", bn_attrs(), x);
    int r2 = add1(g, "relu", "act2", (pith_attrs){0}, b2);
    int ins[2] = {r2, b2};
    x = pith_graph_add(g, "add", "sum", NULL, ins, 2);
    add1(g, "maxpool", "pool", pool_attrs(2, 2, 0), x);
    CHECK_OK(pith_graph_compile(g, 3));
    pith_graph_set_training(g, 1);
    tu_fill(pith_graph_input(g), 3 * 72, -4, 4, 5);
    CHECK_OK(pith_graph_forward(g, 3));
    tu_fill(pith_graph_output_grad(g), 3 * 27, -1, 1, 6);
    pith_graph_zero_grad(g);
    CHECK_OK(pith_graph_backward(g, 3));
    return g;
}

static void test_fusion_is_exact(void **state)
{
    (void)state;
    const char *acts[2] = {"relu", "relu6"};
    for (int a = 0; a < 2; a++) {
        pith_graph *f = fusion_graph(acts[a], 0), *u = fusion_graph(acts[a], 1);
        int bn = pith_graph_find(f, "bn"), bn2 = pith_graph_find(f, "bn2");
        assert_int_equal(f->nodes[bn].fused_act, a + 1);
        assert_int_equal(f->nodes[bn2].fused_act, 0); /* bn2 has two consumers */
        assert_int_equal(u->nodes[bn].fused_act, 0);
        assert_memory_equal(pith_graph_output(f), pith_graph_output(u), 3 * 27 * sizeof(float));
        assert_memory_equal(pith_graph_input_grad(f), pith_graph_input_grad(u), 3 * 72 * sizeof(float));
        for (int i = 0; i < f->n_nodes; i++)
            for (int j = 0; j < f->nodes[i].n_params; j++) {
                const pith_param *p = &f->nodes[i].params[j], *q = &u->nodes[i].params[j];
                assert_memory_equal(p->data, q->data, p->size * sizeof(float));
                if (p->grad)
                    assert_memory_equal(p->grad, q->grad, p->size * sizeof(float));
            }
        pith_graph_free(f);
        pith_graph_free(u);
    }
    /* batchnorm -> activation -> 2x2 maxpool, computed by the batchnorm alone */
    for (int a = 0; a < 2; a++) {
        pith_graph *gg[2];
        for (int v = 0; v < 2; v++) {
            pith_graph *g = new_graph(2, 8, 6);
            g->fuse_off = v;
            int x = add1(g, "conv2d", "conv", conv_attrs(3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0), 0);
            x = add1(g, "batchnorm", "bn", bn_attrs(), x);
            x = add1(g, acts[a], "act", (pith_attrs){0}, x);
            x = add1(g, "maxpool", "pool", pool_attrs(2, 2, 0), x);
            x = add1(g, "flatten", "flat", (pith_attrs){0}, x);
            pith_attrs l = {0};
            l.out = 5;
            l.bias = 1;
            add1(g, "linear", "fc", l, x);
            CHECK_OK(pith_graph_compile(g, 4));
            pith_graph_set_training(g, 1);
            tu_fill(pith_graph_input(g), 4 * 96, -4, 4, 15);
            /* exact ties inside windows, as relu zeros and repeated values make them */
            for (int i = 0; i < 4 * 96; i += 7)
                pith_graph_input(g)[i] = pith_graph_input(g)[i + 1 < 4 * 96 ? i + 1 : i];
            CHECK_OK(pith_graph_forward(g, 4));
            tu_fill(pith_graph_output_grad(g), 4 * 5, -1, 1, 16);
            pith_graph_zero_grad(g);
            CHECK_OK(pith_graph_backward(g, 4));
            gg[v] = g;
        }
        assert_int_equal(gg[0]->nodes[pith_graph_find(gg[0], "pool")].computed_by,
                         pith_graph_find(gg[0], "bn"));
        assert_int_equal(gg[1]->nodes[pith_graph_find(gg[1], "pool")].computed_by, -1);
        assert_memory_equal(pith_graph_output(gg[0]), pith_graph_output(gg[1]), 20 * sizeof(float));
        assert_memory_equal(pith_graph_input_grad(gg[0]), pith_graph_input_grad(gg[1]), 4 * 96 * sizeof(float));
        for (int i = 0; i < gg[0]->n_nodes; i++)
            for (int j = 0; j < gg[0]->nodes[i].n_params; j++) {
                const pith_param *p = &gg[0]->nodes[i].params[j], *q = &gg[1]->nodes[i].params[j];
                assert_memory_equal(p->data, q->data, p->size * sizeof(float));
                if (p->grad)
                    assert_memory_equal(p->grad, q->grad, p->size * sizeof(float));
            }
        pith_graph_free(gg[0]);
        pith_graph_free(gg[1]);
    }
    /* and the fused graph's gradients against finite differences */
    pith_graph *g = new_graph(2, 5, 5);
    int x = add1(g, "batchnorm", "bn", bn_attrs(), 0);
    x = add1(g, "relu6", "act", (pith_attrs){0}, x);
    add1(g, "avgpool", "pool", pool_attrs(2, 1, 0), x);
    run_check(g, 3, -8, 8, 1);
}

static void test_shape_errors(void **state)
{
    (void)state;
    pith_graph *g = new_graph(3, 5, 5);
    pith_attrs a = conv_attrs(4, 3, 3, 1, 1, 0, 0, 1, 1, 2, 0); /* 3 channels, groups 2 */
    int in = 0;
    assert_true(pith_graph_add(g, "conv2d", "bad", &a, &in, 1) < 0);
    CHECK_ERROR_HAS("groups=2");
    a = conv_attrs(4, 7, 7, 1, 1, 0, 0, 1, 1, 1, 0); /* kernel larger than input */
    assert_true(pith_graph_add(g, "conv2d", "big", &a, &in, 1) < 0);
    CHECK_ERROR_HAS("too small");
    pith_attrs l = {0};
    l.out = 3;
    assert_true(pith_graph_add(g, "linear", "fc", &l, &in, 1) < 0);
    CHECK_ERROR_HAS("flatten");
    assert_true(pith_graph_add(g, "nosuchop", "x", &l, &in, 1) < 0);
    CHECK_ERROR_HAS("unknown op");
    int x = add1(g, "relu", "r", (pith_attrs){0}, 0);
    assert_true(pith_graph_add(g, "relu", "r", NULL, &x, 1) < 0);
    CHECK_ERROR_HAS("already exists");
    int ins[2] = {0, 99};
    assert_true(pith_graph_add(g, "add", "a", NULL, ins, 2) < 0);
    CHECK_ERROR_HAS("does not exist");
    pith_graph_free(g);
}

static int scale_calls;
static int scale_fwd(void *ctx, const pith_param *p, float *out)
{
    (void)ctx;
    scale_calls++;
    for (size_t i = 0; i < p->size; i++)
        out[i] = 2.0f * p->data[i];
    return 0;
}
static void scale_bwd(void *ctx, const pith_param *p, float *grad)
{
    (void)ctx;
    for (size_t i = 0; i < p->size; i++)
        grad[i] *= 2.0f;
}
static const pith_param_transform scale_tf = {"scale2", scale_fwd, scale_bwd, NULL};

static void test_param_transform_and_insert(void **state)
{
    (void)state;
    /* A transform on a weight (w -> 2w) is seen by forward and chained in
     * backward; a node inserted after an existing one is rewired in. */
    pith_graph *g = new_graph(3, 0, 0);
    pith_attrs a = {0};
    a.out = 2;
    int fc = add1(g, "linear", "fc", a, 0);
    CHECK_OK(pith_param_set_transform(&g->nodes[fc].params[0], &scale_tf, NULL));
    int r = pith_graph_insert_after(g, fc, "relu6", "act", NULL);
    assert_true(r > fc);
    assert_int_equal(g->output, r);
    run_check(g, 3, -1, 1, 1);
    assert_true(scale_calls > 0);
}

static void test_frozen_params(void **state)
{
    (void)state;
    /* Frozen parameters are skipped by the optimizer; gradient still flows through. */
    pith_graph *g = new_graph(3, 0, 0);
    pith_attrs a = {0};
    a.out = 2;
    int fc = add1(g, "linear", "fc", a, 0);
    g->nodes[fc].params[0].frozen = 1;
    CHECK_OK(pith_graph_compile(g, 1));
    assert_true(g->nodes[0].needs_grad == 1);
    g->input_grad = 0;
    CHECK_OK(pith_graph_compile(g, 1));
    /* nothing trainable upstream of the output except frozen: the input needs no grad */
    assert_int_equal(g->nodes[0].needs_grad, 0);
    pith_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_basic),
        cmocka_unit_test(test_conv_dilated_grouped),
        cmocka_unit_test(test_conv_same_shifted),
        cmocka_unit_test(test_conv_1x1_no_bias),
        cmocka_unit_test(test_conv_depthwise),
        cmocka_unit_test(test_conv_depthwise_dilated),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_batchnorm2d_train),
        cmocka_unit_test(test_batchnorm2d_eval),
        cmocka_unit_test(test_batchnorm1d_train),
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_maxpool),
        cmocka_unit_test(test_avgpool),
        cmocka_unit_test(test_gap_flatten),
        cmocka_unit_test(test_add_concat_fanout),
        cmocka_unit_test(test_concat_features),
        cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_dropout_statistics),
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_shuffle_slice),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_prelu),
        cmocka_unit_test(test_pool_onnx_geometry),
        cmocka_unit_test(test_channel_mean),
        cmocka_unit_test(test_softmax_gmax),
        cmocka_unit_test(test_pad),
        cmocka_unit_test(test_conv_transpose),
        cmocka_unit_test(test_small_network),
        cmocka_unit_test(test_fusion_is_exact),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_param_transform_and_insert),
        cmocka_unit_test(test_frozen_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
