/* The pith command: help, usage errors, and --json output that is exactly
 * one valid JSON object, for train, eval and info (binary from $PITH_BIN). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"

static const char *bin(void)
{
    const char *b = getenv("PITH_BIN");
    return b ? b : "build/pith";
}

/* Runs `pith ARGS`, capturing stdout; returns the exit status. */
static int run(const char *args, char *out, size_t len)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>%s", bin(), args, tu_path("stderr.txt"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *stderr_text(void)
{
    static char buf[8192];
    size_t n = 0;
    char *s = tu_read_file(tu_path("stderr.txt"), &n);
    snprintf(buf, sizeof buf, "%.*s", (int)n, s ? s : "");
    free(s);
    return buf;
}

/* ---- a strict little JSON validator: value followed only by whitespace ---- */
static const char *ws(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}
static const char *value(const char *p);
static const char *string(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && !*++p)
            return NULL;
    return *p == '"' ? p + 1 : NULL;
}
static const char *value(const char *p)
{
    p = ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                p = string(ws(p));
                if (!p || *(p = ws(p)) != ':')
                    return NULL;
                p++;
            }
            p = value(p);
            if (!p)
                return NULL;
            p = ws(p);
            if (*p == close)
                return p + 1;
            if (*p != ',')
                return NULL;
            p++;
        }
    }
    if (*p == '"')
        return string(p);
    if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    char *end;
    strtod(p, &end);
    return end > p ? end : NULL;
}
static void assert_one_json_object(const char *s)
{
    const char *p = ws(s);
    if (*p != '{')
        fail_msg("stdout is not a JSON object: %.200s", s);
    p = value(p);
    if (!p || *ws(p))
        fail_msg("stdout is not exactly one JSON value: %.300s", s);
}
/* Number after "key": (first occurrence). */
static double json_number(const char *s, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(s, k);
    if (!p)
        fail_msg("no %s in %.200s", key, s);
    return strtod(p + strlen(k), NULL);
}

static char out[1 << 20];

static void test_help(void **state)
{
    (void)state;
    assert_int_equal(run("--help", out, sizeof out), 0);
    assert_non_null(strstr(out, "train"));
    const char *cmds[] = {"train", "eval", "info"};
    for (int i = 0; i < 3; i++) {
        char a[64];
        snprintf(a, sizeof a, "%s --help", cmds[i]);
        assert_int_equal(run(a, out, sizeof out), 0);
        assert_non_null(strstr(out, "--json"));
    }
    assert_int_equal(run("train --help", out, sizeof out), 0);
    const char *opts[] = {"--epochs", "--seed", "--out", "--resume", "--threads", "--batch", "--lr",
                          "--schedule", "--optimizer", "--nesterov", "--weight-decay",
                          "--label-smoothing", "--crop-pad", "--hflip", "--val", "--warmup"};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
        if (!strstr(out, opts[i]))
            fail_msg("train --help does not describe %s", opts[i]);
}

static void test_usage_errors(void **state)
{
    (void)state;
    assert_int_equal(run("frobnicate", out, sizeof out), 2);
    assert_int_equal(run("", out, sizeof out), 2);
    assert_int_equal(run("train --epochs 0", out, sizeof out), 2);
    assert_non_null(strstr(stderr_text(), "--epochs"));
    assert_int_equal(run("train --lr banana", out, sizeof out), 2);
    assert_int_equal(run("train --schedule zigzag", out, sizeof out), 2);
    assert_non_null(strstr(stderr_text(), "zigzag"));
    assert_int_equal(run("train --model nosuch --subset 10", out, sizeof out), 1);
    assert_non_null(strstr(stderr_text(), "the zoo has"));
    assert_int_equal(run("eval", out, sizeof out), 2);
    char a[512];
    snprintf(a, sizeof a, "eval %s", tu_path("missing.h5"));
    assert_int_equal(run(a, out, sizeof out), 1);
    assert_non_null(strstr(stderr_text(), "missing.h5"));
}

