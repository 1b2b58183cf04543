/* Experiment configs, the results table and pith run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/ops/ops.h"
#include "../experiments/config.h"
#include "../experiments/workbench.h"
#include "../prune/prune.h"
#include "../experiments/results.h"
#include "testutil.h"

static const char *write_cfg(const char *name, const char *text)
{
    const char *p = tu_path(name);
    assert_int_equal(tu_write_file(p, text, strlen(text)), 0);
    return p;
}

static const char *base =
    "experiment: tiny\n"
    "seed: 7\n"
    "dataset:\n"
    "  subset: 500\n"
    "  augment: {crop_pad: 2, hflip: true}\n"
    "model: fmnist-cnn\n"
    "stages:\n"
    "  - train:\n"
    "      epochs: 3\n"
    "      lr: 0.1\n"
    "      optimizer: adamw\n"
    "  - eval\n";

static void test_valid(void **state)
{
    (void)state;
    exp_config c;
    char path[512];
    snprintf(path, sizeof path, "%s", write_cfg("ok.yaml", base));
    CHECK_OK(exp_config_load(path, NULL, 0, &c));
    assert_string_equal(c.name, "tiny");
    assert_int_equal(c.seed, 7);
    assert_int_equal(c.subset, 500);
    assert_int_equal(c.aug.crop_pad, 2);
    assert_int_equal(c.aug.hflip, 1);
    assert_int_equal(c.n_stages, 2);
    assert_int_equal(c.stages[0].kind, STAGE_TRAIN);
    assert_int_equal(c.stages[0].train.epochs, 3);
    assert_float_equal(c.stages[0].train.lr, 0.1, 1e-7);
    assert_int_equal(c.stages[0].train.optim.kind, PITH_OPTIM_ADAMW);
    assert_int_equal(c.stages[1].kind, STAGE_EVAL);
    char chain[64];
    exp_stage_chain(&c, chain, sizeof chain);
    assert_string_equal(chain, "train>eval");
    assert_non_null(strstr(c.resolved, "epochs: 3"));
    char id[32];
    snprintf(id, sizeof id, "%s", c.run_id);
    exp_config_free(&c);
    /* same config, same id; a comment does not change it */
    char more[1024];
    snprintf(more, sizeof more, "# a comment\n%s", base);
    snprintf(path, sizeof path, "%s", write_cfg("ok2.yaml", more));
    CHECK_OK(exp_config_load(path, NULL, 0, &c));
    assert_string_equal(c.run_id, id);
    exp_config_free(&c);
}

static void test_overrides(void **state)
{
    (void)state;
    exp_config c;
    char path[512];
    snprintf(path, sizeof path, "%s", write_cfg("ov.yaml", base));
    const char *sets[] = {"train.epochs=2", "seed=3", "dataset.val=100", "train.momentum=0.5"};
    /* momentum is only for sgd: still accepted as a key; optimizer stays adamw */
    CHECK_OK(exp_config_load(path, sets, 3, &c));
    assert_int_equal(c.stages[0].train.epochs, 2);
    assert_int_equal(c.seed, 3);
    assert_int_equal(c.val, 100);
    assert_string_equal(c.knobs, "train.epochs=2;seed=3;dataset.val=100");
    assert_non_null(strstr(c.run_id, "-s3"));
    char id[32];
    snprintf(id, sizeof id, "%s", c.run_id);
    exp_config_free(&c);
    /* a different value, a different run id */
    const char *sets2[] = {"train.epochs=4", "seed=3", "dataset.val=100"};
    CHECK_OK(exp_config_load(path, sets2, 3, &c));
    assert_string_not_equal(c.run_id, id);
    exp_config_free(&c);
    /* an override of a stage given without parameters ("- eval") adds them */
    const char *sets3[] = {"eval.batch=100"};
    assert_int_not_equal(exp_config_load(path, sets3, 1, &c), 0); /* bare "- eval" has no mapping */
    const char *bad[] = {"train.epochs=zero"};
    assert_int_not_equal(exp_config_load(path, bad, 1, &c), 0);
    CHECK_ERROR_HAS("train.epochs: expected an integer");
    const char *bad2[] = {"noequals"};
    assert_int_not_equal(exp_config_load(path, bad2, 1, &c), 0);
    CHECK_ERROR_HAS("key=value");
    (void)sets[3];
}

