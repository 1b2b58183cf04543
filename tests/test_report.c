/* Charts (plots/render.sh) and the benchmark table (pith report) from the
 * fixture table tests/fixtures/runs.tsv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Width and height from a PNG's IHDR chunk; 0 if not a PNG. */
static int png_size(const char *path, unsigned *w, unsigned *h)
{
    size_t n;
    unsigned char *b = tu_read_file(path, &n);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    int ok = b && n > 24 && !memcmp(b, sig, 8) && !memcmp(b + 12, "IHDR", 4);
    if (ok) {
        *w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
        *h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
    }
    free(b);
    return ok;
}

static void test_charts(void **state)
{
    (void)state;
    char out[512], cmd[2048];
    snprintf(out, sizeof out, "%s", tu_path("plots"));
    snprintf(cmd, sizeof cmd, "sh plots/render.sh tests/fixtures/runs.tsv %s tests/fixtures/runs > %s 2>&1", out,
             tu_path("render.log"));
    if (system(cmd) != 0) {
        size_t n;
        char *log = tu_read_file(tu_path("render.log"), &n);
        fail_msg("plots/render.sh failed: %s", log ? log : "");
    }
    const char *charts[] = {"acc_vs_bytes", "acc_vs_macs", "acc_vs_latency", "knob", "curves"};
    for (int i = 0; i < 5; i++) {
        char p[700];
        unsigned w = 0, h = 0;
        snprintf(p, sizeof p, "%s/%s.png", out, charts[i]);
        if (!png_size(p, &w, &h))
            fail_msg("%s is not a PNG", p);
        assert_int_equal(w, 800);
        assert_int_equal(h, 600);
        snprintf(p, sizeof p, "%s/%s.svg", out, charts[i]);
        size_t n;
        char *svg = tu_read_file(p, &n);
        assert_non_null(svg);
        assert_non_null(strstr(svg, "<svg"));
        assert_non_null(strstr(svg, "width=\"800\""));
        assert_non_null(strstr(svg, "</svg>"));
        free(svg);
    }
    /* the knob chart names the swept key; the curves chart the run */
    size_t n;
    char p[700];
    snprintf(p, sizeof p, "%s/knob.svg", out);
    char *svg = tu_read_file(p, &n);
    assert_non_null(strstr(svg, "train.lr"));
    free(svg);
    /* a missing table is an error, not an empty chart */
    snprintf(cmd, sizeof cmd, "sh plots/render.sh %s %s 2>/dev/null", tu_path("none.tsv"), out);
    assert_int_not_equal(system(cmd), 0);
}

static void test_report(void **state)
{
    (void)state;
    const char *bin = getenv("PITH_BIN") ? getenv("PITH_BIN") : "build/pith";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s report tests/fixtures/runs.tsv > %s", bin, tu_path("report.md"));
    assert_int_equal(system(cmd), 0);
    size_t n;
    char *md = tu_read_file(tu_path("report.md"), &n);
    assert_non_null(md);
    assert_non_null(strstr(md, "| Hardware | Model | Input | Batch | Data type | Sparsity | Params | MACs | "
                               "Accuracy | FPS | Latency (ms) | Size (KB) | .pith (KB) | Peak memory (KB) | Energy (est., uJ) | "
                               "Cost | Comments |"));
    /* fmnist-cnn at lr 0.05 seed 1: 91.00%, 808.9 KB, no latency measured; the
     * fixture predates the bench columns: they read as n/a */
    assert_non_null(strstr(md, "| fixture-host | fmnist-cnn | 1x28x28 | n/a | fp32 | 0.0% | 207.0K | 1.22M | "
                               "91.00% | n/a | n/a | 808.9 | n/a | n/a | n/a | n/a |"));
    /* mlp had a latency: FPS = 1000 / 0.05 */
    assert_non_null(strstr(md, "| 88.50% | 20000 | 0.050 |"));
    /* lenet5 with 50,000 of 61,706 weights nonzero: 19.0% sparse */
    assert_non_null(strstr(md, "| 19.0% | 61.7K |"));
    /* a quantized run: the format from its stage chain, the size as stored */
    assert_non_null(strstr(md, "| fixture-host | fmnist-cnn | 1x28x28 | n/a | w4a4 | 0.0% | 207.2K | 1.22M | "
                               "91.84% | n/a | n/a | 102.4 | n/a | n/a | n/a | n/a |"));
    assert_non_null(strstr(md, "9 runs from"));
    assert_non_null(strstr(md, "1 failed run:\n- zoo bad-s1: /nonexistent"));
    free(md);
    snprintf(cmd, sizeof cmd, "%s report tests/fixtures/runs.tsv --json > %s", bin, tu_path("report.json"));
    assert_int_equal(system(cmd), 0);
    char *js = tu_read_file(tu_path("report.json"), &n);
    assert_int_equal(js[0], '{');
    assert_non_null(strstr(js, "\"model\":\"mlp\",\"input\":\"1x28x28\",\"batch\":null"));
    assert_non_null(strstr(js, "\"fps\":20000,\"latency_ms\":0.050000000000000003"));
    assert_non_null(strstr(js, "\"failed\":1"));
    free(js);
    snprintf(cmd, sizeof cmd, "%s report %s 2>/dev/null", bin, tu_path("none.tsv"));
    assert_int_not_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_charts),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
