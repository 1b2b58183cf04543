/* Structured pruning: dependency groups against a hand analysis, the pruned
 * network against the original with the same channels zeroed (through
 * residual adds, concat, depthwise convs and batchnorm), criteria against
 * hand-computed rankings, pruned models through checkpoints. */
#include <math.h>
#include <stdlib.h>

#include "../core/checkpoint.h"
#include "../core/optim.h"
#include "../core/zoo.h"
#include "../prune/prune.h"
#include "../quant/quant.h"
#include "testutil.h"

static pith_graph *zoo(const char *name)
{
    pith_graph *g = NULL;
    if (pith_zoo_build(name, 1, 28, 28, 10, 3, &g))
        fail_msg("%s: %s", name, pith_last_error());
    return g;
}

static void expect_groups(pith_graph *g, const char *const *want, int n_want)
{
    pith_prune_group *grp;
    int n;
    CHECK_OK(pith_prune_groups(g, &grp, &n));
    assert_int_equal(n, n_want);
    for (int i = 0; i < n; i++) {
        char got[256] = "";
        size_t o = 0;
        o += (size_t)snprintf(got, sizeof got, "%d%s:", grp[i].channels, grp[i].prunable ? "" : "!");
        for (int k = 0; k < grp[i].n_members; k++)
            o += (size_t)snprintf(got + o, sizeof got - o, " %s", g->nodes[grp[i].members[k]].name);
        assert_string_equal(got, want[i]);
    }
    free(grp);
}

/* By hand: an add ties its inputs' channels (layer1's identity shortcut ties
 * conv1 to layer1.conv2; layer2/3's projections tie down.conv to conv2); a
 * depthwise conv carries its input's channels (it joins no group as a
 * producer); the classifier's outputs are the model's output. */
static void test_groups(void **state)
{
    (void)state;
    pith_graph *g = zoo("resnet8");
    const char *const resnet[] = {"16: conv1 layer1.conv2", "16: layer1.conv1", "32: layer2.conv1",
                                  "32: layer2.conv2 layer2.down.conv", "64: layer3.conv1",
                                  "64: layer3.conv2 layer3.down.conv", "10!: fc"};
    expect_groups(g, resnet, 7);
    pith_graph_free(g);
    g = zoo("mobilenet-tiny");
    const char *const mobile[] = {"16: conv1", "32: block1.pw", "64: block2.pw", "64: block3.pw", "128: block4.pw",
                                  "10!: fc"};
    expect_groups(g, mobile, 6);
    pith_graph_free(g);
}

/* Random BN statistics and affine parameters, so that zeroing means something. */
static void randomize_bn(pith_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].op->name, "batchnorm")) {
            pith_node *n = &g->nodes[i];
            tu_fill(n->params[0].data, n->params[0].size, 0.5f, 1.5f, 100 + i);
            tu_fill(n->params[1].data, n->params[1].size, -0.3f, 0.3f, 200 + i);
            tu_fill(n->params[2].data, n->params[2].size, -0.2f, 0.2f, 300 + i);
            tu_fill(n->params[3].data, n->params[3].size, 0.5f, 2.0f, 400 + i);
        }
}

/* Zeroes channel c wherever the group's values flow: each member's filter and
 * bias, and gamma/beta of every batchnorm fed (through depthwise convs and
 * activations) by the member. Then those channels are exactly 0 after every
 * batchnorm and relu, as if they did not exist. */
static void zero_channel(pith_graph *g, int member, int c)
{
    pith_node *m = &g->nodes[member];
    if (!strcmp(m->op->name, "conv_transpose")) { /* [in][out][kh][kw]: filter c is w[:, c] */
        size_t kk = (size_t)m->params[0].shape[2] * m->params[0].shape[3];
        for (int r = 0; r < m->params[0].shape[0]; r++)
            memset(m->params[0].data + ((size_t)r * m->a.out + c) * kk, 0, kk * sizeof(float));
    } else {
        size_t cols = m->params[0].size / (size_t)m->a.out;
        memset(m->params[0].data + (size_t)c * cols, 0, cols * sizeof(float));
    }
    if (m->a.bias)
        m->params[1].data[c] = 0.0f;
    /* follow the value: batchnorm, activations, depthwise convs keep channel c */
    int cur = member;
    for (int guard = 0; guard < 64; guard++) {
        int next = -1;
        for (int k = 0; k < g->n_order; k++)
            for (int j = 0; j < g->nodes[g->order[k]].n_in; j++)
                if (g->nodes[g->order[k]].in[j] == cur && next < 0)
                    next = g->order[k];
        if (next < 0)
            break;
        pith_node *n = &g->nodes[next];
        if (!strcmp(n->op->name, "batchnorm")) {
            n->params[0].data[c] = 0.0f;
            n->params[1].data[c] = 0.0f;
        } else if (!strcmp(n->op->name, "conv2d") && n->a.groups > 1) {
            size_t k = n->params[0].size / (size_t)n->a.out;
            memset(n->params[0].data + (size_t)c * k, 0, k * sizeof(float));
        } else if (strcmp(n->op->name, "relu") && strcmp(n->op->name, "relu6") && strcmp(n->op->name, "hardswish")) {
            break;
        }
        cur = next;
    }
}