/* Each broken config must be refused with the file, the line and this text. */
static void expect_error(const char *text, int line, const char *needle)
{
    char path[512], where[600];
    snprintf(path, sizeof path, "%s", write_cfg("bad.yaml", text));
    exp_config c;
    int rc = exp_config_load(path, NULL, 0, &c);
    if (rc == 0)
        fail_msg("accepted: %s", text);
    snprintf(where, sizeof where, "%s:%d:", path, line);
    if (line)
        CHECK_ERROR_HAS(where);
    CHECK_ERROR_HAS(needle);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("experiment: x\nmodel: mlp\nstages: [eval]\nbogus: 1\n", 4,
                 "unknown key 'bogus' in the config (allowed: experiment, seed, dataset, model, hardware, stages)");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - train:\n      epochs: 0\n", 5,
                 "train.epochs: expected an integer in 1..10000, got '0'");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - train:\n      lr: fast\n", 5,
                 "train.lr: expected a number in (0, 100], got 'fast'");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - train:\n      schedule: zigzag\n", 5,
                 "allowed: constant, step, cosine");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - train:\n      epoch: 3\n", 5,
                 "unknown key 'epoch' in the train stage (allowed: epochs,");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - train\n  - export:\n      out: m.pith\n", 6,
                 "unknown key 'out' in the export stage (allowed: golden)");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - train\n  - bench\n", 5,
                 "put an export stage before it");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - export\n  - bench:\n      isa: sse9\n", 6,
                 "bench.isa: expected ref, avx2, avx512, neon or neondot, got 'sse9'");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - export\n  - bench:\n      threads: 0\n", 6, "bench.threads");
    expect_error("experiment: x\nmodel: mlp\nstages: [eval]\nhardware:\n  name: Pi\n  cost: 80\n", 6,
                 "unknown key 'cost' in hardware (allowed: name, price)");
    expect_error("experiment: x\nmodel: mlp\nstages: [eval]\nhardware:\n  price: cheap\n", 5, "hardware.price");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - distill:\n      T: 4\n", 4, "needs 'teacher: CHECKPOINT'");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - distill:\n      teacher: t.h5\n      temp: 4\n", 6,
                 "unknown key 'temp' in the distill stage");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - lowrank:\n      rank: 4\n      energy: 0.9\n", 5,
                 "exactly one of rank, energy, macs_ratio");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - prune:\n      ratio: 1.5\n", 5, "prune.ratio");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - prune:\n      criterion: loud\n", 5,
                 "unknown criterion 'loud'");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - prune:\n      criterion: l2\n", 5, "needs 'ratio'");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - prune: {method: magnitude}\n", 4, "needs 'sparsity'");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - prune: {method: magnitude, sparsity: 0.5, schedule: agp, epochs: 0}\n",
                 4, "prune.schedule agp prunes while it trains");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - prune: {ratio: 0.5, schedule: slow}\n", 4,
                 "prune.schedule: schedule 'slow': expected oneshot, iterative or agp");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - prune:\n      amount: 3\n", 5,
                 "unknown key 'amount' in the prune stage");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - fly\n", 4, "unknown stage 'fly'");
    expect_error("model: mlp\nstages: [eval]\n", 1, "missing required key 'experiment'");
    expect_error("experiment: x\nmodel: mlp\n", 1, "missing required key 'stages'");
    expect_error("experiment: x\nstages: [eval]\n", 1, "missing required key 'model'");
    expect_error("experiment: x\nmodel: resnet99\nstages: [eval]\n", 2, "allowed: mlp, lenet5, fmnist-cnn");
    expect_error("experiment: x\nmodel: mlp\nstages: [eval]\ndataset:\n  std: -1\n", 5, "dataset.std");
    expect_error("experiment: x\nmodel: mlp\nstages: [eval]\ndataset:\n  augment:\n    hflip: maybe\n", 6,
                 "expected true or false");
    expect_error("experiment: a/b\nmodel: mlp\nstages: [eval]\n", 1, "names a folder");
    expect_error("experiment: x\nmodel: [\n", 0, "YAML syntax error");
    expect_error("experiment: x\nmodel:\n  - op: conv3d\n    name: c\nstages: [eval]\n", 3,
                 "op: unknown op 'conv3d' (allowed: conv2d, linear");
    exp_config c;
    assert_int_equal(exp_config_load(tu_path("none.yaml"), NULL, 0, &c), PITH_EIO);
    /* the absurd: deep nesting, a huge file, binary garbage, a truncated file */
    static char deep[40000];
    int o = snprintf(deep, sizeof deep, "experiment: x\nstages: [eval]\nmodel: ");
    for (int i = 0; i < 10000; i++)
        deep[o++] = '[';
    for (int i = 0; i < 10000; i++)
        deep[o++] = ']';
    deep[o] = '\0';
    expect_error(deep, 3, "nested deeper than 32 levels");
    char *big = malloc((1 << 20) + 100);
    memset(big, '#', (1 << 20) + 99);
    big[(1 << 20) + 99] = '\0';
    expect_error(big, 0, "a config is at most");
    free(big);
    char junk[512];
    tu_fill((float *)junk, sizeof junk / sizeof(float), -1e30f, 1e30f, 3);
    junk[sizeof junk - 1] = '\0';
    char path[512];
    snprintf(path, sizeof path, "%s", tu_path("junk.yaml"));
    assert_int_equal(tu_write_file(path, junk, sizeof junk), 0);
    assert_int_not_equal(exp_config_load(path, NULL, 0, &c), 0);
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - train:\n      epo", 5, "the train stage must be a mapping");
}

