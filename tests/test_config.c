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
    snprintf(path, sizeof path, "%s", tu_write_text("ok.yaml", base));
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
    snprintf(path, sizeof path, "%s", tu_write_text("ok2.yaml", more));
    CHECK_OK(exp_config_load(path, NULL, 0, &c));
    assert_string_equal(c.run_id, id);
    exp_config_free(&c);
}

/* a dataset of images: input, channel order, scale, resize, resampling,
 * per-channel normalisation, random crops; and their errors */
static void test_image_dataset(void **state)
{
    (void)state;
    const char *yaml = "experiment: photos\n"
                       "dataset:\n"
                       "  path: photos\n"
                       "  input: 3x64x48\n"
                       "  order: BGR\n"
                       "  scale: 1\n"
                       "  resize: 73\n"
                       "  resample: nearest\n"
                       "  mean: [123.675, 116.28, 103.53]\n"
                       "  std: [58.395, 57.12, 57.375]\n"
                       "  augment:\n"
                       "    random_resized_crop: 0.25\n"
                       "model: resnet8\n"
                       "stages:\n"
                       "  - train:\n"
                       "      epochs: 1\n";
    exp_config c;
    char path[512];
    snprintf(path, sizeof path, "%s", tu_write_text("photos.yaml", yaml));
    CHECK_OK(exp_config_load(path, NULL, 0, &c));
    assert_int_equal(c.input_c, 3);
    assert_int_equal(c.input_h, 64);
    assert_int_equal(c.input_w, 48);
    assert_int_equal(c.pre.bgr, 1);
    assert_int_equal(c.pre.keep255, 1);
    assert_int_equal(c.pre.resize, 73);
    assert_int_equal(c.pre.nearest, 1);
    assert_int_equal(c.norm_channels, 3);
    assert_float_equal(c.norm_mean[2], 103.53, 1e-4);
    assert_float_equal(c.norm_std[1], 57.12, 1e-4);
    assert_float_equal(c.aug.rrc_min, 0.25, 1e-7);
    pith_data_opts o;
    exp_config_data_opts(&c, &o);
    assert_int_equal(o.train_crop, 1);
    assert_int_equal(o.c, 3);
    assert_float_equal(o.mean[1], 116.28, 1e-4);
    exp_config_free(&c);
    const char *bad[][2] = {
        {"  input: 2x64x64\n", "dataset.input"}, {"  order: RBG\n", "dataset.order"},
        {"  scale: 100\n", "dataset.scale"},     {"  mean: [1, 2, 3, 4, 5]\n", "dataset.mean"},
        {"  std: 0\n", "dataset.std"},           {"  resample: cubic\n", "dataset.resample"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[512];
        snprintf(text, sizeof text, "experiment: x\ndataset:\n%smodel: resnet8\nstages:\n  - eval:\n", bad[i][0]);
        snprintf(path, sizeof path, "%s", tu_write_text("bad-data.yaml", text));
        assert_int_not_equal(exp_config_load(path, NULL, 0, &c), 0);
        CHECK_ERROR_HAS(bad[i][1]);
        CHECK_ERROR_HAS("bad-data.yaml");
    }
}

static void test_overrides(void **state)
{
    (void)state;
    exp_config c;
    char path[512];
    snprintf(path, sizeof path, "%s", tu_write_text("ov.yaml", base));
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
    snprintf(path, sizeof path, "%s", tu_write_text("bad.yaml", text));
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
                 "unknown key 'out' in the export stage (allowed: with_golden)");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - train\n  - bench\n", 5,
                 "put an export stage before it");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - export\n  - bench:\n      isa: sse9\n", 6,
                 "bench.isa: expected ref, avx2, avx512, neon or neondot, got 'sse9'");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - export\n  - bench:\n      threads: 0\n", 6, "bench.threads");
    expect_error("experiment: x\nmodel: mlp\nstages: [eval]\nhardware:\n  name: Pi\n  cost: 80\n", 6,
                 "unknown key 'cost' in hardware (allowed: name, price)");
    expect_error("experiment: x\nmodel: mlp\nstages: [eval]\nhardware:\n  price: cheap\n", 5, "hardware.price");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - sensitivity: {ratios: 0.5}\n", 4,
                 "sensitivity.ratios: expected a list");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - sensitivity: {ratios: [0.5, 1.5]}\n", 4,
                 "sensitivity.ratios");
    expect_error("experiment: x\nmodel: mlp\nstages:\n  - sensitivity: {criterion: loud}\n", 4,
                 "sensitivity.criterion");
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

/* The reader on damaged configs: 3,000 mutations of a config that uses every
 * stage (bytes flipped, inserted, deleted; lines cut short, swapped,
 * repeated). Each is accepted or refused with an error that names the file;
 * none crashes (under make asan none reads out of bounds or leaks), and an
 * accepted one has a resolved config and a run id. */