static void test_train_eval_info_json(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    char a[1024];
    char ck[512];
    snprintf(ck, sizeof ck, "%s", tu_path("cli.h5"));
    snprintf(a, sizeof a, "train --subset 1000 --epochs 2 --stop-after 1 --threads 2 --out %s --json", ck);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_one_json_object(out);
    double top1 = json_number(out, "top1");
    assert_true(top1 > 0.3 && top1 <= 1.0);
    assert_true(json_number(out, "top5") >= top1);
    assert_true(json_number(out, "img_per_s") > 0);
    assert_non_null(strstr(out, "\"history\":[{\"epoch\":1"));
    /* progress went to stderr, not stdout */
    assert_non_null(strstr(stderr_text(), "epoch 1/2"));

    /* resume to the end of the schedule */
    snprintf(a, sizeof a, "train --resume %s --json --threads 2", ck);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_one_json_object(out);
    assert_int_equal((int)json_number(out, "epochs"), 2);
    double top1_train = json_number(out, "top1");
    /* changing the recipe on resume is refused */
    snprintf(a, sizeof a, "train --resume %s --lr 0.1 --epochs 3", ck);
    assert_int_equal(run(a, out, sizeof out), 2);
    assert_non_null(strstr(stderr_text(), "--lr"));

    snprintf(a, sizeof a, "eval %s --json", ck);
    if (run(a, out, sizeof out) != 0)
        fail_msg("%s failed: %s", a, stderr_text());
    assert_one_json_object(out);
    double top1_eval = json_number(out, "top1");
    print_message("  top-1 after training %.4f, from eval %.4f\n", top1_train, top1_eval);
    /* eval mode is independent of the batch size, up to GEMM summation order */
    assert_true(fabs(top1_eval - top1_train) < 0.002);
    assert_int_equal((int)json_number(out, "images"), 10000);
    assert_non_null(strstr(out, "\"confusion\":[["));
    assert_non_null(strstr(out, "Ankle boot"));

    snprintf(a, sizeof a, "info %s --json", ck);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_one_json_object(out);
    assert_int_equal((int)json_number(out, "params"), 206970);
    assert_int_equal((int)json_number(out, "buffers"), 96);
    assert_int_equal((int)json_number(out, "macs"), 1218048);
    assert_int_equal((int)json_number(out, "bytes"), 4 * (206970 + 96));
    assert_non_null(strstr(out, "\"layers\":[{\"name\":\"conv1\",\"op\":\"conv2d\""));

    /* a truncated checkpoint: clear error naming the file, exit 1 */
    size_t len;
    char *raw = tu_read_file(ck, &len);
    char bad[512];
    snprintf(bad, sizeof bad, "%s", tu_path("cli-bad.h5"));
    assert_int_equal(tu_write_file(bad, raw, len / 3), 0);
    free(raw);
    snprintf(a, sizeof a, "eval %s", bad);
    assert_int_equal(run(a, out, sizeof out), 1);
    assert_non_null(strstr(stderr_text(), "cli-bad.h5"));
}