static void test_quantize_stage(void **state)
{
    (void)state;
    exp_config c;
    char path[512];
    snprintf(path, sizeof path, "%s", write_cfg("q.yaml",
             "experiment: q\nmodel: mlp\nstages:\n  - train: {epochs: 1}\n"
             "  - quantize:\n      method: qat\n      wbits: 4\n      abits: 6\n      granularity: group\n"
             "      group: 16\n      observer: percentile\n      percentile: 99.9\n      lsq: true\n"
             "      epochs: 2\n      lr: 0.001\n  - eval\n"));
    CHECK_OK(exp_config_load(path, NULL, 0, &c));
    assert_int_equal(c.n_stages, 3);
    const quant_job *j = &c.stages[1].quant;
    assert_int_equal(c.stages[1].kind, STAGE_QUANTIZE);
    assert_string_equal(j->method, "qat");
    assert_int_equal(j->train, 1);
    assert_int_equal(j->q.w.bits, 4);
    assert_int_equal(j->q.a.bits, 6);
    assert_int_equal(j->q.w.gran, PITH_QGRAN_GROUP);
    assert_int_equal(j->q.w.group, 16);
    assert_int_equal(j->q.w_obs, PITH_OBS_MSE); /* below 8 bits unless given */
    assert_int_equal(j->a_obs, PITH_OBS_PERCENTILE);
    assert_float_equal(j->pct, 99.9, 1e-4);
    assert_int_equal(j->q.lsq, 1);
    assert_int_equal(j->q.ema, 0);
    assert_int_equal(j->epochs, 2);
    char chain[64];
    exp_stage_chain(&c, chain, sizeof chain);
    assert_string_equal(chain, "train>quantize(w4a6)>eval");
    exp_config_free(&c);
    /* an override reaches into the stage */
    const char *sets[] = {"quantize.method=kmeans", "quantize.wbits=2", "quantize.lsq=false"};
    CHECK_OK(exp_config_load(path, sets, 3, &c));
    assert_int_equal(c.stages[1].quant.q.method, PITH_WQ_KMEANS);
    assert_int_equal(c.stages[1].quant.q.io, PITH_QIO_WEIGHT_ONLY);
    exp_config_free(&c);
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - quantize:\n      method: fp4\n", 5,
                 "quantize.method: 'fp4' (ptq, qat, kmeans, ternary, binary)");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - quantize:\n      bit: 4\n", 5,
                 "unknown key 'bit' in the quantize stage (allowed: method, bits");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - quantize:\n      observer: magic\n", 5,
                 "unknown observer 'magic'");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - quantize:\n      method: binary\n      wbits: 4\n", 5,
                 "does not apply to binary weights");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - quantize:\n      epochs: 2\n", 5,
                 "ptq does not fine-tune");
}

