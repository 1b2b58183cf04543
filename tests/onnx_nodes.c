/* onnx_nodes: ONNX's own backend node tests (Debian's libonnx-testdata)
 * through the importer, the workbench graph and the runtime.
 *
 *   onnx_nodes [--skips FILE] [--verbose] DATA_DIR
 *
 * For every test under DATA_DIR/<test>/ whose nodes are all ops pith
 * imports: input 0 becomes the graph's input and the other inputs are bound
 * as constants; the workbench runs the batch, the fp32 .pith export runs each
 * sample through the runtime's reference kernels, and both must match
 * test_data_set_0's outputs within ONNX's tolerance (|a - b| <= 1e-7 +
 * 1e-3 |b|). A test whose output does not depend on a float input (Shape,
 * Cast of integers, Identity) is run with every input bound: the importer
 * must fold it to the expected constant. A constant operand with a batch
 * dimension (test_add's second input) is bound one sample at a time. Tests
 * listed in the skip file (name, then the reason) are reported as skipped.
 * Prints one line per test and a table per op; exit 1 on any failure. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../export/export.h"
#include "../onnx/onnx_import.h"
#include "../quant/quant.h"
#include "../runtime/pithrt.h"
#include "onnx.pb-c.h"

#define MAX_IO 8


/* the op's index in the importer's own table, -1 if it does not take it */
static int is_claimed(const char *op)
{
    for (int k = 0; k < pith_onnx_op_count(); k++)
        if (!strcmp(pith_onnx_op_type(k), op ? op : ""))
            return k;
    return -1;
}

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

static int read_all(const char *path, blob *b)
{
    FILE *f = fopen(path, "rb");
    b->p = NULL;
    b->n = 0;
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    b->p = malloc(sz > 0 ? (size_t)sz : 1);
    if (!b->p || (sz > 0 && fread(b->p, 1, (size_t)sz, f) != (size_t)sz)) {
        fclose(f);
        free(b->p);
        b->p = NULL;
        return -1;
    }
    fclose(f);
    b->n = (size_t)sz;
    return 0;
}

typedef struct tensor {
    float *v;
    int64_t dims[8];
    int rank;
    size_t n;
    int dtype;
} tensor;

static int decode(const blob *b, const char *path, tensor *t)
{
    Onnx__TensorProto *p = onnx__tensor_proto__unpack(NULL, b->n, b->p);
    t->dtype = p && p->has_data_type ? p->data_type : 0;
    if (p)
        onnx__tensor_proto__free_unpacked(p, NULL);
    return pith_onnx_read_tensor(b->p, b->n, path, &t->v, t->dims, &t->rank, &t->n);
}

/* A float TensorProto holding sample s of t (leading dimension dropped to 1). */
static int pack_sample(const tensor *t, int s, blob *out)
{
    Onnx__TensorProto p = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[8];
    memcpy(dims, t->dims, sizeof dims);
    dims[0] = 1;
    size_t per = t->n / (size_t)t->dims[0];
    p.n_dims = (size_t)t->rank;
    p.dims = dims;
    p.has_data_type = 1;
    p.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    p.n_float_data = per;
    p.float_data = t->v + (size_t)s * per;
    out->n = onnx__tensor_proto__get_packed_size(&p);
    out->p = malloc(out->n ? out->n : 1);
    if (!out->p)
        return -1;
    onnx__tensor_proto__pack(&p, out->p);
    return 0;
}

static double worst_err(const float *a, const float *b, size_t n, int *bad)
{
    double w = 0;
    *bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        int ok = d <= 1e-7 + 1e-3 * fabs(b[i]) || (isnan(a[i]) && isnan(b[i])) || a[i] == b[i];
        if (!ok)
            *bad = 1;
        if (!(d <= w) && !(a[i] == b[i]))
            w = isnan(d) ? INFINITY : d;
    }
    return w;
}