/* quantize, eval, info and analyze on a quickly trained model; plans round-trip. */
static void test_quantize_analyze(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    char a[2048], ck[512], q[512], plan[512];
    snprintf(ck, sizeof ck, "%s", tu_path("qbase.h5"));
    snprintf(q, sizeof q, "%s", tu_path("q8.h5"));
    snprintf(plan, sizeof plan, "%s", tu_path("plan.yaml"));
    snprintf(a, sizeof a, "train --subset 2000 --epochs 1 --threads 2 --quiet --out %s", ck);
    assert_int_equal(run(a, out, sizeof out), 0);

    snprintf(a, sizeof a, "quantize %s --method ptq --bits 8 --calib 256 --quiet --json --out %s", ck, q);
    if (run(a, out, sizeof out) != 0)
        fail_msg("%s failed: %s", a, stderr_text());
    assert_one_json_object(out);
    double fl = json_number(out, "float_top1"), top1 = json_number(out, "top1");
    assert_true(fl > 0.5 && fabs(fl - top1) < 0.01);
    double ratio = json_number(out, "float_bytes") / json_number(out, "bytes");
    assert_true(ratio > 3.9 && ratio < 4.0); /* int8 codes + float scales and int32 biases */
    /* eval of the saved file computes exactly the same accuracy */
    snprintf(a, sizeof a, "eval %s --json", q);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_float_equal(json_number(out, "top1"), top1, 1e-9);
    /* its .pith file: every output of every test image bit for bit the
     * workbench's; against the float model the outputs differ */
    snprintf(a, sizeof a, "export %s --out %s", q, tu_path("q8.pith"));
    assert_int_equal(run(a, out, sizeof out), 0);
    snprintf(a, sizeof a, "eval %s --against %s --json", tu_path("q8.pith"), q);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_one_json_object(out);
    assert_true(json_number(out, "images") == 10000);
    assert_true(json_number(out, "outputs_differ") == 0);
    assert_true(json_number(out, "max_abs_diff") == 0);
    assert_float_equal(json_number(out, "top1"), top1, 1e-9);
    snprintf(a, sizeof a, "eval %s --against %s --json", tu_path("q8.pith"), ck);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_true(json_number(out, "outputs_differ") > 9000);
    snprintf(a, sizeof a, "eval %s --against %s", ck, q);
    assert_int_equal(run(a, out, sizeof out), 2);
    assert_non_null(strstr(stderr_text(), "--against compares a .pith file"));
    snprintf(a, sizeof a, "info %s --json", q);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_one_json_object(out);
    assert_non_null(strstr(out, "\"quant\":\"w8 sym channel\""));
    assert_non_null(strstr(out, "\"quant\":\"a8 asym +relu\""));

    snprintf(a, sizeof a, "analyze %s --calib 128 --json", q);
    if (run(a, out, sizeof out) != 0)
        fail_msg("%s failed: %s", a, stderr_text());
    assert_one_json_object(out);
    assert_non_null(strstr(out, "\"name\":\"conv1\",\"entire\":{\"cosine\":0.99"));
    assert_non_null(strstr(out, "\"name\":\"fc2\""));
    snprintf(a, sizeof a, "analyze %s --calib 128 --quiet", q);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_non_null(strstr(out, "SQNR dB"));
    /* a plan that must promote layers to meet a zero drop, and back into quantize */
    snprintf(a, sizeof a, "analyze %s --calib 128 --quiet --propose --target-drop 0 > %s", q, plan);
    assert_int_equal(run(a, out, sizeof out), 0);
    size_t len;
    char *text = tu_read_file(plan, &len);
    assert_non_null(text);
    assert_non_null(strstr(text, "layers:\n  conv1: {wbits: "));
    free(text);
    snprintf(a, sizeof a, "quantize %s --plan %s --calib 256 --quiet --json --out %s", ck, plan, tu_path("mixed.h5"));
    if (run(a, out, sizeof out) != 0)
        fail_msg("%s failed: %s", a, stderr_text());

    /* errors: a float model to analyze, a quantized one to quantize, bad options and plans */
    snprintf(a, sizeof a, "analyze %s", ck);
    assert_int_equal(run(a, out, sizeof out), 1);
    assert_non_null(strstr(stderr_text(), "is a float model"));
    snprintf(a, sizeof a, "quantize %s --out %s", q, tu_path("qq.h5"));
    assert_int_equal(run(a, out, sizeof out), 1);
    assert_non_null(strstr(stderr_text(), "already quantized"));
    snprintf(a, sizeof a, "quantize %s --method fp4 --out x.h5", ck);
    assert_int_equal(run(a, out, sizeof out), 2);
    assert_non_null(strstr(stderr_text(), "unknown method 'fp4'"));
    snprintf(a, sizeof a, "quantize %s --method binary --wbits 4 --out x.h5", ck);
    assert_int_equal(run(a, out, sizeof out), 2);
    const char *bad = "layers:\n  conv1: {wbits: 9, abits: 8}\n";
    assert_int_equal(tu_write_file(plan, bad, strlen(bad)), 0);
    snprintf(a, sizeof a, "quantize %s --plan %s --out %s", ck, plan, tu_path("m2.h5"));
    assert_int_equal(run(a, out, sizeof out), 1);
    assert_non_null(strstr(stderr_text(), "plan.yaml:2: wbits: expected 2 to 8, 16 or float"));
    const char *unknown = "layers:\n  conv9: {wbits: 8, abits: 8}\n";
    assert_int_equal(tu_write_file(plan, unknown, strlen(unknown)), 0);
    assert_int_equal(run(a, out, sizeof out), 1);
    assert_non_null(strstr(stderr_text(), "conv9"));
}