static void test_prune_finetune_stages(void **state)
{
    (void)state;
    exp_config c;
    char path[512];
    snprintf(path, sizeof path, "%s", write_cfg("p.yaml",
             "experiment: p\nmodel: fmnist-cnn\nstages:\n  - train: {epochs: 1}\n"
             "  - prune: {criterion: bn_gamma, ratio: 0.25}\n  - finetune\n"
             "  - prune: {method: magnitude, sparsity: 0.8, granularity: kernel}\n  - finetune: {epochs: 2}\n"));
    CHECK_OK(exp_config_load(path, NULL, 0, &c));
    assert_int_equal(c.n_stages, 5);
    assert_int_equal(c.stages[1].kind, STAGE_PRUNE);
    assert_int_equal(c.stages[1].prune.criterion, PITH_CRIT_BN_GAMMA);
    assert_float_equal(c.stages[1].prune.ratio, 0.25f, 0);
    assert_int_equal(c.stages[2].kind, STAGE_FINETUNE);
    assert_int_equal(c.stages[2].train.epochs, 3);          /* fine-tuning defaults */
    assert_float_equal(c.stages[2].train.lr, 0.005f, 1e-9);
    assert_int_equal(c.stages[3].prune.magnitude, 1);
    assert_int_equal(c.stages[3].prune.granularity, PITH_PRUNE_KERNEL);
    /* pith prune's defaults: no fine-tuning after structured pruning, 3 epochs after magnitude */
    assert_int_equal(c.stages[1].prune.epochs, 0);
    assert_int_equal(c.stages[3].prune.epochs, 3);
    assert_int_equal(c.stages[3].prune.schedule, PITH_PRUNE_ONESHOT);
    assert_int_equal(c.stages[4].train.epochs, 2);
    char chain[128];
    exp_stage_chain(&c, chain, sizeof chain);
    assert_string_equal(chain, "train>prune(bn_gamma-0.25)>finetune>prune(magnitude-0.8-kernel)>finetune");
    exp_config_free(&c);
    snprintf(path, sizeof path, "%s", write_cfg("dl.yaml",
             "experiment: p\nmodel: fmnist-cnn\nstages:\n  - distill: {teacher: t.h5, T: 2, alpha: 0.5, epochs: 2}\n"
             "  - lowrank: {macs_ratio: 0.5, layers: fc1}\n"));
    CHECK_OK(exp_config_load(path, NULL, 0, &c));
    assert_int_equal(c.stages[0].kind, STAGE_DISTILL);
    assert_string_equal(c.stages[0].teacher, "t.h5");
    assert_float_equal(c.stages[0].kd_alpha, 0.5f, 0);
    assert_int_equal(c.stages[0].train.epochs, 2);
    assert_string_equal(c.stages[1].lr_layers, "fc1");
    exp_stage_chain(&c, chain, sizeof chain);
    assert_string_equal(chain, "distill(T2-a0.5)>lowrank(macs0.5)");
    exp_config_free(&c);
    const char *sets[] = {"prune.ratio=0.5", "prune.criterion=taylor"};
    snprintf(path, sizeof path, "%s", write_cfg("p2.yaml",
             "experiment: p\nmodel: fmnist-cnn\nstages:\n  - prune: {ratio: 0.1}\n"));
    CHECK_OK(exp_config_load(path, sets, 2, &c));
    assert_float_equal(c.stages[0].prune.ratio, 0.5f, 0);
    assert_int_equal(c.stages[0].prune.criterion, PITH_CRIT_TAYLOR);
    exp_config_free(&c);
}

static void test_layer_model(void **state)
{
    (void)state;
    const char *text = "experiment: custom\n"
                       "model:\n"
                       "  - {op: conv2d, name: c1, out: 4, kernel: 3, padding: 1}\n"
                       "  - {op: batchnorm, name: b1}\n"
                       "  - {op: relu, name: r1}\n"
                       "  - {op: conv2d, name: c2, out: 4, kernel: [3, 3], padding: 1}\n"
                       "  - {op: add, name: sum, inputs: [c2, r1]}\n"
                       "  - {op: maxpool, name: p, kernel: 2}\n"
                       "  - {op: flatten, name: f}\n"
                       "  - {op: linear, name: fc, out: 10, bias: true}\n"
                       "stages: [eval]\n";
    char path[512];
    snprintf(path, sizeof path, "%s", write_cfg("layers.yaml", text));
    exp_config c;
    CHECK_OK(exp_config_load(path, NULL, 0, &c));
    assert_int_equal(c.n_layers, 8);
    pith_graph *g;
    CHECK_OK(exp_build_model(&c, 1, 8, 8, 10, &g));
    int p = pith_graph_find(g, "p");
    assert_int_equal(g->nodes[p].a.sh, 2); /* pool stride defaults to the kernel */
    assert_int_equal(g->nodes[pith_graph_find(g, "fc")].out.d[0], 10);
    pith_graph_free(g);
    /* wrong class count, unknown input */
    assert_int_not_equal(exp_build_model(&c, 1, 8, 8, 7, &g), 0);
    CHECK_ERROR_HAS("7 class scores");
    exp_config_free(&c);
    const char *bad = "experiment: custom\nmodel:\n  - {op: relu, name: r, inputs: nothere}\nstages: [eval]\n";
    snprintf(path, sizeof path, "%s", write_cfg("layers2.yaml", bad));
    CHECK_OK(exp_config_load(path, NULL, 0, &c));
    assert_int_not_equal(exp_build_model(&c, 1, 8, 8, 10, &g), 0);
    CHECK_ERROR_HAS(":3: layer 'r': input 'nothere'");
    exp_config_free(&c);
}

