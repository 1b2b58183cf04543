/* pith run: one experiment point from a YAML config, into
 * runs/<experiment>/<run-id>/ and one row of results/runs.tsv. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/checkpoint.h"
#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../distill/distill.h"
#include "../lowrank/lowrank.h"
#include "../prune/prune.h"
#include "../quant/quant.h"
#include "cli.h"
#include "../experiments/config.h"
#include "../experiments/json.h"
#include "../experiments/results.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pith run CONFIG.yaml [--set key=value]... [options]\n"
            "\n"
            "Runs the config's stages in order (train, eval, quantize, prune, finetune,\n"
            "distill, lowrank) and appends one row to the\n"
            "results table. The run directory runs/<experiment>/<run-id>/ holds the\n"
            "resolved config (config.yaml), provenance.json, log.txt, each stage's\n"
            "checkpoint and metrics. The run id is derived from the resolved config's\n"
            "hash and the seed: a point already in the table (status ok) is not run\n"
            "again unless --force.\n"
            "\n"
            "  --set KEY=VALUE   override a key: seed=3, dataset.subset=2000, train.epochs=2\n"
            "                    (a first key naming a stage reaches into that stage)\n"
            "  --knob KEY=VALUE  like --set, and recorded as a swept knob in the results\n"
            "                    table (pith sweep passes its grid this way); without any\n"
            "                    --knob, the --set overrides are recorded\n"
            "  --runs DIR        runs directory (default runs)\n"
            "  --results FILE    results table (default results/runs.tsv)\n"
            "  --force           run even if the table has this run id\n"
            "  --no-cache        run every stage; by default a run starts from the\n"
            "                    checkpoint of an earlier run whose config agrees up to\n"
            "                    its last training stage and whose seed is the same\n"
            "                    (runs/<experiment>/cache/; a sweep over pruning ratios\n"
            "                    trains each seed's base model once)\n"
            "  --check           validate the config (with overrides) and print the run id\n"
            "  --threads N       threads (default: all cores)\n"
            "  --json            print one JSON object on stdout\n"
            "  --quiet           no progress on stderr\n"
            "  -h, --help        this help\n");
}

static void mkdirs(const char *path)
{
    char d[2048];
    snprintf(d, sizeof d, "%s", path);
    for (char *p = d + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(d, 0777);
            *p = '/';
        }
    mkdir(d, 0777);
}

static int write_text(const char *path, const char *text)
{
    char tmp[2400];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return pith_error(PITH_EINVAL, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot create", tmp);
    int ok = fputs(text, f) >= 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0)
        return pith_error(PITH_EIO, "%s: cannot write", path);
    return PITH_OK;
}

static void write_provenance(const char *dir, const exp_config *cfg, const exp_row *row)
{
    char path[2200], libs[512];
    snprintf(path, sizeof path, "%s/provenance.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    prov_libraries(libs, sizeof libs);
    json j;
    json_init(&j, f);
    json_obj(&j, NULL);
    json_str(&j, "experiment", cfg->name);
    json_str(&j, "run_id", cfg->run_id);
    json_str(&j, "config", cfg->path);
    json_str(&j, "config_hash", row->config_hash);
    json_int(&j, "seed", (int64_t)cfg->seed);
    json_str(&j, "git_commit", row->git_commit);
    json_int(&j, "git_dirty", row->git_dirty);
    json_str(&j, "date", row->date);
    json_str(&j, "host", row->host);
    json_str(&j, "libraries", libs);
    json_str(&j, "knobs", cfg->knobs);
    json_arr(&j, "dataset_files");
    const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                            "t10k-labels-idx1-ubyte"};
    for (int i = 0; i < 4; i++) {
        char p[1200];
        uint32_t crc;
        uint64_t size;
        snprintf(p, sizeof p, "%s/%s.gz", cfg->data_dir, names[i]);
        if (prov_file_crc(p, &crc, &size) != 0) {
            snprintf(p, sizeof p, "%s/%s", cfg->data_dir, names[i]);
            if (prov_file_crc(p, &crc, &size) != 0)
                continue;
        }
        char hex[16];
        snprintf(hex, sizeof hex, "%08x", crc);
        json_obj(&j, NULL);
        json_str(&j, "path", p);
        json_int(&j, "bytes", (int64_t)size);
        json_str(&j, "crc32", hex);
        json_end_obj(&j);
    }
    json_end_arr(&j);
    json_end_obj(&j);
    json_finish(&j);
    fclose(f);
}

typedef struct stage_ctx {
    char ckpt[2200];
    const exp_config *cfg;
    FILE *log;
} stage_ctx;

static int save_epoch(pith_trainer *t, const pith_epoch_record *r, void *user)
{
    stage_ctx *s = user;
    pith_ckpt_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.model, sizeof m.model, "%s", s->cfg->model);
    snprintf(m.dataset, sizeof m.dataset, "%s", s->cfg->data_dir);
    snprintf(m.command, sizeof m.command, "pith run %.1000s", s->cfg->path);
    exp_utc_now(m.created, sizeof m.created);
    m.seed = s->cfg->seed;
    m.epoch = t->epoch;
    m.step = t->step;
    m.mean = s->cfg->mean;
    m.std = s->cfg->std;
    m.classes = pith_graph_output_shape(t->g)->d[0];
    m.top1 = r->test_top1;
    m.top5 = r->test_top5;
    m.test_loss = r->test_loss;
    fprintf(s->log, "epoch %d: lr %.6g train_loss %.4f train_acc %.4f test_loss %.4f top1 %.4f top5 %.4f %.1f s %.0f img/s\n",
            r->epoch, r->lr, r->train_loss, r->train_acc, r->test_loss, r->test_top1, r->test_top5,
            r->seconds, r->img_per_s);
    fflush(s->log);
    return pith_checkpoint_save(s->ckpt, t->g, &m, &t->cfg, t->opt, t->history, t->n_history);
}

static int64_t nonzero_params(const pith_graph *g)
{
    int64_t n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_params; j++) {
            const pith_param *p = &g->nodes[i].params[j];
            if (!p->trainable)
                continue;
            for (size_t k = 0; k < p->size; k++)
                n += p->data[k] != 0.0f;
        }
    return n;
}

static int keep_masks(pith_trainer *t, void *user)
{
    (void)user;
    pith_prune_apply_masks(t->g);
    return PITH_OK;
}

/* The stage cache: runs that share a config prefix and seed (every point of
 * a pruning sweep trains the same base model) reuse the checkpoint of the
 * last training stage of that prefix instead of training it again. Only
 * prefixes of train, finetune, prune, lowrank and eval stages are cached:
 * what they produce depends on nothing but the config and the seed. */