/* prune, lowrank and distill from the command line: smaller models, sane accuracy, clear refusals. */
static void test_prune_lowrank_distill(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    char a[2048], ck[512], p[512];
    snprintf(ck, sizeof ck, "%s", tu_path("pbase.h5"));
    snprintf(p, sizeof p, "%s", tu_path("p50.h5"));
    snprintf(a, sizeof a, "train --subset 2000 --epochs 1 --threads 2 --quiet --out %s", ck);
    assert_int_equal(run(a, out, sizeof out), 0);
    snprintf(a, sizeof a, "prune %s --criterion l1 --ratio 0.5 --json --out %s", ck, p);
    if (run(a, out, sizeof out) != 0)
        fail_msg("%s failed: %s", a, stderr_text());
    assert_one_json_object(out);
    assert_int_equal((int)json_number(out, "channels_removed"), 8 + 16 + 64);
    assert_true(json_number(out, "params") < 0.3 * json_number(out, "params_before"));
    assert_true(json_number(out, "macs") < 0.3 * json_number(out, "macs_before"));
    assert_true(json_number(out, "file_bytes") < json_number(out, "file_bytes_before"));
    snprintf(a, sizeof a, "info %s", p);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_non_null(strstr(out, "conv1                  conv2d          8x28x28"));
    assert_non_null(strstr(out, "fc1                    linear          64"));
    /* a magnitude-pruned file (not fine-tuned: no recipe, no optimizer state):
     * resume refuses and says what the file is (was: "group /optim is missing") */
    snprintf(a, sizeof a, "prune %s --method magnitude --sparsity 0.5 --finetune 0 --out %s", ck, tu_path("m50.h5"));
    assert_int_equal(run(a, out, sizeof out), 0);
    snprintf(a, sizeof a, "train --resume %s --epochs 3", tu_path("m50.h5"));
    assert_int_equal(run(a, out, sizeof out), 2);
    assert_non_null(strstr(stderr_text(), "cannot be resumed"));
    assert_non_null(strstr(stderr_text(), "without the training recipe and optimizer state"));
    assert_non_null(strstr(stderr_text(), "prune --method magnitude"));

    snprintf(a, sizeof a, "lowrank %s --layers fc1 --rank 16 --json --out %s", ck, tu_path("lr.h5"));
    if (run(a, out, sizeof out) != 0)
        fail_msg("%s failed: %s", a, stderr_text());
    assert_one_json_object(out);
    assert_non_null(strstr(out, "\"name\":\"fc1\",\"full_rank\":128,\"rank\":16"));
    assert_true(json_number(out, "params") < 0.2 * json_number(out, "params_before")); /* fc1 dominates */

    snprintf(a, sizeof a, "distill --teacher %s --student fmnist-cnn-slim --epochs 1 --json --quiet --out %s", ck,
             tu_path("kd.h5"));
    if (run(a, out, sizeof out) != 0)
        fail_msg("%s failed: %s", a, stderr_text());
    assert_one_json_object(out);
    assert_true(json_number(out, "top1") > 0.6);
    assert_true(json_number(out, "params") < json_number(out, "teacher_params"));

    /* sensitivity: ratio 0 is the model itself; each prunable layer gets a row */
    snprintf(a, sizeof a, "sensitivity %s --ratios 0,0.5 --json --chart %s", ck, tu_path("sens.svg"));
    if (run(a, out, sizeof out) != 0)
        fail_msg("%s failed: %s", a, stderr_text());
    assert_one_json_object(out);
    double base = json_number(out, "top1");
    char want[128];
    snprintf(want, sizeof want, "\"name\":\"conv1\",\"channels\":16,\"top1\":[%.17g,", base);
    if (!strstr(out, want))
        fail_msg("no '%s' in %s", want, out);
    assert_non_null(strstr(out, "\"name\":\"fc1\",\"channels\":128"));
    assert_null(strstr(out, "\"name\":\"fc2\""));
    size_t svg_len;
    char *svg = tu_read_file(tu_path("sens.svg"), &svg_len);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<svg"));
    free(svg);

    /* refusals */
    snprintf(a, sizeof a, "lowrank %s --rank 4 --energy 0.9 --out x.h5", ck);
    assert_int_equal(run(a, out, sizeof out), 2);
    assert_non_null(strstr(stderr_text(), "exactly one of"));
    snprintf(a, sizeof a, "lowrank %s --rank 4 --layers nope --out %s", ck, tu_path("x.h5"));
    assert_int_equal(run(a, out, sizeof out), 1);
    assert_non_null(strstr(stderr_text(), "no linear or conv2d named 'nope'"));
    snprintf(a, sizeof a, "prune %s --ratio 0.5 --criterion magic --out x.h5", ck);
    assert_int_equal(run(a, out, sizeof out), 2);
    snprintf(a, sizeof a, "quantize %s --quiet --out %s", ck, tu_path("q.h5"));
    assert_int_equal(run(a, out, sizeof out), 0);
    snprintf(a, sizeof a, "prune %s --ratio 0.5 --out %s", tu_path("q.h5"), tu_path("x.h5"));
    assert_int_equal(run(a, out, sizeof out), 1);
    assert_non_null(strstr(stderr_text(), "is quantized"));
}

