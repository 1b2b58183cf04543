/* ONNX import: a model built by tests/onnx/make_fixtures.py whose output
 * numpy computed there; models the importer must refuse, each naming the
 * file, the node and the reason; every truncation of a model refused without
 * a crash; the imported graph trains (gradient check), round-trips through a
 * checkpoint and exports to the runtime; and fmnist-cnn trained in PyTorch
 * (tests/onnx/fmnist_torch.py) keeps PyTorch's test accuracy through pith
 * eval and the runtime, and fine-tuning it lowers the test loss. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../core/checkpoint.h"
#include "../core/dataset.h"
#include "../core/gradcheck.h"
#include "../core/ops/ops.h"
#include "../core/train.h"
#include "../core/zoo.h"
#include "../experiments/workbench.h"
#include "../export/export.h"
#include "../onnx/onnx_export.h"
#include "../onnx/onnx_import.h"
#include "onnx.pb-c.h"
#include "../quant/quant.h"
#include "../runtime/pithrt.h"
#include "testutil.h"

#define FIX "tests/fixtures/onnx/"

static float *read_f32(const char *path, size_t *n)
{
    size_t bytes = 0;
    float *x = tu_read_file(path, &bytes);
    assert_non_null(x);
    *n = bytes / sizeof(float);
    return x;
}

static double max_rel(const float *a, const float *b, size_t n)
{
    double w = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        w = fmax(w, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs(b[i]));
    }
    return w / s;
}

static const pith_node *find(const pith_graph *g, const char *name)
{
    int k = pith_graph_find(g, name);
    if (k < 0)
        fail_msg("no layer '%s' in the imported graph", name);
    return &g->nodes[k];
}

/* graph_ops.onnx against numpy's output, through the workbench and the runtime */
/* g's output on x (batch 1, evaluation), into y[n]. */
static void forward1(pith_graph *g, const float *x, float *y, size_t n)
{
    CHECK_OK(pith_graph_compile(g, 1));
    pith_graph_set_training(g, 0);
    memcpy(pith_graph_input(g), x, sizeof(float) * pith_shape_size(&g->input_shape));
    CHECK_OK(pith_graph_forward(g, 1));
    assert_int_equal(pith_shape_size(pith_graph_output_shape(g)), n);
    memcpy(y, pith_graph_output(g), sizeof(float) * n);
}

/* Export -> import is the same function, float for float: zoo models with
 * batchnorm, depthwise convs, residual adds and dropout kept as they are
 * (--keep-bn), the imported graph_ops fixture (SE gate, sigmoid, pads);
 * folded, within float rounding. The metadata carries the input shape,
 * the normalisation and the class names. */
static void test_export_round_trip(void **state)
{
    (void)state;
    const char *models[] = {"fmnist-cnn", "resnet8", "mobilenet-tiny", "vgg-small", "onnx"};
    for (int mi = 0; mi < 5; mi++)
        for (int keep = 1; keep >= 0; keep--) {
            pith_graph *g = NULL, *back = NULL;
            if (mi == 4)
                CHECK_OK(pith_onnx_import_file(FIX "graph_ops.onnx", NULL, &g, NULL));
            else
                CHECK_OK(pith_zoo_build(models[mi], 1, 28, 28, 10, 5, &g));
            for (int k = 0; k < g->n_nodes; k++) /* running statistics that are not the identity */
                if (g->nodes[k].op == &pith_op_batchnorm) {
                    tu_fill(g->nodes[k].params[2].data, g->nodes[k].params[2].size, -0.5f, 0.5f, 7 + k);
                    tu_fill(g->nodes[k].params[3].data, g->nodes[k].params[3].size, 0.5f, 2.0f, 9 + k);
                }
            const size_t nx = pith_shape_size(&g->input_shape), ny = pith_shape_size(pith_graph_output_shape(g));
            float *x = malloc(nx * sizeof *x), *y1 = malloc(ny * sizeof *y1), *y2 = malloc(ny * sizeof *y2);
            tu_fill(x, nx, -1.0f, 1.0f, 3);
            forward1(g, x, y1, ny);
            pith_ckpt_meta meta;
            memset(&meta, 0, sizeof meta);
            meta.mean = 0.286f, meta.std = 0.353f;
            snprintf(meta.labels, sizeof meta.labels, "T-shirt/top\nTrouser\n");
            pith_onnx_export_opts o = {keep, &meta, "test"};
            pith_onnx_export_report rep;
            const char *path = tu_path("round_trip.onnx");
            CHECK_OK(pith_onnx_export(g, &o, path, &rep));
            CHECK_OK(pith_onnx_import_file(path, NULL, &back, NULL));
            forward1(back, x, y2, ny);
            for (size_t i = 0; i < ny; i++) {
                const double tol = keep ? 0.0 : 1e-5 * (1.0 + fabs(y1[i]));
                if (fabs((double)y1[i] - y2[i]) > tol)
                    fail_msg("%s (%s): output %zu: %.9g before export, %.9g imported back", models[mi],
                             keep ? "batchnorm kept" : "folded", i, (double)y1[i], (double)y2[i]);
            }
            /* metadata_props */
            size_t len;
            char *buf = tu_read_file(path, &len);
            Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, (const uint8_t *)buf);
            assert_non_null(m);
            int seen = 0;
            for (size_t k = 0; k < m->n_metadata_props; k++) {
                const Onnx__StringStringEntryProto *e = m->metadata_props[k];
                seen += !strcmp(e->key, "pith.input_shape") && !strcmp(e->value, mi == 4 ? "3x8x8" : "1x28x28");
                seen += !strcmp(e->key, "pith.labels") && !strcmp(e->value, "T-shirt/top\nTrouser\n");
                seen += !strcmp(e->key, "pith.mean") && !strcmp(e->value, "0.286");
            }
            assert_int_equal(seen, 3);
            assert_int_equal(m->opset_import[0]->version, rep.opset);
            onnx__model_proto__free_unpacked(m, NULL);
            free(buf);
            free(x);
            free(y1);
            free(y2);
            pith_graph_free(g);
            pith_graph_free(back);
        }
}