static void test_results_concurrent(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s", tu_path("results/runs.tsv"));
    enum { PROCS = 6, ROWS = 60 };
    for (int p = 0; p < PROCS; p++) {
        pid_t pid = fork();
        if (pid == 0) {
            for (int r = 0; r < ROWS; r++) {
                exp_row row;
                memset(&row, 0, sizeof row);
                snprintf(row.experiment, sizeof row.experiment, "conc");
                snprintf(row.run_id, sizeof row.run_id, "p%d-r%d", p, r);
                snprintf(row.status, sizeof row.status, "ok");
                snprintf(row.knobs, sizeof row.knobs, "a\tb\nc=%d", r); /* tabs/newlines cleaned */
                row.top1 = 0.5;
                if (results_append(path, &row))
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int st;
        wait(&st);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    size_t len;
    char *text = tu_read_file(path, &len);
    assert_non_null(text);
    int lines = 0, headers = 0;
    for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
        int tabs = 0;
        for (char *q = l; *q; q++)
            tabs += *q == '\t';
        assert_int_equal(tabs, 28);
        if (!strncmp(l, "experiment\t", 11))
            headers++;
        else
            lines++;
    }
    assert_int_equal(headers, 1);
    assert_int_equal(lines, PROCS * ROWS);
    free(text);
    assert_int_equal(results_has_run(path, "p3-r59"), 1);
    assert_int_equal(results_has_run(path, "p3-r60"), 0);
    assert_int_equal(results_has_run(path, "p3-r5"), 1);
    assert_int_equal(results_has_run(tu_path("none.tsv"), "x"), 0);
    /* a table of another layout (an older pith's) is not appended to */
    char old[512];
    snprintf(old, sizeof old, "%s", tu_path("old.tsv"));
    const char *old_text = "experiment\trun_id\ttop1\tstatus\terror\nx\tr1\t0.5\tok\t-\n";
    assert_int_equal(tu_write_file(old, old_text, strlen(old_text)), 0);
    exp_row row;
    memset(&row, 0, sizeof row);
    snprintf(row.run_id, sizeof row.run_id, "r2");
    assert_int_not_equal(results_append(old, &row), 0);
    CHECK_ERROR_HAS("old.tsv: its header is not the one this pith writes");
    char *after = tu_read_file(old, &len);
    assert_string_equal(after, old_text);
    free(after);
}

static void test_run_end_to_end(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    char cfg[512], cmd[2048], runs[512], res[512];
    snprintf(cfg, sizeof cfg, "%s", write_cfg("e2e.yaml",
             "experiment: e2e\nseed: 2\ndataset: {subset: 1000}\nmodel: fmnist-cnn\n"
             "hardware: {name: test host, price: 12}\n"
             "stages:\n  - train: {epochs: 1}\n  - eval: {batch: 250}\n  - export\n  - bench: {runs: 5, warmup: 1}\n"));
    snprintf(runs, sizeof runs, "%s", tu_path("runs"));
    snprintf(res, sizeof res, "%s", tu_path("e2e.tsv"));
    const char *bin = getenv("PITH_BIN") ? getenv("PITH_BIN") : "build/pith";
    snprintf(cmd, sizeof cmd, "%s run %s --runs %s --results %s --quiet --json > %s", bin, cfg, runs, res,
             tu_path("e2e.json"));
    assert_int_equal(system(cmd), 0);
    size_t len;
    char *out = tu_read_file(tu_path("e2e.json"), &len);
    assert_non_null(strstr(out, "\"top1\":0."));
    free(out);
    char *table = tu_read_file(res, &len);
    assert_non_null(strstr(table, "\ne2e\t"));
    assert_non_null(strstr(table, "\ttrain>eval>export>bench(1t)\t"));
    assert_non_null(strstr(table, "\tok\t"));
    /* the bench stage's cells: batch 1, kernels and threads, the config's hardware and price */
    assert_non_null(strstr(table, " kernels, 1 thread, 5 runs\ttest host\t12\t"));
    free(table);
    /* the report: no n/a in batch, FPS, latency, .pith, peak memory, energy, cost */
    snprintf(cmd, sizeof cmd, "%s report %s > %s", bin, res, tu_path("e2e.md"));
    assert_int_equal(system(cmd), 0);
    char *md = tu_read_file(tu_path("e2e.md"), &len);
    const char *row = strstr(md, "| test host (measured on ");
    assert_non_null(row);
    const char *end = strchr(row, '\n');
    int cells = 0;
    for (const char *q = row; q < end; q++)
        cells += *q == '|';
    assert_int_equal(cells, 18);
    char line[2048];
    snprintf(line, sizeof line, "%.*s", (int)(end - row), row);
    if (strstr(line, "n/a"))
        fail_msg("a cell is n/a: %s", line);
    assert_non_null(strstr(line, " | 1 | fp32 | "));
    assert_non_null(strstr(line, " | $12 | "));
    free(md);
    exp_config c;
    CHECK_OK(exp_config_load(cfg, NULL, 0, &c));
    const char *files[] = {"config.yaml",      "provenance.json",    "log.txt",         "stage1-train.h5",
                           "stage2-eval.json", "stage3-export.pith", "stage4-bench.json"};
    for (int i = 0; i < 7; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/e2e/%s/%s", runs, c.run_id, files[i]);
        if (access(p, R_OK) != 0)
            fail_msg("%s missing", p);
    }
    exp_config_free(&c);
    /* ... and charts from it: the training curves of this very run */
    char plots[512];
    snprintf(plots, sizeof plots, "%s", tu_path("e2e-plots"));
    snprintf(cmd, sizeof cmd, "sh plots/render.sh %s %s %s > /dev/null", res, plots, runs);
    assert_int_equal(system(cmd), 0);
    char svgp[700];
    snprintf(svgp, sizeof svgp, "%s/curves.svg", plots);
    char *svg = tu_read_file(svgp, &len);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "e2e"));
    free(svg);
    /* the same point again is recognised and skipped */
    snprintf(cmd, sizeof cmd, "%s run %s --runs %s --results %s --quiet --json > %s", bin, cfg, runs, res,
             tu_path("e2e2.json"));
    assert_int_equal(system(cmd), 0);
    out = tu_read_file(tu_path("e2e2.json"), &len);
    assert_non_null(strstr(out, "\"skipped\":true"));
    free(out);
    /* a failing run is recorded with its error */
    snprintf(cfg, sizeof cfg, "%s", write_cfg("fail.yaml",
             "experiment: e2e\ndataset: {path: /nonexistent}\nmodel: mlp\nstages: [eval]\n"));
    snprintf(cmd, sizeof cmd, "%s run %s --runs %s --results %s --quiet 2>/dev/null", bin, cfg, runs, res);
    assert_int_not_equal(system(cmd), 0);
    table = tu_read_file(res, &len);
    assert_non_null(strstr(table, "\tfailed\t/nonexistent"));
    free(table);
}

