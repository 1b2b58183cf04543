/* The stages of an experiment config: each stage's keys, checked, into an
 * exp_stage; and the stage chain the results table shows. */
#include <stdio.h>
#include <string.h>

#include "../core/error.h"
#include "../prune/prune.h"
#include "config_yaml.h"

static const char *const train_keys =
    "epochs, batch, lr, min_lr, schedule, step_epochs, gamma, warmup, optimizer, momentum, nesterov, "
    "weight_decay, label_smoothing, bn_l1";

static int parse_train(cy_ctx *c, yaml_node_t *m, exp_stage *s)
{
    pith_train_config *t = &s->train;
    *t = pith_train_defaults();
    if (cy_is_empty(m))
        return PITH_OK;
    int rc = cy_need_map(c, m, "the train stage");
    if (rc)
        return rc;
    int wd_set = 0;
    float wd = 0.0f;
    FOR_PAIRS(m, p)
    {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        char name[16];
        if (!strcmp(key, "epochs"))
            rc = cy_int(c, v, "train.epochs", 1, PITH_MAX_EPOCHS, &t->epochs);
        else if (!strcmp(key, "batch"))
            rc = cy_int(c, v, "train.batch", 1, 65536, &t->batch);
        else if (!strcmp(key, "lr"))
            rc = cy_float(c, v, "train.lr", 0, 100, 1, &t->lr);
        else if (!strcmp(key, "min_lr"))
            rc = cy_float(c, v, "train.min_lr", 0, 100, 0, &t->min_lr);
        else if (!strcmp(key, "schedule")) {
            rc = cy_str(c, v, "train.schedule", name, sizeof name);
            if (!rc && pith_sched_parse(name, &t->sched))
                rc = cy_err(c, v, "train.schedule: '%s' (allowed: constant, step, cosine)", name);
        } else if (!strcmp(key, "step_epochs"))
            rc = cy_int(c, v, "train.step_epochs", 1, PITH_MAX_EPOCHS, &t->step_epochs);
        else if (!strcmp(key, "gamma"))
            rc = cy_float(c, v, "train.gamma", 0, 1000, 1, &t->gamma);
        else if (!strcmp(key, "warmup"))
            rc = cy_int(c, v, "train.warmup", 0, PITH_MAX_EPOCHS, &t->warmup_epochs);
        else if (!strcmp(key, "optimizer")) {
            pith_optim_kind kind;
            rc = cy_str(c, v, "train.optimizer", name, sizeof name);
            if (!rc && pith_optim_parse(name, &kind))
                rc = cy_err(c, v, "train.optimizer: '%s' (allowed: sgd, adamw)", name);
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
            rc = cy_float(c, v, "train.momentum", 0, 0.999999, 0, &t->optim.momentum);
        else if (!strcmp(key, "nesterov"))
            rc = cy_bool(c, v, "train.nesterov", &t->optim.nesterov);
        else if (!strcmp(key, "weight_decay")) {
            rc = cy_float(c, v, "train.weight_decay", 0, 10, 0, &wd);
            wd_set = 1;
        } else if (!strcmp(key, "label_smoothing"))
            rc = cy_float(c, v, "train.label_smoothing", 0, 0.999, 0, &t->label_smoothing);
        else if (!strcmp(key, "bn_l1"))
            rc = cy_float(c, v, "train.bn_l1", 0, 0.999, 0, &t->bn_l1);
        else if (s->kind == STAGE_DISTILL && !strcmp(key, "teacher"))
            rc = cy_str(c, v, "distill.teacher", s->teacher, sizeof s->teacher);
        else if (s->kind == STAGE_DISTILL && !strcmp(key, "T"))
            rc = cy_float(c, v, "distill.T", 0, 100, 1, &s->kd_T);
        else if (s->kind == STAGE_DISTILL && !strcmp(key, "alpha"))
            rc = cy_float(c, v, "distill.alpha", 0, 1, 0, &s->kd_alpha);
        else
            rc = cy_unknown(c, k, s->kind == STAGE_DISTILL ? "the distill stage (teacher, T, alpha and the train keys)"
                                                        : "the train stage",
                         train_keys);
        if (rc)
            return rc;
    }
    if (wd_set)
        t->optim.weight_decay = wd;
    if (t->optim.nesterov && t->optim.kind != PITH_OPTIM_SGD)
        return cy_err(c, m, "train.nesterov applies to optimizer sgd only");
    if (pith_train_config_check(t)) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", pith_last_error());
        return cy_err(c, m, "train: %s", msg);
    }
    return PITH_OK;
}

