#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../core/dataset.h"
#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../core/zoo.h"
#include "../prune/prune.h"

typedef struct ctx {
    const char *path;
    yaml_document_t *doc;
} ctx;

static yaml_node_t *get(ctx *c, int id) { return yaml_document_get_node(c->doc, id); }
static int line_of(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* "file:line: message" */
static int err(ctx *c, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err(ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return pith_error(PITH_EINVAL, "%s:%d: %s", c->path, line_of(n), msg);
}

/* An empty value (`eval:` with nothing after it) or none (`- eval`) counts as an
 * empty mapping. */
static int is_empty(const yaml_node_t *n)
{
    return !n || (n->type == YAML_SCALAR_NODE && (!n->data.scalar.length || !strcmp(scalar(n), "~") ||
                                                !strcmp(scalar(n), "null")));
}

static int get_int(ctx *c, const yaml_node_t *n, const char *key, long lo, long hi, int *out)
{
    const char *s = scalar(n);
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || v < lo || v > hi)
        return err(c, n, "%s: expected an integer in %ld..%ld, got %s%s%s", key, lo, hi, s ? "'" : "",
                   s ? s : "a list or mapping", s ? "'" : "");
    *out = (int)v;
    return PITH_OK;
}

static int get_u64(ctx *c, const yaml_node_t *n, const char *key, uint64_t *out)
{
    const char *s = scalar(n);
    char *end;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || s[0] == '-')
        return err(c, n, "%s: expected a non-negative integer, got '%s'", key, s ? s : "?");
    *out = v;
    return PITH_OK;
}

static int get_float(ctx *c, const yaml_node_t *n, const char *key, double lo, double hi, int lo_open,
                     float *out)
{
    const char *s = scalar(n);
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || errno || *end || !(lo_open ? v > lo : v >= lo) || !(v <= hi))
        return err(c, n, "%s: expected a number in %s%g, %g], got '%s'", key, lo_open ? "(" : "[", lo,
                   hi, s ? s : "?");
    *out = (float)v;
    return PITH_OK;
}

static int get_bool(ctx *c, const yaml_node_t *n, const char *key, int *out)
{
    const char *s = scalar(n);
    static const char *const t[] = {"true", "yes", "on", "1"}, *const f[] = {"false", "no", "off", "0"};
    for (int i = 0; s && i < 4; i++) {
        if (!strcmp(s, t[i])) {
            *out = 1;
            return PITH_OK;
        }
        if (!strcmp(s, f[i])) {
            *out = 0;
            return PITH_OK;
        }
    }
    return err(c, n, "%s: expected true or false, got '%s'", key, s ? s : "?");
}

static int get_str(ctx *c, const yaml_node_t *n, const char *key, char *buf, size_t len)
{
    const char *s = scalar(n);
    if (!s || !*s || strlen(s) >= len)
        return err(c, n, "%s: expected a string of 1 to %zu characters", key, len - 1);
    snprintf(buf, len, "%s", s);
    return PITH_OK;
}

/* An int, or a [h, w] pair. */
static int get_pair(ctx *c, const yaml_node_t *n, const char *key, int lo, int *h, int *w)
{
    if (n && n->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *it = n->data.sequence.items.start;
        if (n->data.sequence.items.top - it != 2)
            return err(c, n, "%s: expected an integer or a list [h, w]", key);
        int rc = get_int(c, get(c, it[0]), key, lo, 1 << 16, h);
        return rc ? rc : get_int(c, get(c, it[1]), key, lo, 1 << 16, w);
    }
    int rc = get_int(c, n, key, lo, 1 << 16, h);
    *w = *h;
    return rc;
}

static int unknown(ctx *c, const yaml_node_t *k, const char *section, const char *allowed)
{
    return err(c, k, "unknown key '%s' in %s (allowed: %s)", scalar(k) ? scalar(k) : "?", section,
               allowed);
}

static int need_map(ctx *c, const yaml_node_t *n, const char *what)
{
    if (!n || n->type != YAML_MAPPING_NODE)
        return err(c, n, "%s must be a mapping (key: value lines)", what);
    return PITH_OK;
}

#define FOR_PAIRS(map, p) \
    for (yaml_node_pair_t *p = (map)->data.mapping.pairs.start; p < (map)->data.mapping.pairs.top; p++)

/* ------------------------------------------------------------------ sections */

static const char *const dataset_keys = "path, mean, std, subset, val, augment";

static int parse_dataset(ctx *c, yaml_node_t *m, exp_config *cfg)
{
    int rc = need_map(c, m, "dataset");
    if (rc)
        return rc;
    FOR_PAIRS(m, p)
    {
        yaml_node_t *k = get(c, p->key), *v = get(c, p->value);
        const char *key = scalar(k) ? scalar(k) : "";
        if (!strcmp(key, "path"))
            rc = get_str(c, v, "dataset.path", cfg->data_dir, sizeof cfg->data_dir);
        else if (!strcmp(key, "mean"))
            rc = get_float(c, v, "dataset.mean", -1e6, 1e6, 0, &cfg->mean);
        else if (!strcmp(key, "std"))
            rc = get_float(c, v, "dataset.std", 0, 1e6, 1, &cfg->std);
        else if (!strcmp(key, "subset"))
            rc = get_int(c, v, "dataset.subset", 0, 1 << 30, &cfg->subset);
        else if (!strcmp(key, "val"))
            rc = get_int(c, v, "dataset.val", 0, 1 << 30, &cfg->val);
        else if (!strcmp(key, "augment")) {
            rc = need_map(c, v, "dataset.augment");
            if (!rc)
                FOR_PAIRS(v, q)
                {
                    yaml_node_t *k2 = get(c, q->key), *v2 = get(c, q->value);
                    const char *key2 = scalar(k2) ? scalar(k2) : "";
                    if (!strcmp(key2, "crop_pad"))
                        rc = get_int(c, v2, "dataset.augment.crop_pad", 0, 64, &cfg->aug.crop_pad);
                    else if (!strcmp(key2, "hflip"))
                        rc = get_bool(c, v2, "dataset.augment.hflip", &cfg->aug.hflip);
                    else
                        rc = unknown(c, k2, "dataset.augment", "crop_pad, hflip");
                    if (rc)
                        return rc;
                }
        } else
            rc = unknown(c, k, "dataset", dataset_keys);
        if (rc)
            return rc;
    }
    return PITH_OK;
}

