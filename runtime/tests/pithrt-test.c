/* The runtime's own tests, built with the runtime (also cross-compiled and
 * run under QEMU): every fast kernel against the reference kernels.
 *
 *   pithrt-test [--cases N] [--seed S] [MODEL.pith ...]
 *
 * Random one-layer models (conv2d in every stride / padding / dilation /
 * group case, depthwise 3x3 and 5x5, 1x1, fc; int8 with S8 and W4 weights,
 * narrow code ranges, relu / relu6 clamps, left and right shifts; fp32 with
 * float and codebook weights) run with the reference kernels and with every
 * instruction set this CPU has, on 1 and 3 threads: every op's output
 * (pithrt_ctx_observe) must be equal byte for byte in int8, within 1e-5 of
 * the tensor's largest value in fp32. Each MODEL.pith given is compared the
 * same way on random inputs, layer by layer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../writer.h"
#include "../kernels/isa.h"
#include "../kernels/ukernel.h"
#include "../pithrt.h"
#include "../pool.h"
#include "one_layer.h"

static int failures, checks;
/* Every op's output of a run: the reference's kept (keep_op), another set's
 * compared with it as it is produced (check_op): int8 byte for byte, fp32
 * within 1e-5 of the reference tensor's largest value, so that a wrong layer
 * shows even where later layers would hide it (a saturated or all-zero
 * output). */
typedef struct layers {
    int n;
    void **data;
    size_t *bytes;
    const pithrt_model *m; /* the reference's, for the ops' types and names */
    const struct layers *ref;
    int bad_op;            /* the first op (in run order) that differs, -1 */
    double worst;          /* fp32: the largest difference relative to its tensor's peak */
    char why[160];
} layers;

static void keep_op(void *user, int op, const void *data, size_t bytes)
{
    layers *L = user;
    if (op < 0 || op >= L->n)
        return;
    free(L->data[op]);
    L->data[op] = malloc(bytes);
    if (L->data[op])
        memcpy(L->data[op], data, bytes);
    L->bytes[op] = bytes;
}

static void check_op(void *user, int op, const void *data, size_t bytes)
{
    layers *L = user;
    const layers *R = L->ref;
    if (L->bad_op >= 0 || op < 0 || op >= R->n || !R->data[op])
        return;
    const pithrt_tensor *t = &R->m->tensors[R->m->ops[op].out];
    if (bytes != R->bytes[op]) {
        L->bad_op = op;
        snprintf(L->why, sizeof L->why, "%zu bytes, reference %zu", bytes, R->bytes[op]);
    } else if (t->dtype != PITHRT_F32) {
        for (size_t i = 0; i < bytes; i++)
            if (((const uint8_t *)data)[i] != ((const uint8_t *)R->data[op])[i]) {
                L->bad_op = op;
                snprintf(L->why, sizeof L->why, "byte %zu is %d, reference %d", i, ((const int8_t *)data)[i],
                         ((const int8_t *)R->data[op])[i]);
                break;
            }
    } else {
        const float *a = data, *r = R->data[op];
        double peak = 0, diff = 0;
        for (size_t i = 0; i < bytes / 4; i++) {
            peak = fabs(r[i]) > peak ? fabs(r[i]) : peak;
            diff = fabs(a[i] - r[i]) > diff || a[i] != a[i] ? fabs(a[i] - r[i]) : diff;
        }
        peak = peak > 1e-30 ? peak : 1e-30;
        if (!(diff <= 1e-5 * peak)) {
            L->bad_op = op;
            snprintf(L->why, sizeof L->why, "fp32 differs by %.3g of the largest value %.3g", diff / peak, peak);
        } else if (diff / peak > L->worst) {
            L->worst = diff / peak;
        }
    }
}

