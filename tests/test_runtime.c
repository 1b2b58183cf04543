/* The runtime: exported models against the workbench (fp32 within 1e-5
 * relative, int8 exactly), the loader against truncated, corrupted and
 * absurd files, and the memory plan against an independent check that no two
 * live tensors share bytes (test_kernels has the reference kernels by hand). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/zoo.h"
#include "../export/export.h"
#include "../quant/quant.h"
#include "../runtime/format.h"
#include "../runtime/internal.h"
#include "../runtime/kernels/kernels.h"
#include "../runtime/kernels/requant.h"
#include "../runtime/pithrt.h"
#include "testutil.h"

/* A small synthetic dataset for calibration. */
static void fake_data(pith_dataset *ds, int n, int c, int h, int w, uint64_t seed)
{
    memset(ds, 0, sizeof *ds);
    ds->n = n;
    ds->c = c;
    ds->h = h;
    ds->w = w;
    ds->classes = 10;
    ds->x = malloc(sizeof(float) * (size_t)n * c * h * w);
    ds->y = calloc((size_t)n, sizeof(int));
    tu_fill(ds->x, (size_t)n * c * h * w, -1.0f, 2.5f, seed);
}

/* Quantizes g per qc, calibrated (min/max) on n random images. */
static void ptq(pith_graph *g, pith_quant_config qc, int n, uint64_t seed)
{
    const pith_shape *in = &g->input_shape;
    pith_dataset ds;
    CHECK_OK(pith_quant_apply(g, &qc));
    fake_data(&ds, n, in->d[0], in->d[1], in->d[2], seed);
    CHECK_OK(pith_graph_compile(g, 16));
    CHECK_OK(pith_quant_calibrate(g, &ds, n, PITH_OBS_MINMAX, 99.99f, NULL));
    pith_dataset_free(&ds);
}

/* Every op's output of one run (pithrt_ctx_observe), copied. */
typedef struct layer_outputs {
    uint8_t *data[256];
    size_t bytes[256];
} layer_outputs;

static void keep_output(void *user, int op, const void *data, size_t bytes)
{
    layer_outputs *lo = user;
    if (op < 0 || op >= 256)
        return;
    free(lo->data[op]);
    lo->data[op] = malloc(bytes);
    memcpy(lo->data[op], data, bytes);
    lo->bytes[op] = bytes;
}

/* Layer by layer: each s8 tensor the runtime computed holds the codes of the
 * workbench node it is named after (the fake-quant that quantizes it).
 * Returns how many layers were compared. */
static int compare_layers(pith_graph *g, const pithrt_model *m, const layer_outputs *lo, const char *what, int s)
{
    int compared = 0;
    for (int k = 0; k < m->n_ops; k++) {
        const pithrt_tensor *t = &m->tensors[m->ops[k].out];
        int ni = t->dtype == PITHRT_S8 ? pith_graph_find(g, t->name) : -1;
        if (ni < 0 || !lo->data[k])
            continue; /* a float tensor, or a name cut to the tensor table's 20 bytes */
        const pith_node *n = &g->nodes[ni];
        size_t elems = pith_shape_size(&n->out);
        assert_int_equal(elems, lo->bytes[k]);
        for (size_t i = 0; i < elems; i++) {
            int want = (int)(nearbyintf(n->y[i] / t->scale) + (float)t->zero_point);
            int got = ((const int8_t *)lo->data[k])[i];
            if (want != got)
                fail_msg("%s, input %d, layer '%s' (op %d), element %zu: runtime code %d, workbench %d (%.9g)", what,
                         s, t->name, k, i, got, want, (double)n->y[i]);
        }
        compared++;
    }
    return compared;
}

/* Exports g, runs both on 6 inputs, compares: exact 0: fp32 within 1e-5 of
 * the output's magnitude; 1: int8, every layer on the integer path, equal;
 * 2: equal, float layers allowed; 3: within one step of the int8 output (float
 * layers whose sums run in another order may round one code differently). */