static const char *const train_keys =
    "epochs, batch, lr, min_lr, schedule, step_epochs, gamma, warmup, optimizer, momentum, nesterov, "
    "weight_decay, label_smoothing, bn_l1";

static int parse_train(ctx *c, yaml_node_t *m, exp_stage *s)
{
    pith_train_config *t = &s->train;
    *t = pith_train_defaults();
    if (is_empty(m))
        return PITH_OK;
    int rc = need_map(c, m, "the train stage");
    if (rc)
        return rc;
    int wd_set = 0;
    float wd = 0.0f;
    FOR_PAIRS(m, p)
    {
        yaml_node_t *k = get(c, p->key), *v = get(c, p->value);
        const char *key = scalar(k) ? scalar(k) : "";
        char name[16];
        if (!strcmp(key, "epochs"))
            rc = get_int(c, v, "train.epochs", 1, PITH_MAX_EPOCHS, &t->epochs);
        else if (!strcmp(key, "batch"))
            rc = get_int(c, v, "train.batch", 1, 65536, &t->batch);
        else if (!strcmp(key, "lr"))
            rc = get_float(c, v, "train.lr", 0, 100, 1, &t->lr);
        else if (!strcmp(key, "min_lr"))
            rc = get_float(c, v, "train.min_lr", 0, 100, 0, &t->min_lr);
        else if (!strcmp(key, "schedule")) {
            rc = get_str(c, v, "train.schedule", name, sizeof name);
            if (!rc && pith_sched_parse(name, &t->sched))
                rc = err(c, v, "train.schedule: '%s' (allowed: constant, step, cosine)", name);
        } else if (!strcmp(key, "step_epochs"))
            rc = get_int(c, v, "train.step_epochs", 1, PITH_MAX_EPOCHS, &t->step_epochs);
        else if (!strcmp(key, "gamma"))
            rc = get_float(c, v, "train.gamma", 0, 1000, 1, &t->gamma);
        else if (!strcmp(key, "warmup"))
            rc = get_int(c, v, "train.warmup", 0, PITH_MAX_EPOCHS, &t->warmup_epochs);
        else if (!strcmp(key, "optimizer")) {
            pith_optim_kind kind;
            rc = get_str(c, v, "train.optimizer", name, sizeof name);
            if (!rc && pith_optim_parse(name, &kind))
                rc = err(c, v, "train.optimizer: '%s' (allowed: sgd, adamw)", name);
            if (!rc) {
                float mom = t->optim.momentum;
                int nest = t->optim.nesterov;
                t->optim = pith_optim_defaults(kind);
                if (kind == PITH_OPTIM_SGD) {
                    t->optim.momentum = mom;
                    t->optim.nesterov = nest;
                }
            }
        } else if (!strcmp(key, "momentum"))
            rc = get_float(c, v, "train.momentum", 0, 0.999999, 0, &t->optim.momentum);
        else if (!strcmp(key, "nesterov"))
            rc = get_bool(c, v, "train.nesterov", &t->optim.nesterov);
        else if (!strcmp(key, "weight_decay")) {
            rc = get_float(c, v, "train.weight_decay", 0, 10, 0, &wd);
            wd_set = 1;
        } else if (!strcmp(key, "label_smoothing"))
            rc = get_float(c, v, "train.label_smoothing", 0, 0.999, 0, &t->label_smoothing);
        else if (!strcmp(key, "bn_l1"))
            rc = get_float(c, v, "train.bn_l1", 0, 0.999, 0, &t->bn_l1);
        else if (s->kind == STAGE_DISTILL && !strcmp(key, "teacher"))
            rc = get_str(c, v, "distill.teacher", s->teacher, sizeof s->teacher);
        else if (s->kind == STAGE_DISTILL && !strcmp(key, "T"))
            rc = get_float(c, v, "distill.T", 0, 100, 1, &s->kd_T);
        else if (s->kind == STAGE_DISTILL && !strcmp(key, "alpha"))
            rc = get_float(c, v, "distill.alpha", 0, 1, 0, &s->kd_alpha);
        else
            rc = unknown(c, k, s->kind == STAGE_DISTILL ? "the distill stage (teacher, T, alpha and the train keys)"
                                                        : "the train stage",
                         train_keys);
        if (rc)
            return rc;
    }
    if (wd_set)
        t->optim.weight_decay = wd;
    if (t->optim.nesterov && t->optim.kind != PITH_OPTIM_SGD)
        return err(c, m, "train.nesterov applies to optimizer sgd only");
    if (pith_train_config_check(t)) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", pith_last_error());
        return err(c, m, "train: %s", msg);
    }
    return PITH_OK;
}

static int parse_eval(ctx *c, yaml_node_t *m, exp_stage *s)
{
    s->batch = 500;
    if (is_empty(m))
        return PITH_OK;
    int rc = need_map(c, m, "the eval stage");
    if (rc)
        return rc;
    FOR_PAIRS(m, p)
    {
        yaml_node_t *k = get(c, p->key), *v = get(c, p->value);
        if (!strcmp(scalar(k) ? scalar(k) : "", "batch"))
            rc = get_int(c, v, "eval.batch", 1, 65536, &s->batch);
        else
            rc = unknown(c, k, "the eval stage", "batch");
        if (rc)
            return rc;
    }
    return PITH_OK;
}