/* The fp32 .pith export of g on one sample through the reference kernels. */
static int runtime_sample(pith_graph *g, const float *x, float *y, char *msg, size_t len)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    pith_export_report rep;
    pith_export_opts eo = {0};
    if (pith_export(g, &eo, &buf, &n, &rep)) {
        snprintf(msg, len, "export: %s", pith_last_error());
        return -1;
    }
    pithrt_model m;
    int rc = pithrt_model_load_isa(buf, n, "ref", &m);
    if (rc) {
        snprintf(msg, len, "runtime: %s", pithrt_model_error(&m));
        free(buf);
        return -1;
    }
    size_t bytes = pithrt_arena_bytes(&m, 1);
    void *arena = aligned_alloc(64, (bytes + 63) / 64 * 64);
    pithrt_ctx c;
    rc = arena ? pithrt_ctx_init(&c, &m, arena, bytes, 1) : -1;
    if (!rc) {
        rc = pithrt_set_input_f32(&c, x, pithrt_input_size(&m));
        rc = rc ? rc : pithrt_run(&c);
        rc = rc ? rc : pithrt_output_f32(&c, y, pithrt_output_size(&m));
        if (rc)
            snprintf(msg, len, "runtime run: %s", pithrt_ctx_error(&c));
        pithrt_ctx_free(&c);
    }
    free(arena);
    pithrt_model_free(&m);
    free(buf);
    return rc ? -1 : 0;
}

/* the per-sample pith shape of an ONNX input of these dims (rank 2 to 4) */
static int sample_shape(const tensor *x, pith_shape *s)
{
    if (x->rank == 2)
        *s = (pith_shape){1, {(int)x->dims[1], 0, 0}};
    else if (x->rank == 3)
        *s = (pith_shape){3, {(int)x->dims[1], 1, (int)x->dims[2]}};
    else if (x->rank == 4)
        *s = (pith_shape){3, {(int)x->dims[1], (int)x->dims[2], (int)x->dims[3]}};
    else
        return -1;
    return 0;
}

typedef struct test_io {
    const char *in_names[MAX_IO], *out_names[MAX_IO];
    blob in[MAX_IO], out[MAX_IO];
    tensor tin[MAX_IO], tout[MAX_IO];
    int n_in, n_out;
} test_io;

/* Every input bound: the output must fold to the expected constant. */
static int run_folded(const blob *model, test_io *io, int k, char *msg, size_t len, double *err)
{
    pith_onnx_binding bind[MAX_IO];
    for (int j = 0; j < io->n_in; j++)
        bind[j] = (pith_onnx_binding){io->in_names[j], io->in[j].p, io->in[j].n};
    pith_onnx_folded f = {0};
    pith_onnx_opts o = {.bind = bind, .n_bind = io->n_in, .output = io->out_names[k], .folded = &f};
    pith_graph *g = NULL;
    if (pith_onnx_import_buffer(model->p, model->n, "model.onnx", &o, &g, NULL)) {
        snprintf(msg, len, "%s", pith_last_error());
        return -1;
    }
    const tensor *want = &io->tout[k];
    int bad = f.rank != want->rank || f.n != want->n;
    for (int d = 0; !bad && d < f.rank; d++)
        bad = f.dims[d] != want->dims[d];
    if (bad) {
        snprintf(msg, len, "folded to %zu values of rank %d, expected %zu of rank %d", f.n, f.rank, want->n,
                 want->rank);
        free(f.data);
        return -1;
    }
    *err = worst_err(f.data, want->v, f.n, &bad);
    free(f.data);
    if (bad)
        snprintf(msg, len, "folded values differ by %.3g", *err);
    return bad ? -1 : 0;
}

/* Input 0 computed; sample `s` only (and operands with a batch dimension
 * bound to their sample s) when s >= 0, else the whole batch. */