/* Runs that share a config prefix and seed reuse its training: the second
 * pruning ratio starts from the first run's base model, and gives exactly
 * what training it again gives. */
/* The AGP schedule, which only pith prune had, from a config: the stage's
 * checkpoint has every layer at the target sparsity, measured from the weights. */
static void test_prune_agp_stage(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    const char *text = "experiment: agp\nseed: 2\ndataset: {subset: 640}\nmodel: mlp\n"
                       "stages:\n  - train: {epochs: 1}\n"
                       "  - prune: {method: magnitude, sparsity: 0.75, schedule: agp, epochs: 1}\n";
    char cfg[512], runs[512], res[512], cmd[2048];
    snprintf(cfg, sizeof cfg, "%s", write_cfg("agp.yaml", text));
    snprintf(runs, sizeof runs, "%s", tu_path("agp-runs"));
    snprintf(res, sizeof res, "%s", tu_path("agp.tsv"));
    const char *bin = getenv("PITH_BIN") ? getenv("PITH_BIN") : "build/pith";
    snprintf(cmd, sizeof cmd, "%s run %s --runs %s --results %s --threads 1 --quiet > /dev/null", bin, cfg, runs, res);
    assert_int_equal(system(cmd), 0);
    exp_config c;
    CHECK_OK(exp_config_load(cfg, NULL, 0, &c));
    char ck[1200];
    snprintf(ck, sizeof ck, "%s/agp/%s/stage2-prune.h5", runs, c.run_id);
    exp_config_free(&c);
    pith_graph *g = NULL;
    pith_ckpt_meta meta;
    CHECK_OK(exp_load_checkpoint(ck, &g, &meta, NULL, NULL));
    int layers = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == &pith_op_linear) {
            double sp = pith_prune_sparsity(g, i);
            if (fabs(sp - 0.75) > 0.01)
                fail_msg("%s: sparsity %.4f, expected 0.75", g->nodes[i].name, sp);
            layers++;
        }
    assert_int_equal(layers, 3);
    pith_graph_free(g);
}