static const char *const quantize_keys =
    "method, bits, wbits, abits, granularity, group, weights_symmetric, acts_symmetric, observer, "
    "percentile, wobserver, calib, mode, fold_bn, freeze_bn, lsq, stochastic, keep_ends, kmeans_init, epochs, lr, plan";

/* The quantize stage: the options of `pith quantize`, as keys. */
static int parse_quantize(ctx *c, yaml_node_t *m, exp_stage *s)
{
    quant_job *j = &s->quant;
    quant_job_defaults(j);
    int rc = is_empty(m) ? PITH_OK : need_map(c, m, "the quantize stage");
    int bits = 0, wbits = 0, abits = 0, wobs_given = 0, b;
    char str[64];
    static const struct { const char *name; pith_wq_kind kind; int train; } methods[] = {
        {"ptq", PITH_WQ_UNIFORM, 0}, {"qat", PITH_WQ_UNIFORM, 1}, {"kmeans", PITH_WQ_KMEANS, 1},
        {"ternary", PITH_WQ_TERNARY, 1}, {"binary", PITH_WQ_BINARY, 1}};
    for (yaml_node_pair_t *p = is_empty(m) ? NULL : m->data.mapping.pairs.start;
         !rc && p && p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = get(c, p->key), *v = get(c, p->value);
        const char *key = scalar(k) ? scalar(k) : "";
        if (!strcmp(key, "method")) {
            rc = get_str(c, v, "quantize.method", str, sizeof str);
            size_t i = 0;
            for (; !rc && i < sizeof methods / sizeof *methods && strcmp(str, methods[i].name); i++)
                ;
            if (!rc && i == sizeof methods / sizeof *methods)
                rc = err(c, v, "quantize.method: '%s' (ptq, qat, kmeans, ternary, binary)", str);
            if (!rc) {
                snprintf(j->method, sizeof j->method, "%.15s", str);
                j->q.method = methods[i].kind;
                j->train = methods[i].train;
            }
        } else if (!strcmp(key, "bits")) {
            rc = get_int(c, v, "quantize.bits", 1, 16, &bits);
        } else if (!strcmp(key, "wbits")) {
            rc = get_int(c, v, "quantize.wbits", 1, 16, &wbits);
        } else if (!strcmp(key, "abits")) {
            rc = get_int(c, v, "quantize.abits", 2, 16, &abits);
        } else if (!strcmp(key, "granularity")) {
            rc = get_str(c, v, "quantize.granularity", str, sizeof str);
            if (!rc && !strcmp(str, "tensor"))
                j->q.w.gran = PITH_QGRAN_TENSOR;
            else if (!rc && !strcmp(str, "channel"))
                j->q.w.gran = PITH_QGRAN_CHANNEL;
            else if (!rc && !strcmp(str, "group"))
                j->q.w.gran = PITH_QGRAN_GROUP;
            else if (!rc)
                rc = err(c, v, "quantize.granularity: '%s' (tensor, channel, group)", str);
        } else if (!strcmp(key, "group")) {
            rc = get_int(c, v, "quantize.group", 1, 1 << 20, &j->q.w.group);
        } else if (!strcmp(key, "weights_symmetric")) {
            rc = get_bool(c, v, "quantize.weights_symmetric", &b);
            j->q.w.symmetric = j->q.w.narrow = b;
        } else if (!strcmp(key, "acts_symmetric")) {
            rc = get_bool(c, v, "quantize.acts_symmetric", &j->q.a.symmetric);
        } else if (!strcmp(key, "observer") || !strcmp(key, "wobserver")) {
            int w = key[0] == 'w';
            rc = get_str(c, v, w ? "quantize.wobserver" : "quantize.observer", str, sizeof str);
            if (!rc && pith_observer_parse(str, w ? &j->q.w_obs : &j->a_obs))
                rc = err(c, v, "quantize.%s: %s", key, pith_last_error());
            if (!rc && w && j->q.w_obs != PITH_OBS_MINMAX && j->q.w_obs != PITH_OBS_MSE)
                rc = err(c, v, "quantize.wobserver: minmax or mse");
            wobs_given |= w;
        } else if (!strcmp(key, "percentile")) {
            rc = get_float(c, v, "quantize.percentile", 50.0, 100.0, 0, &j->pct);
        } else if (!strcmp(key, "calib")) {
            rc = get_int(c, v, "quantize.calib", 1, 1 << 24, &j->calib);
        } else if (!strcmp(key, "mode")) {
            rc = get_str(c, v, "quantize.mode", str, sizeof str);
            if (!rc && !strcmp(str, "float-io"))
                j->q.io = PITH_QIO_FLOAT;
            else if (!rc && !strcmp(str, "int8-io"))
                j->q.io = PITH_QIO_INT8;
            else if (!rc && !strcmp(str, "weight-only"))
                j->q.io = PITH_QIO_WEIGHT_ONLY;
            else if (!rc)
                rc = err(c, v, "quantize.mode: '%s' (float-io, int8-io, weight-only)", str);
            j->mode_given = 1;
        } else if (!strcmp(key, "fold_bn")) {
            rc = get_bool(c, v, "quantize.fold_bn", &j->q.fold_bn);
        } else if (!strcmp(key, "freeze_bn")) {
            rc = get_int(c, v, "quantize.freeze_bn", 0, PITH_MAX_EPOCHS, &j->freeze_bn);
        } else if (!strcmp(key, "lsq")) {
            rc = get_bool(c, v, "quantize.lsq", &j->q.lsq);
        } else if (!strcmp(key, "stochastic")) {
            rc = get_bool(c, v, "quantize.stochastic", &b);
            j->q.w.round = j->q.a.round = b ? PITH_QROUND_STOCHASTIC : PITH_QROUND_EVEN;
        } else if (!strcmp(key, "keep_ends")) {
            rc = get_bool(c, v, "quantize.keep_ends", &j->q.keep_ends);
        } else if (!strcmp(key, "kmeans_init")) {
            rc = get_str(c, v, "quantize.kmeans_init", str, sizeof str);
            if (!rc && pith_kmeans_init_parse(str, &j->q.km_init))
                rc = err(c, v, "quantize.kmeans_init: %s", pith_last_error());
        } else if (!strcmp(key, "epochs")) {
            rc = get_int(c, v, "quantize.epochs", 0, PITH_MAX_EPOCHS, &j->epochs);
        } else if (!strcmp(key, "lr")) {
            rc = get_float(c, v, "quantize.lr", 0.0, 10.0, 1, &j->lr);
        } else if (!strcmp(key, "plan")) {
            rc = get_str(c, v, "quantize.plan", j->plan, sizeof j->plan);
        } else {
            rc = unknown(c, k, "the quantize stage", quantize_keys);
        }
    }
    if (rc)
        return rc;
    if (bits)
        j->q.w.bits = j->q.a.bits = bits;
    if (wbits)
        j->q.w.bits = wbits;
    if (abits)
        j->q.a.bits = abits;
    if (!wobs_given)
        j->q.w_obs = j->q.w.bits < 8 ? PITH_OBS_MSE : PITH_OBS_MINMAX;
    if (j->q.w.gran == PITH_QGRAN_GROUP && j->q.w.group < 1)
        return err(c, m, "quantize: granularity group needs 'group: N'");
    if (quant_job_finish(j))
        return err(c, m, "quantize: %s", pith_last_error());
    return PITH_OK;
}