static void test_graph_ops(void **state)
{
    (void)state;
    pith_graph *g;
    pith_onnx_info info;
    CHECK_OK(pith_onnx_import_file(FIX "graph_ops.onnx", NULL, &g, &info));
    /* what the nodes became: ONNX names kept ('/' as '.'), the SiLU pair one op,
     * the Shape arithmetic folded into a flatten, normalisation as constants */
    assert_ptr_equal(find(g, "stem.sigmoid")->op, &pith_op_silu);
    assert_ptr_equal(find(g, "se.gate")->op, &pith_op_hardsigmoid);
    assert_ptr_equal(find(g, "se.scale")->op, &pith_op_mul);
    assert_ptr_equal(find(g, "flat.reshape")->op, &pith_op_flatten);
    assert_ptr_equal(find(g, "norm.sub.b")->op, &pith_op_constant);
    assert_ptr_equal(find(g, "head.gemm")->op, &pith_op_linear);
    assert_int_equal(info.fused, 1);
    assert_int_equal(info.folded, 4); /* Shape, Gather, Unsqueeze, Concat */
    assert_int_equal(info.opset, 13);
    size_t nx, ny;
    float *x = read_f32(FIX "graph_ops.in.f32", &nx), *want = read_f32(FIX "graph_ops.out.f32", &ny);
    assert_int_equal(nx, 3 * 8 * 8);
    assert_int_equal(ny, 5);
    CHECK_OK(pith_graph_compile(g, 1));
    pith_graph_set_training(g, 0);
    memcpy(pith_graph_input(g), x, nx * sizeof *x);
    CHECK_OK(pith_graph_forward(g, 1));
    double d = max_rel(pith_graph_output(g), want, ny);
    if (d > 1e-5)
        fail_msg("workbench vs numpy: %.3g", d);
    /* the checkpoint keeps the graph (constant nodes without inputs included) */
    const char *ck = tu_path("graph_ops.h5");
    pith_ckpt_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.model, sizeof meta.model, "onnx:graph_ops.onnx");
    meta.std = 1;
    meta.classes = 5;
    meta.top1 = meta.top5 = meta.test_loss = NAN;
    CHECK_OK(pith_checkpoint_save(ck, g, &meta, NULL, NULL, NULL, 0));
    pith_graph *h;
    pith_ckpt_meta back;
    CHECK_OK(pith_checkpoint_load(ck, &h, &back, NULL, NULL, NULL, NULL, 0));
    CHECK_OK(pith_graph_compile(h, 1));
    pith_graph_set_training(h, 0);
    memcpy(pith_graph_input(h), x, nx * sizeof *x);
    CHECK_OK(pith_graph_forward(h, 1));
    assert_memory_equal(pith_graph_output(h), pith_graph_output(g), ny * sizeof(float));
    /* the runtime, reference and fast kernels */
    uint8_t *buf;
    size_t len;
    pith_export_report rep;
    pith_export_opts eo = {0};
    CHECK_OK(pith_export(g, &eo, &buf, &len, &rep));
    for (int fast = 0; fast < 2; fast++) {
        pithrt_model m;
        assert_int_equal(pithrt_model_load_isa(buf, len, fast ? NULL : "ref", &m), PITHRT_OK);
        size_t bytes = pithrt_arena_bytes(&m, 1);
        void *arena = aligned_alloc(64, (bytes + 63) / 64 * 64);
        pithrt_ctx c;
        assert_int_equal(pithrt_ctx_init(&c, &m, arena, bytes, 1), PITHRT_OK);
        float y[5];
        assert_int_equal(pithrt_set_input_f32(&c, x, nx), PITHRT_OK);
        assert_int_equal(pithrt_run(&c), PITHRT_OK);
        assert_int_equal(pithrt_output_f32(&c, y, 5), PITHRT_OK);
        d = max_rel(y, want, ny);
        if (d > 1e-5)
            fail_msg("runtime (%s) vs numpy: %.3g", pithrt_model_isa(&m), d);
        pithrt_ctx_free(&c);
        free(arena);
        pithrt_model_free(&m);
    }
    free(buf);
    pith_graph_free(h);
    pith_graph_free(g);
    free(x);
    free(want);
}