static int run_graph(const blob *model, test_io *io, int k, int s, char *msg, size_t len, double *err)
{
    const tensor *x = &io->tin[0], *want = &io->tout[k];
    const int N = (int)x->dims[0];
    pith_onnx_binding bind[MAX_IO];
    blob owned[MAX_IO] = {{0}};
    int nb = 0, rc = -1;
    for (int j = 1; j < io->n_in; j++) {
        const tensor *t = &io->tin[j];
        blob b = io->in[j];
        if (s >= 0 && N > 1 && t->rank == x->rank && t->dims[0] == N && t->dtype == 1) {
            if (pack_sample(t, s, &owned[j]))
                return -1;
            b = owned[j];
        }
        bind[nb++] = (pith_onnx_binding){io->in_names[j], b.p, b.n};
    }
    pith_onnx_opts o = {.bind = bind, .n_bind = nb, .output = io->out_names[k]};
    sample_shape(x, &o.input);
    pith_graph *g = NULL;
    int batch = s >= 0 ? 1 : N;
    size_t per_in = x->n / (size_t)N;
    const float *xs = x->v + (s >= 0 ? (size_t)s * per_in : 0);
    float *y = NULL;
    if (pith_onnx_import_buffer(model->p, model->n, "model.onnx", &o, &g, NULL) || pith_graph_compile(g, batch)) {
        snprintf(msg, len, "%s", pith_last_error());
        goto out;
    }
    size_t per_out = pith_shape_size(pith_graph_output_shape(g));
    if (want->n != per_out * (size_t)N) {
        snprintf(msg, len, "%zu outputs per sample, expected %zu in all for %d samples", per_out, want->n, N);
        goto out;
    }
    pith_graph_set_training(g, 0);
    memcpy(pith_graph_input(g), xs, per_in * (size_t)batch * sizeof(float));
    if (pith_graph_forward(g, batch)) {
        snprintf(msg, len, "forward: %s", pith_last_error());
        goto out;
    }
    const float *ws = want->v + (s >= 0 ? (size_t)s * per_out : 0);
    int bad;
    *err = worst_err(pith_graph_output(g), ws, per_out * (size_t)batch, &bad);
    if (bad) {
        snprintf(msg, len, "workbench differs by %.3g", *err);
        goto out;
    }
    y = malloc(per_out * sizeof *y);
    for (int q = 0; q < batch; q++) {
        if (!y || runtime_sample(g, xs + (size_t)q * per_in, y, msg, len))
            goto out;
        double e = worst_err(y, ws + (size_t)q * per_out, per_out, &bad);
        *err = fmax(*err, e);
        if (bad) {
            snprintf(msg, len, "runtime differs by %.3g", e);
            goto out;
        }
    }
    rc = 0;
out:
    free(y);
    pith_graph_free(g);
    for (int j = 0; j < MAX_IO; j++)
        free(owned[j].p);
    return rc;
}

static const char *skip_reason(char *const *skips, int n, const char *name)
{
    for (int k = 0; k < n; k++) {
        size_t l = strcspn(skips[k], " \t");
        if (strlen(name) == l && !strncmp(skips[k], name, l))
            return skips[k] + l + strspn(skips[k] + l, " \t");
    }
    return NULL;
}

typedef struct op_count {
    int pass, fail, skip;
} op_count;