/* The prune stage: structured (criterion, ratio) or magnitude (sparsity, granularity). */
static int parse_prune(ctx *c, yaml_node_t *m, exp_stage *s)
{
    s->prune_criterion = PITH_CRIT_L1;
    s->prune_ratio = 0.5f;
    s->prune_sparsity = 0.5f;
    s->prune_granularity = PITH_PRUNE_ELEMENT;
    int rc = is_empty(m) ? PITH_OK : need_map(c, m, "the prune stage");
    char str[32];
    for (yaml_node_pair_t *p = is_empty(m) ? NULL : m->data.mapping.pairs.start; !rc && p && p < m->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = get(c, p->key), *v = get(c, p->value);
        const char *key = scalar(k) ? scalar(k) : "";
        if (!strcmp(key, "method")) {
            rc = get_str(c, v, "prune.method", str, sizeof str);
            if (!rc && strcmp(str, "structured") && strcmp(str, "magnitude"))
                rc = err(c, v, "prune.method: '%s' (structured, magnitude)", str);
            s->prune_magnitude = !rc && !strcmp(str, "magnitude");
        } else if (!strcmp(key, "criterion")) {
            pith_prune_criterion cr;
            rc = get_str(c, v, "prune.criterion", str, sizeof str);
            if (!rc && pith_prune_criterion_parse(str, &cr))
                rc = err(c, v, "prune.criterion: %s", pith_last_error());
            s->prune_criterion = (int)cr;
        } else if (!strcmp(key, "ratio")) {
            rc = get_float(c, v, "prune.ratio", 0.0, 0.999, 0, &s->prune_ratio);
        } else if (!strcmp(key, "sparsity")) {
            rc = get_float(c, v, "prune.sparsity", 0.0, 0.999, 0, &s->prune_sparsity);
        } else if (!strcmp(key, "granularity")) {
            pith_prune_gran gr;
            rc = get_str(c, v, "prune.granularity", str, sizeof str);
            if (!rc && pith_prune_gran_parse(str, &gr))
                rc = err(c, v, "prune.granularity: %s", pith_last_error());
            s->prune_granularity = (int)gr;
        } else {
            rc = unknown(c, k, "the prune stage", "method, criterion, ratio, sparsity, granularity");
        }
    }
    return rc;
}

static int parse_lowrank(ctx *c, yaml_node_t *m, exp_stage *s)
{
    int rc = need_map(c, m, "the lowrank stage"), rules = 0;
    for (yaml_node_pair_t *p = rc ? NULL : m->data.mapping.pairs.start; !rc && p && p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = get(c, p->key), *v = get(c, p->value);
        const char *key = scalar(k) ? scalar(k) : "";
        if (!strcmp(key, "rank")) {
            rc = get_int(c, v, "lowrank.rank", 1, 1 << 20, &s->lr_rank);
            rules++;
        } else if (!strcmp(key, "energy")) {
            rc = get_float(c, v, "lowrank.energy", 0, 1, 1, &s->lr_energy);
            rules++;
        } else if (!strcmp(key, "macs_ratio")) {
            rc = get_float(c, v, "lowrank.macs_ratio", 0, 0.999999, 1, &s->lr_macs_ratio);
            rules++;
        } else if (!strcmp(key, "layers")) {
            rc = get_str(c, v, "lowrank.layers", s->lr_layers, sizeof s->lr_layers);
        } else {
            rc = unknown(c, k, "the lowrank stage", "rank, energy, macs_ratio, layers");
        }
    }
    if (!rc && rules != 1)
        rc = err(c, m, "the lowrank stage takes exactly one of rank, energy, macs_ratio");
    return rc;
}

static const char *const stage_names = "train, eval, quantize, prune, finetune, distill, lowrank";
static const char *const future_stages[] = {"export", "bench", NULL};

static yaml_node_pair_t *find_pair(ctx *c, yaml_node_t *map, const char *key);