/* One run with one instruction set and thread count; 0 or an error in err */
static int run(const uint8_t *buf, size_t len, const char *isa, int threads, const float *in, pithrt_observer fn,
               void *user, char *err, size_t errn)
{
    pithrt_model m;
    if (pithrt_model_load_isa(buf, len, isa, &m)) {
        snprintf(err, errn, "load (%s): %s", isa, pithrt_model_error(&m));
        return 1;
    }
    size_t ab = pithrt_arena_bytes(&m, threads);
    void *arena = malloc(ab);
    pithrt_ctx c;
    int rc = 1;
    if (arena && !pithrt_ctx_init(&c, &m, arena, ab, threads)) {
        memset((uint8_t *)arena, 0x5A, ab); /* stale bytes must not matter */
        pithrt_set_input_f32(&c, in, pithrt_input_size(&m));
        pithrt_ctx_observe(&c, fn, user);
        pithrt_run(&c);
        pithrt_ctx_free(&c);
        rc = 0;
    } else {
        snprintf(err, errn, "context: %s", arena ? pithrt_ctx_error(&c) : "no memory");
    }
    free(arena);
    pithrt_model_free(&m);
    return rc;
}

/* Reference against every other set on 1 and 3 threads, every op's output;
 * returns failures. */
static int compare_all(const uint8_t *buf, size_t len, const char *what, int verbose)
{
    pithrt_model m;
    if (pithrt_model_load_isa(buf, len, "ref", &m)) {
        printf("FAIL %s: %s\n", what, pithrt_model_error(&m));
        return 1;
    }
    size_t n = pithrt_input_size(&m);
    float *in = malloc(n * sizeof *in);
    for (size_t i = 0; i < n; i++)
        in[i] = pt_rfloat(-2.0f, 2.0f);
    char err[300];
    int bad = 0;
    layers ref = {m.n_ops, calloc((size_t)m.n_ops, sizeof(void *)), calloc((size_t)m.n_ops, sizeof(size_t)), &m,
                  NULL, -1, 0, ""};
    if (!in || !ref.data || !ref.bytes || run(buf, len, "ref", 1, in, keep_op, &ref, err, sizeof err)) {
        printf("FAIL %s: %s\n", what, in && ref.data && ref.bytes ? err : "no memory");
        bad = 1;
    }
    for (int isa = 1; !bad && isa < PITHRT_ISA_COUNT; isa++) {
        if (!pithrt_isa_supported((pithrt_isa)isa))
            continue;
        for (int threads = 1; threads <= 3; threads += 2) {
            layers got = {0, NULL, NULL, NULL, &ref, -1, 0, ""};
            checks++;
            if (run(buf, len, pithrt_isa_name((pithrt_isa)isa), threads, in, check_op, &got, err, sizeof err)) {
                printf("FAIL %s [%s, %d threads]: %s\n", what, pithrt_isa_name((pithrt_isa)isa), threads, err);
                bad++;
            } else if (got.bad_op >= 0) {
                printf("FAIL %s [%s, %d threads]: op %d (%s, %s): %s\n", what, pithrt_isa_name((pithrt_isa)isa),
                       threads, got.bad_op, m.ops[got.bad_op].name, pithrt_op_name(m.ops[got.bad_op].type), got.why);
                bad++;
            } else if (verbose) {
                printf("  %s [%s, %d threads]: all %d ops' outputs agree (fp32 within %.2g relative)\n", what,
                       pithrt_isa_name((pithrt_isa)isa), threads, m.n_ops, got.worst);
            }
        }
    }
    for (int k = 0; ref.data && k < ref.n; k++)
        free(ref.data[k]);
    free(ref.data);
    free(ref.bytes);
    free(in);
    pithrt_model_free(&m);
    return bad;
}

/* Every set's requant against the portable one (pithrt_requantize,
 * the specification): random channels, multipliers near 2^30 and 2^31 and
 * odd ones (negative, tiny), every right shift, narrow and full code ranges,
 * 1 to 3 rows of 1 to 70 accumulators (vector tails) with gaps between
 * them, values dense around ties. */
/* The pool: every task of every loop runs exactly once, each thread index
 * on one thread at a time, and a loop returns only when its tasks are done,
 * also when a worker is slow to pick its tasks up (some tasks sleep, as a
 * worker the scheduler parks would) and when loops follow one another
 * faster than a sleeping worker wakes. */
typedef struct pool_case {
    int *runs;          /* per task: times run (atomic) */
    int *busy;          /* per thread index: tasks running on it now (atomic) */
    int overlap, loop;  /* (atomic) */
} pool_case;

