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
 * is within 1e-5 of the runtime's, relative to the input's largest |output|. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../runtime/pithrt.h"

static int argmax(const float *y, size_t n)
{
    size_t best = 0;
    for (size_t k = 1; k < n; k++)
        best = y[k] > y[best] ? k : best;
    return (int)best;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: onnx_qdq MODEL.pith ORT.f32 N SEED\n");
        return 2;
    }
    const int n = atoi(argv[3]);
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
    int agree = 0, read = 0;
    double worst = 0;
    size_t within1 = 0;
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < nx; k++) { /* ort_many.js's inputs */
            st ^= st << 13;
            st ^= st >> 17;
            st ^= st << 5;
            x[k] = (float)(st >> 8) / 16777216.0f * 4.0f - 2.0f;
        }
        if (fread(want, sizeof *want, ny, f) != ny)
            break;
        read++;
        pithrt_set_input_f32(&c, x, nx);
        if (pithrt_run(&c) || pithrt_output_f32(&c, y, ny)) {
            fprintf(stderr, "onnx_qdq: %s\n", pithrt_ctx_error(&c));
            return 1;
        }
        agree += argmax(y, ny) == argmax(want, ny);
        double big = 0;
        for (size_t k = 0; k < ny; k++)
            big = fmax(big, fabs((double)y[k]));
        for (size_t k = 0; k < ny; k++) {
            const double d = fabs((double)y[k] - want[k]);
            worst = fmax(worst, step > 0 ? d / step : d / fmax(big, 1e-30));
            within1 += step > 0 && d <= step * (1.0 + 1e-3);
        }
    }
    fclose(f);
    const int qdq = step > 0;
    /* int8: a dequantized difference of 2 codes; fp32: 1e-5 relative */
    int ok = read == n && (qdq ? agree >= 0.99 * n && worst <= 2.0 + 1e-3 : agree == n && worst <= 1e-5);
    if (qdq)
        printf("%-36s %s kernels: top-1 agrees with ONNX Runtime on %d of %d inputs (%.1f%%), logits within %.2f "
               "output steps (%.2f%% within 1)  %s\n",
               argv[1], pithrt_model_isa(&m), agree, read, 100.0 * agree / (read ? read : 1), worst,
               100.0 * (double)within1 / (double)(read ? (size_t)read * ny : 1), ok ? "ok" : "FAIL");
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