static void prune_equals_zeroing(const char *model, float ratio)
{
    pith_graph *g = zoo(model), *ref = zoo(model);
    CHECK_OK(pith_graph_sort(ref)); /* zero_channel follows the order */
    randomize_bn(g);
    randomize_bn(ref);
    pith_prune_group *grp;
    int n;
    CHECK_OK(pith_prune_groups(g, &grp, &n));
    uint8_t **rm = calloc((size_t)n, sizeof *rm);
    for (int i = 0; i < n; i++) {
        if (!grp[i].prunable)
            continue;
        rm[i] = calloc((size_t)grp[i].channels, 1);
        for (int c = 0; c < grp[i].channels; c++)
            rm[i][c] = (c * 7 + i) % 10 < (int)(ratio * 10); /* a spread of channels */
        for (int c = 0; c < grp[i].channels; c++)
            if (rm[i][c])
                for (int k = 0; k < grp[i].n_members; k++)
                    zero_channel(ref, grp[i].members[k], c);
    }
    CHECK_OK(pith_prune_remove(g, grp, n, rm));
    CHECK_OK(pith_graph_compile(g, 4));
    CHECK_OK(pith_graph_compile(ref, 4));
    assert_true(pith_graph_macs(g) < pith_graph_macs(ref));
    assert_true(pith_graph_params(g, 1) < pith_graph_params(ref, 1));
    tu_fill(pith_graph_input(g), 4 * 784, -1, 1, 9);
    memcpy(pith_graph_input(ref), pith_graph_input(g), 4 * 784 * sizeof(float));
    CHECK_OK(pith_graph_forward(g, 4));
    CHECK_OK(pith_graph_forward(ref, 4));
    double worst = 0, scale = 0;
    for (int i = 0; i < 40; i++) {
        worst = fmax(worst, fabs(pith_graph_output(g)[i] - pith_graph_output(ref)[i]));
        scale = fmax(scale, fabs(pith_graph_output(ref)[i]));
    }
    print_message("  %s, %.0f%% of channels: max |pruned - zeroed| %.2g (outputs up to %.3g)\n", model, 100 * ratio,
                  worst, scale);
    /* equal up to the summation order of the shorter GEMMs */
    assert_true(worst <= 1e-5 * scale + 1e-6);
    for (int i = 0; i < n; i++)
        free(rm[i]);
    free(rm);
    free(grp);
    pith_graph_free(g);
    pith_graph_free(ref);
}

static void test_pruned_equals_zeroed(void **state)
{
    (void)state;
    prune_equals_zeroing("fmnist-cnn", 0.5f);   /* conv -> BN -> relu -> pool -> flatten -> linear */
    prune_equals_zeroing("resnet8", 0.4f);      /* residual adds with identity and projection shortcuts */
    prune_equals_zeroing("mobilenet-tiny", 0.3f); /* depthwise convs carrying channels, relu6 */
    prune_equals_zeroing("vgg-small", 0.5f);
}

/* A concat lays its inputs' channels side by side: pruning either input cuts
 * the consumer's matching input slices. */
