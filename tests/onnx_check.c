/* onnx_check: an imported ONNX model against an oracle's output.
 *
 *   onnx_check MODEL.onnx INPUT.f32 EXPECTED.f32 [--input CxHxW] [--tol T]
 *
 * Imports the model, runs the workbench graph (evaluation mode) and the fp32
 * .pith export of it through the runtime's reference kernels and through the
 * fast kernels of this host, each on INPUT (raw float32, one sample), and
 * prints the largest difference of each to EXPECTED relative to EXPECTED's
 * largest magnitude. Exit 1 if any exceeds T (default 1e-4). The expected
 * output comes from ONNX Runtime (tests/onnx/ort_run.js). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../export/export.h"
#include "../onnx/onnx_import.h"
#include "../quant/quant.h"
#include "../runtime/pithrt.h"

static float *read_f32(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *x = sz > 0 ? malloc((size_t)sz) : NULL;
    if (x && fread(x, 1, (size_t)sz, f) != (size_t)sz) {
        free(x);
        x = NULL;
    }
    fclose(f);
    *n = (size_t)(sz > 0 ? sz : 0) / sizeof(float);
    return x;
}

static double rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        scale = fmax(scale, fabs(b[i]));
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= worst))
            worst = isnan(d) ? INFINITY : d;
    }
    return scale > 0 ? worst / scale : worst;
}

/* the .pith file through the runtime, with kernels `isa` ("ref" or NULL: this host's fastest) */
static int run_runtime(const uint8_t *buf, size_t len, const char *isa, const float *x, size_t nx, float *y,
                       size_t ny, char *used, size_t used_len)
{
    pithrt_model m;
    int rc = pithrt_model_load_isa(buf, len, isa, &m);
    if (rc) {
        fprintf(stderr, "onnx_check: runtime load: %s\n", pithrt_model_error(&m));
        return rc;
    }
    snprintf(used, used_len, "%s", pithrt_model_isa(&m));
    size_t bytes = pithrt_arena_bytes(&m, 1);
    void *arena = aligned_alloc(64, (bytes + 63) / 64 * 64);
    pithrt_ctx c;
    rc = arena ? pithrt_ctx_init(&c, &m, arena, bytes, 1) : -1;
    if (!rc) {
        rc = pithrt_set_input_f32(&c, x, nx);
        rc = rc ? rc : pithrt_run(&c);
        rc = rc ? rc : pithrt_output_f32(&c, y, ny);
        if (rc)
            fprintf(stderr, "onnx_check: runtime run: %s\n", pithrt_ctx_error(&c));
        pithrt_ctx_free(&c);
    }
    free(arena);
    pithrt_model_free(&m);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: onnx_check MODEL.onnx INPUT.f32 EXPECTED.f32 [--input CxHxW] [--tol T]\n");
        return 2;
    }
    pith_onnx_opts o = {0};
    double tol = 1e-4;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--tol"))
            tol = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--input")) {
            int c, h, w;
            if (sscanf(argv[i + 1], "%dx%dx%d", &c, &h, &w) != 3)
                return 2;
            o.input = (pith_shape){3, {c, h, w}};
        }
    }
    if (pith_quant_register())
        return 1;
    size_t nx, ny;
    float *x = read_f32(argv[2], &nx), *want = read_f32(argv[3], &ny);
    if (!x || !want) {
        fprintf(stderr, "onnx_check: cannot read %s or %s\n", argv[2], argv[3]);
        return 1;
    }
    pith_graph *g;
    pith_onnx_info info;
    int rc = pith_onnx_import_file(argv[1], &o, &g, &info);
    rc = rc ? rc : pith_graph_compile(g, 1);
    if (rc) {
        fprintf(stderr, "onnx_check: %s\n", pith_last_error());
        return 1;
    }
    if (pith_shape_size(&g->input_shape) != nx || pith_shape_size(pith_graph_output_shape(g)) != ny) {
        fprintf(stderr, "onnx_check: %zu inputs / %zu outputs given, the model has %zu / %zu\n", nx, ny,
                pith_shape_size(&g->input_shape), pith_shape_size(pith_graph_output_shape(g)));
        return 1;
    }
    pith_graph_set_training(g, 0);
    memcpy(pith_graph_input(g), x, nx * sizeof *x);
    rc = pith_graph_forward(g, 1);
    double d_wb = rc ? INFINITY : rel_diff(pith_graph_output(g), want, ny);
    uint8_t *buf = NULL;
    size_t len = 0;
    pith_export_opts eo = {0};
    pith_export_report rep;
    rc = pith_export(g, &eo, &buf, &len, &rep);
    double d_ref = INFINITY, d_fast = INFINITY;
    char isa_ref[32] = "-", isa_fast[32] = "-";
    float *y = malloc(ny * sizeof *y);
    if (rc)
        fprintf(stderr, "onnx_check: export: %s\n", pith_last_error());
    else {
        if (!run_runtime(buf, len, "ref", x, nx, y, ny, isa_ref, sizeof isa_ref))
            d_ref = rel_diff(y, want, ny);
        if (!run_runtime(buf, len, NULL, x, nx, y, ny, isa_fast, sizeof isa_fast))
            d_fast = rel_diff(y, want, ny);
    }
    int ok = d_wb <= tol && d_ref <= tol && d_fast <= tol;
    printf("%-28s %4d nodes -> %4d layers  workbench %.2e  runtime %s %.2e  %s %.2e  %s\n", argv[1],
           info.onnx_nodes, g->n_order - 1, d_wb, isa_ref, d_ref, isa_fast, d_fast, ok ? "ok" : "FAIL");
    free(buf);
    free(y);
    free(x);
    free(want);
    pith_graph_free(g);
    return ok ? 0 : 1;
}