static int parse_eval(cy_ctx *c, yaml_node_t *m, exp_stage *s)
{
    s->batch = 500;
    if (cy_is_empty(m))
        return PITH_OK;
    int rc = cy_need_map(c, m, "the eval stage");
    if (rc)
        return rc;
    FOR_PAIRS(m, p)
    {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        if (!strcmp(cy_scalar(k) ? cy_scalar(k) : "", "batch"))
            rc = cy_int(c, v, "eval.batch", 1, 65536, &s->batch);
        else
            rc = cy_unknown(c, k, "the eval stage", "batch");
        if (rc)
            return rc;
    }
    return PITH_OK;
}

static const char *const quantize_keys =
    "method, bits, wbits, abits, granularity, group, weights_symmetric, acts_symmetric, observer, "
    "percentile, wobserver, calib, mode, fold_bn, cle, freeze_bn, lsq, stochastic, keep_ends, kmeans_init, epochs, lr, plan";

/* The quantize stage: the options of `pith quantize`, as keys. */
static int parse_quantize(cy_ctx *c, yaml_node_t *m, exp_stage *s)
{
    quant_job *j = &s->quant;
    quant_job_defaults(j);
    int rc = cy_is_empty(m) ? PITH_OK : cy_need_map(c, m, "the quantize stage");
    int bits = 0, wbits = 0, abits = 0, wobs_given = 0, b;
    char str[64];
    static const struct { const char *name; pith_wq_kind kind; int train; } methods[] = {
        {"ptq", PITH_WQ_UNIFORM, 0}, {"qat", PITH_WQ_UNIFORM, 1}, {"kmeans", PITH_WQ_KMEANS, 1},
        {"ternary", PITH_WQ_TERNARY, 1}, {"binary", PITH_WQ_BINARY, 1}};
    for (yaml_node_pair_t *p = cy_is_empty(m) ? NULL : m->data.mapping.pairs.start;
         !rc && p && p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        if (!strcmp(key, "method")) {
            rc = cy_str(c, v, "quantize.method", str, sizeof str);
            size_t i = 0;
            for (; !rc && i < sizeof methods / sizeof *methods && strcmp(str, methods[i].name); i++)
                ;
            if (!rc && i == sizeof methods / sizeof *methods)
                rc = cy_err(c, v, "quantize.method: '%s' (ptq, qat, kmeans, ternary, binary)", str);
            if (!rc) {
                snprintf(j->method, sizeof j->method, "%.15s", str);
                j->q.method = methods[i].kind;
                j->train = methods[i].train;
            }
        } else if (!strcmp(key, "bits")) {
            rc = cy_int(c, v, "quantize.bits", 1, 16, &bits);
        } else if (!strcmp(key, "wbits")) {
            rc = cy_int(c, v, "quantize.wbits", 1, 16, &wbits);
        } else if (!strcmp(key, "abits")) {
            rc = cy_int(c, v, "quantize.abits", 2, 16, &abits);
        } else if (!strcmp(key, "granularity")) {
            rc = cy_str(c, v, "quantize.granularity", str, sizeof str);
            if (!rc && !strcmp(str, "tensor"))
                j->q.w.gran = PITH_QGRAN_TENSOR;
            else if (!rc && !strcmp(str, "channel"))
                j->q.w.gran = PITH_QGRAN_CHANNEL;
            else if (!rc && !strcmp(str, "group"))
                j->q.w.gran = PITH_QGRAN_GROUP;
            else if (!rc)
                rc = cy_err(c, v, "quantize.granularity: '%s' (tensor, channel, group)", str);
        } else if (!strcmp(key, "group")) {
            rc = cy_int(c, v, "quantize.group", 1, 1 << 20, &j->q.w.group);
        } else if (!strcmp(key, "weights_symmetric")) {
            rc = cy_bool(c, v, "quantize.weights_symmetric", &b);
            j->q.w.symmetric = j->q.w.narrow = b;
        } else if (!strcmp(key, "acts_symmetric")) {
            rc = cy_bool(c, v, "quantize.acts_symmetric", &j->q.a.symmetric);
        } else if (!strcmp(key, "observer") || !strcmp(key, "wobserver")) {
            int w = key[0] == 'w';
            rc = cy_str(c, v, w ? "quantize.wobserver" : "quantize.observer", str, sizeof str);
            if (!rc && pith_observer_parse(str, w ? &j->q.w_obs : &j->a_obs))
                rc = cy_err(c, v, "quantize.%s: %s", key, pith_last_error());
            if (!rc && w && j->q.w_obs != PITH_OBS_MINMAX && j->q.w_obs != PITH_OBS_MSE)
                rc = cy_err(c, v, "quantize.wobserver: minmax or mse");
            wobs_given |= w;
        } else if (!strcmp(key, "percentile")) {
            rc = cy_float(c, v, "quantize.percentile", 50.0, 100.0, 0, &j->pct);
        } else if (!strcmp(key, "calib")) {
            rc = cy_int(c, v, "quantize.calib", 1, 1 << 24, &j->calib);
        } else if (!strcmp(key, "mode")) {
            rc = cy_str(c, v, "quantize.mode", str, sizeof str);
            if (!rc && !strcmp(str, "float-io"))
                j->q.io = PITH_QIO_FLOAT;
            else if (!rc && !strcmp(str, "int8-io"))
                j->q.io = PITH_QIO_INT8;
            else if (!rc && !strcmp(str, "weight-only"))
                j->q.io = PITH_QIO_WEIGHT_ONLY;
            else if (!rc)
                rc = cy_err(c, v, "quantize.mode: '%s' (float-io, int8-io, weight-only)", str);
            j->mode_given = 1;
        } else if (!strcmp(key, "cle")) {
            rc = cy_bool(c, v, "quantize.cle", &j->q.cle);
        } else if (!strcmp(key, "fold_bn")) {
            rc = cy_bool(c, v, "quantize.fold_bn", &j->q.fold_bn);
        } else if (!strcmp(key, "freeze_bn")) {
            rc = cy_int(c, v, "quantize.freeze_bn", 0, PITH_MAX_EPOCHS, &j->freeze_bn);
        } else if (!strcmp(key, "lsq")) {
            rc = cy_bool(c, v, "quantize.lsq", &j->q.lsq);
        } else if (!strcmp(key, "stochastic")) {
            rc = cy_bool(c, v, "quantize.stochastic", &b);
            j->q.w.round = j->q.a.round = b ? PITH_QROUND_STOCHASTIC : PITH_QROUND_EVEN;
        } else if (!strcmp(key, "keep_ends")) {
            rc = cy_bool(c, v, "quantize.keep_ends", &j->q.keep_ends);
        } else if (!strcmp(key, "kmeans_init")) {
            rc = cy_str(c, v, "quantize.kmeans_init", str, sizeof str);
            if (!rc && pith_kmeans_init_parse(str, &j->q.km_init))
                rc = cy_err(c, v, "quantize.kmeans_init: %s", pith_last_error());
        } else if (!strcmp(key, "epochs")) {
            rc = cy_int(c, v, "quantize.epochs", 0, PITH_MAX_EPOCHS, &j->epochs);
        } else if (!strcmp(key, "lr")) {
            rc = cy_float(c, v, "quantize.lr", 0.0, 10.0, 1, &j->lr);
        } else if (!strcmp(key, "plan")) {
            rc = cy_str(c, v, "quantize.plan", j->plan, sizeof j->plan);
        } else {
            rc = cy_unknown(c, k, "the quantize stage", quantize_keys);
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
        return cy_err(c, m, "quantize: granularity group needs 'group: N'");
    if (quant_job_finish(j))
        return cy_err(c, m, "quantize: %s", pith_last_error());
    return PITH_OK;
}

/* The prune stage: structured (criterion, ratio) or magnitude (sparsity, granularity). */
static const char *const prune_keys =
    "method, criterion, ratio, taylor_images, sparsity, granularity, schedule, epochs, finetune, lr, seed";

/* The prune stage: the options of `pith prune`, as keys, with its defaults. */
static int parse_prune(cy_ctx *c, yaml_node_t *m, exp_stage *s)
{
    pith_prune_job *j = &s->prune;
    *j = pith_prune_job_defaults(0);
    int rc = cy_is_empty(m) ? PITH_OK : cy_need_map(c, m, "the prune stage"), epochs = -1;
    char str[32];
    for (yaml_node_pair_t *p = cy_is_empty(m) ? NULL : m->data.mapping.pairs.start; !rc && p && p < m->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        if (!strcmp(key, "method")) {
            rc = cy_str(c, v, "prune.method", str, sizeof str);
            if (!rc && strcmp(str, "structured") && strcmp(str, "magnitude"))
                rc = cy_err(c, v, "prune.method: '%s' (structured, magnitude)", str);
            j->magnitude = !rc && !strcmp(str, "magnitude");
        } else if (!strcmp(key, "criterion")) {
            rc = cy_str(c, v, "prune.criterion", str, sizeof str);
            if (!rc && pith_prune_criterion_parse(str, &j->criterion))
                rc = cy_err(c, v, "prune.criterion: %s", pith_last_error());
        } else if (!strcmp(key, "ratio")) {
            rc = cy_float(c, v, "prune.ratio", 0.0, 0.999, 0, &j->ratio);
        } else if (!strcmp(key, "taylor_images")) {
            rc = cy_int(c, v, "prune.taylor_images", 1, 1 << 24, &j->taylor_images);
        } else if (!strcmp(key, "sparsity")) {
            rc = cy_float(c, v, "prune.sparsity", 0.0, 0.999, 0, &j->sparsity);
        } else if (!strcmp(key, "granularity")) {
            rc = cy_str(c, v, "prune.granularity", str, sizeof str);
            if (!rc && pith_prune_gran_parse(str, &j->granularity))
                rc = cy_err(c, v, "prune.granularity: %s", pith_last_error());
        } else if (!strcmp(key, "schedule")) {
            rc = cy_str(c, v, "prune.schedule", str, sizeof str);
            if (!rc && pith_prune_schedule_parse(str, &j->schedule))
                rc = cy_err(c, v, "prune.schedule: %s", pith_last_error());
        } else if (!strcmp(key, "epochs") || !strcmp(key, "finetune")) {
            rc = cy_int(c, v, "prune.epochs", 0, PITH_MAX_EPOCHS, &epochs);
        } else if (!strcmp(key, "lr")) {
            rc = cy_float(c, v, "prune.lr", 0.0, 10.0, 1, &j->lr);
        } else if (!strcmp(key, "seed")) {
            rc = cy_u64(c, v, "prune.seed", &j->seed);
            s->prune_seed_given = 1;
        } else {
            rc = cy_unknown(c, k, "the prune stage", prune_keys);
        }
    }
    if (rc)
        return rc;
    j->epochs = epochs >= 0 ? epochs : j->magnitude ? 3 : 0;
    if (j->magnitude && j->sparsity < 0)
        return cy_err(c, m, "the prune stage with method magnitude needs 'sparsity' (the fraction of zero weights)");
    if (!j->magnitude && j->ratio < 0)
        return cy_err(c, m, "the prune stage needs 'ratio' (the fraction of channels to remove)");
    if (j->magnitude && j->schedule != PITH_PRUNE_ONESHOT && j->epochs < 1)
        return cy_err(c, m, "prune.schedule %s prunes while it trains: give epochs >= 1",
                      pith_prune_schedule_name(j->schedule));
    return PITH_OK;
}

static int parse_lowrank(cy_ctx *c, yaml_node_t *m, exp_stage *s)
{
    int rc = cy_need_map(c, m, "the lowrank stage"), rules = 0;
    for (yaml_node_pair_t *p = rc ? NULL : m->data.mapping.pairs.start; !rc && p && p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        if (!strcmp(key, "rank")) {
            rc = cy_int(c, v, "lowrank.rank", 1, 1 << 20, &s->lr_rank);
            rules++;
        } else if (!strcmp(key, "energy")) {
            rc = cy_float(c, v, "lowrank.energy", 0, 1, 1, &s->lr_energy);
            rules++;
        } else if (!strcmp(key, "macs_ratio")) {
            rc = cy_float(c, v, "lowrank.macs_ratio", 0, 0.999999, 1, &s->lr_macs_ratio);
            rules++;
        } else if (!strcmp(key, "layers")) {
            rc = cy_str(c, v, "lowrank.layers", s->lr_layers, sizeof s->lr_layers);
        } else if (!strcmp(key, "finetune")) {
            rc = cy_int(c, v, "lowrank.finetune", 0, PITH_MAX_EPOCHS, &s->lr_finetune);
        } else if (!strcmp(key, "lr")) {
            rc = cy_float(c, v, "lowrank.lr", 0.0, 10.0, 1, &s->lr_lr);
        } else {
            rc = cy_unknown(c, k, "the lowrank stage", "rank, energy, macs_ratio, layers, finetune, lr");
        }
    }
    if (!rc && rules != 1)
        rc = cy_err(c, m, "the lowrank stage takes exactly one of rank, energy, macs_ratio");
    return rc;
}

/* The export stage: the model as it stands into stageN-export.pith, with
 * pith export's option (with_golden, default off). */
static int parse_export(cy_ctx *c, yaml_node_t *m, exp_stage *s)
{
    if (cy_is_empty(m))
        return PITH_OK;
    int rc = cy_need_map(c, m, "the export stage");
    for (yaml_node_pair_t *p = rc ? NULL : m->data.mapping.pairs.start; !rc && p && p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        if (!strcmp(key, "with_golden"))
            rc = cy_bool(c, v, "export.with_golden", &s->golden);
        else
            rc = cy_unknown(c, k, "the export stage", "with_golden");
    }
    return rc;
}

/* The bench stage: the options of `pith bench`, as keys. */
static int parse_bench(cy_ctx *c, yaml_node_t *m, exp_stage *s)
{
    s->threads = 1;
    s->runs = 100;
    s->warmup = 10;
    if (cy_is_empty(m))
        return PITH_OK;
    int rc = cy_need_map(c, m, "the bench stage");
    for (yaml_node_pair_t *p = rc ? NULL : m->data.mapping.pairs.start; !rc && p && p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        if (!strcmp(key, "threads"))
            rc = cy_int(c, v, "bench.threads", 1, 256, &s->threads);
        else if (!strcmp(key, "runs"))
            rc = cy_int(c, v, "bench.runs", 1, 1000000, &s->runs);
        else if (!strcmp(key, "warmup"))
            rc = cy_int(c, v, "bench.warmup", 0, 1000000, &s->warmup);
        else if (!strcmp(key, "isa")) {
            rc = cy_str(c, v, "bench.isa", s->isa, sizeof s->isa);
            if (!rc && strcmp(s->isa, "ref") && strcmp(s->isa, "avx2") && strcmp(s->isa, "avx512") &&
                strcmp(s->isa, "neon") && strcmp(s->isa, "neondot"))
                rc = cy_err(c, v, "bench.isa: expected ref, avx2, avx512, neon or neondot, got '%s'", s->isa);
        } else
            rc = cy_unknown(c, k, "the bench stage", "threads, runs, warmup, isa");
    }
    return rc;
}

/* The sensitivity stage: pith sensitivity's options (ratios, criterion). */
static int parse_sensitivity(cy_ctx *c, yaml_node_t *m, exp_stage *s)
{
    s->sens_criterion = PITH_CRIT_L1;
    s->n_sens_ratios = 9;
    for (int i = 0; i < 9; i++)
        s->sens_ratios[i] = 0.1f * (float)(i + 1);
    if (cy_is_empty(m))
        return PITH_OK;
    int rc = cy_need_map(c, m, "the sensitivity stage");
    char str[256];
    for (yaml_node_pair_t *p = rc ? NULL : m->data.mapping.pairs.start; !rc && p && p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        if (!strcmp(key, "criterion")) {
            pith_prune_criterion cr;
            rc = cy_str(c, v, "sensitivity.criterion", str, sizeof str);
            if (!rc && pith_prune_criterion_parse(str, &cr))
                rc = cy_err(c, v, "sensitivity.criterion: %s", pith_last_error());
            s->sens_criterion = (int)cr;
        } else if (!strcmp(key, "ratios") && v && v->type == YAML_SEQUENCE_NODE) {
            s->n_sens_ratios = 0;
            for (yaml_node_item_t *it = v->data.sequence.items.start; !rc && it < v->data.sequence.items.top; it++) {
                if (s->n_sens_ratios == EXP_MAX_RATIOS)
                    rc = cy_err(c, v, "sensitivity.ratios: at most %d", EXP_MAX_RATIOS);
                else
                    rc = cy_float(c, cy_get(c, *it), "sensitivity.ratios", 0.0, 0.999, 0,
                                  &s->sens_ratios[s->n_sens_ratios++]);
            }
            if (!rc && !s->n_sens_ratios)
                rc = cy_err(c, v, "sensitivity.ratios is empty");
        } else if (!strcmp(key, "ratios")) {
            rc = cy_err(c, v, "sensitivity.ratios: expected a list of fractions in [0, 0.999], e.g. [0.25, 0.5, 0.75]");
        } else {
            rc = cy_unknown(c, k, "the sensitivity stage", "ratios, criterion");
        }
    }
    return rc;
}

const char *const exp_stage_words[STAGE_KINDS] = {
    [STAGE_TRAIN] = "train",       [STAGE_EVAL] = "eval",       [STAGE_QUANTIZE] = "quantize",
    [STAGE_PRUNE] = "prune",       [STAGE_FINETUNE] = "finetune", [STAGE_DISTILL] = "distill",
    [STAGE_LOWRANK] = "lowrank",   [STAGE_EXPORT] = "export",   [STAGE_BENCH] = "bench",
    [STAGE_SENSITIVITY] = "sensitivity",
};

static const char *const stage_names =
    "train, eval, quantize, prune, finetune, distill, lowrank, export, bench, sensitivity";

int exp_parse_stages(cy_ctx *c, yaml_node_t *seq, exp_config *cfg)
{
    if (!seq || seq->type != YAML_SEQUENCE_NODE || seq->data.sequence.items.top == seq->data.sequence.items.start)
        return cy_err(c, seq, "stages must be a non-empty list (e.g. '- train: {epochs: 5}')");
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        yaml_node_t *st = cy_get(c, *it);
        const char *bare = cy_scalar(st);
        yaml_node_t *name = st, *params = NULL;
        if (!bare) {
            if (st->type != YAML_MAPPING_NODE || st->data.mapping.pairs.top - st->data.mapping.pairs.start != 1)
                return cy_err(c, st, "each stage is one 'name: {parameters}' entry");
            name = cy_get(c, st->data.mapping.pairs.start->key);
            params = cy_get(c, st->data.mapping.pairs.start->value);
        }
        const char *n = cy_scalar(name) ? cy_scalar(name) : "";
        if (cfg->n_stages == EXP_MAX_STAGES)
            return cy_err(c, st, "more than %d stages", EXP_MAX_STAGES);
        exp_stage *s = &cfg->stages[cfg->n_stages++];
        memset(s, 0, sizeof *s);
        s->line = cy_line(st);
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
                rc = cy_err(c, st, "the distill stage needs 'teacher: CHECKPOINT'");
        } else if (!strcmp(n, "lowrank")) {
            s->kind = STAGE_LOWRANK;
            rc = parse_lowrank(c, params, s);
        } else if (!strcmp(n, "finetune")) {
            /* training of the model as it stands, with fine-tuning defaults */
            s->kind = STAGE_FINETUNE;
            rc = parse_train(c, params, s);
            if (!rc && !(params && params->type == YAML_MAPPING_NODE && cy_find_pair(c, params, "epochs")))
                s->train.epochs = 3;
            if (!rc && !(params && params->type == YAML_MAPPING_NODE && cy_find_pair(c, params, "lr")))
                s->train.lr = 0.005f;
        } else if (!strcmp(n, "export")) {
            s->kind = STAGE_EXPORT;
            rc = parse_export(c, params, s);
        } else if (!strcmp(n, "sensitivity")) {
            s->kind = STAGE_SENSITIVITY;
            rc = parse_sensitivity(c, params, s);
        } else if (!strcmp(n, "bench")) {
            s->kind = STAGE_BENCH;
            rc = parse_bench(c, params, s);
            int exported = 0;
            for (int q = 0; q < cfg->n_stages - 1; q++)
                exported |= cfg->stages[q].kind == STAGE_EXPORT;
            if (!rc && !exported)
                rc = cy_err(c, st, "the bench stage times the last exported model: put an export stage before it");
        } else {
            return cy_err(c, name, "unknown stage '%s' (stages: %s)", n, stage_names);
        }
        if (rc)
            return rc;
    }
    return PITH_OK;
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
        else if (st->kind == STAGE_PRUNE && st->prune.magnitude)
            snprintf(label, sizeof label, "magnitude-%g-%s%s%s", (double)st->prune.sparsity,
                     pith_prune_gran_name(st->prune.granularity), st->prune.schedule ? "-" : "",
                     st->prune.schedule ? pith_prune_schedule_name(st->prune.schedule) : "");
        else if (st->kind == STAGE_PRUNE)
            snprintf(label, sizeof label, "%s-%g", pith_prune_criterion_name(st->prune.criterion),
                     (double)st->prune.ratio);
        else if (st->kind == STAGE_DISTILL)
            snprintf(label, sizeof label, "T%g-a%g", (double)st->kd_T, (double)st->kd_alpha);
        else if (st->kind == STAGE_LOWRANK && st->lr_rank)
            snprintf(label, sizeof label, "rank%d", st->lr_rank);
        else if (st->kind == STAGE_LOWRANK)
            snprintf(label, sizeof label, "%s%g", st->lr_energy > 0 ? "energy" : "macs",
                     st->lr_energy > 0 ? (double)st->lr_energy : (double)st->lr_macs_ratio);
        else if (st->kind == STAGE_SENSITIVITY)
            snprintf(label, sizeof label, "%s", pith_prune_criterion_name((pith_prune_criterion)st->sens_criterion));
        else if (st->kind == STAGE_BENCH)
            snprintf(label, sizeof label, "%dt%s%s", st->threads, st->isa[0] ? "-" : "", st->isa);
        o += (size_t)snprintf(b + o, len - o, "%s%s%s%s%s", i ? ">" : "", exp_stage_words[st->kind], label[0] ? "(" : "", label,
                              label[0] ? ")" : "");
        if (o >= len)
            break;
    }
}