static void test_concat(void **state)
{
    (void)state;
    pith_graph *g, *ref;
    for (int v = 0; v < 2; v++) {
        pith_graph **p = v ? &ref : &g;
        CHECK_OK(pith_graph_create(p, (pith_shape){3, {2, 6, 6}}, 5));
        pith_attrs a = {0};
        a.kh = a.kw = 3;
        a.sh = a.sw = a.dh = a.dw = 1;
        a.ph = a.pw = 1;
        a.groups = 1;
        a.bias = 1;
        int in = 0;
        a.out = 4;
        int c1 = pith_graph_add(*p, "conv2d", "a", &a, &in, 1);
        a.out = 6;
        int c2 = pith_graph_add(*p, "conv2d", "b", &a, &in, 1);
        int both[2] = {c1, c2};
        pith_attrs z = {0};
        int cat = pith_graph_add(*p, "concat", "cat", &z, both, 2);
        int r = pith_graph_add(*p, "relu", "relu", &z, &cat, 1);
        a.out = 3;
        pith_graph_add(*p, "conv2d", "out", &a, &r, 1);
    }
    pith_prune_group *grp;
    int n;
    CHECK_OK(pith_prune_groups(g, &grp, &n));
    assert_int_equal(n, 3);
    CHECK_OK(pith_graph_sort(ref));
    uint8_t ra[4] = {0, 1, 0, 1}, rb[6] = {1, 0, 0, 0, 0, 1};
    uint8_t *rm[3] = {ra, rb, NULL};
    for (int c = 0; c < 4; c++)
        if (ra[c])
            zero_channel(ref, 1, c);
    for (int c = 0; c < 6; c++)
        if (rb[c])
            zero_channel(ref, 2, c);
    CHECK_OK(pith_prune_remove(g, grp, n, rm));
    CHECK_OK(pith_graph_compile(g, 2));
    CHECK_OK(pith_graph_compile(ref, 2));
    assert_int_equal(g->nodes[3].out.d[0], 6); /* 2 + 4 channels left */
    assert_int_equal(g->nodes[5].params[0].shape[1], 6);
    tu_fill(pith_graph_input(g), 2 * 72, -1, 1, 4);
    memcpy(pith_graph_input(ref), pith_graph_input(g), 2 * 72 * sizeof(float));
    CHECK_OK(pith_graph_forward(g, 2));
    CHECK_OK(pith_graph_forward(ref, 2));
    for (int i = 0; i < 2 * 3 * 36; i++)
        assert_float_equal(pith_graph_output(g)[i], pith_graph_output(ref)[i], 1e-5);
    /* emptying a group or pruning the output is refused */
    uint8_t all[4] = {1, 1, 1, 1};
    uint8_t *bad[3] = {all, NULL, NULL};
    free(grp);
    CHECK_OK(pith_prune_groups(ref, &grp, &n));
    assert_int_not_equal(pith_prune_remove(ref, grp, n, bad), 0);
    CHECK_ERROR_HAS("every channel of 'a'");
    uint8_t one[3] = {1, 0, 0};
    uint8_t *outp[3] = {NULL, NULL, one};
    assert_int_not_equal(pith_prune_remove(ref, grp, n, outp), 0);
    CHECK_ERROR_HAS("model output");
    free(grp);
    pith_graph_free(g);
    pith_graph_free(ref);
}

/* The structures of imported networks, by hand: a squeeze-and-excitation
 * gate (its expanding conv's channels are the block's: the multiply ties
 * them; its squeeze conv is a group of its own), a channel split feeding a
 * concat, a transposed convolution; the pruned graph equals the original
 * with the same channels zeroed. A channel shuffle freezes what it
 * interleaves, naming itself. */