static void compare(pith_graph *g, int exact, const char *what)
{
    pith_export_report rep;
    uint8_t *buf;
    size_t len;
    size_t nin = pith_shape_size(&g->input_shape);
    float *x = malloc(sizeof(float) * nin * 6);
    tu_fill(x, nin * 6, -1.0f, 2.5f, 99);
    CHECK_OK(pith_export(g, NULL, &buf, &len, &rep));
    pithrt_model m;
    if (pithrt_model_load(buf, len, &m))
        fail_msg("%s: %s", what, pithrt_model_error(&m));
    if (getenv("PITH_TEST_VERBOSE"))
        for (int k = 0; k < m.n_ops; k++)
            fprintf(stderr, "%s: %-12s %-10s %s\n", what, m.ops[k].name, pithrt_op_name(m.ops[k].type),
                    m.tensors[m.ops[k].out].dtype == PITHRT_S8 ? "s8" : "f32");
    if (exact == 1 && rep.float_layers)
        fail_msg("%s: %d layers left in float", what, rep.float_layers);
    size_t bytes = pithrt_arena_bytes(&m, 1);
    void *arena = malloc(bytes);
    pithrt_ctx c;
    assert_int_equal(pithrt_ctx_init(&c, &m, arena, bytes, 1), PITHRT_OK);
    size_t nout = pithrt_output_size(&m);
    float out[1024];
    assert_true(nout <= 1024);
    CHECK_OK(pith_graph_compile(g, 1));
    pith_graph_set_training(g, 0);
    layer_outputs lo;
    memset(&lo, 0, sizeof lo);
    if (exact == 1 || exact == 2)
        pithrt_ctx_observe(&c, keep_output, &lo);
    for (int s = 0; s < 6; s++) {
        double scale = 0;
        pithrt_set_input_f32(&c, x + s * nin, nin);
        assert_int_equal(pithrt_run(&c), PITHRT_OK);
        pithrt_output_f32(&c, out, nout);
        memcpy(pith_graph_input(g), x + s * nin, sizeof(float) * nin);
        CHECK_OK(pith_graph_forward(g, 1));
        if ((exact == 1 || exact == 2) && compare_layers(g, &m, &lo, what, s) == 0)
            fail_msg("%s: no int8 layer to compare", what);
        const float *want = pith_graph_output(g);
        for (size_t i = 0; i < nout; i++)
            scale = fmax(scale, fabs(want[i]));
        /* fp32: 1e-5 relative to the output's magnitude (a score near zero
         * carries the rounding of the large terms that cancelled in it) */
        for (size_t i = 0; i < nout; i++) {
            double tol = exact == 3 ? 1.0001 * m.tensors[m.output].scale : exact ? 0.0 : 1e-5 * fmax(scale, 1e-6);
            if (fabs((double)out[i] - want[i]) > tol)
                fail_msg("%s, input %d, output %zu: runtime %.9g, workbench %.9g", what, s, i, (double)out[i],
                         (double)want[i]);
        }
    }
    pithrt_ctx_observe(&c, NULL, NULL);
    for (int k = 0; k < 256; k++)
        free(lo.data[k]);
    /* the plan never places two live tensors on the same bytes: with every
     * dead tensor poisoned after each op the output is unchanged */
    {
        float again[1024];
        pithrt_ctx_poison(&c, 1);
        pithrt_set_input_f32(&c, x, nin);
        pithrt_run(&c);
        pithrt_output_f32(&c, again, nout);
        pithrt_ctx_poison(&c, 0);
        pithrt_set_input_f32(&c, x, nin);
        pithrt_run(&c);
        pithrt_output_f32(&c, out, nout);
        if (memcmp(again, out, nout * sizeof *out))
            fail_msg("%s: poisoning dead tensors changed the output", what);
    }
    /* the arena is within 5% of its lower bound */
    if (m.act_bytes > 1.05 * m.lower_bound + 64 * 8)
        fail_msg("%s: arena %zu bytes, lower bound %zu", what, m.act_bytes, m.lower_bound);
    free(arena);
    pithrt_model_free(&m);
    free(buf);
    free(x);
}

/* How many ops of g's export are of `type` (-1: any) and, when dtype >= 0,
 * store their weights as dtype (with a codebook of `entries` values when
 * entries > 0). */
static int ops_in_export(pith_graph *g, int type, int dtype, size_t entries)
{
    uint8_t *buf;
    size_t len;
    pith_export_report rep;
    CHECK_OK(pith_export(g, NULL, &buf, &len, &rep));
    pithrt_model m;
    assert_int_equal(pithrt_model_load(buf, len, &m), PITHRT_OK);
    int n = 0;
    for (int k = 0; k < m.n_ops; k++) {
        const pithrt_op *o = &m.ops[k];
        if (type >= 0 && o->type != type)
            continue;
        if (dtype >= 0 && (o->weight < 0 || m.tensors[o->weight].dtype != dtype ||
                           (entries && (o->aux < 0 || pithrt_tensor_elems(&m.tensors[o->aux]) != entries))))
            continue;
        n++;
    }
    pithrt_model_free(&m);
    free(buf);
    return n;
}

/* How many binary ops of g's export compute in int8 (s8 output). */
static int binary_ops_in_s8(pith_graph *g)
{
    uint8_t *buf;
    size_t len;
    pith_export_report rep;
    CHECK_OK(pith_export(g, NULL, &buf, &len, &rep));
    pithrt_model m;
    assert_int_equal(pithrt_model_load(buf, len, &m), PITHRT_OK);
    int n = 0;
    for (int k = 0; k < m.n_ops; k++)
        n += m.ops[k].type == PITHRT_OP_BINARY && m.tensors[m.ops[k].out].dtype == PITHRT_S8;
    pithrt_model_free(&m);
    free(buf);
    return n;
}

static int layers_stored_as(pith_graph *g, int dtype, size_t entries) { return ops_in_export(g, -1, dtype, entries); }

/* A k x k convolution of `out` channels, stride s, padding k / 2, with bias. */
static pith_attrs conv_attrs(int out, int k, int s)
{
    pith_attrs a;
    memset(&a, 0, sizeof a);
    a.kh = a.kw = k;
    a.sh = a.sw = s;
    a.dh = a.dw = a.groups = 1;
    a.ph = a.pw = k / 2;
    a.bias = 1;
    a.out = out;
    return a;
}

/* The classifier the tests end in: global average (or max) pool, flatten, a
 * linear layer of `classes` outputs. */
static void add_head(pith_graph *g, int x, const char *pool, int classes)
{
    pith_attrs none, l;
    memset(&none, 0, sizeof none);
    int gp = pith_graph_add(g, pool, "gap", &none, &x, 1);
    int fl = pith_graph_add(g, "flatten", "flatten", &none, &gp, 1);
    l = none;
    l.out = classes;
    l.bias = 1;
    assert_true(pith_graph_add(g, "linear", "fc", &l, &fl, 1) > 0);
}