static void pool_task(void *arg, int task, int thread)
{
    pool_case *c = arg;
    if (__atomic_add_fetch(&c->busy[thread], 1, __ATOMIC_ACQ_REL) != 1)
        __atomic_store_n(&c->overlap, 1, __ATOMIC_RELAXED);
    if (thread && (task + c->loop) % 97 == 0) {
        struct timespec ts = {0, 200000}; /* 0.2 ms */
        nanosleep(&ts, NULL);
    }
    __atomic_add_fetch(&c->runs[task], 1, __ATOMIC_ACQ_REL);
    __atomic_sub_fetch(&c->busy[thread], 1, __ATOMIC_ACQ_REL);
}

static int test_pool(void)
{
#ifdef PITHRT_NO_THREADS
    printf("  pool: skipped (built without threads)\n");
    return 0;
#endif
    int bad = 0;
    enum { MAX_TASKS = 300 };
    for (int threads = 2; threads <= 4; threads++) {
        pithrt_pool *p = pithrt_pool_new(threads);
        int runs[MAX_TASKS], busy[8] = {0};
        pool_case c = {runs, busy, 0, 0};
        for (int loop = 0; loop < 3000 && p; loop++) {
            int tasks = 1 + (int)(pt_rnd() % MAX_TASKS);
            memset(runs, 0, sizeof runs);
            c.loop = loop;
            pithrt_parallel(p, tasks, pool_task, &c);
            for (int t = 0; t < tasks; t++)
                if (__atomic_load_n(&runs[t], __ATOMIC_ACQUIRE) != 1) {
                    printf("FAIL pool [%d threads]: loop %d, task %d of %d ran %d times\n", threads, loop, t,
                           tasks, runs[t]);
                    bad++;
                    loop = 3000;
                    break;
                }
            if ((loop & 255) == 0) { /* let the workers fall asleep now and then */
                struct timespec ts = {0, 2000000};
                nanosleep(&ts, NULL);
            }
        }
        if (!p) {
            printf("FAIL pool [%d threads]: no pool\n", threads);
            bad++;
        } else if (c.overlap) {
            printf("FAIL pool [%d threads]: two tasks ran on one thread index at once\n", threads);
            bad++;
        }
        pithrt_pool_free(p);
        checks++;
    }
    /* a pool freed right after a loop its workers were late for: every
     * worker must still see the stop (a worker that skipped the stop's
     * generation once slept through pithrt_pool_free's join) */
    for (int k = 0; k < 2000 && !bad; k++) {
        pithrt_pool *p = pithrt_pool_new(3);
        int runs[8] = {0}, busy[8] = {0};
        pool_case c = {runs, busy, 0, 1};
        pithrt_parallel(p, 2 + k % 6, pool_task, &c);
        pithrt_pool_free(p);
    }
    checks++;
    if (!bad)
        printf("  pool: 3,000 loops on 2, 3 and 4 threads, every task exactly once; 2,000 pools freed after a loop\n");
    return bad;
}