static pith_graph *se_split_graph(int shuffle)
{
    pith_graph *g = NULL;
    CHECK_OK(pith_graph_create(&g, (pith_shape){3, {3, 8, 8}}, 17));
    pith_attrs a = {0}, z = {0};
    a.kh = a.kw = 3;
    a.sh = a.sw = a.dh = a.dw = a.groups = 1;
    a.ph = a.pw = 1;
    a.bias = 1;
    a.out = 8;
    pith_attrs bn = z;
    bn.eps = 1e-5f;
    bn.momentum = 0.1f;
    int x = 0;
    x = pith_graph_add(g, "conv2d", "a", &a, &x, 1);
    x = pith_graph_add(g, "batchnorm", "bn1", &bn, &x, 1);
    x = pith_graph_add(g, "hardswish", "hs", &z, &x, 1);
    pith_attrs dw = a;
    dw.groups = 8;
    dw.bias = 0;
    x = pith_graph_add(g, "conv2d", "dw", &dw, &x, 1);
    x = pith_graph_add(g, "batchnorm", "bn2", &bn, &x, 1);
    x = pith_graph_add(g, "relu", "relu", &z, &x, 1);
    pith_attrs pw = a;
    pw.kh = pw.kw = 1;
    pw.ph = pw.pw = 0;
    pw.out = 4;
    int gp = pith_graph_add(g, "global_avgpool", "se_pool", &z, &x, 1);
    int f1 = pith_graph_add(g, "conv2d", "se_fc1", &pw, &gp, 1);
    f1 = pith_graph_add(g, "relu", "se_relu", &z, &f1, 1);
    pw.out = 8;
    int f2 = pith_graph_add(g, "conv2d", "se_fc2", &pw, &f1, 1);
    pith_attrs hsg = z;
    hsg.alpha = 1.0f / 6.0f;
    hsg.beta = 0.5f;
    int gate = pith_graph_add(g, "hardsigmoid", "se_gate", &hsg, &f2, 1);
    int mx[2] = {x, gate};
    x = pith_graph_add(g, "mul", "se_mul", &z, mx, 2);
    if (shuffle) {
        pith_attrs sh = z;
        sh.groups = 2;
        x = pith_graph_add(g, "channel_shuffle", "shuffle", &sh, &x, 1);
    }
    pith_attrs sl = z;
    sl.out = 4;
    int keep = pith_graph_add(g, "slice", "keep", &sl, &x, 1);
    sl.ph = 4;
    int split = pith_graph_add(g, "slice", "split", &sl, &x, 1);
    pw.out = 4;
    int b = pith_graph_add(g, "conv2d", "b", &pw, &split, 1);
    b = pith_graph_add(g, "relu", "b_relu", &z, &b, 1);
    int cat_in[2] = {keep, b};
    x = pith_graph_add(g, "concat", "cat", &z, cat_in, 2);
    pith_attrs ct = a;
    ct.kh = ct.kw = 2;
    ct.sh = ct.sw = 2;
    ct.ph = ct.pw = 0;
    ct.out = 5;
    x = pith_graph_add(g, "conv_transpose", "ct", &ct, &x, 1);
    x = pith_graph_add(g, "relu", "ct_relu", &z, &x, 1);
    pw.out = 3;
    assert_true(pith_graph_add(g, "conv2d", "out", &pw, &x, 1) > 0);
    CHECK_OK(pith_graph_sort(g));
    return g;
}

static void test_se_split_transpose(void **state)
{
    (void)state;
    pith_graph *g = se_split_graph(0), *ref = se_split_graph(0);
    randomize_bn(g);
    randomize_bn(ref);
    const char *want[] = {"8: a se_fc2", "4: se_fc1", "4: b", "5: ct", "3!: out"};
    expect_groups(g, want, 5);
    pith_prune_group *grp;
    int n;
    CHECK_OK(pith_prune_groups(g, &grp, &n));
    /* channels 1 and 6 of the block (one on each side of the split), one
     * squeeze channel, one of b, two of ct */
    uint8_t r0[8] = {0, 1, 0, 0, 0, 0, 1, 0}, r1[4] = {0, 0, 1, 0}, r2[4] = {1, 0, 0, 0}, r3[5] = {0, 1, 0, 1, 0};
    uint8_t *rm[5] = {r0, r1, r2, r3, NULL};
    for (int gi = 0; gi < 4; gi++)
        for (int c = 0; c < grp[gi].channels; c++)
            if (rm[gi][c])
                for (int k = 0; k < grp[gi].n_members; k++)
                    zero_channel(ref, grp[gi].members[k], c);
    CHECK_OK(pith_prune_remove(g, grp, n, rm));
    free(grp);
    CHECK_OK(pith_graph_compile(g, 2));
    CHECK_OK(pith_graph_compile(ref, 2));
    const pith_node *split = &g->nodes[pith_graph_find(g, "split")];
    assert_int_equal(split->a.ph, 3); /* channels 0, 2, 3 stay before the split */
    assert_int_equal(split->a.out, 3);
    assert_int_equal(g->nodes[pith_graph_find(g, "ct")].params[0].shape[0], 6); /* 3 + 3 concatenated */
    assert_int_equal(g->nodes[pith_graph_find(g, "ct")].params[0].shape[1], 3);
    const size_t nin = 2 * 3 * 64, nout = 2 * 3 * 16 * 16;
    tu_fill(pith_graph_input(g), nin, -1, 1, 5);
    memcpy(pith_graph_input(ref), pith_graph_input(g), nin * sizeof(float));
    pith_graph_set_training(g, 0);
    pith_graph_set_training(ref, 0);
    CHECK_OK(pith_graph_forward(g, 2));
    CHECK_OK(pith_graph_forward(ref, 2));
    double worst = 0, scale = 0;
    for (size_t i = 0; i < nout; i++) {
        worst = fmax(worst, fabs(pith_graph_output(g)[i] - pith_graph_output(ref)[i]));
        scale = fmax(scale, fabs(pith_graph_output(ref)[i]));
    }
    if (!(worst <= 1e-5 * scale + 1e-6))
        fail_msg("max |pruned - zeroed| %.3g of outputs up to %.3g", worst, scale);
    pith_graph_free(g);
    pith_graph_free(ref);
    /* a shuffle before the split: the block's channels are frozen, named */
    g = se_split_graph(1);
    CHECK_OK(pith_prune_groups(g, &grp, &n));
    assert_false(grp[0].prunable);
    assert_non_null(strstr(grp[0].why, "channel shuffle 'shuffle'"));
    assert_true(grp[1].prunable && grp[2].prunable); /* the squeeze and b stay prunable */
    free(grp);
    pith_graph_free(g);
}