static void test_stage_cache(void **state)
{
    (void)state;
    exp_config a, b, c;
    const char *text = "experiment: sc\nseed: 3\ndataset: {subset: 600}\nmodel: mlp\n"
                       "stages:\n  - train: {epochs: 1}\n  - prune: {ratio: 0.2}\n  - finetune: {epochs: 1}\n";
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s", write_cfg("sc.yaml", text));
    const char *r5[] = {"prune.ratio=0.5"}, *s4[] = {"seed=4"};
    CHECK_OK(exp_config_load(cfg, NULL, 0, &a));
    CHECK_OK(exp_config_load(cfg, r5, 1, &b));
    CHECK_OK(exp_config_load(cfg, s4, 1, &c));
    assert_true(a.stages[0].prefix_key == b.stages[0].prefix_key);
    assert_true(a.stages[1].prefix_key != b.stages[1].prefix_key);
    assert_true(a.stages[2].prefix_key != b.stages[2].prefix_key);
    assert_true(a.stages[0].prefix_key != c.stages[0].prefix_key);
    exp_config_free(&a);
    exp_config_free(&b);
    exp_config_free(&c);
    if (!tu_have_fmnist())
        skip();
    const char *bin = getenv("PITH_BIN") ? getenv("PITH_BIN") : "build/pith";
    char runs[512], res[512], cmd[4096];
    snprintf(runs, sizeof runs, "%s", tu_path("sc-runs"));
    snprintf(res, sizeof res, "%s", tu_path("sc.tsv"));
    const char *common = "--threads 1 --quiet --json";
    snprintf(cmd, sizeof cmd, "%s run %s --runs %s --results %s %s > %s", bin, cfg, runs, res, common,
             tu_path("sc1.json"));
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s run %s --set prune.ratio=0.5 --runs %s --results %s %s > %s", bin, cfg, runs,
             res, common, tu_path("sc2.json"));
    assert_int_equal(system(cmd), 0);
    size_t len;
    char *j2 = tu_read_file(tu_path("sc2.json"), &len), *j3;
    assert_non_null(j2);
    const char *d = strstr(j2, "\"dir\":\"");
    assert_non_null(d);
    char log[1200];
    snprintf(log, sizeof log, "%.*s/log.txt", (int)strcspn(d + 7, "\""), d + 7);
    char *lt = tu_read_file(log, &len);
    assert_non_null(lt);
    assert_non_null(strstr(lt, "stages 1-1: reused"));
    assert_null(strstr(lt, "stage 1: train"));
    free(lt);
    snprintf(cmd, sizeof cmd, "%s run %s --set prune.ratio=0.5 --runs %s --results %s --force --no-cache %s > %s",
             bin, cfg, runs, res, common, tu_path("sc3.json"));
    assert_int_equal(system(cmd), 0);
    j3 = tu_read_file(tu_path("sc3.json"), &len);
    assert_non_null(j3);
    const char *t2 = strstr(j2, "\"top1\":"), *t3 = strstr(j3, "\"top1\":");
    assert_non_null(t2);
    assert_non_null(t3);
    assert_true(strtod(t2 + 7, NULL) == strtod(t3 + 7, NULL));
    free(j2);
    free(j3);
}