static void test_models_match_workbench(void **state)
{
    (void)state;
    const char *models[] = {"fmnist-cnn", "resnet8", "mobilenet-tiny", "lenet5"};
    for (int i = 0; i < 4; i++) {
        pith_graph *g = NULL;
        CHECK_OK(pith_zoo_build(models[i], 1, 28, 28, 10, 5 + i, &g));
        /* non-trivial batchnorm statistics, so that folding is exercised */
        for (int k = 0; k < g->n_nodes; k++) {
            pith_param *rv = pith_node_param(&g->nodes[k], "running_var");
            pith_param *rm = pith_node_param(&g->nodes[k], "running_mean");
            if (rv && rm) {
                tu_fill(rv->data, rv->size, 0.5f, 2.0f, 7 + k);
                tu_fill(rm->data, rm->size, -0.3f, 0.3f, 8 + k);
            }
        }
        char what[64];
        snprintf(what, sizeof what, "%s fp32", models[i]);
        compare(g, 0, what);
        pith_quant_config qc = pith_quant_defaults();
        ptq(g, qc, 64, 3 + i);
        snprintf(what, sizeof what, "%s int8", models[i]);
        compare(g, 1, what);
        pith_graph_free(g);
    }
}

/* Every weight variant (int4 packed, ternary and binary bit-packed) and the
 * ops the zoo does not use (hardswish through a table, average pooling,
 * concat, dilation, padding), exported and compared bit for bit. */
static void test_variants_and_ops_match(void **state)
{
    (void)state;
    const pith_wq_kind kinds[3] = {PITH_WQ_UNIFORM, PITH_WQ_TERNARY, PITH_WQ_BINARY};
    for (int v = 0; v < 3; v++) {
        pith_graph *g = NULL;
        CHECK_OK(pith_zoo_build("fmnist-cnn", 1, 28, 28, 10, 11, &g));
        pith_quant_config qc = pith_quant_defaults();
        qc.method = kinds[v];
        if (kinds[v] == PITH_WQ_UNIFORM)
            qc.w.bits = 4;
        ptq(g, qc, 32, 12);
        /* conv2 and fc1 (the inner layers) are stored packed */
        int want = kinds[v] == PITH_WQ_UNIFORM ? PITHRT_W4 : kinds[v] == PITH_WQ_TERNARY ? PITHRT_W2 : PITHRT_W1;
        int packed = layers_stored_as(g, want, 0);
        if (packed < 2)
            fail_msg("variant %d: %d layers stored as type %d", v, packed, want);
        compare(g, 1, kinds[v] == PITH_WQ_UNIFORM ? "fmnist-cnn w4a8" : kinds[v] == PITH_WQ_TERNARY ? "ternary" : "binary");
        pith_graph_free(g);
    }
    /* k-means codebooks: packed 4-bit indices, computed in float as the
     * workbench computes them */
    {
        pith_graph *km = NULL;
        CHECK_OK(pith_zoo_build("fmnist-cnn", 1, 28, 28, 10, 14, &km));
        pith_quant_config qc = pith_quant_defaults();
        qc.method = PITH_WQ_KMEANS;
        qc.w.bits = 4;
        ptq(km, qc, 32, 15);
        /* conv2 and fc1; the first and last layers stay uniform */
        assert_int_equal(layers_stored_as(km, PITHRT_U4, 16), 2);
        compare(km, 3, "k-means 4-bit");
        pith_graph_free(km);
    }
    /* a graph of the other ops */
    pith_graph *g = NULL;
    pith_shape in = {3, {2, 12, 12}};
    CHECK_OK(pith_graph_create(&g, in, 5));
    pith_attrs a;
    memset(&a, 0, sizeof a);
    a.out = 6;
    a.kh = a.kw = 3;
    a.sh = a.sw = 1;
    a.ph = a.pw = 2;
    a.dh = a.dw = 2;
    a.groups = 1;
    a.bias = 1;
    int x = 0;
    int c1 = pith_graph_add(g, "conv2d", "dilated", &a, &x, 1);
    pith_attrs none;
    memset(&none, 0, sizeof none);
    int hs = pith_graph_add(g, "hardswish", "hswish", &none, &c1, 1);
    pith_attrs p = none;
    p.kh = p.kw = 2;
    p.sh = p.sw = 2;
    int ap = pith_graph_add(g, "avgpool", "avgpool", &p, &hs, 1);
    a.out = 4;
    a.ph = a.pw = 1;
    a.dh = a.dw = 1;
    a.sh = a.sw = 1;
    int b1 = pith_graph_add(g, "conv2d", "branch1", &a, &ap, 1);
    a.groups = 2;
    a.out = 6;
    int b2 = pith_graph_add(g, "conv2d", "branch2", &a, &ap, 1);
    int ins[2] = {b1, b2};
    int cat = pith_graph_add(g, "concat", "concat", &none, ins, 2);
    add_head(g, cat, "global_avgpool", 5);
    compare(g, 0, "ops fp32");
    pith_quant_config qc = pith_quant_defaults();
    ptq(g, qc, 32, 13);
    compare(g, 2, "ops int8");
    pith_graph_free(g);
}