/* A conv with asymmetric padding: a pad node in front, numpy's output */
static void test_asymmetric_pads(void **state)
{
    (void)state;
    pith_graph *g;
    CHECK_OK(pith_onnx_import_file(FIX "asymmetric_pads.onnx", NULL, &g, NULL));
    assert_ptr_equal(find(g, "the.node.pad")->op, &pith_op_pad);
    size_t nx, ny;
    float *x = read_f32(FIX "asymmetric_pads.in.f32", &nx), *want = read_f32(FIX "asymmetric_pads.out.f32", &ny);
    assert_int_equal(ny, pith_shape_size(pith_graph_output_shape(g)));
    CHECK_OK(pith_graph_compile(g, 1));
    memcpy(pith_graph_input(g), x, nx * sizeof *x);
    CHECK_OK(pith_graph_forward(g, 1));
    double d = max_rel(pith_graph_output(g), want, ny);
    if (d > 1e-5)
        fail_msg("workbench vs numpy: %.3g", d);
    pith_graph_free(g);
    free(x);
    free(want);
}

/* The imported graph trains: every op's backward against finite differences */
static void test_graph_ops_gradients(void **state)
{
    (void)state;
    pith_graph *g;
    CHECK_OK(pith_onnx_import_file(FIX "graph_ops.onnx", NULL, &g, NULL));
    g->input_grad = 1;
    CHECK_OK(pith_graph_compile(g, 2));
    pith_graph_set_training(g, 1);
    tu_fill(pith_graph_input(g), 2 * 3 * 8 * 8, 0, 1, 3);
    pith_gradcheck_result r;
    CHECK_OK(pith_gradcheck(g, 2, 1e-3, 2e-3, 1e-2, 100, 5, &r));
    if (r.failed || r.checked < 100)
        fail_msg("gradcheck: %d checked, %d failed; worst %.3g at %s", r.checked, r.failed, r.max_err, r.worst);
    pith_graph_free(g);
}

static void refused(const char *file, const char *const *needles)
{
    pith_graph *g = (pith_graph *)1;
    char path[256];
    snprintf(path, sizeof path, FIX "%s", file);
    assert_int_not_equal(pith_onnx_import_file(path, NULL, &g, NULL), 0);
    assert_null(g);
    CHECK_ERROR_HAS(path);
    for (int k = 0; needles[k]; k++)
        CHECK_ERROR_HAS(needles[k]);
}

