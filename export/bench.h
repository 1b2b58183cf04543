/* Measuring an exported model on this host's runtime: latency (pith bench and
 * a config's bench stage), the memory the loaded model holds, and an energy
 * estimate per inference counted from the runtime's plan. */
#ifndef PITH_EXPORT_BENCH_H
#define PITH_EXPORT_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/pithrt.h"

/* A loaded .pith model with a context on a malloc'd arena. */
typedef struct pith_rt {
    void *file;
    size_t file_bytes;
    pithrt_model m;
    void *arena;
    pithrt_ctx c;
    size_t heap_bytes; /* what loading and the context took from the heap (file, tables, packed weights, arena) */
} pith_rt;

/* isa: an instruction set's name, or NULL for the runtime's own choice. */
int pith_rt_open(const char *path, int threads, const char *isa, pith_rt *r);
void pith_rt_close(pith_rt *r);

/* The energy model: per-operation costs at 45 nm from M. Horowitz, "Computing's
 * energy problem (and what we can do about it)", ISSCC 2014 — an int8 MAC is
 * an 8-bit multiply (0.2 pJ) and a 32-bit add (0.1 pJ), an fp32 MAC a 32-bit
 * float multiply (3.7 pJ) and add (0.9 pJ); DRAM costs 2.6 nJ per 64-bit
 * access (the upper end of the paper's 1.3-2.6 nJ), a 32 KB SRAM 20 pJ per
 * 64-bit access. Counted per inference: the MACs of each conv2d / fc (int8
 * when its input is int8, else fp32), every constant byte an op reads (weights,
 * biases, multipliers, tables) once from DRAM (no reuse across inferences), every activation an op reads
 * or writes once through SRAM. An estimate for comparing models, not a
 * measurement of any board. */
#define PITH_PJ_MAC_INT8 (0.2 + 0.1)
#define PITH_PJ_MAC_F32 (3.7 + 0.9)
#define PITH_PJ_DRAM_BYTE (2600.0 / 8)
#define PITH_PJ_SRAM_BYTE (20.0 / 8)

typedef struct pith_energy {
    int64_t int8_macs, f32_macs;
    int64_t dram_bytes, sram_bytes;
    double mac_uj, dram_uj, sram_uj, total_uj;
} pith_energy;

void pith_energy_estimate(const pithrt_model *m, pith_energy *e);

typedef struct pith_bench_result {
    int threads, runs, warmup;
    char isa[16];
    double min_ms, median_ms, p90_ms, fps;
    int64_t macs;
    size_t weight_bytes, arena_bytes, file_bytes, heap_bytes;
    pith_energy energy;
} pith_bench_result;

/* Sets the input ONNX Runtime's peer (../shared/peers/ort_bench.js) times, a
 * fixed LCG in [-1, 1), then times `warmup` + `runs` batch-1 inferences. */
int pith_bench_rt(pith_rt *r, int warmup, int runs, pith_bench_result *out);

#endif