static int cacheable(exp_stage_kind k)
{
    return k == STAGE_TRAIN || k == STAGE_FINETUNE || k == STAGE_PRUNE || k == STAGE_LOWRANK || k == STAGE_EVAL;
}

static void cache_path(const char *cache, const exp_config *cfg, int i, char *buf, size_t len)
{
    uint64_t k = cfg->stages[i].prefix_key ^ (cfg->seed * 0x9e3779b97f4a7c15ull);
    snprintf(buf, len, "%s/%016llx.h5", cache, (unsigned long long)k);
}

/* Publishes a finished stage checkpoint; a hard link, else a copy, renamed
 * into place so that concurrent runs never see half a file. */
static void cache_store(const char *cache, const char *src, const char *dst)
{
    char tmp[2600];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", dst, (long)getpid());
    mkdir(cache, 0777);
    unlink(tmp);
    if (link(src, tmp) != 0) {
        FILE *in = fopen(src, "rb"), *out = in ? fopen(tmp, "wb") : NULL;
        char b[65536];
        size_t n;
        int ok = in && out;
        while (ok && (n = fread(b, 1, sizeof b, in)) > 0)
            ok = fwrite(b, 1, n, out) == n;
        ok = ok && !ferror(in);
        if (out && fclose(out) != 0)
            ok = 0;
        if (in)
            fclose(in);
        if (!ok) {
            unlink(tmp);
            return;
        }
    }
    if (rename(tmp, dst) != 0)
        unlink(tmp);
}