/* Rankings by hand: a linear layer's rows and a batchnorm's gammas. */
static void test_criteria(void **state)
{
    (void)state;
    pith_graph *g;
    CHECK_OK(pith_graph_create(&g, (pith_shape){1, {3, 0, 0}}, 1));
    pith_attrs a = {0};
    a.out = 4;
    int in = 0;
    int fc = pith_graph_add(g, "linear", "fc", &a, &in, 1);
    pith_attrs b = {0};
    b.eps = 1e-5f;
    b.momentum = 0.1f;
    int bn = pith_graph_add(g, "batchnorm", "bn", &b, &fc, 1);
    a.out = 2;
    pith_graph_add(g, "linear", "head", &a, &bn, 1);
    /* rows: L1 = 3, 1.5, 2.9, 2; L2 = 3, 0.87, 1.70, 2 */
    const float w[12] = {3, 0, 0, 0.5f, 0.5f, 0.5f, 1, 1, 0.9f, 0, 2, 0};
    memcpy(g->nodes[fc].params[0].data, w, sizeof w);
    const float gamma[4] = {0.1f, -2.0f, 0.5f, 0.05f};
    memcpy(g->nodes[bn].params[0].data, gamma, sizeof gamma);
    pith_prune_group *grp;
    int n;
    CHECK_OK(pith_prune_groups(g, &grp, &n));
    assert_int_equal(n, 2);
    float s[4], *sc[2] = {s, (float[2]){0}};
    CHECK_OK(pith_prune_scores(g, grp, n, PITH_CRIT_L1, NULL, 0, NULL, sc));
    assert_float_equal(s[0], 3.0f, 1e-6);
    assert_float_equal(s[1], 1.5f, 1e-6);
    assert_float_equal(s[2], 2.9f, 1e-6);
    assert_float_equal(s[3], 2.0f, 1e-6);
    CHECK_OK(pith_prune_scores(g, grp, n, PITH_CRIT_L2, NULL, 0, NULL, sc));
    assert_float_equal(s[1], sqrtf(0.75f), 1e-6);
    assert_float_equal(s[2], sqrtf(2.81f), 1e-6);
    CHECK_OK(pith_prune_scores(g, grp, n, PITH_CRIT_BN_GAMMA, NULL, 0, NULL, sc));
    assert_float_equal(s[1], 2.0f, 0);
    assert_float_equal(s[3], 0.05f, 1e-7);
    free(grp);
    /* ratio 0.5 by L1 removes rows 1 and 3; by bn_gamma rows 0 and 3 */
    assert_int_equal(pith_prune_structured(g, PITH_CRIT_L1, 0.5f, NULL, 0, 1), 2);
    const float *w2 = g->nodes[fc].params[0].data;
    assert_int_equal(g->nodes[fc].a.out, 2);
    assert_float_equal(w2[0], 3.0f, 0);  /* row 0 kept */
    assert_float_equal(w2[3], 1.0f, 0);  /* row 2 kept */
    assert_float_equal(g->nodes[bn].params[0].data[1], 0.5f, 0); /* gamma of row 2 */
    CHECK_OK(pith_graph_compile(g, 2));
    pith_graph_free(g);
    /* bn_gamma on fmnist-cnn prunes the convs (each has a batchnorm) and leaves fc1 alone */
    g = zoo("fmnist-cnn");
    assert_int_equal(pith_prune_structured(g, PITH_CRIT_BN_GAMMA, 0.5f, NULL, 0, 1), 8 + 16);
    assert_int_equal(g->nodes[pith_graph_find(g, "fc1")].a.out, 128);
    assert_int_equal(g->nodes[pith_graph_find(g, "conv2")].a.out, 16);
    pith_graph_free(g);
}

