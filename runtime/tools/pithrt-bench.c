/* pithrt-bench: latency of a .pith model on this machine.
 *   pithrt-bench MODEL.pith [--runs R] [--warmup W] [--threads N] [--isa SET] [--profile] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pithrt.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: pithrt-bench MODEL.pith [--runs R] [--warmup W] [--threads N] [--isa SET] [--profile]\n"
                        "  SET: ref avx2 avx512 neon neondot (default: the fastest this CPU runs)\n");
        return 2;
    }
    int runs = 100, warmup = 10, threads = 1, profile = 0;
    const char *isa = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc)
            isa = argv[++i];
        else if (!strcmp(argv[i], "--profile"))
            profile = 1;
        else {
            fprintf(stderr, "pithrt-bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (runs < 1 || warmup < 0 || threads < 1) {
        fprintf(stderr, "pithrt-bench: --runs >= 1, --warmup >= 0, --threads >= 1\n");
        return 2;
    }
    char msg[256];
    void *buf;
    size_t len;
    pithrt_model m;
    if (pithrt_file_read(argv[1], &buf, &len, msg, sizeof msg)) {
        fprintf(stderr, "pithrt-bench: %s\n", msg);
        return 1;
    }
    if (pithrt_model_load_isa(buf, len, isa, &m)) {
        fprintf(stderr, "pithrt-bench: %s: %s\n", argv[1], pithrt_model_error(&m));
        free(buf);
        return 1;
    }
    size_t bytes = pithrt_arena_bytes(&m, threads);
    void *arena = calloc(1, bytes);
    double *t = malloc(sizeof *t * (size_t)runs);
    pithrt_ctx c;
    int rc = 1;
    if (arena && t && pithrt_ctx_init(&c, &m, arena, bytes, threads) == PITHRT_OK) {
        /* ../shared/peers/ort_bench.js's input: a fixed LCG in [-1, 1) (int8 models quantize it) */
        size_t nin = pithrt_input_size(&m);
        float *x = malloc(nin * sizeof *x);
        uint32_t s = 12345;
        for (size_t i = 0; x && i < nin; i++) {
            s = s * 1103515245u + 12345u;
            x[i] = (float)(s / 2147483648.0 - 1.0);
        }
        if (x)
            pithrt_set_input_f32(&c, x, nin);
        free(x);
        pithrt_ctx_profile(&c, profile);
        pithrt_bench(&c, warmup, runs, t);
        printf("%s: %s kernels, %d thread(s)\n", argv[1], pithrt_model_isa(&m), threads);
        printf("%s: %d runs, latency min %.3f ms, median %.3f ms, p90 %.3f ms, %.1f inferences/s\n", argv[1], runs,
               1e3 * t[0], 1e3 * t[runs / 2], 1e3 * t[(runs * 9) / 10],
               1.0 / t[runs / 2]);
        printf("weights %u bytes, arena %zu bytes (activations %zu, lower bound %zu)\n", m.blob_size, bytes,
               m.act_bytes, m.lower_bound);
        if (profile)
            for (int k = 0; k < m.n_ops; k++)
                printf("  %-24s %-10s %8.3f ms\n", m.ops[k].name, pithrt_op_name(m.ops[k].type),
                       1e3 * c.profile[k].seconds / (c.runs ? c.runs : 1));
        rc = 0;
        pithrt_ctx_free(&c);
    } else {
        fprintf(stderr, "pithrt-bench: %s\n", arena && t ? pithrt_ctx_error(&c) : "no memory");
    }
    free(arena);
    free(t);
    pithrt_model_free(&m);
    free(buf);
    return rc;
}