static const char *stage_file_word(exp_stage_kind k)
{
    return k == STAGE_TRAIN ? "train" : k == STAGE_FINETUNE ? "finetune" : "distill";
}

/* A training stage's recipe with the run-wide data settings (seed, subset,
 * hold-out, augmentation), which the config keeps outside the stages. */
static pith_train_config stage_recipe(const exp_config *cfg, const exp_stage *st)
{
    pith_train_config tc = st->train;
    tc.seed = cfg->seed;
    tc.subset = cfg->subset;
    tc.val = cfg->val;
    tc.aug = cfg->aug;
    return tc;
}

/* The last stage whose result is in the cache, or -1. */
static int cache_lookup(const exp_config *cfg, const char *cache, char *path, size_t len)
{
    int last = -1;
    for (int i = 0; i < cfg->n_stages && cacheable(cfg->stages[i].kind); i++) {
        exp_stage_kind k = cfg->stages[i].kind;
        char p[2400];
        cache_path(cache, cfg, i, p, sizeof p);
        if ((k == STAGE_TRAIN || k == STAGE_FINETUNE) && access(p, R_OK) == 0) {
            last = i;
            snprintf(path, len, "%s", p);
        }
    }
    return last;
}

/* Runs the stages; fills row metrics. cache (NULL: off) is the stage cache folder. */
static int run_stages(const exp_config *cfg, const char *dir, const char *cache, FILE *log, int quiet,
                      exp_row *row)
{
    pith_dataset train = {0}, evalset = {0}, test = {0};
    pith_graph *g = NULL;
    int rc = exp_load_data(cfg->data_dir, cfg->mean, cfg->std, cfg->subset, cfg->val, cfg->seed, &train,
                           &evalset, &test);
    if (!rc) {
        int classes = train.classes > test.classes ? train.classes : test.classes;
        rc = exp_build_model(cfg, train.c, train.h, train.w, classes, &g);
    }
    pith_train_config last_train = pith_train_defaults(); /* fine-tuning starts from the last recipe */
    int first = 0;
    char cached[2400];
    int hit = !rc && cache ? cache_lookup(cfg, cache, cached, sizeof cached) : -1;
    if (hit >= 0) {
        pith_graph *cg = NULL;
        pith_ckpt_meta cm;
        if (exp_load_checkpoint(cached, &cg, &cm, NULL, NULL) == PITH_OK) {
            pith_graph_free(g);
            g = cg;
            first = hit + 1;
            for (int i = 0; i <= hit; i++)
                if (cfg->stages[i].kind == STAGE_TRAIN || cfg->stages[i].kind == STAGE_FINETUNE)
                    last_train = stage_recipe(cfg, &cfg->stages[i]);
            char here[2200];
            snprintf(here, sizeof here, "%s/stage%d-%s.h5", dir, hit + 1, stage_file_word(cfg->stages[hit].kind));
            unlink(here);
            if (link(cached, here) != 0)
                here[0] = '\0';
            fprintf(log, "stages 1-%d: reused %s (same config up to stage %d and seed; top-1 %.4f)\n", hit + 1,
                    cached, hit + 1, cm.top1);
            if (!quiet)
                fprintf(stderr, "stages 1-%d: reused from the stage cache (%s)\n", hit + 1, cached);
            row->top1 = cm.top1;
            row->top5 = cm.top5;
        } else {
            fprintf(log, "stage cache: %s unreadable (%s); running every stage\n", cached, pith_last_error());
        }
    }
    for (int i = first; i < cfg->n_stages && !rc; i++) {
        const exp_stage *st = &cfg->stages[i];
        stage_ctx sc = {"", cfg, log};
        if (st->kind == STAGE_TRAIN || st->kind == STAGE_FINETUNE || st->kind == STAGE_DISTILL) {
            pith_train_config tc = stage_recipe(cfg, st);
            const char *what = stage_file_word(st->kind);
            pith_graph *teacher = NULL;
            pith_ckpt_meta tmeta;
            pith_distill kd = {.T = st->kd_T, .alpha = st->kd_alpha};
            if (st->kind == STAGE_DISTILL) {
                rc = exp_load_checkpoint(st->teacher, &teacher, &tmeta, NULL, NULL);
                if (!rc)
                    rc = pith_graph_compile(teacher, tc.batch);
                if (rc)
                    break;
                pith_graph_set_training(teacher, 0);
                kd.teacher = teacher;
                if (!(tc.aug.crop_pad > 0 || tc.aug.hflip)) /* unaugmented: teacher logits computed once */
                    rc = pith_distill_cache_init(&kd, train.n, pith_graph_output_shape(teacher)->d[0]);
                if (rc) {
                    pith_graph_free(teacher);
                    break;
                }
                fprintf(log, "stage %d: teacher %s (T %g, alpha %g)\n", i + 1, st->teacher, (double)st->kd_T,
                        (double)st->kd_alpha);
            }
            snprintf(sc.ckpt, sizeof sc.ckpt, "%s/stage%d-%s.h5", dir, i + 1, what);
            fprintf(log, "stage %d: %s, %d epochs, batch %d, lr %g (%s), %s\n", i + 1, what, tc.epochs, tc.batch,
                    (double)tc.lr, pith_sched_name(tc.sched), pith_optim_name(tc.optim.kind));
            pith_trainer *t = NULL;
            rc = pith_trainer_create(&t, g, &tc, &train, cfg->val ? &evalset : &test);
            if (!rc) {
                t->progress = quiet ? NULL : stderr;
                t->on_epoch = save_epoch;
                t->user = &sc;
                t->on_step = keep_masks; /* magnitude-pruned weights stay zero */
                if (teacher) {
                    t->loss = pith_distill_loss;
                    t->loss_user = &kd;
                }
                rc = pith_trainer_run(t);
                if (!rc && t->n_history) {
                    row->top1 = t->history[t->n_history - 1].test_top1;
                    row->top5 = t->history[t->n_history - 1].test_top5;
                }
            }
            pith_trainer_free(t);
            if (teacher)
                fprintf(log, "teacher: %lld images run, %lld served from its logit cache\n",
                        (long long)kd.teacher_images, (long long)kd.cached_images);
            pith_distill_free(&kd);
            pith_graph_free(teacher);
            last_train = tc;
            int all = 1;
            for (int q = 0; q <= i; q++)
                all = all && cacheable(cfg->stages[q].kind);
            if (!rc && cache && all) {
                char dst[2400];
                cache_path(cache, cfg, i, dst, sizeof dst);
                cache_store(cache, sc.ckpt, dst);
            }
        } else if (st->kind == STAGE_LOWRANK) {
            pith_lowrank_rule rule = {st->lr_rank, st->lr_energy, st->lr_macs_ratio};
            rc = pith_graph_sort(g);
            int cand[256], n_cand = 0;
            for (int k = 0; !rc && k < g->n_order && n_cand < 256; k++) {
                int li = g->order[k];
                const pith_node *n = &g->nodes[li];
                int ok = (n->op == &pith_op_linear) || ((n->op == &pith_op_conv2d) && n->a.groups == 1);
                if (!ok)
                    continue;
                if (st->lr_layers[0]) {
                    char pat[300];
                    snprintf(pat, sizeof pat, ",%s,", st->lr_layers);
                    char me[PITH_NAME_MAX + 3];
                    snprintf(me, sizeof me, ",%s,", n->name);
                    ok = strstr(pat, me) != NULL;
                } else {
                    ok = li != g->output;
                }
                if (ok)
                    cand[n_cand++] = li;
            }
            for (int q = 0; q < n_cand && !rc; q++) {
                pith_lowrank_report rep;
                rc = pith_lowrank_factorize(g, cand[q], &rule, &rep);
                if (!rc)
                    fprintf(log, "lowrank: %s rank %d of %d (%.1f%% energy), %lld -> %lld MACs%s\n", rep.name, rep.rank,
                            rep.full_rank, 100 * rep.energy, (long long)rep.macs_before,
                            (long long)(rep.replaced ? rep.macs_after : rep.macs_before), rep.replaced ? "" : ", kept");
            }
        } else if (st->kind == STAGE_PRUNE) {
            int removed = 0;
            if (st->prune_magnitude) {
                fprintf(log, "stage %d: magnitude pruning to %.1f%% (%s)\n", i + 1, 100.0 * st->prune_sparsity,
                        pith_prune_gran_name((pith_prune_gran)st->prune_granularity));
                rc = pith_prune_magnitude_all(g, st->prune_sparsity, (pith_prune_gran)st->prune_granularity);
            } else {
                fprintf(log, "stage %d: structured pruning, %s, ratio %.2f\n", i + 1,
                        pith_prune_criterion_name((pith_prune_criterion)st->prune_criterion), (double)st->prune_ratio);
                if (st->prune_criterion == PITH_CRIT_TAYLOR)
                    rc = pith_graph_compile(g, 64);
                if (!rc) {
                    removed = pith_prune_structured(g, (pith_prune_criterion)st->prune_criterion, st->prune_ratio, &train,
                                                    1024, cfg->seed);
                    rc = removed < 0 ? removed : 0;
                }
            }
            if (!rc) {
                pith_graph_sort(g);
                fprintf(log, "prune: %d channels removed; now %lld parameters, %lld MACs\n", removed,
                        (long long)pith_graph_params(g, 1), (long long)pith_graph_macs(g));
            }
        } else if (st->kind == STAGE_QUANTIZE) {
            quant_job job = st->quant;
            quant_result res;
            pith_ckpt_meta m;
            memset(&m, 0, sizeof m);
            snprintf(m.model, sizeof m.model, "%s", cfg->model);
            snprintf(m.dataset, sizeof m.dataset, "%s", cfg->data_dir);
            snprintf(m.command, sizeof m.command, "pith run %.900s (stage %d: quantize)", cfg->path, i + 1);
            exp_utc_now(m.created, sizeof m.created);
            m.seed = cfg->seed;
            m.mean = cfg->mean;
            m.std = cfg->std;
            m.classes = pith_graph_output_shape(g)->d[0];
            fprintf(log, "stage %d: quantize, method %s, w%d a%d, %d fine-tuning epochs\n", i + 1, job.method,
                    job.q.w.bits, job.q.io == PITH_QIO_WEIGHT_ONLY ? 32 : job.q.a.bits, job.epochs);
            rc = quant_run(g, &m, &last_train, &job, &train, &test, quiet ? NULL : stderr, &res);
            if (!rc) {
                quant_result_print(log, &job, &res);
                row->top1 = res.top1;
                row->top5 = res.top5;
                char path[2200];
                snprintf(path, sizeof path, "%s/stage%d-quantize.h5", dir, i + 1);
                rc = pith_checkpoint_save(path, g, &m, job.train ? &res.cfg : NULL, NULL, NULL, 0);
            }
        } else {
            fprintf(log, "stage %d: eval on %d test images\n", i + 1, test.n);
            pith_metrics m = {0};
            rc = pith_graph_compile(g, st->batch);
            if (!rc)
                rc = pith_metrics_init(&m, pith_graph_output_shape(g)->d[0]);
            if (!rc)
                rc = pith_evaluate(g, &test, &m, NULL);
            if (!rc) {
                row->top1 = pith_metrics_top1(&m);
                row->top5 = pith_metrics_top5(&m);
                char path[2200];
                snprintf(path, sizeof path, "%s/stage%d-eval.json", dir, i + 1);
                FILE *f = fopen(path, "w");
                if (f) {
                    json j;
                    json_init(&j, f);
                    json_obj(&j, NULL);
                    json_num(&j, "top1", row->top1);
                    json_num(&j, "top5", row->top5);
                    json_num(&j, "loss", pith_metrics_loss(&m));
                    json_int(&j, "images", m.n);
                    json_end_obj(&j);
                    json_finish(&j);
                    fclose(f);
                }
                fprintf(log, "eval: top1 %.4f top5 %.4f loss %.4f\n", row->top1, row->top5,
                        pith_metrics_loss(&m));
            }
            pith_metrics_free(&m);
        }
    }
    if (g) {
        pith_shape_format(&g->input_shape, row->input, sizeof row->input);
        pith_graph_sort(g);
        row->params = pith_graph_params(g, 1);
        row->nonzero_params = nonzero_params(g);
        row->macs = pith_graph_macs(g);
        row->bytes = pith_graph_is_quantized(g) ? pith_quant_weight_bytes(g) : pith_graph_bytes(g);
    }
    pith_graph_free(g);
    pith_dataset_free(&train);
    pith_dataset_free(&evalset);
    pith_dataset_free(&test);
    return rc;
}