/* A pruned model reloads from its checkpoint with its smaller shapes. */
static void test_checkpoint(void **state)
{
    (void)state;
    pith_graph *g = zoo("resnet8");
    assert_true(pith_prune_structured(g, PITH_CRIT_L2, 0.5f, NULL, 0, 1) > 0);
    CHECK_OK(pith_graph_compile(g, 2));
    tu_fill(pith_graph_input(g), 2 * 784, -1, 1, 2);
    float x[2 * 784], y[20];
    memcpy(x, pith_graph_input(g), sizeof x);
    CHECK_OK(pith_graph_forward(g, 2));
    memcpy(y, pith_graph_output(g), sizeof y);
    pith_ckpt_meta meta = {0};
    snprintf(meta.model, sizeof meta.model, "resnet8");
    meta.classes = 10;
    meta.std = 1;
    const char *path = tu_path("pruned.h5");
    CHECK_OK(pith_checkpoint_save(path, g, &meta, NULL, NULL, NULL, 0));
    pith_graph *h;
    CHECK_OK(pith_checkpoint_load(path, &h, &meta, NULL, NULL, NULL, NULL, 0));
    CHECK_OK(pith_graph_compile(h, 2));
    assert_int_equal(pith_graph_params(h, 0), pith_graph_params(g, 0));
    assert_int_equal(h->nodes[pith_graph_find(h, "layer3.conv1")].a.out, 32);
    memcpy(pith_graph_input(h), x, sizeof x);
    CHECK_OK(pith_graph_forward(h, 2));
    for (int i = 0; i < 20; i++)
        assert_float_equal(pith_graph_output(h)[i], y[i], 0);
    pith_graph_free(h);
    pith_graph_free(g);
}

/* Magnitude masks: the smallest units go, per granularity, by hand. */
static void test_magnitude_masks(void **state)
{
    (void)state;
    pith_graph *g;
    CHECK_OK(pith_graph_create(&g, (pith_shape){1, {4, 0, 0}}, 1));
    pith_attrs a = {0};
    a.out = 2;
    a.bias = 1;
    int in = 0;
    int fc = pith_graph_add(g, "linear", "fc", &a, &in, 1);
    const float w[8] = {0.5f, -0.1f, 0.3f, -0.9f, 0.05f, 0.7f, -0.2f, 0.4f};
    memcpy(g->nodes[fc].params[0].data, w, sizeof w);
    CHECK_OK(pith_prune_magnitude(g, fc, 0.5f, PITH_PRUNE_ELEMENT));
    /* the four smallest |w|: 0.05, 0.1, 0.2, 0.3 */
    const float want[8] = {0.5f, 0, 0, -0.9f, 0, 0.7f, 0, 0.4f};
    for (int i = 0; i < 8; i++)
        assert_float_equal(g->nodes[fc].params[0].data[i], want[i], 0);
    assert_float_equal(pith_prune_sparsity(g, fc), 0.5, 0);
    /* raising it keeps what is pruned and takes the next smallest (0.4) */
    CHECK_OK(pith_prune_magnitude(g, fc, 0.625f, PITH_PRUNE_ELEMENT));
    assert_float_equal(g->nodes[fc].params[0].data[7], 0.0f, 0);
    assert_float_equal(pith_prune_sparsity(g, fc), 0.625, 0);
    pith_graph_free(g);

    /* channel granularity on a conv: the filter with the smallest mean |w| goes */
    CHECK_OK(pith_graph_create(&g, (pith_shape){3, {1, 4, 4}}, 1));
    pith_attrs c = {0};
    c.out = 3;
    c.kh = c.kw = 3;
    c.sh = c.sw = c.dh = c.dw = 1;
    c.groups = 1;
    int conv = pith_graph_add(g, "conv2d", "conv", &c, &in, 1);
    float *cw = g->nodes[conv].params[0].data;
    for (int i = 0; i < 27; i++)
        cw[i] = (i / 9 == 1 ? 0.01f : 1.0f) * (i % 2 ? -1.0f : 1.0f);
    CHECK_OK(pith_prune_magnitude(g, conv, 0.34f, PITH_PRUNE_CHANNEL)); /* round(0.34 * 3) = 1 filter */
    for (int i = 0; i < 27; i++)
        if ((cw[i] == 0.0f) != (i / 9 == 1))
            fail_msg("w[%d] = %g", i, (double)cw[i]);
    pith_graph_free(g);
}

