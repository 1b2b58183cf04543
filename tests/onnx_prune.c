/* onnx_prune: structured pruning of an imported ONNX model.
 *
 *   onnx_prune MODEL.onnx [--ratio R] [--input CxHxW]
 *
 * Imports the model, finds its dependency groups (channels tied through
 * adds, squeeze-and-excitation multiplies, splits and concats; groups a
 * channel shuffle, a grouped convolution, the input or the output freezes),
 * removes R (default 0.3) of each prunable group's channels by L1 norm, and
 * checks that the pruned graph compiles and runs, that its output has the
 * original shape and finite values, that it has fewer MACs, and that its
 * fp32 .pith export computes the same output through the runtime (within
 * 1e-4 of its largest magnitude): every parameter was cut along the channels
 * its neighbours lost. Prints the groups frozen and why. Exit 1 on failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/rng.h"
#include "../export/export.h"
#include "../onnx/onnx_import.h"
#include "../prune/prune.h"
#include "../quant/quant.h"
#include "../runtime/pithrt.h"

static int fail(const char *model, const char *what)
{
    fprintf(stderr, "onnx_prune: %s: %s\n", model, what);
    return 1;
}

/* The pruned graph's output on x through the runtime (fp32 export, reference kernels). */
static int runtime_output(pith_graph *g, const float *x, size_t nx, float *y, size_t ny)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    pith_export_opts eo = {0};
    pith_export_report rep;
    int rc = pith_export(g, &eo, &buf, &len, &rep);
    if (rc)
        return rc;
    pithrt_model m;
    rc = pithrt_model_load_isa(buf, len, "ref", &m);
    if (rc) {
        fprintf(stderr, "onnx_prune: runtime load: %s\n", pithrt_model_error(&m));
        free(buf);
        return rc;
    }
    size_t bytes = pithrt_arena_bytes(&m, 1);
    void *arena = malloc(bytes);
    pithrt_ctx c;
    rc = arena ? pithrt_ctx_init(&c, &m, arena, bytes, 1) : -1;
    if (!rc) {
        rc = pithrt_set_input_f32(&c, x, nx);
        rc = rc ? rc : pithrt_run(&c);
        rc = rc ? rc : pithrt_output_f32(&c, y, ny);
        pithrt_ctx_free(&c);
    }
    free(arena);
    pithrt_model_free(&m);
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: onnx_prune MODEL.onnx [--ratio R] [--input CxHxW]\n");
        return 2;
    }
    const char *model = argv[1];
    pith_onnx_opts o = {0};
    float ratio = 0.3f;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--ratio"))
            ratio = (float)atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--input")) {
            int c, h, w;
            if (sscanf(argv[i + 1], "%dx%dx%d", &c, &h, &w) != 3)
                return 2;
            o.input = (pith_shape){3, {c, h, w}};
        }
    }
    if (pith_quant_register())
        return 1;
    pith_graph *g;
    pith_onnx_info info;
    if (pith_onnx_import_file(model, &o, &g, &info))
        return fail(model, pith_last_error());
    const pith_shape out0 = *pith_graph_output_shape(g);
    const int64_t macs0 = pith_graph_macs(g);
    pith_prune_group *groups = NULL;
    int n_groups = 0, prunable = 0;
    if (pith_prune_groups(g, &groups, &n_groups))
        return fail(model, pith_last_error());
    for (int i = 0; i < n_groups; i++)
        prunable += groups[i].prunable;
    /* the frozen groups, each with its first layer and why */
    int shown = 0;
    for (int i = 0; i < n_groups; i++)
        if (!groups[i].prunable && shown++ < 4)
            printf("  frozen: '%s' (%d channels): %s\n", g->nodes[groups[i].members[0]].name, groups[i].channels,
                   groups[i].why);
    if (shown > 4)
        printf("  frozen: %d more\n", shown - 4);
    free(groups);
    int removed = pith_prune_structured(g, PITH_CRIT_L1, ratio, NULL, 0, 1);
    if (removed < 0)
        return fail(model, pith_last_error());
    if (pith_graph_compile(g, 1))
        return fail(model, pith_last_error());
    const pith_shape *out1 = pith_graph_output_shape(g);
    if (out1->ndim != out0.ndim || memcmp(out1->d, out0.d, sizeof out0.d))
        return fail(model, "the pruned model's output shape differs");
    const int64_t macs1 = pith_graph_macs(g);
    const size_t nx = pith_shape_size(&g->input_shape), ny = pith_shape_size(out1);
    float *x = malloc(nx * sizeof *x), *y = malloc(ny * sizeof *y);
    if (!x || !y)
        return fail(model, "out of memory");
    pith_rng rng;
    pith_rng_seed(&rng, 7);
    for (size_t i = 0; i < nx; i++)
        x[i] = 4.0f * pith_rng_uniform(&rng) - 2.0f;
    pith_graph_set_training(g, 0);
    memcpy(pith_graph_input(g), x, nx * sizeof *x);
    if (pith_graph_forward(g, 1))
        return fail(model, pith_last_error());
    float *want = malloc(ny * sizeof *want);
    if (!want)
        return fail(model, "out of memory");
    memcpy(want, pith_graph_output(g), ny * sizeof *want); /* export plans the graph again */
    double scale = 0, worst = 0;
    int finite = 1;
    for (size_t i = 0; i < ny; i++) {
        finite &= isfinite(want[i]) != 0;
        scale = fmax(scale, fabs(want[i]));
    }
    if (runtime_output(g, x, nx, y, ny))
        return fail(model, pith_last_error());
    for (size_t i = 0; i < ny; i++)
        worst = fmax(worst, fabs((double)y[i] - want[i]));
    double rel = scale > 0 ? worst / scale : worst;
    int ok = finite && removed > 0 && macs1 < macs0 && rel <= 1e-4;
    printf("%-28s %3d of %3d groups prunable, %5d channels removed, MACs %.3g -> %.3g (%.0f%%), runtime %.1e  %s\n",
           model, prunable, n_groups, removed, (double)macs0, (double)macs1, 100.0 * (double)macs1 / (double)macs0,
           rel, ok ? "ok" : "FAIL");
    free(x);
    free(y);
    free(want);
    pith_graph_free(g);
    return ok ? 0 : 1;
}
