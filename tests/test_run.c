/* pith run, pith sweep and the results table end to end: rows appended
 * concurrently, a run's files and report row (export and bench stages
 * included), the AGP prune stage, the stage cache, sweeps that resume and
 * their Slurm script. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/ops/ops.h"
#include "../experiments/config.h"
#include "../experiments/results.h"
#include "../experiments/workbench.h"
#include "../prune/prune.h"
#include "testutil.h"

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
    snprintf(cfg, sizeof cfg, "%s", tu_write_text("e2e.yaml",
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
    snprintf(cfg, sizeof cfg, "%s", tu_write_text("fail.yaml",
             "experiment: e2e\ndataset: {path: /nonexistent}\nmodel: mlp\nstages: [eval]\n"));
    snprintf(cmd, sizeof cmd, "%s run %s --runs %s --results %s --quiet 2>/dev/null", bin, cfg, runs, res);
    assert_int_not_equal(system(cmd), 0);
    table = tu_read_file(res, &len);
    assert_non_null(strstr(table, "\tfailed\t/nonexistent"));
    free(table);
}

/* Writes `text` as NAME.yaml, runs it (one thread, its own runs folder and
 * table) and gives the run's folder in dir. */
static void run_config(const char *name, const char *text, char *dir, size_t len)
{
    char file[64], cfg[512], runs[512], res[512], cmd[2048];
    snprintf(file, sizeof file, "%s.yaml", name);
    snprintf(cfg, sizeof cfg, "%s", tu_write_text(file, text));
    snprintf(file, sizeof file, "%s-runs", name);
    snprintf(runs, sizeof runs, "%s", tu_path(file));
    snprintf(file, sizeof file, "%s.tsv", name);
    snprintf(res, sizeof res, "%s", tu_path(file));
    const char *bin = getenv("PITH_BIN") ? getenv("PITH_BIN") : "build/pith";
    snprintf(cmd, sizeof cmd, "%s run %s --runs %s --results %s --threads 1 --quiet > /dev/null", bin, cfg, runs, res);
    assert_int_equal(system(cmd), 0);
    exp_config c;
    CHECK_OK(exp_config_load(cfg, NULL, 0, &c));
    snprintf(dir, len, "%s/%s/%s", runs, c.name, c.run_id);
    exp_config_free(&c);
}

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
    char dir[1200], ck[1300];
    run_config("agp", text, dir, sizeof dir);
    snprintf(ck, sizeof ck, "%s/stage2-prune.h5", dir);
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

/* The sensitivity stage and pith sensitivity on the same model: the same table. */
static void test_sensitivity_stage(void **state)
{
    (void)state;
    if (!tu_have_fmnist())
        skip();
    const char *text = "experiment: sens\nseed: 2\ndataset: {subset: 640}\nmodel: mlp\n"
                       "stages:\n  - train: {epochs: 1}\n  - sensitivity: {ratios: [0.25, 0.75], criterion: l2}\n";
    char dir[1200], cmd[3000];
    run_config("sens", text, dir, sizeof dir);
    const char *bin = getenv("PITH_BIN") ? getenv("PITH_BIN") : "build/pith";
    snprintf(cmd, sizeof cmd, "%s sensitivity %s/stage1-train.h5 --ratios 0.25,0.75 --criterion l2 --threads 1 --json > %s",
             bin, dir, tu_path("sens-cmd.json"));
    assert_int_equal(system(cmd), 0);
    size_t n;
    char path[1300];
    snprintf(path, sizeof path, "%s/stage2-sensitivity.json", dir);
    char *stage = tu_read_file(path, &n), *command = tu_read_file(tu_path("sens-cmd.json"), &n);
    assert_non_null(stage);
    assert_non_null(command);
    /* the layers and their accuracies, from "layers" on, are the same text */
    const char *a = strstr(stage, "\"layers\""), *b = strstr(command, "\"layers\"");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(strstr(a, "\"name\":\"fc1\""));
    assert_int_equal(strncmp(a, b, strlen(a) - 2), 0);
    free(stage);
    free(command);
}

/* A model from a checkpoint (an imported ONNX graph) with only calibration
 * images: quantize, export and bench from a config give byte for byte the
 * .pith file pith quantize --no-eval and pith export give, the report row has
 * the model's name and accuracy n/a; the run id follows the checkpoint's
 * content; the stages that need labelled data and a preprocessing key that
 * would contradict the checkpoint's are refused, naming the line. */