/* Pruned weights stay zero through SGD steps with momentum and weight decay,
 * even when the momentum buffer was full before pruning. */
static void test_masks_survive_training(void **state)
{
    (void)state;
    pith_graph *g;
    CHECK_OK(pith_graph_create(&g, (pith_shape){1, {6, 0, 0}}, 3));
    pith_attrs a = {0};
    a.out = 4;
    a.bias = 1;
    int in = 0;
    int fc = pith_graph_add(g, "linear", "fc", &a, &in, 1);
    CHECK_OK(pith_graph_compile(g, 2));
    pith_optim_config oc = pith_optim_defaults(PITH_OPTIM_SGD);
    oc.momentum = 0.9f;
    oc.weight_decay = 5e-4f;
    pith_optim *opt;
    CHECK_OK(pith_optim_create(&opt, g, &oc));
    for (int step = 0; step < 12; step++) {
        if (step == 3) { /* prune mid-training, with momentum built up */
            CHECK_OK(pith_prune_magnitude(g, fc, 0.5f, PITH_PRUNE_KERNEL));
            CHECK_OK(pith_graph_compile(g, 2));
        }
        tu_fill(pith_graph_input(g), 12, -1, 1, 50 + step);
        CHECK_OK(pith_graph_forward(g, 2));
        for (int i = 0; i < 8; i++)
            pith_graph_output_grad(g)[i] = pith_graph_output(g)[i] - 0.3f;
        pith_graph_zero_grad(g);
        CHECK_OK(pith_graph_backward(g, 2));
        if (step >= 3) {
            const float *m = pith_node_param(&g->nodes[fc], "mask")->data;
            for (int i = 0; i < 24; i++) {
                assert_true(m[i] || g->nodes[fc].params[0].eff[i] == 0.0f);     /* computes with zero */
                assert_true(m[i] || g->nodes[fc].params[0].grad[i] == 0.0f);    /* and learns nothing there */
            }
        }
        CHECK_OK(pith_optim_step(opt, 0.1f));
        pith_prune_apply_masks(g);
    }
    assert_float_equal(pith_prune_sparsity(g, fc), 0.5, 0);
    pith_optim_free(opt);
    pith_graph_free(g);
}

/* AGP's cubic: s_f + (s_i - s_f)(1 - k/n)^3 after k of n updates. */
#define NEAR(x, y) assert_true(fabs((double)(x) - (double)(y)) < 1e-12)

static void test_agp(void **state)
{
    (void)state;
    /* from 0 to 0.9 over 10 updates every 100 steps starting at step 0 */
    NEAR(pith_agp_sparsity(0, 0.9, 0, 10, 100, 0), 0.0);
    NEAR(pith_agp_sparsity(0, 0.9, 0, 10, 100, 99), 0.0);
    NEAR(pith_agp_sparsity(0, 0.9, 0, 10, 100, 100), 0.9 - 0.9 * 0.729);
    NEAR(pith_agp_sparsity(0, 0.9, 0, 10, 100, 500), 0.9 - 0.9 * 0.125);
    NEAR(pith_agp_sparsity(0, 0.9, 0, 10, 100, 999), 0.9 - 0.9 * 0.001);
    NEAR(pith_agp_sparsity(0, 0.9, 0, 10, 100, 1000), 0.9);
    NEAR(pith_agp_sparsity(0, 0.9, 0, 10, 100, 5000), 0.9);
    /* monotone, and fastest early */
    double prev = -1, prev_gain = 1;
    for (int k = 0; k <= 10; k++) {
        double s = pith_agp_sparsity(0.1, 0.8, 0, 10, 1, k);
        assert_true(s >= prev);
        if (k >= 2)
            assert_true(s - prev <= prev_gain + 1e-12);
        if (k >= 1)
            prev_gain = s - prev;
        prev = s;
    }
}