static int parse_stages(ctx *c, yaml_node_t *seq, exp_config *cfg)
{
    if (!seq || seq->type != YAML_SEQUENCE_NODE || seq->data.sequence.items.top == seq->data.sequence.items.start)
        return err(c, seq, "stages must be a non-empty list (e.g. '- train: {epochs: 5}')");
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        yaml_node_t *st = get(c, *it);
        const char *bare = scalar(st);
        yaml_node_t *name = st, *params = NULL;
        if (!bare) {
            if (st->type != YAML_MAPPING_NODE || st->data.mapping.pairs.top - st->data.mapping.pairs.start != 1)
                return err(c, st, "each stage is one 'name: {parameters}' entry");
            name = get(c, st->data.mapping.pairs.start->key);
            params = get(c, st->data.mapping.pairs.start->value);
        }
        const char *n = scalar(name) ? scalar(name) : "";
        if (cfg->n_stages == EXP_MAX_STAGES)
            return err(c, st, "more than %d stages", EXP_MAX_STAGES);
        exp_stage *s = &cfg->stages[cfg->n_stages++];
        memset(s, 0, sizeof *s);
        s->line = line_of(st);
        int rc;
        if (!strcmp(n, "train")) {
            s->kind = STAGE_TRAIN;
            rc = parse_train(c, params, s);
        } else if (!strcmp(n, "eval")) {
            s->kind = STAGE_EVAL;
            rc = parse_eval(c, params, s);
        } else if (!strcmp(n, "quantize")) {
            s->kind = STAGE_QUANTIZE;
            rc = parse_quantize(c, params, s);
        } else if (!strcmp(n, "prune")) {
            s->kind = STAGE_PRUNE;
            rc = parse_prune(c, params, s);
        } else if (!strcmp(n, "distill")) {
            s->kind = STAGE_DISTILL;
            s->kd_T = 4.0f;
            s->kd_alpha = 0.9f;
            rc = parse_train(c, params, s);
            if (!rc && !s->teacher[0])
                rc = err(c, st, "the distill stage needs 'teacher: CHECKPOINT'");
        } else if (!strcmp(n, "lowrank")) {
            s->kind = STAGE_LOWRANK;
            rc = parse_lowrank(c, params, s);
        } else if (!strcmp(n, "finetune")) {
            /* training of the model as it stands, with fine-tuning defaults */
            s->kind = STAGE_FINETUNE;
            rc = parse_train(c, params, s);
            if (!rc && !(params && params->type == YAML_MAPPING_NODE && find_pair(c, params, "epochs")))
                s->train.epochs = 3;
            if (!rc && !(params && params->type == YAML_MAPPING_NODE && find_pair(c, params, "lr")))
                s->train.lr = 0.005f;
        } else {
            for (int f = 0; future_stages[f]; f++)
                if (!strcmp(n, future_stages[f]))
                    return err(c, name, "stage '%s' is not available yet in this pith (it runs: %s)", n,
                               stage_names);
            return err(c, name, "unknown stage '%s' (stages: %s; later: export, bench)",
                       n, stage_names);
        }
        if (rc)
            return rc;
    }
    return PITH_OK;
}

static const char *const layer_keys =
    "op, name, inputs, out, kernel, stride, padding, dilation, groups, bias, p, eps, momentum";

static int parse_layer(ctx *c, yaml_node_t *m, exp_layer *l)
{
    memset(l, 0, sizeof *l);
    l->line = line_of(m);
    l->a.sh = l->a.sw = l->a.dh = l->a.dw = l->a.groups = 1;
    l->a.eps = 1e-5f;
    l->a.momentum = 0.1f;
    int rc = need_map(c, m, "a layer");
    if (rc)
        return rc;
    int has_kernel = 0, has_stride = 0;
    FOR_PAIRS(m, p)
    {
        yaml_node_t *k = get(c, p->key), *v = get(c, p->value);
        const char *key = scalar(k) ? scalar(k) : "";
        if (!strcmp(key, "op")) {
            rc = get_str(c, v, "op", l->op, sizeof l->op);
            if (!rc && (!pith_op_find(l->op) || pith_op_find(l->op) == &pith_op_input)) {
                char list[256] = "";
                const pith_op *const *ops = pith_op_all();
                for (int i = 1; ops[i]; i++) {
                    strncat(list, i > 1 ? ", " : "", sizeof list - strlen(list) - 1);
                    strncat(list, ops[i]->name, sizeof list - strlen(list) - 1);
                }
                rc = err(c, v, "op: unknown op '%s' (allowed: %s)", l->op, list);
            }
        } else if (!strcmp(key, "name"))
            rc = get_str(c, v, "name", l->name, sizeof l->name);
        else if (!strcmp(key, "inputs")) {
            if (v->type == YAML_SCALAR_NODE) {
                rc = get_str(c, v, "inputs", l->inputs[0], sizeof l->inputs[0]);
                l->n_inputs = 1;
            } else if (v->type == YAML_SEQUENCE_NODE) {
                for (yaml_node_item_t *it = v->data.sequence.items.start;
                     it < v->data.sequence.items.top && !rc; it++) {
                    if (l->n_inputs == PITH_MAX_INPUTS)
                        rc = err(c, v, "inputs: at most %d", PITH_MAX_INPUTS);
                    else
                        rc = get_str(c, get(c, *it), "inputs", l->inputs[l->n_inputs++],
                                     sizeof l->inputs[0]);
                }
            } else
                rc = err(c, v, "inputs: expected a layer name or a list of names");
        } else if (!strcmp(key, "out"))
            rc = get_int(c, v, "out", 1, 1 << 20, &l->a.out);
        else if (!strcmp(key, "kernel")) {
            rc = get_pair(c, v, "kernel", 1, &l->a.kh, &l->a.kw);
            has_kernel = 1;
        } else if (!strcmp(key, "stride")) {
            rc = get_pair(c, v, "stride", 1, &l->a.sh, &l->a.sw);
            has_stride = 1;
        } else if (!strcmp(key, "padding"))
            rc = get_pair(c, v, "padding", 0, &l->a.ph, &l->a.pw);
        else if (!strcmp(key, "dilation"))
            rc = get_pair(c, v, "dilation", 1, &l->a.dh, &l->a.dw);
        else if (!strcmp(key, "groups"))
            rc = get_int(c, v, "groups", 1, 1 << 20, &l->a.groups);
        else if (!strcmp(key, "bias"))
            rc = get_bool(c, v, "bias", &l->a.bias);
        else if (!strcmp(key, "p"))
            rc = get_float(c, v, "p", 0, 0.999, 0, &l->a.p);
        else if (!strcmp(key, "eps"))
            rc = get_float(c, v, "eps", 0, 1, 1, &l->a.eps);
        else if (!strcmp(key, "momentum"))
            rc = get_float(c, v, "momentum", 0, 1, 0, &l->a.momentum);
        else
            rc = unknown(c, k, "a layer", layer_keys);
        if (rc)
            return rc;
    }
    if (!l->op[0])
        return err(c, m, "a layer needs 'op'");
    if (!l->name[0])
        return err(c, m, "a layer needs 'name'");
    /* pooling stride defaults to its kernel, as in PyTorch */
    if (has_kernel && !has_stride && (pith_op_find(l->op) == &pith_op_maxpool || pith_op_find(l->op) == &pith_op_avgpool)) {
        l->a.sh = l->a.kh;
        l->a.sw = l->a.kw;
    }
    return PITH_OK;
}