static void test_refused(void **state)
{
    (void)state;
    refused("unsupported_op.onnx", (const char *const[]){"the/node", "Einsum", "opset 13", "Conv", NULL});
    refused("opset_too_new.onnx", (const char *const[]){"opset 30", "1 to 21", NULL});
    refused("external_data.onnx", (const char *const[]){"'w'", "external file", NULL});
    refused("two_inputs.onnx", (const char *const[]){"'x2'", "one input", NULL});
    refused("symbolic_input.onnx", (const char *const[]){"'x'", "--input", NULL});
    refused("no_such_file.onnx", (const char *const[]){"cannot open", NULL});
    /* the symbolic one imports once the shape is given */
    pith_onnx_opts o = {.input = {3, {3, 8, 8}}};
    pith_graph *g;
    CHECK_OK(pith_onnx_import_file(FIX "symbolic_input.onnx", &o, &g, NULL));
    assert_int_equal(pith_graph_output_shape(g)->d[1], 6);
    pith_graph_free(g);
}

/* every prefix of a model, and every single-byte corruption of its first
 * 2 KB, is refused or imported, never a crash (run under ASan too) */
static void test_truncated_and_corrupt(void **state)
{
    (void)state;
    size_t n;
    uint8_t *buf = tu_read_file(FIX "graph_ops.onnx", &n);
    assert_non_null(buf);
    int refused_count = 0;
    for (size_t len = 0; len < n; len += 7) {
        pith_graph *g = NULL;
        int rc = pith_onnx_import_buffer(buf, len, "cut.onnx", NULL, &g, NULL);
        if (rc) {
            refused_count++;
            CHECK_ERROR_HAS("cut.onnx");
            assert_null(g);
        }
        pith_graph_free(g);
    }
    assert_true(refused_count > (int)(n / 7) * 9 / 10);
    for (size_t k = 0; k < n && k < 2048; k++) {
        uint8_t keep = buf[k];
        buf[k] ^= (uint8_t)(0x5a + k);
        pith_graph *g = NULL;
        if (pith_onnx_import_buffer(buf, n, "flip.onnx", NULL, &g, NULL) == 0) {
            /* a corruption the format cannot see (a weight's bits) still gives a graph that runs */
            CHECK_OK(pith_graph_compile(g, 1));
            CHECK_OK(pith_graph_forward(g, 1));
        } else {
            CHECK_ERROR_HAS("flip.onnx");
        }
        pith_graph_free(g);
        buf[k] = keep;
    }
    free(buf);
}

static const char *bin(void)
{
    const char *b = getenv("PITH_BIN");
    return b ? b : "build/pith";
}

static int run(const char *args, char *out, size_t len)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null", bin(), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double json_num(const char *j, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(j, k);
    if (!p)
        fail_msg("no %s in %s", key, j);
    return atof(p + strlen(k));
}

/* fmnist-cnn trained in PyTorch: the same test top-1 through pith eval (and
 * the runtime), and pith train --init continues to lower the test loss */
