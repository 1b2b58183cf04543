#include "run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/error.h"
#include "../quant/quant.h"
#include "provenance.h"
#include "stages.h"
#include "workbench.h"

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

typedef int (*stage_fn)(exp_run_state *s, int i);

static const stage_fn stage_fns[STAGE_KINDS] = {
    [STAGE_TRAIN] = exp_stage_train,       [STAGE_FINETUNE] = exp_stage_train, [STAGE_DISTILL] = exp_stage_train,
    [STAGE_EVAL] = exp_stage_eval,         [STAGE_QUANTIZE] = exp_stage_quantize,
    [STAGE_PRUNE] = exp_stage_prune,       [STAGE_LOWRANK] = exp_stage_lowrank,
    [STAGE_EXPORT] = exp_stage_export,     [STAGE_BENCH] = exp_stage_bench,
    [STAGE_SENSITIVITY] = exp_stage_sensitivity,
};

/* Starts from the stage cache: returns the first stage still to run. */
static int resume_from_cache(exp_run_state *s)
{
    const exp_config *cfg = s->cfg;
    char cached[2400];
    int hit = exp_cache_lookup(cfg, s->cache, cached, sizeof cached);
    if (hit < 0)
        return 0;
    pith_graph *cg = NULL;
    pith_ckpt_meta cm;
    if (exp_load_checkpoint(cached, &cg, &cm, NULL, NULL) != PITH_OK) {
        fprintf(s->log, "stage cache: %s unreadable (%s); running every stage\n", cached, pith_last_error());
        return 0;
    }
    pith_graph_free(s->g);
    s->g = cg;
    for (int i = 0; i <= hit; i++)
        if (cfg->stages[i].kind == STAGE_TRAIN || cfg->stages[i].kind == STAGE_FINETUNE)
            s->last_train = exp_stage_recipe(cfg, &cfg->stages[i]);
    char here[2400];
    char file[32];
    snprintf(file, sizeof file, "%s.h5", exp_stage_words[cfg->stages[hit].kind]);
    exp_stage_file(s, hit, file, here, sizeof here);
    unlink(here);
    if (link(cached, here) != 0)
        here[0] = '\0';
    fprintf(s->log, "stages 1-%d: reused %s (same config up to stage %d and seed; top-1 %.4f)\n", hit + 1, cached,
            hit + 1, cm.top1);
    if (s->progress)
        fprintf(s->progress, "stages 1-%d: reused from the stage cache (%s)\n", hit + 1, cached);
    s->row->top1 = cm.top1;
    s->row->top5 = cm.top5;
    return hit + 1;
}

/* What each stage needs of the data, checked before anything runs: a model
 * from a checkpoint may come without labelled data (a detector calibrated on
 * a list of photos). */
static int check_data_needs(const exp_run_state *s)
{
    const exp_config *cfg = s->cfg;
    for (int i = 0; i < cfg->n_stages; i++) {
        const exp_stage *st = &cfg->stages[i];
        const exp_stage_kind k = st->kind;
        const int trains = k == STAGE_TRAIN || k == STAGE_FINETUNE || k == STAGE_DISTILL || k == STAGE_PRUNE ||
                           k == STAGE_SENSITIVITY || (k == STAGE_LOWRANK && st->lr_finetune > 0) ||
                           (k == STAGE_QUANTIZE && st->quant.train);
        const char *what = NULL;
        if (trains && s->train.n == 0)
            what = "labelled training images";
        else if (k == STAGE_EVAL && s->test.n == 0)
            what = "labelled test images";
        else if (k == STAGE_QUANTIZE && s->train.n == 0 && s->calib.n == 0)
            what = "calibration images";
        if (what)
            return pith_error(PITH_EINVAL, "%s:%d: stage %d (%s) needs %s, and the config gives none (%s)", cfg->path,
                              st->line, i + 1, exp_stage_words[k], what,
                              k == STAGE_QUANTIZE && !st->quant.train ? "dataset.calib: a list or folder of images"
                                                                      : "dataset.path");
    }
    return PITH_OK;
}

/* The model and data of a config whose model is a checkpoint: the data opts
 * (input size, preprocessing, normalisation) are the checkpoint's; the
 * dataset is the config's, else the one the checkpoint names, else none. */
static int open_checkpoint_model(exp_run_state *s, pith_ckpt_meta *origin, pith_data_opts *o)
{
    const exp_config *cfg = s->cfg;
    int rc = exp_load_checkpoint(cfg->checkpoint, &s->g, origin, NULL, NULL);
    if (rc)
        return rc;
    s->origin = origin;
    exp_data_opts(origin, s->g, o);
    o->progress = s->progress;
    o->cache_dir = s->dir;
    o->train_crop = cfg->aug.rrc_min > 0.0f;
    const char *data = cfg->data_given ? cfg->data_dir : origin->dataset;
    fprintf(s->log, "model: %s (%s), input %dx%dx%d, data %s\n", cfg->checkpoint, origin->model, o->c, o->h, o->w,
            data[0] ? data : "none");
    return data[0] ? exp_load_data(data, o, cfg->subset, cfg->val, cfg->seed, &s->train, &s->evalset, &s->test)
                   : PITH_OK;
}