/* A model that is not a classifier of the checkpoint's data (an imported
 * 3 x 8 x 8 graph of 5 outputs, as a detector's would be): --no-eval
 * calibrates on a list of images and quantizes with top-1 n/a; it exports
 * to int8. */
static void test_quantize_no_eval(void **state)
{
    (void)state;
    const char *fx = getenv("PITH_IMAGES") ? getenv("PITH_IMAGES") : "build/fixtures/images";
    char calib[600], a[2048], ck[512], q[512];
    snprintf(calib, sizeof calib, "%s/calib.txt", fx);
    FILE *f = fopen(calib, "r");
    if (!f)
        skip();
    fclose(f);
    snprintf(ck, sizeof ck, "%s", tu_path("ops.h5"));
    snprintf(q, sizeof q, "%s", tu_path("ops8.h5"));
    snprintf(a, sizeof a, "import tests/fixtures/onnx/graph_ops.onnx --out %s --quiet", ck);
    assert_int_equal(run(a, out, sizeof out), 0);
    snprintf(a, sizeof a, "quantize %s --calib %s --calib-count 4 --out %s", ck, calib, q);
    assert_int_equal(run(a, out, sizeof out), 1); /* the checkpoint's data (Fashion-MNIST) does not fit */
    snprintf(a, sizeof a, "quantize %s --no-eval --calib %s --calib-count 4 --json --out %s", ck, calib, q);
    if (run(a, out, sizeof out) != 0)
        fail_msg("%s: %s", a, stderr_text());
    assert_one_json_object(out);
    assert_non_null(strstr(out, "\"top1\":null"));
    snprintf(a, sizeof a, "export %s --out %s --json", q, tu_path("ops8.pith"));
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_true(json_number(out, "int8_layers") == 4 && json_number(out, "float_layers") == 0);
    snprintf(a, sizeof a, "quantize %s --no-eval --out %s", ck, q);
    assert_int_equal(run(a, out, sizeof out), 2);
    assert_non_null(strstr(stderr_text(), "--no-eval calibrates on --calib PATH"));
    snprintf(a, sizeof a, "quantize %s --no-eval --method qat --calib %s --out %s", ck, calib, q);
    assert_int_equal(run(a, out, sizeof out), 2);
}

