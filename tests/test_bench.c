/* export/bench.h: the energy estimate on hand-counted models (fp32 and int8)
 * with Horowitz's ISSCC 2014 figures written out here, not taken from the
 * header; and the benchmark's figures against what they must satisfy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../export/bench.h"
#include "../export/export.h"
#include "../quant/quant.h"
#include "testutil.h"

/* fc1 100 -> 50, relu (fused), fc2 50 -> 10 */
static pith_graph *two_layers(void)
{
    pith_graph *g = NULL;
    pith_shape in = {1, {100, 0, 0}};
    CHECK_OK(pith_graph_create(&g, in, 1));
    pith_attrs a, r;
    memset(&a, 0, sizeof a);
    memset(&r, 0, sizeof r);
    a.out = 50;
    a.bias = 1;
    int prev = 0;
    prev = pith_graph_add(g, "linear", "fc1", &a, &prev, 1);
    prev = pith_graph_add(g, "relu", "relu", &r, &prev, 1);
    a.out = 10;
    prev = pith_graph_add(g, "linear", "fc2", &a, &prev, 1);
    assert_true(prev > 0);
    return g;
}

static void load(pith_graph *g, uint8_t **buf, pithrt_model *m)
{
    size_t len;
    pith_export_report rep;
    CHECK_OK(pith_export(g, NULL, buf, &len, &rep));
    assert_int_equal(pithrt_model_load(*buf, len, m), PITHRT_OK);
}

/* pJ, 45 nm (Horowitz, ISSCC 2014, "Computing's energy problem") */
static const double mul8 = 0.2, add32 = 0.1, fmul32 = 3.7, fadd32 = 0.9, dram64 = 2600, sram64 = 20;

static void test_energy_fp32_by_hand(void **state)
{
    (void)state;
    pith_graph *g = two_layers();
    uint8_t *buf;
    pithrt_model m;
    load(g, &buf, &m);
    assert_int_equal(m.n_ops, 2);
    pith_energy e;
    pith_energy_estimate(&m, &e);
    /* MACs: 100 x 50 + 50 x 10, all fp32 */
    assert_int_equal(e.f32_macs, 5500);
    assert_int_equal(e.int8_macs, 0);
    /* DRAM: the weights and biases once, 4 bytes each: (5000 + 50 + 500 + 10) x 4 */
    assert_int_equal(e.dram_bytes, 22240);
    /* SRAM: fc1 reads 100 floats and writes 50, fc2 reads 50 and writes 10: 210 x 4 */
    assert_int_equal(e.sram_bytes, 840);
    double want = (5500 * (fmul32 + fadd32) + 22240 * dram64 / 8 + 840 * sram64 / 8) * 1e-6;
    assert_float_equal(e.total_uj, want, 1e-9);
    assert_float_equal(e.total_uj, 7.2554, 1e-9); /* 0.0253 + 7.228 + 0.0021 */
    pithrt_model_free(&m);
    free(buf);
    pith_graph_free(g);
}

static void test_energy_int8_by_hand(void **state)
{
    (void)state;
    pith_graph *g = two_layers();
    pith_quant_config qc = pith_quant_defaults();
    CHECK_OK(pith_quant_apply(g, &qc));
    pith_dataset ds = {0};
    ds.n = 8;
    ds.c = 100;
    ds.h = ds.w = 1;
    ds.classes = 10;
    ds.x = malloc(sizeof(float) * 800);
    ds.y = calloc(8, sizeof(int));
    tu_fill(ds.x, 800, -1.0f, 1.0f, 5);
    CHECK_OK(pith_graph_compile(g, 8));
    CHECK_OK(pith_quant_calibrate(g, &ds, 8, PITH_OBS_MINMAX, 99.99f, NULL));
    pith_dataset_free(&ds);
    uint8_t *buf;
    pithrt_model m;
    load(g, &buf, &m);
    /* quantize (f32 -> s8), fc1 and fc2 on int8 */
    assert_int_equal(m.n_ops, 3);
    assert_int_equal(m.ops[0].type, PITHRT_OP_QUANTIZE);
    pith_energy e;
    pith_energy_estimate(&m, &e);
    assert_int_equal(e.int8_macs, 5500);
    assert_int_equal(e.f32_macs, 0);
    /* DRAM: int8 weights (5500 bytes), int32 biases (60 x 4) and per-channel
     * requantization triples (60 x 3 x 4) */
    assert_int_equal(e.dram_bytes, 5500 + 240 + 720);
    /* SRAM: quantize reads 100 floats, writes 100 bytes; fc1 100 -> 50 bytes; fc2 50 -> 10 bytes */
    assert_int_equal(e.sram_bytes, 400 + 100 + 100 + 50 + 50 + 10);
    double want = (5500 * (mul8 + add32) + 6460 * dram64 / 8 + 710 * sram64 / 8) * 1e-6;
    assert_float_equal(e.total_uj, want, 1e-9);
    pithrt_model_free(&m);
    free(buf);
    pith_graph_free(g);
}

static void test_bench_figures(void **state)
{
    (void)state;
    pith_graph *g = two_layers();
    pith_export_report rep;
    const char *path = tu_path("two.pith");
    CHECK_OK(pith_export_file(g, NULL, path, &rep));
    pith_rt r;
    CHECK_OK(pith_rt_open(path, 1, "ref", &r));
    pith_bench_result b;
    CHECK_OK(pith_bench_rt(&r, 2, 21, &b));
    assert_string_equal(b.isa, "ref");
    assert_int_equal(b.threads, 1);
    assert_int_equal(b.runs, 21);
    assert_true(b.min_ms > 0 && b.min_ms <= b.median_ms && b.median_ms <= b.p90_ms);
    assert_float_equal(b.fps, 1000.0 / b.median_ms, 1e-9);
    assert_int_equal(b.macs, 5500);
    assert_int_equal(b.file_bytes, rep.file_bytes);
    /* the loaded model holds at least its file and its arena */
    assert_true(b.heap_bytes >= b.file_bytes + b.arena_bytes);
    assert_int_equal(b.arena_bytes, pithrt_arena_bytes(&r.m, 1));
    pith_rt_close(&r);
    /* a file that is not a model: an error naming it, nothing held */
    const char *bad = tu_path("bad.pith");
    assert_int_equal(tu_write_file(bad, "not a model", 11), 0);
    assert_int_not_equal(pith_rt_open(bad, 1, NULL, &r), 0);
    CHECK_ERROR_HAS("bad.pith");
    assert_null(r.file);
    pith_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_energy_fp32_by_hand),
        cmocka_unit_test(test_energy_int8_by_hand),
        cmocka_unit_test(test_bench_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