static void test_sweep_resume_and_slurm(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    const char *bin = getenv("PITH_BIN") ? getenv("PITH_BIN") : "build/pith";
    char cfg[512], runs[512], res[512], cmd[4096];
    snprintf(cfg, sizeof cfg, "%s", write_cfg("sweep.yaml",
             "experiment: sw\ndataset: {subset: 300}\nmodel: mlp\nstages:\n  - train: {epochs: 1}\n"));
    snprintf(runs, sizeof runs, "%s", tu_path("sw-runs"));
    snprintf(res, sizeof res, "%s", tu_path("sw.tsv"));
    const char *grid = "--param train.lr=0.01,0.1 --param train.batch=32,64 --seeds 2";
    snprintf(cmd, sizeof cmd, "%s sweep %s %s --jobs 2 --runs %s --results %s > %s", bin, cfg, grid, runs,
             res, tu_path("sw1.txt"));
    assert_int_equal(system(cmd), 0);
    size_t len;
    char *out = tu_read_file(tu_path("sw1.txt"), &len);
    assert_non_null(strstr(out, "sweep: 8 points, 8 run, 0 skipped, 0 failed"));
    free(out);
    /* again: every point is recognised and skipped; --json gives one object */
    snprintf(cmd, sizeof cmd, "%s sweep %s %s --jobs 2 --runs %s --results %s --json > %s 2>/dev/null", bin,
             cfg, grid, runs, res, tu_path("sw2.json"));
    assert_int_equal(system(cmd), 0);
    out = tu_read_file(tu_path("sw2.json"), &len);
    assert_int_equal(out[0], '{');
    assert_non_null(strstr(out, "\"points\":8,\"run\":0,\"skipped\":8,\"failed\":0"));
    assert_non_null(strstr(out, "\"knobs\":\"train.lr=0.1 train.batch=64 seed=2\",\"status\":\"skipped\""));
    assert_int_equal(out[len - 2], '}');
    free(out);
    /* the Slurm script is valid shell and its tasks are exactly the 8 points */
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tu_path("slurm"));
    snprintf(cmd, sizeof cmd, "%s sweep %s %s --emit-slurm %s --runs %s --results %s > /dev/null", bin, cfg,
             grid, dir, runs, res);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "bash -n %s/sweep.sbatch", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "for i in 0 1 2 3 4 5 6 7; do SLURM_ARRAY_TASK_ID=$i PITH=echo bash %s/sweep.sbatch; done > %s",
             dir, tu_path("tasks.txt"));
    assert_int_equal(system(cmd), 0);
    out = tu_read_file(tu_path("tasks.txt"), &len);
    const char *want[8] = {
        "--knob train.lr=0.01 --knob train.batch=32 --knob seed=1",
        "--knob train.lr=0.1 --knob train.batch=32 --knob seed=1",
        "--knob train.lr=0.01 --knob train.batch=64 --knob seed=1",
        "--knob train.lr=0.1 --knob train.batch=64 --knob seed=1",
        "--knob train.lr=0.01 --knob train.batch=32 --knob seed=2",
        "--knob train.lr=0.1 --knob train.batch=32 --knob seed=2",
        "--knob train.lr=0.01 --knob train.batch=64 --knob seed=2",
        "--knob train.lr=0.1 --knob train.batch=64 --knob seed=2",
    };
    for (int i = 0; i < 8; i++)
        if (!strstr(out, want[i]))
            fail_msg("no task runs %s", want[i]);
    free(out);
    snprintf(cmd, sizeof cmd, "SLURM_ARRAY_TASK_ID=8 PITH=echo bash %s/sweep.sbatch 2>/dev/null", dir);
    assert_int_not_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_quantize_stage),
        cmocka_unit_test(test_prune_finetune_stages),
        cmocka_unit_test(test_layer_model),
        cmocka_unit_test(test_results_concurrent),
        cmocka_unit_test(test_run_end_to_end),
        cmocka_unit_test(test_sweep_resume_and_slurm),
        cmocka_unit_test(test_prune_agp_stage),
        cmocka_unit_test(test_stage_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