static void test_info_zoo(void **state)
{
    (void)state;
    assert_int_equal(run("info --model resnet8 --json", out, sizeof out), 0);
    assert_one_json_object(out);
    assert_non_null(strstr(out, "\"op\":\"add\""));
    assert_int_equal(run("info --zoo", out, sizeof out), 0);
    assert_non_null(strstr(out, "mobilenet-tiny"));
}

/* export, bench, infer and eval of a .pith file, and their errors */
static void test_export_bench_infer(void **state)
{
    (void)state;
    char a[2048], model[512];
    snprintf(model, sizeof model, "%s", tu_path("lenet5-int8.pith"));
    snprintf(a, sizeof a, "export --model lenet5 --int8 --out %s --json", model);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_one_json_object(out);
    assert_true(json_number(out, "int8_layers") == 5);
    assert_true(json_number(out, "float_layers") == 0);
    double weights = json_number(out, "weight_bytes"), file = json_number(out, "file_bytes");
    assert_true(file > weights && file <= 1.02 * weights + 4096);
    snprintf(a, sizeof a, "bench %s --runs 3 --warmup 1 --profile --json", model);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_one_json_object(out);
    assert_true(json_number(out, "median_ms") > 0);
    assert_true(json_number(out, "activation_bytes") >= json_number(out, "lower_bound_bytes"));
    assert_non_null(strstr(out, "\"op\":\"conv2d\""));
    /* info of the file: every op's types; an int8 lenet5 has no float op, an
     * fp32 export no int8 one */
    snprintf(a, sizeof a, "info %s --json", model);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_one_json_object(out);
    assert_non_null(strstr(out, "\"op\":\"conv2d\",\"in\":\"s8\",\"out\":\"s8\""));
    assert_true(json_number(out, "float_ops") == 0 && json_number(out, "int8_ops") >= 5);
    snprintf(a, sizeof a, "export --model lenet5 --out %s", tu_path("lenet5-fp32.pith"));
    assert_int_equal(run(a, out, sizeof out), 0);
    snprintf(a, sizeof a, "info %s", tu_path("lenet5-fp32.pith"));
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_non_null(strstr(out, "f32->f32"));
    assert_non_null(strstr(out, "0 ops with int8 outputs"));
    /* errors: no --out, a missing file, a file that is not a model */
    assert_int_equal(run("export --model lenet5", out, sizeof out), 2);
    snprintf(a, sizeof a, "bench %s --runs 1", tu_path("nonexistent.pith"));
    assert_int_equal(run(a, out, sizeof out), 1);
    FILE *f = fopen(tu_path("junk.pith"), "wb");
    assert_non_null(f);
    fputs("PITH and nothing else", f);
    fclose(f);
    snprintf(a, sizeof a, "bench %s --runs 1", tu_path("junk.pith"));
    assert_int_equal(run(a, out, sizeof out), 1);
    assert_non_null(strstr(stderr_text(), "junk.pith"));
    if (!tu_have_fmnist())
        return;
    const char *images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    snprintf(a, sizeof a, "infer %s --idx %s --index 7 --json", model, images);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_one_json_object(out);
    assert_non_null(strstr(out, "\"top5\":[{"));
    snprintf(a, sizeof a, "infer %s --idx %s --index 10000", model, images);
    assert_int_equal(run(a, out, sizeof out), 1);
    snprintf(a, sizeof a, "eval %s --json", model);
    assert_int_equal(run(a, out, sizeof out), 0);
    assert_one_json_object(out);
    assert_true(json_number(out, "images") == 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_train_eval_info_json),
        cmocka_unit_test(test_quantize_analyze),
        cmocka_unit_test(test_prune_lowrank_distill),
        cmocka_unit_test(test_quantize_no_eval),
        cmocka_unit_test(test_info_zoo),
        cmocka_unit_test(test_export_bench_infer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