/* A small exported int8 model for the loader tests. */
static uint8_t *small_model(size_t *len)
{
    pith_graph *g = NULL;
    CHECK_OK(pith_zoo_build("fmnist-cnn-slim", 1, 28, 28, 10, 3, &g));
    pith_quant_config qc = pith_quant_defaults();
    ptq(g, qc, 32, 4);
    pith_dataset ds;
    fake_data(&ds, 1, 1, 28, 28, 4);
    const char *labels[10] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    pith_export_opts o;
    memset(&o, 0, sizeof o);
    o.norm_channels = 1;
    o.mean[0] = 0.286f;
    o.std[0] = 0.353f;
    o.labels = labels;
    o.n_labels = 10;
    o.golden_in = ds.x;
    pith_export_report rep;
    uint8_t *buf;
    CHECK_OK(pith_export(g, &o, &buf, len, &rep));
    assert_int_equal(rep.golden, 1);
    pith_dataset_free(&ds);
    pith_graph_free(g);
    return buf;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites both checksums, so that a test reaches the checks behind them. */
static void reseal(uint8_t *p)
{
    uint32_t boff = (uint32_t)p[PITHRT_HDR_BLOB] | (uint32_t)p[PITHRT_HDR_BLOB + 1] << 8 |
                    (uint32_t)p[PITHRT_HDR_BLOB + 2] << 16 | (uint32_t)p[PITHRT_HDR_BLOB + 3] << 24;
    put32(p + PITHRT_HDR_TABLES_CRC, pithrt_crc32(p + 64, boff - 64));
    put32(p + PITHRT_HDR_CRC, pithrt_crc32(p, PITHRT_HDR_CRC));
}

static void expect_reject(const uint8_t *p, size_t len, const char *needle)
{
    pithrt_model m;
    int rc = pithrt_model_load(p, len, &m);
    if (rc == PITHRT_OK) {
        pithrt_model_free(&m);
        fail_msg("a bad file loaded (expected: %s)", needle ? needle : "any error");
    }
    if (needle && !strstr(pithrt_model_error(&m), needle))
        fail_msg("message '%s' does not mention '%s'", pithrt_model_error(&m), needle);
}

/* the imported elementwise ops on the integer path: each a 256-entry table
 * between int8 convolutions, the runtime's output equal to the workbench's
 * fake-quant output */
static void test_elementwise_tables(void **state)
{
    (void)state;
    const char *ops[] = {"sigmoid", "silu", "hardsigmoid", "leaky_relu", "clip"};
    pith_graph *g = NULL;
    pith_shape in = {3, {3, 10, 10}};
    CHECK_OK(pith_graph_create(&g, in, 8));
    pith_attrs a, none;
    memset(&a, 0, sizeof a);
    memset(&none, 0, sizeof none);
    a.kh = a.kw = 3;
    a.sh = a.sw = 1;
    a.ph = a.pw = 1;
    a.dh = a.dw = 1;
    a.groups = 1;
    a.bias = 1;
    int x = 0;
    for (int k = 0; k < 5; k++) {
        char name[32];
        a.out = 4 + k;
        snprintf(name, sizeof name, "conv%d", k);
        x = pith_graph_add(g, "conv2d", name, &a, &x, 1);
        pith_attrs e = none;
        if (k == 2) { /* PyTorch's Hardsigmoid */
            e.alpha = 1.0f / 6.0f;
            e.beta = 0.5f;
        } else if (k == 3) {
            e.alpha = 0.1f;
        } else if (k == 4) { /* a clip that is neither relu nor relu6 */
            e.alpha = -0.5f;
            e.beta = 1.5f;
        }
        x = pith_graph_add(g, ops[k], ops[k], &e, &x, 1);
        assert_true(x > 0);
    }
    int gp = pith_graph_add(g, "global_avgpool", "gap", &none, &x, 1);
    int fl = pith_graph_add(g, "flatten", "flatten", &none, &gp, 1);
    pith_attrs l = none;
    l.out = 7;
    l.bias = 1;
    pith_graph_add(g, "linear", "fc", &l, &fl, 1);
    ptq(g, pith_quant_defaults(), 32, 9);
    assert_int_equal(ops_in_export(g, PITHRT_OP_LUT, -1, 0), 5);
    compare(g, 1, "sigmoid, silu, hardsigmoid, leaky_relu, clip as tables");
    pith_graph_free(g);
}

/* A squeeze-and-excitation block as torchvision's mobilenet_v3 builds it
 * (global pool, 1 x 1 conv, relu, 1 x 1 conv, hardsigmoid, broadcast
 * multiply), then a broadcast add of the gate, a subtraction and a relu after
 * a mul: every binary op int8, the runtime's codes equal to the workbench's
 * layer by layer */
static void test_se_gate_int8(void **state)
{
    (void)state;
    pith_graph *g = NULL;
    pith_shape in = {3, {3, 8, 8}};
    CHECK_OK(pith_graph_create(&g, in, 11));
    pith_attrs a, none;
    memset(&none, 0, sizeof none);
    a = conv_attrs(8, 3, 1);
    int x = 0;
    x = pith_graph_add(g, "conv2d", "stem", &a, &x, 1);
    x = pith_graph_add(g, "hardswish", "stem_hs", &none, &x, 1);
    pith_attrs p = a;
    p.kh = p.kw = 1;
    p.ph = p.pw = 0;
    p.out = 4;
    int gap = pith_graph_add(g, "global_avgpool", "se_pool", &none, &x, 1);
    int f1 = pith_graph_add(g, "conv2d", "se_fc1", &p, &gap, 1);
    f1 = pith_graph_add(g, "relu", "se_relu", &none, &f1, 1);
    p.out = 8;
    int f2 = pith_graph_add(g, "conv2d", "se_fc2", &p, &f1, 1);
    pith_attrs hs = none;
    hs.alpha = 1.0f / 6.0f;
    hs.beta = 0.5f;
    int gate = pith_graph_add(g, "hardsigmoid", "se_gate", &hs, &f2, 1);
    int mx[2] = {x, gate};
    int scaled = pith_graph_add(g, "mul", "se_mul", &none, mx, 2);
    int ag[2] = {scaled, gate};
    int shifted = pith_graph_add(g, "broadcast_add", "gate_add", &none, ag, 2);
    int ds[2] = {shifted, x};
    int diff = pith_graph_add(g, "sub", "diff", &none, ds, 2);
    int sq[2] = {diff, scaled};
    int prod = pith_graph_add(g, "mul", "prod", &none, sq, 2);
    prod = pith_graph_add(g, "relu", "prod_relu", &none, &prod, 1);
    a.out = 6;
    int y = pith_graph_add(g, "conv2d", "head", &a, &prod, 1);
    add_head(g, y, "global_avgpool", 5);
    ptq(g, pith_quant_defaults(), 32, 12);
    assert_int_equal(ops_in_export(g, PITHRT_OP_BINARY, -1, 0), 4);
    assert_int_equal(binary_ops_in_s8(g), 4);
    compare(g, 1, "squeeze-and-excitation and broadcast binaries in int8");
    pith_graph_free(g);
}

/* A ShuffleNet v2 unit (channel split, a branch of 1 x 1, depthwise and
 * 1 x 1 convolutions, concat, channel shuffle), twice: the convolutions
 * after a split or a shuffle take its int8 codes as they are, so every layer
 * is on the integer path and equal to the workbench's, layer by layer */
static void test_shuffle_unit_int8(void **state)
{
    (void)state;
    pith_graph *g = NULL;
    pith_shape in = {3, {1, 8, 8}};
    CHECK_OK(pith_graph_create(&g, in, 21));
    pith_attrs a, none;
    memset(&none, 0, sizeof none);
    a = conv_attrs(8, 3, 1);
    int x = 0;
    x = pith_graph_add(g, "conv2d", "stem", &a, &x, 1);
    x = pith_graph_add(g, "relu", "stem_relu", &none, &x, 1);
    for (int u = 0; u < 2; u++) {
        char name[32];
        pith_attrs sl = none;
        sl.out = 4;
        snprintf(name, sizeof name, "u%d_keep", u);
        int keep = pith_graph_add(g, "slice", name, &sl, &x, 1);
        sl.ph = 4;
        snprintf(name, sizeof name, "u%d_split", u);
        int b = pith_graph_add(g, "slice", name, &sl, &x, 1);
        pith_attrs pw = a;
        pw.kh = pw.kw = 1;
        pw.ph = pw.pw = 0;
        pw.out = 4;
        snprintf(name, sizeof name, "u%d_pw1", u);
        b = pith_graph_add(g, "conv2d", name, &pw, &b, 1);
        snprintf(name, sizeof name, "u%d_relu1", u);
        b = pith_graph_add(g, "relu", name, &none, &b, 1);
        pith_attrs dw = a;
        dw.out = dw.groups = 4;
        snprintf(name, sizeof name, "u%d_dw", u);
        b = pith_graph_add(g, "conv2d", name, &dw, &b, 1);
        snprintf(name, sizeof name, "u%d_pw2", u);
        b = pith_graph_add(g, "conv2d", name, &pw, &b, 1);
        snprintf(name, sizeof name, "u%d_relu2", u);
        b = pith_graph_add(g, "relu", name, &none, &b, 1);
        int cat_in[2] = {keep, b};
        snprintf(name, sizeof name, "u%d_cat", u);
        x = pith_graph_add(g, "concat", name, &none, cat_in, 2);
        pith_attrs sh = none;
        sh.groups = 2;
        snprintf(name, sizeof name, "u%d_shuffle", u);
        x = pith_graph_add(g, "channel_shuffle", name, &sh, &x, 1);
    }
    add_head(g, x, "global_avgpool", 5);
    ptq(g, pith_quant_defaults(), 32, 22);
    assert_int_equal(ops_in_export(g, PITHRT_OP_DEQUANTIZE, -1, 0), 0); /* no layer falls back to float */
    compare(g, 1, "shufflenet units in int8");
    pith_graph_free(g);
}

/* The data movement of FPN/PAN necks and padded decoders in int8: nearest
 * upsampling and reflect / zero padding move codes, bilinear resizing
 * requantizes, a concat of five inputs chains two int8 concats on one grid,
 * a ceil-mode max pool and a global max pool pick codes;
 * the runtime's codes equal to the workbench's, layer by layer */
static void test_movement_int8(void **state)
{
    (void)state;
    pith_graph *g = NULL;
    pith_shape in = {3, {2, 6, 6}};
    CHECK_OK(pith_graph_create(&g, in, 31));
    pith_attrs a, none;
    memset(&none, 0, sizeof none);
    a = conv_attrs(4, 3, 1);
    int x = 0;
    x = pith_graph_add(g, "conv2d", "c0", &a, &x, 1);
    x = pith_graph_add(g, "relu", "c0_relu", &none, &x, 1);
    pith_attrs up = none; /* PyTorch's Upsample(scale_factor=2, mode="nearest") */
    up.oh = up.ow = 12;
    up.rsh = up.rsw = 2.0f;
    up.rcoord = 2;
    up.rnearest = 2;
    x = pith_graph_add(g, "resize", "up_nearest", &up, &x, 1);
    x = pith_graph_add(g, "conv2d", "c1", &a, &x, 1);
    pith_attrs bl = none; /* bilinear, align_corners=False, to 9 x 9 */
    bl.oh = bl.ow = 9;
    bl.rsh = bl.rsw = 0.75f;
    bl.rmode = 1;
    x = pith_graph_add(g, "resize", "down_bilinear", &bl, &x, 1);
    pith_attrs pr = none;
    pr.ph = pr.pw = pr.ph_end = pr.pw_end = 1;
    pr.rmode = 1;
    x = pith_graph_add(g, "pad", "pad_reflect", &pr, &x, 1);
    pith_attrs nopad = a;
    nopad.ph = nopad.pw = 0;
    x = pith_graph_add(g, "conv2d", "c2", &nopad, &x, 1);
    pith_attrs pz = none;
    pz.ph = 1, pz.pw = 2, pz.ph_end = 2, pz.pw_end = 0;
    x = pith_graph_add(g, "pad", "pad_zeros", &pz, &x, 1);
    x = pith_graph_add(g, "conv2d", "c3", &nopad, &x, 1);
    int parts[5];
    pith_attrs pw = a;
    pw.kh = pw.kw = 1;
    pw.ph = pw.pw = 0;
    for (int k = 0; k < 5; k++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", k);
        pw.out = 2 + k;
        parts[k] = pith_graph_add(g, "conv2d", name, &pw, &x, 1);
    }
    x = pith_graph_add(g, "concat", "cat5", &none, parts, 5);
    pith_attrs bn = none; /* a batchnorm no layer absorbs (DenseNet's after a concat): a table per channel */
    bn.eps = 1e-5f;
    bn.momentum = 0.1f;
    x = pith_graph_add(g, "batchnorm", "bn_cat", &bn, &x, 1);
    assert_true(x > 0);
    for (int k = 0; k < 4; k++) /* gamma, beta, running mean and variance, not the identity */
        tu_fill(g->nodes[x].params[k].data, g->nodes[x].params[k].size, k == 3 ? 0.2f : -0.8f, 1.5f, 40 + k);
    x = pith_graph_add(g, "conv2d", "c4", &a, &x, 1);
    pith_attrs mp = none; /* ONNX MaxPool(kernel 3, stride 2, ceil_mode=1) */
    mp.kh = mp.kw = 3;
    mp.sh = mp.sw = 2;
    mp.dh = mp.dw = 1;
    mp.pool_ext = 1;
    x = pith_graph_add(g, "maxpool", "pool_ceil", &mp, &x, 1);
    x = pith_graph_add(g, "conv2d", "c5", &a, &x, 1);
    pith_attrs ap = mp; /* ONNX AveragePool(kernel 3, stride 2, pads 1, ceil_mode=1, count_include_pad=0) */
    ap.ph = ap.pw = 1;
    ap.pool_ext = 1 | 2;
    x = pith_graph_add(g, "avgpool", "avg_ext", &ap, &x, 1);
    assert_true(x > 0);
    add_head(g, x, "global_maxpool", 5); /* a max pool moves codes too */
    compare(g, 0, "necks fp32");
    ptq(g, pith_quant_defaults(), 32, 32);
    assert_int_equal(ops_in_export(g, PITHRT_OP_DEQUANTIZE, -1, 0), 0); /* nothing falls back to float */
    assert_int_equal(ops_in_export(g, PITHRT_OP_CONCAT, -1, 0), 2);
    compare(g, 1, "necks in int8");
    pith_graph_free(g);
}

/* A segmentation decoder's upsampling: transposed convolutions (stride 2,
 * kernel 4, padding 1; then grouped, kernel 3, output padding 1, dilation 2)
 * as int8 GEMMs, per-tensor weight codes and per-channel requantization,
 * with relu folded; the runtime's codes equal to the workbench's, layer by
 * layer */
static void test_conv_transpose_int8(void **state)
{
    (void)state;
    pith_graph *g = NULL;
    pith_shape in = {3, {3, 8, 8}};
    CHECK_OK(pith_graph_create(&g, in, 41));
    pith_attrs a, none;
    memset(&none, 0, sizeof none);
    a = conv_attrs(6, 3, 2);
    int x = 0;
    x = pith_graph_add(g, "conv2d", "down", &a, &x, 1);
    x = pith_graph_add(g, "relu", "down_relu", &none, &x, 1);
    pith_attrs t = a;
    t.kh = t.kw = 4;
    t.out = 4;
    x = pith_graph_add(g, "conv_transpose", "up1", &t, &x, 1);
    x = pith_graph_add(g, "relu", "up1_relu", &none, &x, 1);
    pith_attrs t2 = a;
    t2.out = 6;
    t2.groups = 2;
    t2.dh = t2.dw = 2;
    t2.oh = t2.ow = 1; /* output padding */
    t2.bias = 0;
    x = pith_graph_add(g, "conv_transpose", "up2", &t2, &x, 1);
    assert_true(x > 0);
    a.sh = a.sw = 1;
    a.out = 4;
    x = pith_graph_add(g, "conv2d", "head", &a, &x, 1);
    add_head(g, x, "global_avgpool", 5);
    compare(g, 0, "decoder fp32");
    ptq(g, pith_quant_defaults(), 32, 42);
    assert_int_equal(ops_in_export(g, PITHRT_OP_CONV_TRANSPOSE, PITHRT_S8, 0), 2);
    compare(g, 1, "transposed convolutions in int8");
    pith_graph_free(g);
}

static void test_loader_rejects_bad_files(void **state)
{
    (void)state;
    size_t len;
    uint8_t *good = small_model(&len);
    uint8_t *p = malloc(len);
    pithrt_model m;
    assert_int_equal(pithrt_model_load(good, len, &m), PITHRT_OK);
    /* golden vectors and labels come back */
    char label[8];
    pithrt_label(&m, 3, label, sizeof label);
    assert_string_equal(label, "d");
    assert_true(m.golden_in >= 0 && m.golden_out >= 0);
    pithrt_model_free(&m);
    /* every truncation */
    for (size_t n = 0; n < len; n += (n < 4096 ? 1 : 997))
        expect_reject(good, n, NULL);
    /* wrong magic, version, and a flipped byte anywhere in the header or tables */
    memcpy(p, good, len);
    p[0] = 'X';
    expect_reject(p, len, "magic");
    memcpy(p, good, len);
    put32(p + PITHRT_HDR_VERSION, 7);
    assert_int_equal(pithrt_model_load(p, len, &m), PITHRT_EVERSION);
    uint32_t boff = (uint32_t)good[PITHRT_HDR_BLOB] | (uint32_t)good[PITHRT_HDR_BLOB + 1] << 8;
    for (uint32_t i = 8; i < boff; i += 7) {
        memcpy(p, good, len);
        p[i] ^= 0x5A;
        expect_reject(p, len, "checksum");
    }
    /* absurd counts and offsets behind valid checksums */
    memcpy(p, good, len);
    put32(p + PITHRT_HDR_N_TENSORS, 0x7fffffff);
    reseal(p);
    expect_reject(p, len, "tensors");
    memcpy(p, good, len);
    put32(p + PITHRT_HDR_OPS, 0xfffffff0u);
    reseal(p);
    expect_reject(p, len, "op table");
    /* a constant pointing past the blob, a dimension of zero, an op reading
     * a tensor nobody wrote: each found and named */
    int nt = (int)(good[PITHRT_HDR_N_TENSORS] | good[PITHRT_HDR_N_TENSORS + 1] << 8);
    size_t toff = PITHRT_HDR_BYTES;
    int cidx = -1, aidx = -1;
    for (int k = 0; k < nt; k++) {
        const uint8_t *r = good + toff + (size_t)k * PITHRT_TENSOR_BYTES;
        if (r[PITHRT_T_CONST] && cidx < 0)
            cidx = k;
        if (!r[PITHRT_T_CONST] && k > 0 && aidx < 0)
            aidx = k;
    }
    assert_true(cidx >= 0 && aidx > 0);
    memcpy(p, good, len);
    put32(p + toff + (size_t)cidx * PITHRT_TENSOR_BYTES + PITHRT_T_OFFSET, 0x7ffffff0u);
    reseal(p);
    expect_reject(p, len, "outside");
    memcpy(p, good, len);
    put32(p + toff + (size_t)aidx * PITHRT_TENSOR_BYTES + PITHRT_T_DIMS, 0);
    reseal(p);
    expect_reject(p, len, "dimension");
    size_t ooff = toff + (size_t)nt * PITHRT_TENSOR_BYTES, conv = ooff;
    while (good[conv + PITHRT_O_TYPE] != PITHRT_OP_CONV2D)
        conv += PITHRT_OP_BYTES;
    memcpy(p, good, len);
    put32(p + ooff + PITHRT_O_IN, (uint32_t)(nt - 1)); /* the first op reads a later tensor */
    reseal(p);
    expect_reject(p, len, NULL);
    memcpy(p, good, len);
    put32(p + conv + PITHRT_O_GEOM + 4 * 2, 0); /* stride 0 */
    reseal(p);
    expect_reject(p, len, "stride");
    /* flipped bytes in the blob either load or are refused, never crash, and
     * a model that loads runs */
    for (uint32_t i = boff; i < len; i += 101) {
        memcpy(p, good, len);
        p[i] ^= 0xFF;
        if (pithrt_model_load(p, len, &m) == PITHRT_OK) {
            size_t bytes = pithrt_arena_bytes(&m, 1);
            void *arena = calloc(1, bytes);
            pithrt_ctx c;
            assert_int_equal(pithrt_ctx_init(&c, &m, arena, bytes, 1), PITHRT_OK);
            assert_int_equal(pithrt_run(&c), PITHRT_OK);
            free(arena);
            pithrt_model_free(&m);
        }
    }
    /* an arena one byte short is refused */
    assert_int_equal(pithrt_model_load(good, len, &m), PITHRT_OK);
    size_t bytes = pithrt_arena_bytes(&m, 1);
    void *arena = malloc(bytes);
    pithrt_ctx c;
    assert_int_equal(pithrt_ctx_init(&c, &m, arena, bytes - 1, 1), PITHRT_ESPACE);
    free(arena);
    pithrt_model_free(&m);
    free(p);
    free(good);
}

/* No two tensors alive at the same op share a byte, checked from the op list
 * alone; a reshape shares its input's bytes by design and is skipped. */
static void test_plan_has_no_overlaps(void **state)
{
    (void)state;
    const char *models[] = {"resnet8", "mobilenet-tiny", "vgg-small"};
    for (int i = 0; i < 3; i++) {
        pith_graph *g = NULL;
        CHECK_OK(pith_zoo_build(models[i], 1, 28, 28, 10, 1, &g));
        uint8_t *buf;
        size_t len;
        pith_export_report rep;
        CHECK_OK(pith_export(g, NULL, &buf, &len, &rep));
        pithrt_model m;
        assert_int_equal(pithrt_model_load(buf, len, &m), PITHRT_OK);
        int nt = m.n_tensors, no = m.n_ops;
        int *first = malloc(sizeof(int) * nt), *last = malloc(sizeof(int) * nt);
        for (int t = 0; t < nt; t++) {
            first[t] = t == m.input ? -1 : no;
            last[t] = t == m.output ? no : -1;
        }
        for (int k = 0; k < no; k++) {
            first[m.ops[k].out] = k;
            for (int j = 0; j < m.ops[k].n_in; j++)
                last[m.ops[k].in[j]] = k > last[m.ops[k].in[j]] ? k : last[m.ops[k].in[j]];
        }
        for (int a = 0; a < nt; a++)
            for (int b = a + 1; b < nt; b++) {
                const pithrt_tensor *ta = &m.tensors[a], *tb = &m.tensors[b];
                if (ta->is_const || tb->is_const || last[a] < first[b] || last[b] < first[a])
                    continue;
                /* an op may write over its own dying input (in place) or view it (reshape) */
                int writer_a = first[a], writer_b = first[b];
                if ((writer_b >= 0 && writer_b < no && m.ops[writer_b].in[0] == a && last[a] == writer_b) ||
                    (writer_a >= 0 && writer_a < no && m.ops[writer_a].in[0] == b && last[b] == writer_a) ||
                    (writer_b >= 0 && writer_b < no && m.ops[writer_b].type == PITHRT_OP_RESHAPE) ||
                    (writer_a >= 0 && writer_a < no && m.ops[writer_a].type == PITHRT_OP_RESHAPE))
                    continue;
                size_t sa = pithrt_dtype_bytes(ta->dtype, pithrt_tensor_elems(ta));
                size_t sb = pithrt_dtype_bytes(tb->dtype, pithrt_tensor_elems(tb));
                size_t oa = m.act_offset[a], ob = m.act_offset[b];
                if (oa < ob + sb && ob < oa + sa)
                    fail_msg("%s: '%s' [%zu, %zu) and '%s' [%zu, %zu) are alive together and overlap", models[i],
                             ta->name, oa, oa + sa, tb->name, ob, ob + sb);
            }
        assert_true(m.act_bytes >= m.lower_bound);
        free(first);
        free(last);
        pithrt_model_free(&m);
        free(buf);
        pith_graph_free(g);
    }
}

/* A hand-computed plan: a chain input(100 f32) -> fc 50 -> relu (in place) -> fc 10:
 * input 400 bytes and fc1's 200 are alive at op 0; then 200 (in place) and 40.
 * Lower bound 600; the greedy plan puts input at 0 (largest), fc1 at 448 (400
 * rounded up to 64), fc2 at 0 once the input is dead: arena 448 + 256 = 704. */
static void test_plan_by_hand(void **state)
{
    (void)state;
    pith_graph *g = NULL;
    pith_shape in = {1, {100, 0, 0}};
    CHECK_OK(pith_graph_create(&g, in, 1));
    pith_attrs a;
    memset(&a, 0, sizeof a);
    a.out = 50;
    a.bias = 1;
    int prev = 0;
    prev = pith_graph_add(g, "linear", "fc1", &a, &prev, 1);
    pith_attrs r;
    memset(&r, 0, sizeof r);
    prev = pith_graph_add(g, "relu", "relu", &r, &prev, 1);
    a.out = 10;
    prev = pith_graph_add(g, "linear", "fc2", &a, &prev, 1);
    assert_true(prev > 0);
    uint8_t *buf;
    size_t len;
    pith_export_report rep;
    CHECK_OK(pith_export(g, NULL, &buf, &len, &rep));
    pithrt_model m;
    assert_int_equal(pithrt_model_load(buf, len, &m), PITHRT_OK);
    assert_int_equal(m.n_ops, 2); /* relu fused into fc1 */
    assert_int_equal(m.lower_bound, 600);
    assert_int_equal(m.act_bytes, 704);
    pithrt_model_free(&m);
    free(buf);
    pith_graph_free(g);
}

int main(void)
{
    if (pith_quant_register())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models_match_workbench),
        cmocka_unit_test(test_variants_and_ops_match),
        cmocka_unit_test(test_elementwise_tables),
        cmocka_unit_test(test_se_gate_int8),
        cmocka_unit_test(test_shuffle_unit_int8),
        cmocka_unit_test(test_movement_int8),
        cmocka_unit_test(test_conv_transpose_int8),
        cmocka_unit_test(test_loader_rejects_bad_files),
        cmocka_unit_test(test_plan_has_no_overlaps),
        cmocka_unit_test(test_plan_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