static int parse_model(ctx *c, yaml_node_t *v, exp_config *cfg)
{
    if (scalar(v)) {
        int rc = get_str(c, v, "model", cfg->model, sizeof cfg->model);
        if (rc)
            return rc;
        for (int i = 0; pith_zoo[i].name; i++)
            if (!strcmp(pith_zoo[i].name, cfg->model))
                return PITH_OK;
        char list[256] = "";
        for (int i = 0; pith_zoo[i].name; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, pith_zoo[i].name, sizeof list - strlen(list) - 1);
        }
        return err(c, v, "model: unknown zoo model '%s' (allowed: %s, or a list of layers)", cfg->model,
                   list);
    }
    if (v->type != YAML_SEQUENCE_NODE)
        return err(c, v, "model: expected a zoo name or a list of layers");
    int n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n < 1 || n > EXP_MAX_LAYERS)
        return err(c, v, "model: 1 to %d layers", EXP_MAX_LAYERS);
    cfg->layers = calloc((size_t)n, sizeof *cfg->layers);
    if (!cfg->layers)
        return pith_error(PITH_ENOMEM, "out of memory");
    snprintf(cfg->model, sizeof cfg->model, "custom");
    for (int i = 0; i < n; i++) {
        int rc = parse_layer(c, get(c, v->data.sequence.items.start[i]), &cfg->layers[i]);
        if (rc)
            return rc;
        cfg->n_layers++;
    }
    return PITH_OK;
}

static const char *const root_keys = "experiment, seed, dataset, model, stages";

/* FNV-1a over a canonical form of a node: scalars, [items], {key:value}. */
static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t node_key(ctx *c, const yaml_node_t *n, uint64_t h, int depth)
{
    if (!n || depth > 64)
        return fnv(h, "~", 1);
    if (n->type == YAML_SCALAR_NODE)
        return fnv(fnv(h, "'", 1), (const char *)n->data.scalar.value, n->data.scalar.length);
    if (n->type == YAML_SEQUENCE_NODE) {
        h = fnv(h, "[", 1);
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
            h = fnv(node_key(c, get(c, *it), h, depth + 1), ",", 1);
        return fnv(h, "]", 1);
    }
    h = fnv(h, "{", 1);
    FOR_PAIRS(n, p)
    {
        h = fnv(node_key(c, get(c, p->key), h, depth + 1), ":", 1);
        h = fnv(node_key(c, get(c, p->value), h, depth + 1), ",", 1);
    }
    return fnv(h, "}", 1);
}

/* stages[i].prefix_key identifies everything that determines the model after
 * stage i: every root key but `stages` (seed, dataset, model, ...) and
 * stages 0..i. pith run reuses a stage's checkpoint across runs that share it. */
static void prefix_keys(ctx *c, yaml_node_t *root, yaml_node_t *stages, exp_config *cfg)
{
    uint64_t h = 0xcbf29ce484222325ull;
    FOR_PAIRS(root, p)
    {
        const char *key = scalar(get(c, p->key));
        if (key && !strcmp(key, "stages"))
            continue;
        h = fnv(node_key(c, get(c, p->key), h, 0), ":", 1);
        h = fnv(node_key(c, get(c, p->value), h, 0), ";", 1);
    }
    int i = 0;
    for (yaml_node_item_t *it = stages->data.sequence.items.start;
         it < stages->data.sequence.items.top && i < cfg->n_stages; it++, i++) {
        h = fnv(node_key(c, get(c, *it), h, 0), ";", 1);
        cfg->stages[i].prefix_key = h;
    }
}

