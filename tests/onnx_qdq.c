/* onnx_qdq: a model deployed through pith against ONNX Runtime running an
 * ONNX file of the same model.
 *
 *   onnx_qdq MODEL.pith ORT.f32 N SEED
 *
 * ORT.f32 holds ONNX Runtime's N outputs for the inputs tests/onnx/ort_many.js
 * makes from SEED, which this program makes again bit for bit. Each input
 * runs through the runtime (this host's fastest kernels).
 *
 * An int8 MODEL.pith (the export of `pith import MODEL_int8_qdq.onnx`, or of
 * a quantized checkpoint whose QDQ export ORT ran): prints how often the
 * top-1 class agrees, the largest logit difference in output steps (the int8
 * output's scale) and the share of logits within one step. Exit 1 if the
 * top-1 agrees on fewer than 99% of the inputs or a logit differs by more
 * than 2 steps.
 *
 * An fp32 MODEL.pith (tests/onnx/export_ort.sh: pith export --format onnx
 * of the same checkpoint): exit 1 unless every top-1 agrees and every output
 * is within 1e-5 of the runtime's, relative to the input's largest |output|.
 *
 *   onnx_qdq --dump CKPT X.f32 Y.s32          the checkpoint's test images
 *   onnx_qdq MODEL.pith ORT.f32 N SEED X.f32 Y.s32
 *
 * The first writes the test set of the checkpoint's data, preprocessed as it
 * is (ort_many.js reads it with INPUTS=X.f32), and its labels; the second
 * takes those inputs instead of the pseudo-random ones and also prints both
 * top-1 accuracies: for an int8 model, exit 1 unless they are within 0.1 pt,
 * every logit is within one output step and the top-1 agrees on at least
 * MIN_AGREE (environment; default 0.999) of the images. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../experiments/workbench.h"
#include "../runtime/pithrt.h"

static int argmax(const float *y, size_t n)
{
    size_t best = 0;
    for (size_t k = 1; k < n; k++)
        best = y[k] > y[best] ? k : best;
    return (int)best;
}

static int dump(const char *ckpt, const char *xs, const char *ys)
{
    pith_graph *g = NULL;
    pith_ckpt_meta meta;
    pith_dataset test = {0};
    pith_data_opts o;
    int rc = exp_load_checkpoint(ckpt, &g, &meta, NULL, NULL);
    if (!rc) {
        exp_data_opts(&meta, g, &o);
        rc = exp_load_test(meta.dataset, 1, &o, meta.seed, &test);
    }
    const size_t per = rc ? 0 : pith_shape_size(&g->input_shape);
    FILE *fx = rc ? NULL : fopen(xs, "wb"), *fy = rc ? NULL : fopen(ys, "wb");
    float *x = rc ? NULL : malloc(per * sizeof *x);
    for (int i = 0; !rc && fx && fy && x && i < test.n; i++) {
        int y;
        pith_dataset_gather(&test, &i, 1, NULL, 0, x, &y);
        const int32_t y32 = y;
        if (fwrite(x, sizeof *x, per, fx) != per || fwrite(&y32, sizeof y32, 1, fy) != 1)
            rc = pith_error(PITH_EIO, "cannot write %s / %s", xs, ys);
    }
    if (!rc && (!fx || !fy || !x))
        rc = pith_error(PITH_EIO, "cannot create %s / %s", xs, ys);
    int bad = (fx && fclose(fx)) | (fy && fclose(fy));
    if (rc || bad) {
        fprintf(stderr, "onnx_qdq: %s\n", rc ? pith_last_error() : "write error");
        return 1;
    }
    printf("%d test images of %s -> %s, %s\n", test.n, ckpt, xs, ys);
    free(x);
    pith_dataset_free(&test);
    pith_graph_free(g);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--dump"))
        return dump(argv[2], argv[3], argv[4]);
    if (argc != 5 && argc != 7) {
        fprintf(stderr, "usage: onnx_qdq MODEL.pith ORT.f32 N SEED [X.f32 Y.s32]\n"
                        "       onnx_qdq --dump CKPT X.f32 Y.s32\n");
        return 2;
    }
    FILE *given = argc == 7 ? fopen(argv[5], "rb") : NULL;
    int32_t *labels = NULL;
    if (argc == 7) {
        size_t nl = 0;
        FILE *fl = fopen(argv[6], "rb");
        labels = malloc(sizeof *labels * (size_t)atoi(argv[3]));
        if (fl && labels)
            nl = fread(labels, sizeof *labels, (size_t)atoi(argv[3]), fl);
        if (fl)
            fclose(fl);
        if (!given || nl != (size_t)atoi(argv[3])) {
            fprintf(stderr, "onnx_qdq: cannot read %d inputs and labels from %s, %s\n", atoi(argv[3]), argv[5],
                    argv[6]);
            return 1;
        }
    }
    const int n = atoi(argv[3]);
    /* MIN_AGREE: the share of test images whose top-1 must agree (default 0.999) */
    const double min_agree = getenv("MIN_AGREE") ? atof(getenv("MIN_AGREE")) : 0.999;
    uint32_t st = (uint32_t)strtoul(argv[4], NULL, 10);
    void *buf;
    size_t len;
    char msg[256];
    if (pithrt_file_read(argv[1], &buf, &len, msg, sizeof msg)) {
        fprintf(stderr, "onnx_qdq: %s\n", msg);
        return 1;
    }
    pithrt_model m;
    if (pithrt_model_load(buf, len, &m)) {
        fprintf(stderr, "onnx_qdq: %s: %s\n", argv[1], pithrt_model_error(&m));
        return 1;
    }
    const pithrt_tensor *yt = &m.tensors[m.output];
    const double step = yt->dtype == PITHRT_S8 ? yt->scale : 0.0;
    const size_t nx = pithrt_input_size(&m), ny = pithrt_output_size(&m);
    FILE *f = fopen(argv[2], "rb");
    size_t bytes = pithrt_arena_bytes(&m, 1);
    void *arena = malloc(bytes);
    float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y), *want = malloc(ny * sizeof *want);
    pithrt_ctx c;
    if (!f || !arena || !x || !y || !want || pithrt_ctx_init(&c, &m, arena, bytes, 1)) {
        fprintf(stderr, "onnx_qdq: cannot read %s\n", argv[2]);
        return 1;
    }
    int agree = 0, read = 0, right_pith = 0, right_ort = 0;
    double worst = 0;
    size_t within1 = 0, equal = 0;
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; !given && k < nx; k++) { /* ort_many.js's inputs */
            st ^= st << 13;
            st ^= st >> 17;
            st ^= st << 5;
            x[k] = (float)(st >> 8) / 16777216.0f * 4.0f - 2.0f;
        }
        if (given && fread(x, sizeof *x, nx, given) != nx)
            break;
        if (fread(want, sizeof *want, ny, f) != ny)
            break;
        read++;
        pithrt_set_input_f32(&c, x, nx);
        if (pithrt_run(&c) || pithrt_output_f32(&c, y, ny)) {
            fprintf(stderr, "onnx_qdq: %s\n", pithrt_ctx_error(&c));
            return 1;
        }
        agree += argmax(y, ny) == argmax(want, ny);
        if (labels) {
            right_pith += argmax(y, ny) == labels[i];
            right_ort += argmax(want, ny) == labels[i];
        }
        double big = 0;
        for (size_t k = 0; k < ny; k++)
            big = fmax(big, fabs((double)y[k]));
        for (size_t k = 0; k < ny; k++) {
            const double d = fabs((double)y[k] - want[k]);
            worst = fmax(worst, step > 0 ? d / step : d / fmax(big, 1e-30));
            within1 += step > 0 && d <= step * (1.0 + 1e-3);
            equal += step > 0 && d <= step * 1e-3;
        }
    }
    fclose(f);
    if (given)
        fclose(given);
    free(labels);
    const int qdq = step > 0;
    /* int8: a dequantized difference of 2 codes; fp32: 1e-5 relative */
    int ok = read == n && (qdq ? agree >= 0.99 * n && worst <= 2.0 + 1e-3 : agree == n && worst <= 1e-5);
    if (labels && qdq) /* on real images: the accuracies, the agreement, every logit within a step */
        ok = read == n && abs(right_pith - right_ort) <= n / 1000 && agree >= min_agree * n && worst <= 1.0 + 1e-3;
    if (labels)
        printf("%-36s test top-1: pith's runtime %.2f%%, ONNX Runtime %.2f%% (%d images)\n", argv[1],
               100.0 * right_pith / (read ? read : 1), 100.0 * right_ort / (read ? read : 1), read);
    if (qdq)
        printf("%-36s %s kernels: top-1 agrees with ONNX Runtime on %d of %d inputs (%.1f%%), logits within %.2f "
               "output steps (%.2f%% within 1, %.2f%% equal)  %s\n",
               argv[1], pithrt_model_isa(&m), agree, read, 100.0 * agree / (read ? read : 1), worst,
               100.0 * (double)within1 / (double)(read ? (size_t)read * ny : 1),
               100.0 * (double)equal / (double)(read ? (size_t)read * ny : 1), ok ? "ok" : "FAIL");
    else
        printf("%-36s %s kernels (fp32): top-1 agrees with ONNX Runtime on %d of %d inputs, outputs within %.2g "
               "relative  %s\n",
               argv[1], pithrt_model_isa(&m), agree, read, worst, ok ? "ok" : "FAIL");
    pithrt_ctx_free(&c);
    pithrt_model_free(&m);
    free(buf);
    free(arena);
    free(x);
    free(y);
    free(want);
    return ok ? 0 : 1;
}