/* Masks go through checkpoints and come back attached. */
static void test_mask_checkpoint(void **state)
{
    (void)state;
    pith_graph *g = zoo("mlp");
    CHECK_OK(pith_graph_sort(g));
    int fc = pith_graph_find(g, "fc1");
    assert_true(fc > 0);
    CHECK_OK(pith_prune_magnitude(g, fc, 0.9f, PITH_PRUNE_ELEMENT));
    pith_ckpt_meta meta = {0};
    snprintf(meta.model, sizeof meta.model, "mlp");
    meta.classes = 10;
    meta.std = 1;
    const char *path = tu_path("masked.h5");
    CHECK_OK(pith_checkpoint_save(path, g, &meta, NULL, NULL, NULL, 0));
    pith_graph *h;
    CHECK_OK(pith_checkpoint_load(path, &h, &meta, NULL, NULL, NULL, NULL, 0));
    CHECK_OK(pith_prune_restore(h));
    int hf = pith_graph_find(h, "fc1");
    assert_non_null(h->nodes[hf].params[0].tf);
    assert_float_equal(pith_prune_sparsity(h, hf), 0.9, 1e-6);
    pith_node_param(&h->nodes[hf], "mask")->data[3] = 0.5f;
    CHECK_OK(pith_param_set_transform(&h->nodes[hf].params[0], NULL, NULL));
    assert_int_not_equal(pith_prune_restore(h), 0);
    CHECK_ERROR_HAS("is not 0 or 1");
    pith_graph_free(h);
    pith_graph_free(g);
}

/* Deep Compression: k-means on a pruned layer clusters the survivors only,
 * keeps the pruned weights at exactly zero, and the stored size counts each
 * survivor's code and 4-bit gap (fillers for gaps over 15), plus codebook and bias. */
static void test_kmeans_after_pruning(void **state)
{
    (void)state;
    pith_graph *g;
    CHECK_OK(pith_graph_create(&g, (pith_shape){1, {40, 0, 0}}, 2));
    pith_attrs a = {0};
    a.out = 1;
    a.bias = 1;
    int in = 0;
    int fc = pith_graph_add(g, "linear", "fc", &a, &in, 1);
    float *w = g->nodes[fc].params[0].data;
    for (int i = 0; i < 40; i++)
        w[i] = 0.01f * (float)(i % 7 - 3); /* small everywhere... */
    w[0] = 1.0f;                           /* ...but for 3 survivors, with gaps 0, 19 and 19 */
    w[20] = -1.0f;
    w[39] = 0.5f;
    CHECK_OK(pith_prune_magnitude(g, fc, 37.0f / 40.0f, PITH_PRUNE_ELEMENT));
    assert_float_equal(pith_prune_sparsity(g, fc), 37.0 / 40.0, 1e-9);
    pith_quant_config c = pith_quant_defaults();
    c.method = PITH_WQ_KMEANS;
    c.w.bits = 2;
    c.io = PITH_QIO_WEIGHT_ONLY;
    CHECK_OK(pith_quant_apply(g, &c));
    CHECK_OK(pith_graph_compile(g, 1));
    CHECK_OK(pith_graph_forward(g, 1));
    const float *eff = g->nodes[fc].params[0].eff;
    for (int i = 0; i < 40; i++)
        if (i == 0 || i == 20 || i == 39)
            assert_true(eff[i] != 0.0f); /* three survivors, four centroids: each exact */
        else
            assert_float_equal(eff[i], 0.0f, 0);
    assert_float_equal(eff[0], 1.0f, 1e-6);
    assert_float_equal(eff[20], -1.0f, 1e-6);
    assert_float_equal(eff[39], 0.5f, 1e-6);
    /* entries: survivor 0 (gap 0), survivor 20 (gap 19: one filler), survivor 39 (gap 18: one filler) = 5,
     * each 2 + 4 bits = 30 bits -> 4 bytes; codebook 4 floats 16 bytes; bias 4 bytes */
    assert_int_equal(pith_quant_weight_bytes(g), 4 + 16 + 4);
    pith_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_pruned_equals_zeroed),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_se_split_transpose),
        cmocka_unit_test(test_criteria),
        cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_magnitude_masks),
        cmocka_unit_test(test_masks_survive_training),
        cmocka_unit_test(test_agp),
        cmocka_unit_test(test_mask_checkpoint),
        cmocka_unit_test(test_kmeans_after_pruning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