static int parse_root(ctx *c, exp_config *cfg)
{
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (!root)
        return pith_error(PITH_EINVAL, "%s: empty config", c->path);
    int rc = need_map(c, root, "the config");
    if (rc)
        return rc;
    yaml_node_t *stages = NULL, *model = NULL;
    int has_name = 0;
    FOR_PAIRS(root, p)
    {
        yaml_node_t *k = get(c, p->key), *v = get(c, p->value);
        const char *key = scalar(k) ? scalar(k) : "";
        if (!strcmp(key, "experiment")) {
            rc = get_str(c, v, "experiment", cfg->name, sizeof cfg->name);
            if (!rc && strspn(cfg->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
                           strlen(cfg->name))
                rc = err(c, v, "experiment: use letters, digits, '-', '_' and '.' only (it names a folder)");
            has_name = 1;
        } else if (!strcmp(key, "seed"))
            rc = get_u64(c, v, "seed", &cfg->seed);
        else if (!strcmp(key, "dataset"))
            rc = parse_dataset(c, v, cfg);
        else if (!strcmp(key, "model"))
            model = v;
        else if (!strcmp(key, "stages"))
            stages = v;
        else
            rc = unknown(c, k, "the config", root_keys);
        if (rc)
            return rc;
    }
    if (!has_name)
        return err(c, root, "missing required key 'experiment' (a name for the runs folder)");
    if (!model)
        return err(c, root, "missing required key 'model' (a zoo name or a list of layers)");
    if (!stages)
        return err(c, root, "missing required key 'stages'");
    rc = parse_model(c, model, cfg);
    if (!rc)
        rc = parse_stages(c, stages, cfg);
    if (!rc)
        prefix_keys(c, root, stages, cfg);
    return rc;
}

/* ---------------------------------------------------------------- overrides */

static yaml_node_pair_t *find_pair(ctx *c, yaml_node_t *map, const char *key)
{
    FOR_PAIRS(map, p)
    if (scalar(get(c, p->key)) && !strcmp(scalar(get(c, p->key)), key))
        return p;
    return NULL;
}

static int new_scalar(ctx *c, const char *v)
{
    return yaml_document_add_scalar(c->doc, NULL, (yaml_char_t *)v, (int)strlen(v), YAML_ANY_SCALAR_STYLE);
}

/* Applies "a.b.c=value". */
static int apply_set(ctx *c, const char *set)
{
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return pith_error(PITH_EINVAL, "--set %s: expected key=value", set);
    char path[256];
    snprintf(path, sizeof path, "%.*s", (int)(eq - set), set);
    const char *value = eq + 1;
    int cur = 1; /* root node id */
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return pith_error(PITH_EINVAL, "--set %s: the config is not a mapping", set);
    char *save = NULL;
    for (char *k = strtok_r(path, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        int last = save == NULL || *save == '\0';
        yaml_node_t *n = get(c, cur);
        if (n->type == YAML_SEQUENCE_NODE) {
            char *end;
            long i = strtol(k, &end, 10);
            long len = n->data.sequence.items.top - n->data.sequence.items.start;
            if (*end || i < 0 || i >= len)
                return pith_error(PITH_EINVAL, "--set %s: '%s' is not an index of a %ld-item list", set, k, len);
            if (last) {
                n->data.sequence.items.start[i] = new_scalar(c, value);
                return PITH_OK;
            }
            cur = n->data.sequence.items.start[i];
            continue;
        }
        if (n->type != YAML_MAPPING_NODE)
            return pith_error(PITH_EINVAL, "--set %s: '%s' is below a plain value", set, k);
        yaml_node_pair_t *p = find_pair(c, n, k);
        if (!p && cur == 1) {
            /* a stage name: train.epochs reaches into the stages list */
            yaml_node_pair_t *sp = find_pair(c, n, "stages");
            yaml_node_t *seq = sp ? get(c, sp->value) : NULL;
            for (yaml_node_item_t *it = seq && seq->type == YAML_SEQUENCE_NODE ? seq->data.sequence.items.start : NULL;
                 it && it < seq->data.sequence.items.top && !p; it++) {
                yaml_node_t *st = get(c, *it);
                if (st->type == YAML_MAPPING_NODE)
                    p = find_pair(c, st, k);
            }
            if (p && !last && is_empty(get(c, p->value))) {
                int m = yaml_document_add_mapping(c->doc, NULL, YAML_BLOCK_MAPPING_STYLE);
                p->value = m;
            }
        }
        if (last) {
            if (p) {
                p->value = new_scalar(c, value);
            } else {
                int kid = new_scalar(c, k), vid = new_scalar(c, value);
                yaml_document_append_mapping_pair(c->doc, cur, kid, vid);
            }
            return PITH_OK;
        }
        if (!p) {
            int kid = new_scalar(c, k);
            int m = yaml_document_add_mapping(c->doc, NULL, YAML_BLOCK_MAPPING_STYLE);
            yaml_document_append_mapping_pair(c->doc, cur, kid, m);
            cur = m;
        } else {
            cur = p->value;
        }
    }
    return PITH_OK;
}

/* ------------------------------------------------------------------ loading */

typedef struct buf {
    char *s;
    size_t n, cap;
} buf;

static int write_buf(void *data, unsigned char *b, size_t size)
{
    buf *o = data;
    if (o->n + size + 1 > o->cap) {
        size_t cap = (o->cap + size + 1) * 2;
        char *s = realloc(o->s, cap);
        if (!s)
            return 0;
        o->s = s;
        o->cap = cap;
    }
    memcpy(o->s + o->n, b, size);
    o->n += size;
    o->s[o->n] = '\0';
    return 1;
}

/* Limits that no experiment config comes near. libyaml's loader takes time
 * that grows faster than linearly with nesting, so an absurd file is refused
 * by a cheap event scan before it is loaded. */
#define CONFIG_MAX_BYTES (1 << 20)
#define CONFIG_MAX_DEPTH 32

static int prescan(FILE *f, const char *path)
{
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        rewind(f);
        if (size > CONFIG_MAX_BYTES)
            return pith_error(PITH_EINVAL, "%s: %ld bytes; a config is at most %d", path, size,
                              CONFIG_MAX_BYTES);
    }
    yaml_parser_t parser;
    yaml_event_t ev;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int depth = 0, rc = PITH_OK;
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev))
            break; /* the loader reports syntax errors with their line */
        yaml_event_type_t t = ev.type;
        int line = (int)ev.start_mark.line + 1;
        yaml_event_delete(&ev);
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (++depth > CONFIG_MAX_DEPTH) {
                rc = pith_error(PITH_EINVAL, "%s:%d: nested deeper than %d levels", path, line,
                                CONFIG_MAX_DEPTH);
                break;
            }
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (t == YAML_STREAM_END_EVENT) {
            break;
        }
    }
    yaml_parser_delete(&parser);
    rewind(f);
    return rc;
}