int main(int argc, char **argv)
{
    const char *dir = NULL, *skip_file = NULL;
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--skips") && i + 1 < argc)
            skip_file = argv[++i];
        else if (!strcmp(argv[i], "--verbose"))
            verbose = 1;
        else
            dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "usage: onnx_nodes [--skips FILE] [--verbose] DATA_DIR\n");
        return 2;
    }
    if (pith_quant_register())
        return 1;
    char *skips[512];
    int n_skips = 0;
    if (skip_file) {
        FILE *f = fopen(skip_file, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f) && n_skips < 512) {
            line[strcspn(line, "\n")] = 0;
            if (line[0] && line[0] != '#')
                skips[n_skips++] = strdup(line);
        }
        if (f)
            fclose(f);
        else {
            fprintf(stderr, "onnx_nodes: cannot read %s\n", skip_file);
            return 2;
        }
    }
    struct dirent **names;
    int nd = scandir(dir, &names, NULL, alphasort);
    if (nd < 0) {
        fprintf(stderr, "onnx_nodes: cannot list %s\n", dir);
        return 2;
    }
    op_count per[64] = {{0}};
    int pass = 0, fail = 0, skip = 0;
    for (int d = 0; d < nd; d++) {
        const char *name = names[d]->d_name;
        char path[4096];
        blob model;
        snprintf(path, sizeof path, "%s/%s/model.onnx", dir, name);
        if (name[0] == '.' || read_all(path, &model)) {
            free(names[d]);
            continue;
        }
        Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, model.n, model.p);
        int op = -1, ours = mp && mp->graph && mp->graph->n_node > 0;
        for (size_t k = 0; ours && k < mp->graph->n_node; k++) {
            int c = is_claimed(mp->graph->node[k]->op_type);
            ours = c >= 0;
            if (k == 0 || strstr(name, "_expanded") == NULL)
                op = op < 0 ? c : op;
        }
        if (!ours) {
            if (mp)
                onnx__model_proto__free_unpacked(mp, NULL);
            free(model.p);
            free(names[d]);
            continue;
        }
        const char *why = skip_reason(skips, n_skips, name);
        char msg[1024] = "";
        double err = 0;
        int ok = 0;
        test_io io;
        memset(&io, 0, sizeof io);
        if (why) {
            per[op].skip++, skip++;
            printf("skip  %-52s %-18s %s\n", name, pith_onnx_op_type(op), why);
            goto next;
        }
        for (size_t k = 0; k < mp->graph->n_input && io.n_in < MAX_IO; k++) {
            int init = 0;
            for (size_t q = 0; q < mp->graph->n_initializer; q++)
                init |= !strcmp(mp->graph->initializer[q]->name, mp->graph->input[k]->name);
            if (init)
                continue;
            io.in_names[io.n_in] = mp->graph->input[k]->name;
            snprintf(path, sizeof path, "%s/%s/test_data_set_0/input_%d.pb", dir, name, io.n_in);
            if (read_all(path, &io.in[io.n_in]) || decode(&io.in[io.n_in], path, &io.tin[io.n_in])) {
                snprintf(msg, sizeof msg, "cannot read %.400s: %.500s", path, pith_last_error());
                goto verdict;
            }
            io.n_in++;
        }
        for (size_t k = 0; k < mp->graph->n_output && io.n_out < MAX_IO; k++) {
            io.out_names[io.n_out] = mp->graph->output[k]->name;
            snprintf(path, sizeof path, "%s/%s/test_data_set_0/output_%d.pb", dir, name, io.n_out);
            if (read_all(path, &io.out[io.n_out]) || decode(&io.out[io.n_out], path, &io.tout[io.n_out])) {
                snprintf(msg, sizeof msg, "cannot read %.400s: %.500s", path, pith_last_error());
                goto verdict;
            }
            io.n_out++;
        }
        ok = 1;
        for (int k = 0; ok && k < io.n_out; k++) {
            double e = 0;
            const tensor *x = io.n_in ? &io.tin[0] : NULL;
            int graph = x && x->dtype == 1 && x->rank >= 2 && x->rank <= 4 && x->dims[0] >= 1;
            int r = -1;
            char first[1024] = "";
            if (graph) {
                r = run_graph(&model, &io, k, -1, msg, sizeof msg, &e);
                if (r && strstr(msg, "along the batch")) {
                    r = 0;
                    for (int s = 0; !r && s < (int)x->dims[0]; s++)
                        r = run_graph(&model, &io, k, s, msg, sizeof msg, &e);
                }
                if (r)
                    snprintf(first, sizeof first, "%s", msg);
            }
            if (r) {
                r = run_folded(&model, &io, k, msg, sizeof msg, &e);
                if (r && first[0] && !strstr(first, "does not depend") && !strstr(first, "input itself"))
                    snprintf(msg, sizeof msg, "%s", first);
            }
            ok = r == 0;
            err = fmax(err, e);
        }
    verdict:
        if (ok) {
            per[op].pass++, pass++;
            if (verbose)
                printf("pass  %-52s %-18s max |diff| %.2g\n", name, pith_onnx_op_type(op), err);
        } else {
            per[op].fail++, fail++;
            printf("FAIL  %-52s %-18s %s\n", name, pith_onnx_op_type(op), msg);
        }
    next:
        for (int k = 0; k < MAX_IO; k++) {
            free(io.in[k].p), free(io.out[k].p);
            free(io.tin[k].v), free(io.tout[k].v);
        }
        onnx__model_proto__free_unpacked(mp, NULL);
        free(model.p);
        free(names[d]);
    }
    free(names);
    printf("\n%-20s %6s %6s %6s\n", "op", "passed", "failed", "skipped");
    for (int k = 0; k < pith_onnx_op_count(); k++)
        if (per[k].pass + per[k].fail + per[k].skip)
            printf("%-20s %6d %6d %6d\n", pith_onnx_op_type(k), per[k].pass, per[k].fail, per[k].skip);
    printf("%-20s %6d %6d %6d   (passed / of %d run)\n", "all", pass, fail, skip, pass + fail);
    for (int k = 0; k < n_skips; k++)
        free(skips[k]);
    return fail ? 1 : 0;
}