static void test_checkpoint_model(void **state)
{
    (void)state;
    const char *fx = getenv("PITH_IMAGES") ? getenv("PITH_IMAGES") : "build/fixtures/images";
    char calib[600], ck[512], text[2048], cmd[4096], dir[1200], path[1400];
    snprintf(calib, sizeof calib, "%s/calib.txt", fx);
    FILE *f = fopen(calib, "r");
    if (!f)
        skip();
    fclose(f);
    const char *bin = getenv("PITH_BIN") ? getenv("PITH_BIN") : "build/pith";
    snprintf(ck, sizeof ck, "%s", tu_path("ck-ops.h5"));
    snprintf(cmd, sizeof cmd, "%s import tests/fixtures/onnx/graph_ops.onnx --out %s --quiet", bin, ck);
    assert_int_equal(system(cmd), 0);
    snprintf(text, sizeof text,
             "experiment: ckpt\nmodel: {checkpoint: %s, name: ops_net}\ndataset: {calib: %s}\n"
             "stages:\n  - quantize: {method: ptq, calib: 4}\n  - export\n  - bench: {runs: 2, warmup: 0}\n",
             ck, calib);
    run_config("ckpt", text, dir, sizeof dir);
    snprintf(cmd, sizeof cmd, "%s quantize %s --no-eval --calib %s --calib-count 4 --out %s > /dev/null && "
             "%s export %s --out %s > /dev/null", bin, ck, calib, tu_path("ck-ops8.h5"), bin, tu_path("ck-ops8.h5"),
             tu_path("ck-ops8.pith"));
    assert_int_equal(system(cmd), 0);
    size_t na, nb;
    snprintf(path, sizeof path, "%s/stage2-export.pith", dir);
    char *a = tu_read_file(path, &na), *b = tu_read_file(tu_path("ck-ops8.pith"), &nb);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    snprintf(cmd, sizeof cmd, "%s report %s > %s", bin, tu_path("ckpt.tsv"), tu_path("ckpt.md"));
    assert_int_equal(system(cmd), 0);
    char *md = tu_read_file(tu_path("ckpt.md"), &na);
    assert_non_null(md);
    assert_non_null(strstr(md, "| ops_net | 3x8x8 | 1 | w8a8 |"));
    assert_non_null(strstr(md, "| n/a |"));
    free(md);

    /* the run id is of the checkpoint's content: another one under the same name, another id */
    exp_config c1, c2;
    CHECK_OK(exp_config_load(tu_path("ckpt.yaml"), NULL, 0, &c1));
    snprintf(cmd, sizeof cmd, "%s import tests/fixtures/onnx/fmnist_cnn.onnx --out %s --quiet", bin, ck);
    assert_int_equal(system(cmd), 0);
    CHECK_OK(exp_config_load(tu_path("ckpt.yaml"), NULL, 0, &c2));
    assert_string_not_equal(c1.run_id, c2.run_id);
    assert_int_not_equal(c1.stages[0].prefix_key, c2.stages[0].prefix_key);
    exp_config_free(&c1);
    exp_config_free(&c2);

    /* refusals */
    snprintf(text, sizeof text, "experiment: ckpt2\nmodel: {checkpoint: %s}\ndataset: {calib: %s}\n"
             "stages:\n  - quantize: {method: ptq, calib: 4}\n  - eval\n", ck, calib);
    snprintf(cmd, sizeof cmd, "%s run %s --runs %s --results %s --quiet 2> %s", bin, tu_write_text("ckpt2.yaml", text),
             tu_path("ckpt2-runs"), tu_path("ckpt2.tsv"), tu_path("ckpt2.err"));
    assert_int_not_equal(system(cmd), 0);
    char *err = tu_read_file(tu_path("ckpt2.err"), &na);
    assert_non_null(err);
    assert_non_null(strstr(err, "ckpt2.yaml:6: stage 2 (eval) needs labelled test images"));
    free(err);
    snprintf(text, sizeof text, "experiment: ckpt3\nmodel: {checkpoint: %s}\ndataset:\n  calib: %s\n  mean: 0.5\n"
             "stages:\n  - export\n", ck, calib);
    assert_int_equal(exp_config_load(tu_write_text("ckpt3.yaml", text), NULL, 0, &c1), PITH_EINVAL);
    CHECK_ERROR_HAS("ckpt3.yaml:5: dataset: the input's size and preprocessing are the checkpoint's");
    snprintf(text, sizeof text, "experiment: ckpt4\nmodel: {file: %s}\nstages:\n  - export\n", ck);
    assert_int_equal(exp_config_load(tu_write_text("ckpt4.yaml", text), NULL, 0, &c1), PITH_EINVAL);
    CHECK_ERROR_HAS("allowed: checkpoint, name");
}

/* Runs that share a config prefix and seed reuse its training: the second
 * pruning ratio starts from the first run's base model, and gives exactly
 * what training it again gives. */
static void test_stage_cache(void **state)
{
    (void)state;
    exp_config a, b, c;
    const char *text = "experiment: sc\nseed: 3\ndataset: {subset: 600}\nmodel: mlp\n"
                       "stages:\n  - train: {epochs: 1}\n  - prune: {ratio: 0.2}\n  - finetune: {epochs: 1}\n";
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s", tu_write_text("sc.yaml", text));
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
    snprintf(cfg, sizeof cfg, "%s", tu_write_text("sweep.yaml",
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
        cmocka_unit_test(test_results_concurrent),
        cmocka_unit_test(test_run_end_to_end),
        cmocka_unit_test(test_prune_agp_stage),
        cmocka_unit_test(test_sensitivity_stage),
        cmocka_unit_test(test_checkpoint_model),
        cmocka_unit_test(test_stage_cache),
        cmocka_unit_test(test_sweep_resume_and_slurm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