/* Starts the --json object on stdout with what names the run. */
static void json_begin_run(json *j, const exp_config *cfg, const char *dir)
{
    json_init(j, stdout);
    json_obj(j, NULL);
    json_str(j, "experiment", cfg->name);
    json_str(j, "run_id", cfg->run_id);
    json_str(j, "dir", dir);
}

int cmd_run(int argc, char **argv)
{
    const char *cmd = "run";
    static const struct option opts[] = {
        {"set", 1, 0, 's'}, {"knob", 1, 0, 'k'}, {"runs", 1, 0, 'r'}, {"results", 1, 0, 'R'}, {"force", 0, 0, 'f'}, {"no-cache", 0, 0, 'C'},
        {"check", 0, 0, 'c'}, {"threads", 1, 0, 't'}, {"json", 0, 0, 'j'}, {"quiet", 0, 0, 'q'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *sets[128], *knobs[64];
    int n_sets = 0, n_knobs = 0, force = 0, no_cache = 0, check = 0, threads = 0, as_json = 0, quiet = 0, c;
    const char *runs = "runs", *results = "results/runs.tsv";
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 's':
        case 'k':
            if (n_sets == 128 || n_knobs == 64)
                return cli_usage_error(cmd, "too many --set/--knob");
            sets[n_sets++] = optarg;
            if (c == 'k')
                knobs[n_knobs++] = optarg;
            break;
        case 'r': runs = optarg; break;
        case 'R': results = optarg; break;
        case 'f': force = 1; break;
        case 'C': no_cache = 1; break;
        case 'c': check = 1; break;
        case 't': rc = cli_int(cmd, "--threads", optarg, 1, 1024, &threads); break;
        case 'j': as_json = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
        if (rc)
            return rc;
    }
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one config file");
    exp_config cfg;
    int rc = exp_config_load(argv[optind], sets, n_sets, &cfg);
    if (rc)
        return cli_fail(cmd, rc);
    char dir[2048];
    if (snprintf(dir, sizeof dir, "%s/%s/%s", runs, cfg.name, cfg.run_id) >= (int)sizeof dir) {
        exp_config_free(&cfg);
        return cli_usage_error(cmd, "--runs path too long");
    }
    if (check) {
        if (as_json) {
            json j;
            json_begin_run(&j, &cfg, dir);
            json_end_obj(&j);
            json_finish(&j);
        } else {
            printf("%s: valid; run id %s (%s)\n", cfg.path, cfg.run_id, dir);
        }
        exp_config_free(&cfg);
        return EXIT_OK;
    }
    int done = results_has_run(results, cfg.run_id);
    if (done > 0 && !force) {
        if (as_json) {
            json j;
            json_begin_run(&j, &cfg, dir);
            json_bool(&j, "skipped", 1);
            json_end_obj(&j);
            json_finish(&j);
        } else {
            printf("%s: run %s is already in %s (use --force to run it again)\n", cfg.name, cfg.run_id,
                   results);
        }
        exp_config_free(&cfg);
        return EXIT_OK;
    }
    pith_set_threads(threads);
    mkdirs(dir);
    exp_row row;
    memset(&row, 0, sizeof row);
    snprintf(row.experiment, sizeof row.experiment, "%s", cfg.name);
    snprintf(row.run_id, sizeof row.run_id, "%s", cfg.run_id);
    snprintf(row.config_hash, sizeof row.config_hash, "%016llx", (unsigned long long)cfg.hash);
    row.seed = cfg.seed;
    prov_git(row.git_commit, sizeof row.git_commit, &row.git_dirty);
    exp_utc_now(row.date, sizeof row.date);
    prov_host(row.host, sizeof row.host);
    snprintf(row.model, sizeof row.model, "%s", cfg.model);
    exp_stage_chain(&cfg, row.stages, sizeof row.stages);
    snprintf(row.knobs, sizeof row.knobs, "%s", cfg.knobs);
    if (n_knobs) {
        row.knobs[0] = '\0';
        for (int i = 0; i < n_knobs; i++) {
            size_t o = strlen(row.knobs);
            snprintf(row.knobs + o, sizeof row.knobs - o, "%s%s", i ? ";" : "", knobs[i]);
        }
    }
    row.top1 = row.top5 = row.latency_ms = row.peak_mem_kb = NAN;

    char path[2200];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    rc = write_text(path, cfg.resolved);
    write_provenance(dir, &cfg, &row);
    snprintf(path, sizeof path, "%s/log.txt", dir);
    FILE *log = fopen(path, "w");
    if (!log && !rc)
        rc = pith_error(PITH_EIO, "%s: cannot create", path);
    if (!rc) {
        fprintf(log, "pith run %s, run %s, seed %llu, %s\n", cfg.path, cfg.run_id,
                (unsigned long long)cfg.seed, cfg.knobs[0] ? cfg.knobs : "no overrides");
        if (!quiet)
            fprintf(stderr, "run %s -> %s\n", cfg.run_id, dir);
        char cache[2100];
        snprintf(cache, sizeof cache, "%s/%s/cache", runs, cfg.name);
        rc = run_stages(&cfg, dir, no_cache ? NULL : cache, log, quiet, &row);
    }
    snprintf(row.status, sizeof row.status, "%s", rc ? "failed" : "ok");
    if (rc)
        snprintf(row.error, sizeof row.error, "%s", pith_last_error());
    if (log) {
        fprintf(log, "%s%s\n", rc ? "failed: " : "done", rc ? row.error : "");
        fclose(log);
    }
    char saved_error[512];
    snprintf(saved_error, sizeof saved_error, "%s", pith_last_error());
    int arc = results_append(results, &row);
    int code = EXIT_OK;
    if (rc) {
        pith_error(rc, "%s (recorded in %s)", saved_error, results);
        code = cli_fail(cmd, rc);
    } else if (arc) {
        code = cli_fail(cmd, arc);
    } else if (as_json) {
        json j;
        json_begin_run(&j, &cfg, dir);
        json_num(&j, "top1", row.top1);
        json_num(&j, "top5", row.top5);
        json_int(&j, "params", row.params);
        json_int(&j, "macs", row.macs);
        json_int(&j, "bytes", row.bytes);
        json_end_obj(&j);
        json_finish(&j);
    } else {
        printf("%s %s: top-1 %.2f%% top-5 %.2f%%, %lld params, %lld MACs; %s; row added to %s\n", cfg.name,
               cfg.run_id, 100 * row.top1, 100 * row.top5, (long long)row.params, (long long)row.macs, dir,
               results);
    }
    exp_config_free(&cfg);
    return code;
}