static void test_fmnist_trained_in_pytorch(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    size_t n;
    char *ref = tu_read_file(FIX "fmnist_cnn.json", &n);
    assert_non_null(ref);
    double torch_top1 = json_num(ref, "top1"), torch_loss = json_num(ref, "test_loss");
    free(ref);
    static char out[1 << 16];
    char args[1024];
    const char *ck = tu_path("fmnist.h5");
    char ckp[256];
    snprintf(ckp, sizeof ckp, "%s", ck);
    /* PyTorch's normalisation, in the 0-255 convention: 0.2860 * 255, 0.3530 * 255 */
    snprintf(args, sizeof args, "import " FIX "fmnist_cnn.onnx --out %s --mean 72.93 --std 90.015 --json", ckp);
    assert_int_equal(run(args, out, sizeof out), 0);
    assert_int_equal((int)json_num(out, "params"), 206970);
    snprintf(args, sizeof args, "eval %s --json", ckp);
    assert_int_equal(run(args, out, sizeof out), 0);
    double top1 = json_num(out, "top1"), loss = json_num(out, "loss");
    if (fabs(top1 - torch_top1) > 0.0005)
        fail_msg("pith eval %.4f, PyTorch %.4f", top1, torch_top1);
    if (fabs(loss - torch_loss) > 1e-3)
        fail_msg("test loss: pith %.5f, PyTorch %.5f", loss, torch_loss);
    const char *pf = tu_path("fmnist.pith");
    char pfp[256];
    snprintf(pfp, sizeof pfp, "%s", pf);
    snprintf(args, sizeof args, "export %s --out %s", ckp, pfp);
    assert_int_equal(run(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "eval %s --json", pfp);
    assert_int_equal(run(args, out, sizeof out), 0);
    if (fabs(json_num(out, "top1") - top1) > 1e-9)
        fail_msg("runtime top-1 %.4f, workbench %.4f", json_num(out, "top1"), top1);
    const char *ft = tu_path("fmnist-ft.h5");
    snprintf(args, sizeof args, "train --init %s --epochs 1 --subset 10000 --lr 0.01 --out %s --json --quiet", ckp, ft);
    assert_int_equal(run(args, out, sizeof out), 0);
    double after = json_num(out, "test_loss");
    if (!(after < loss - 0.01))
        fail_msg("fine-tuning: test loss %.4f before, %.4f after", loss, after);
}

/* An already-quantized (QDQ) model: pith import takes its scales and zero
 * points as the quantizer state; the exported int8 .pith computes the output
 * ONNX's semantics give (dequantize, float op, quantize: make_fixtures.py,
 * in numpy), each of the 5 logits within one output step and most equal;
 * the workbench (pith eval's arithmetic) gives the runtime's bytes. A
 * DequantizeLinear of a tensor nothing quantized is refused, named. */
static void test_qdq_import(void **state)
{
    (void)state;
    static char out[1 << 16];
    char args[1024], ck[256], pf[256];
    snprintf(ck, sizeof ck, "%s", tu_path("qdq.h5"));
    snprintf(pf, sizeof pf, "%s", tu_path("qdq.pith"));
    snprintf(args, sizeof args, "import " FIX "qdq_conv.onnx --out %s --json", ck);
    assert_int_equal(run(args, out, sizeof out), 0);
    assert_int_equal((int)json_num(out, "qdq_tensors"), 4); /* input, conv+relu, pool, logits */
    snprintf(args, sizeof args, "export %s --out %s", ck, pf);
    assert_int_equal(run(args, out, sizeof out), 0);
    size_t n, nx, ny;
    float *x = (float *)(void *)tu_read_file(FIX "qdq_conv.in.f32", &nx);
    float *want = (float *)(void *)tu_read_file(FIX "qdq_conv.out.f32", &ny);
    uint8_t *buf = tu_read_file(pf, &n);
    assert_non_null(x);
    assert_non_null(want);
    assert_non_null(buf);
    pithrt_model m;
    assert_int_equal(pithrt_model_load(buf, n, &m), PITHRT_OK);
    assert_int_equal(pithrt_output_size(&m), ny / sizeof(float));
    const float step = m.tensors[m.output].scale;
    assert_true(fabsf(step - 0.05f) < 1e-7f); /* the file's output scale, not a calibrated one */
    size_t bytes = pithrt_arena_bytes(&m, 1);
    void *arena = malloc(bytes);
    pithrt_ctx c;
    assert_int_equal(pithrt_ctx_init(&c, &m, arena, bytes, 1), PITHRT_OK);
    pithrt_set_input_f32(&c, x, nx / sizeof(float));
    assert_int_equal(pithrt_run(&c), PITHRT_OK);
    float y[5], wb[5];
    pithrt_output_f32(&c, y, 5);
    int equal = 0;
    for (int k = 0; k < 5; k++) {
        if (fabsf(y[k] - want[k]) > 1.0001f * step)
            fail_msg("logit %d: pith %g, ONNX semantics %g (step %g)", k, (double)y[k], (double)want[k], (double)step);
        equal += y[k] == want[k];
    }
    assert_true(equal >= 4);
    /* the workbench on the same input: the runtime's output exactly */
    pith_graph *g = NULL;
    pith_ckpt_meta meta;
    CHECK_OK(exp_load_checkpoint(ck, &g, &meta, NULL, NULL));
    CHECK_OK(pith_graph_compile(g, 1));
    pith_graph_set_training(g, 0);
    memcpy(pith_graph_input(g), x, nx);
    CHECK_OK(pith_graph_forward(g, 1));
    memcpy(wb, pith_graph_output(g), sizeof wb);
    assert_memory_equal(wb, y, sizeof wb);
    pith_graph_free(g);
    free(arena);
    pithrt_model_free(&m);
    free(buf);
    free(x);
    free(want);
    refused("qdq_unpaired.onnx", (const char *const[]){"the/dq", "no QuantizeLinear", NULL});
}

int main(void)
{
    if (pith_quant_register())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_ops),
        cmocka_unit_test(test_asymmetric_pads),
        cmocka_unit_test(test_graph_ops_gradients),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_truncated_and_corrupt),
        cmocka_unit_test(test_fmnist_trained_in_pytorch),
        cmocka_unit_test(test_qdq_import),
        cmocka_unit_test(test_export_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