int exp_config_load(const char *path, const char *const *sets, int n_sets, exp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", PITH_FMNIST_DIR);
    cfg->mean = PITH_FMNIST_MEAN;
    cfg->std = PITH_FMNIST_STD;
    cfg->seed = 1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot open", path);
    int rc = prescan(f, path);
    if (rc) {
        fclose(f);
        return rc;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int ok = yaml_parser_load(&parser, &doc);
    if (!ok)
        rc = pith_error(PITH_EINVAL, "%s:%d: YAML syntax error: %s", path, (int)parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "unknown");
    yaml_parser_delete(&parser);
    fclose(f);
    if (rc)
        return rc;
    ctx c = {path, &doc};
    for (int i = 0; i < n_sets && !rc; i++) {
        rc = apply_set(&c, sets[i]);
        if (!rc) {
            size_t o = strlen(cfg->knobs);
            snprintf(cfg->knobs + o, sizeof cfg->knobs - o, "%s%s", o ? ";" : "", sets[i]);
        }
    }
    if (!rc)
        rc = parse_root(&c, cfg);
    if (!rc) {
        /* the resolved config: what ran, and what its hash identifies */
        yaml_emitter_t em;
        buf out = {0};
        yaml_emitter_initialize(&em);
        yaml_emitter_set_output(&em, write_buf, &out);
        yaml_emitter_set_unicode(&em, 1);
        if (!yaml_emitter_open(&em) || !yaml_emitter_dump(&em, &doc) || !yaml_emitter_close(&em) || !out.s)
            rc = pith_error(PITH_EINVAL, "%s: cannot write the resolved config", path);
        else
            doc.nodes.start = NULL; /* dump took the document */
        yaml_emitter_delete(&em);
        cfg->resolved = out.s;
        uint64_t h = 0xcbf29ce484222325ull;
        for (size_t i = 0; out.s && i < out.n; i++)
            h = (h ^ (unsigned char)out.s[i]) * 0x100000001b3ull;
        cfg->hash = h;
        snprintf(cfg->run_id, sizeof cfg->run_id, "%010llx-s%llu", (unsigned long long)(h >> 24),
                 (unsigned long long)cfg->seed);
    }
    if (doc.nodes.start)
        yaml_document_delete(&doc);
    if (rc)
        exp_config_free(cfg);
    return rc;
}

void exp_config_free(exp_config *cfg)
{
    free(cfg->layers);
    free(cfg->resolved);
    cfg->layers = NULL;
    cfg->resolved = NULL;
    cfg->n_layers = 0;
}

void exp_stage_chain(const exp_config *cfg, char *b, size_t len)
{
    size_t o = 0;
    b[0] = '\0';
    for (int i = 0; i < cfg->n_stages && o + 1 < len; i++) {
        const exp_stage *st = &cfg->stages[i];
        char label[40] = "";
        if (st->kind == STAGE_QUANTIZE)
            quant_job_label(&st->quant, label, sizeof label);
        else if (st->kind == STAGE_PRUNE && st->prune_magnitude)
            snprintf(label, sizeof label, "magnitude-%g-%s", (double)st->prune_sparsity,
                     pith_prune_gran_name((pith_prune_gran)st->prune_granularity));
        else if (st->kind == STAGE_PRUNE)
            snprintf(label, sizeof label, "%s-%g", pith_prune_criterion_name((pith_prune_criterion)st->prune_criterion),
                     (double)st->prune_ratio);
        else if (st->kind == STAGE_DISTILL)
            snprintf(label, sizeof label, "T%g-a%g", (double)st->kd_T, (double)st->kd_alpha);
        else if (st->kind == STAGE_LOWRANK && st->lr_rank)
            snprintf(label, sizeof label, "rank%d", st->lr_rank);
        else if (st->kind == STAGE_LOWRANK)
            snprintf(label, sizeof label, "%s%g", st->lr_energy > 0 ? "energy" : "macs",
                     st->lr_energy > 0 ? (double)st->lr_energy : (double)st->lr_macs_ratio);
        static const char *kinds[] = {"train", "eval", "quantize", "prune", "finetune", "distill", "lowrank"};
        o += (size_t)snprintf(b + o, len - o, "%s%s%s%s%s", i ? ">" : "", kinds[st->kind], label[0] ? "(" : "", label,
                              label[0] ? ")" : "");
        if (o >= len)
            break;
    }
}

int exp_build_model(const exp_config *cfg, int c, int h, int w, int classes, pith_graph **out)
{
    if (!cfg->n_layers)
        return pith_zoo_build(cfg->model, c, h, w, classes, cfg->seed, out);
    pith_shape in = {3, {c, h, w}};
    pith_graph *g;
    int rc = pith_graph_create(&g, in, cfg->seed);
    int prev = 0;
    for (int i = 0; i < cfg->n_layers && !rc; i++) {
        const exp_layer *l = &cfg->layers[i];
        int ins[PITH_MAX_INPUTS], n = l->n_inputs ? l->n_inputs : 1;
        ins[0] = prev;
        for (int j = 0; j < l->n_inputs && !rc; j++) {
            ins[j] = pith_graph_find(g, l->inputs[j]);
            if (ins[j] < 0)
                rc = pith_error(PITH_EINVAL, "%s:%d: layer '%s': input '%s' is not an earlier layer",
                                cfg->path, l->line, l->name, l->inputs[j]);
        }
        int idx = rc ? rc : pith_graph_add(g, l->op, l->name, &l->a, ins, n);
        if (idx < 0 && !rc) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", pith_last_error());
            rc = pith_error(idx, "%s:%d: layer '%s': %s", cfg->path, l->line, l->name, msg);
        }
        prev = idx;
    }
    /* the last layer's width must be the number of classes */
    if (!rc) {
        const pith_shape *os = pith_graph_output_shape(g);
        if (os->ndim != 1 || os->d[0] != classes)
            rc = pith_error(PITH_ESHAPE, "%s: the model's last layer must output %d class scores",
                            cfg->path, classes);
    }
    if (rc) {
        pith_graph_free(g);
        return rc;
    }
    *out = g;
    return PITH_OK;
}