/* Runs the stages; fills the row's measurements. */
static int run_stages(exp_run_state *s)
{
    const exp_config *cfg = s->cfg;
    pith_data_opts o;
    pith_ckpt_meta origin;
    int rc;
    if (cfg->checkpoint[0]) {
        rc = open_checkpoint_model(s, &origin, &o);
    } else {
        exp_config_data_opts(cfg, &o);
        o.progress = s->progress;
        o.cache_dir = s->dir;
        rc = exp_load_data(cfg->data_dir, &o, cfg->subset, cfg->val, cfg->seed, &s->train, &s->evalset, &s->test);
        if (!rc) {
            int classes = s->train.classes > s->test.classes ? s->train.classes : s->test.classes;
            rc = exp_build_model(cfg, s->train.c, s->train.h, s->train.w, classes, &s->g);
        }
    }
    if (!rc && cfg->calib_path[0]) { /* representative images through the model's preprocessing */
        o.calib = 1;
        o.labels = NULL;
        o.train_crop = 0;
        rc = exp_load_split(cfg->calib_path, "train", &o, &s->calib);
    }
    if (!rc)
        rc = check_data_needs(s);
    s->last_train = pith_train_defaults();
    int first = !rc && s->cache ? resume_from_cache(s) : 0;
    for (int i = first; i < cfg->n_stages && !rc; i++)
        rc = stage_fns[cfg->stages[i].kind](s, i);
    exp_row *row = s->row;
    if (s->g) {
        pith_graph *g = s->g;
        pith_shape_format(&g->input_shape, row->input, sizeof row->input);
        pith_graph_sort(g);
        row->params = pith_graph_params(g, 1);
        row->nonzero_params = nonzero_params(g);
        row->macs = pith_graph_macs(g);
        row->bytes = pith_graph_is_quantized(g) ? pith_quant_weight_bytes(g) : pith_graph_bytes(g);
    }
    pith_graph_free(s->g);
    s->g = NULL;
    pith_dataset_free(&s->train);
    pith_dataset_free(&s->evalset);
    pith_dataset_free(&s->test);
    pith_dataset_free(&s->calib);
    s->origin = NULL;
    return rc;
}

int exp_run_dir(const exp_config *cfg, const char *runs, char *dir, size_t len)
{
    if (snprintf(dir, len, "%s/%s/%s", runs, cfg->name, cfg->run_id) >= (int)len)
        return pith_error(PITH_EINVAL, "%s: runs path too long", runs);
    return PITH_OK;
}

/* The row's identity and provenance, before anything runs. */
static void row_begin(const exp_config *cfg, const exp_run_opts *o, exp_row *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->experiment, sizeof row->experiment, "%s", cfg->name);
    snprintf(row->run_id, sizeof row->run_id, "%s", cfg->run_id);
    snprintf(row->config_hash, sizeof row->config_hash, "%016llx", (unsigned long long)cfg->hash);
    row->seed = cfg->seed;
    prov_git(row->git_commit, sizeof row->git_commit, &row->git_dirty);
    exp_utc_now(row->date, sizeof row->date);
    prov_host(row->host, sizeof row->host);
    snprintf(row->model, sizeof row->model, "%s", cfg->model);
    exp_stage_chain(cfg, row->stages, sizeof row->stages);
    snprintf(row->knobs, sizeof row->knobs, "%s", cfg->knobs);
    if (o->n_knobs) {
        row->knobs[0] = '\0';
        for (int i = 0; i < o->n_knobs; i++) {
            size_t n = strlen(row->knobs);
            snprintf(row->knobs + n, sizeof row->knobs - n, "%s%s", i ? ";" : "", o->knobs[i]);
        }
    }
    snprintf(row->hardware, sizeof row->hardware, "%s", cfg->hardware);
    row->price_usd = cfg->price_usd;
    row->top1 = row->top5 = row->latency_ms = row->peak_mem_kb = row->fps = row->energy_uj = NAN;
}

int exp_run(const exp_config *cfg, const exp_run_opts *o, exp_row *row)
{
    char dir[2048], path[2200], cache[2100];
    row_begin(cfg, o, row);
    int rc = exp_run_dir(cfg, o->runs, dir, sizeof dir);
    if (rc)
        return rc;
    mkdirs(dir);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    rc = write_text(path, cfg->resolved);
    exp_write_provenance(dir, cfg, row);
    snprintf(path, sizeof path, "%s/log.txt", dir);
    FILE *log = fopen(path, "w");
    if (!log && !rc)
        rc = pith_error(PITH_EIO, "%s: cannot create", path);
    if (!rc) {
        fprintf(log, "pith run %s, run %s, seed %llu, %s\n", cfg->path, cfg->run_id, (unsigned long long)cfg->seed,
                cfg->knobs[0] ? cfg->knobs : "no overrides");
        if (o->progress)
            fprintf(o->progress, "run %s -> %s\n", cfg->run_id, dir);
        snprintf(cache, sizeof cache, "%s/%s/cache", o->runs, cfg->name);
        exp_run_state s;
        memset(&s, 0, sizeof s);
        s.cfg = cfg;
        s.dir = dir;
        s.cache = o->use_cache ? cache : NULL;
        s.log = log;
        s.progress = o->progress;
        s.row = row;
        rc = run_stages(&s);
    }
    snprintf(row->status, sizeof row->status, "%s", rc ? "failed" : "ok");
    if (rc)
        snprintf(row->error, sizeof row->error, "%s", pith_last_error());
    if (log) {
        fprintf(log, "%s%s\n", rc ? "failed: " : "done", rc ? row->error : "");
        fclose(log);
    }
    char saved_error[512];
    snprintf(saved_error, sizeof saved_error, "%s", pith_last_error());
    int arc = results_append(o->results, row);
    if (rc)
        return pith_error(rc, "%s (recorded in %s)", saved_error, o->results);
    return arc;
}