static void test_mutations(void **state)
{
    (void)state;
    static const char *seed_text =
        "experiment: every\nseed: 3\ndataset: {subset: 500, val: 100, augment: {crop_pad: 2, hflip: true}}\n"
        "model: fmnist-cnn\nhardware: {name: host, price: 10}\nstages:\n"
        "  - train: {epochs: 2, lr: 0.1, schedule: step, step_epochs: 1, gamma: 0.5, optimizer: adamw}\n"
        "  - prune: {method: magnitude, sparsity: 0.5, schedule: agp, epochs: 1}\n"
        "  - prune: {criterion: l2, ratio: 0.25}\n  - finetune: {epochs: 1}\n"
        "  - lowrank: {energy: 0.9, layers: fc1, finetune: 1}\n"
        "  - quantize: {method: qat, wbits: 4, abits: 8, epochs: 1, observer: percentile, percentile: 99.9}\n"
        "  - sensitivity: {ratios: [0.25, 0.5], criterion: l1}\n"
        "  - eval: {batch: 100}\n  - export: {with_golden: true}\n  - bench: {threads: 2, runs: 5, isa: ref}\n";
    exp_config c;
    char path[512];
    snprintf(path, sizeof path, "%s", tu_write_text("every.yaml", seed_text));
    CHECK_OK(exp_config_load(path, NULL, 0, &c)); /* the seed itself is valid */
    assert_int_equal(c.n_stages, 10);
    exp_config_free(&c);
    const size_t n0 = strlen(seed_text);
    char *buf = malloc(2 * n0 + 64);
    uint64_t x = 0x2545F4914F6CDD1Dull;
    int accepted = 0;
    for (int k = 0; k < 3000; k++) {
        memcpy(buf, seed_text, n0 + 1);
        size_t n = n0;
        int edits = 1 + k % 4;
        for (int e = 0; e < edits; e++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = (size_t)(x >> 8) % (n ? n : 1);
            const char pool[] = "{}[]:,-#\"' \n\t0123456789.aez~&*!|>%@";
            switch ((x >> 3) % 6) {
            case 0: buf[at] = pool[(x >> 40) % (sizeof pool - 1)]; break;          /* flip */
            case 1: memmove(buf + at + 1, buf + at, n - at + 1); buf[at] = pool[(x >> 40) % (sizeof pool - 1)]; n++; break;
            case 2: memmove(buf + at, buf + at + 1, n - at); n--; break;               /* delete */
            case 3: buf[at] = '\0'; n = at; break;                                      /* cut */
            case 4: { /* repeat a line */
                char *eol = strchr(buf + at, '\n');
                size_t len = eol ? (size_t)(eol - (buf + at)) + 1 : 0;
                if (len && n + len < 2 * n0 + 32) {
                    memmove(buf + at + len, buf + at, n - at + 1);
                    n += len;
                }
                break;
            }
            default: buf[at] = (char)(x >> 48); break;                                   /* any byte */
            }
        }
        buf[n] = '\0';
        assert_int_equal(tu_write_file(path, buf, n), 0);
        int rc = exp_config_load(path, NULL, 0, &c);
        if (rc == 0) {
            accepted++;
            assert_non_null(c.resolved);
            assert_true(strlen(c.run_id) > 0);
            exp_config_free(&c);
        } else if (!strstr(pith_last_error(), path)) {
            fail_msg("mutation %d refused without naming the file: %s", k, pith_last_error());
        }
    }
    free(buf);
    /* some survive (a changed digit, a comment), most do not */
    assert_true(accepted > 30 && accepted < 2900);
}

static void test_quantize_stage(void **state)
{
    (void)state;
    exp_config c;
    char path[512];
    snprintf(path, sizeof path, "%s", tu_write_text("q.yaml",
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
    snprintf(path, sizeof path, "%s", tu_write_text("p.yaml",
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
    snprintf(path, sizeof path, "%s", tu_write_text("dl.yaml",
             "experiment: p\nmodel: fmnist-cnn\nstages:\n  - distill: {teacher: t.h5, T: 2, alpha: 0.5, epochs: 2}\n"
             "  - lowrank: {macs_ratio: 0.5, layers: fc1, finetune: 2, lr: 0.01}\n  - export\n"));
    CHECK_OK(exp_config_load(path, NULL, 0, &c));
    assert_int_equal(c.stages[0].kind, STAGE_DISTILL);
    assert_string_equal(c.stages[0].teacher, "t.h5");
    assert_float_equal(c.stages[0].kd_alpha, 0.5f, 0);
    assert_int_equal(c.stages[0].train.epochs, 2);
    assert_string_equal(c.stages[1].lr_layers, "fc1");
    assert_int_equal(c.stages[1].lr_finetune, 2); /* pith lowrank --finetune */
    assert_float_equal(c.stages[1].lr_lr, 0.01f, 1e-9);
    assert_int_equal(c.stages[2].golden, 0);      /* pith export's default: no golden vectors */
    exp_stage_chain(&c, chain, sizeof chain);
    assert_string_equal(chain, "distill(T2-a0.5)>lowrank(macs0.5)>export");
    exp_config_free(&c);
    const char *sets[] = {"prune.ratio=0.5", "prune.criterion=taylor"};
    snprintf(path, sizeof path, "%s", tu_write_text("p2.yaml",
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
    snprintf(path, sizeof path, "%s", tu_write_text("layers.yaml", text));
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
    snprintf(path, sizeof path, "%s", tu_write_text("layers2.yaml", bad));
    CHECK_OK(exp_config_load(path, NULL, 0, &c));
    assert_int_not_equal(exp_build_model(&c, 1, 8, 8, 10, &g), 0);
    CHECK_ERROR_HAS(":3: layer 'r': input 'nothere'");
    exp_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_image_dataset),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_quantize_stage),
        cmocka_unit_test(test_prune_finetune_stages),
        cmocka_unit_test(test_layer_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