static int test_requant(void)
{
    int bad = 0;
    for (int isa = 0; isa < PITHRT_ISA_COUNT; isa++) {
        const pithrt_kernels *K = pithrt_kernels_for((pithrt_isa)isa);
        if (!K || !pithrt_isa_supported((pithrt_isa)isa))
            continue;
        for (int t = 0; t < 3000; t++) {
            pithrt_rq_ch ch;
            static const int32_t mults[] = {1 << 30, (1 << 30) + 1, INT32_MAX, 1, -(1 << 30), 1518500250};
            ch.mult = pt_rnd() % 3 ? (int32_t)((1u << 30) | (pt_rnd() & 0x3FFFFFFF)) : mults[pt_rnd() % 6];
            ch.left = pt_rnd() % 8 ? 0 : pt_rint_in(1, 4);
            ch.right = ch.left ? 0 : pt_rnd() % 4 ? pt_rint_in(0, 12) : pt_rint_in(13, 31);
            ch.bias = (int32_t)pt_rnd() % 4096 - 2048;
            int act = pt_rint_in(0, 2); /* none, relu (lo 0), a window around 0 */
            ch.lo = act == 0 ? INT32_MIN : act == 1 ? 0 : -pt_rint_in(0, 1 << 20);
            ch.hi = act == 0 ? INT32_MAX : pt_rint_in(0, 1 << 20);
            pithrt_rq_out out;
            out.zero_point = pt_rint_in(-128, 127);
            out.qmin = pt_rnd() % 2 ? -128 : pt_rint_in(-128, 0);
            out.qmax = pt_rnd() % 2 ? 127 : pt_rint_in(out.qmin, 127);
            /* rows of n, lda apart in acc and ldy apart in y; what lies between must stay */
            int n = pt_rint_in(1, 70), rows = pt_rint_in(1, 3);
            size_t lda = (size_t)n + (size_t)pt_rint_in(0, 5), ldy = (size_t)n + (size_t)pt_rint_in(0, 3);
            int32_t acc[3 * 75];
            /* fold: accumulators that cannot wrap with the bias added, as the loader promises */
            ch.fold = pt_rnd() % 2;
            int span = ch.fold ? 1 << pt_rint_in(0, 29) : 1 << pt_rint_in(0, 30);
            for (size_t i = 0; i < 3 * 75; i++)
                acc[i] = !ch.fold && pt_rnd() % 16 == 0 ? (pt_rnd() % 2 ? INT32_MAX : INT32_MIN)
                                                     : (int32_t)(pt_rnd() % (2u * span)) - span;
            int8_t want[3 * 73], got[3 * 73];
            memset(want, 0x5A, sizeof want);
            memset(got, 0x5A, sizeof got);
            pithrt_requant_s8_c(acc, lda, n, rows, &ch, out, want, ldy);
            K->requant(acc, lda, n, rows, &ch, out, got, ldy);
            checks++;
            if (memcmp(want, got, sizeof want)) {
                int i = 0;
                while (want[i] == got[i])
                    i++;
                int at = i / (int)ldy * (int)lda + i % (int)ldy; /* the accumulator behind byte i */
                if (bad++ < 5)
                    printf("FAIL requant %s: acc %d bias %d clamp [%d, %d] mult %d shift +%d -%d zp %d codes "
                           "[%d, %d]: %d, reference %d\n",
                           pithrt_isa_name((pithrt_isa)isa), acc[at], ch.bias, ch.lo, ch.hi, ch.mult, ch.left,
                           ch.right, out.zero_point, out.qmin, out.qmax, got[i], want[i]);
            }
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    int cases = 400;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--cases") && i + 1 < argc)
            cases = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            pt_seed(strtoull(argv[++i], NULL, 0) | 1);
    }
    printf("pithrt-test: instruction sets here:");
    for (int isa = 0; isa < PITHRT_ISA_COUNT; isa++)
        if (pithrt_isa_supported((pithrt_isa)isa))
            printf(" %s", pithrt_isa_name((pithrt_isa)isa));
    printf(" (default %s)\n", pithrt_isa_name(pithrt_isa_default()));
    /* a set this CPU cannot run is not compared here: say which, so a run on
     * an AVX2-only host does not read as a run of every kernel */
    int skipped = 0;
    for (int isa = 1; isa < PITHRT_ISA_COUNT; isa++)
        if (!pithrt_isa_supported((pithrt_isa)isa))
            printf("%s %s", skipped++ ? "" : "pithrt-test: skipped (this CPU or build cannot run them):",
                   pithrt_isa_name((pithrt_isa)isa));
    if (skipped)
        printf("\n");
    failures += test_requant();
    failures += test_pool();
    /* shapes of the zoo's hot layers, then random ones */
    static const layer fixed[] = {
        {0, 1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, PITHRT_S8, -5, -128, 127, 3, 0},
        {0, 0, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 1, 3, 32, 32, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1, 1, PITHRT_S8, 12, -128, 127, -128, 0},
        {0, 1, 96, 15, 15, 96, 3, 3, 2, 2, 1, 1, 1, 1, 96, 2, PITHRT_S8, -128, -128, 127, 0, 0},
        {0, 0, 96, 15, 15, 96, 5, 5, 1, 1, 2, 2, 1, 1, 96, 2, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 1, 48, 7, 7, 200, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, PITHRT_S8, 127, -128, 127, 5, 0},
        {1, 1, 512, 1, 1, 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, PITHRT_S8, 3, -128, 127, -7, 0},
        {1, 0, 300, 1, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, PITHRT_F32, 0, 0, 0, 0, 0},
        /* fp32 3x3 stride 1 with 64+ channels: Winograd, on many tiles and on few (swapped) */
        {0, 0, 64, 40, 37, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 0, 64, 17, 23, 72, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 0, 72, 30, 9, 64, 3, 3, 1, 1, 0, 0, 1, 1, 1, 0, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 0, 64, 5, 5, 64, 3, 3, 1, 1, 2, 2, 1, 1, 1, 3, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 0, 96, 9, 8, 65, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, PITHRT_U4, 0, 0, 0, 0, 0},
        /* fp32 convs read in place from the padded input (PITHRT_B_PAD): stem 7x7 / 2, 3x3 / 2,
         * 1x1 / 2, dilated, odd channel counts */
        {0, 0, 3, 40, 38, 24, 7, 7, 2, 2, 3, 3, 1, 1, 1, 1, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 0, 64, 15, 14, 72, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 0, 65, 14, 14, 40, 1, 1, 2, 2, 0, 0, 1, 1, 1, 0, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 0, 9, 20, 19, 33, 3, 3, 1, 1, 2, 2, 2, 2, 1, 2, PITHRT_F32, 0, 0, 0, 0, 0},
        /* fp32 depthwise planes over 64 x 64 (a channel at a time; smaller ones go 16 channels at once) */
        {0, 0, 5, 70, 67, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5, 2, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 0, 3, 77, 70, 3, 3, 3, 2, 2, 1, 1, 1, 1, 3, 1, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 0, 2, 66, 71, 2, 5, 5, 2, 2, 2, 2, 1, 1, 2, 0, PITHRT_F32, 0, 0, 0, 0, 0},
        /* int8 in-place B (four channels a pixel) over rows of vectors, strides 1 and 2 */
        {0, 1, 8, 20, 40, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, PITHRT_S8, 3, -128, 127, -9, 0},
        {0, 1, 12, 21, 70, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, PITHRT_S8, -4, -128, 127, 6, 0},
        /* small planes: pixels on the A side (1x1 fp32 and int8, 3x3 int8 at strides 1 and 2) */
        {0, 0, 160, 7, 7, 960, 1, 1, 1, 1, 0, 0, 1, 1, 1, 2, PITHRT_F32, 0, 0, 0, 0, 0},
        {0, 1, 160, 7, 7, 100, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, PITHRT_S8, -3, -128, 127, 9, 0},
        {0, 1, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, PITHRT_S8, 4, -128, 127, -128, 0},
        {0, 1, 64, 13, 13, 96, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, PITHRT_S8, -1, -128, 127, 2, 0},
    };
    int nfixed = (int)(sizeof fixed / sizeof fixed[0]);
    for (int i = 0; i < nfixed + cases; i++) {
        layer L;
        if (i < nfixed)
            L = fixed[i];
        else
            pt_random_layer(&L, i);
        char what[200];
        pt_describe(&L, what, sizeof what);
        size_t len;
        uint8_t *buf = pt_build(&L, &len);
        if (!buf) {
            printf("FAIL %s: cannot build the model\n", what);
            failures++;
            continue;
        }
        failures += compare_all(buf, len, what, 0);
        free(buf);
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            i++;
            continue;
        }
        void *buf;
        size_t len;
        char msg[256];
        if (pithrt_file_read(argv[i], &buf, &len, msg, sizeof msg)) {
            printf("FAIL %s\n", msg);
            failures++;
            continue;
        }
        int bad = compare_all(buf, len, argv[i], 1);
        if (!bad)
            printf("  %s: every instruction set agrees with the reference\n", argv[i]);
        failures += bad;
        free(buf);
    }
    printf("pithrt-test: %d comparisons, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
