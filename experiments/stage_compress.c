/* The compression stages of a config: quantize, prune and lowrank, each the
 * technique's own step function on the model as it stands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/checkpoint.h"
#include "../core/error.h"
#include "../lowrank/lowrank.h"
#include "../prune/step.h"
#include "../quant/quantize.h"
#include "json.h"
#include "stages.h"
#include "workbench.h"

int exp_stage_quantize(exp_run_state *s, int i)
{
    const exp_stage *st = &s->cfg->stages[i];
    quant_job job = st->quant;
    quant_result res;
    pith_ckpt_meta m;
    exp_stage_meta(s, i, &m);
    fprintf(s->log, "stage %d: quantize, method %s, w%d a%d, %d fine-tuning epochs\n", i + 1, job.method, job.q.w.bits,
            job.q.io == PITH_QIO_WEIGHT_ONLY ? 32 : job.q.a.bits, job.epochs);
    int rc = quant_run(s->g, &m, &s->last_train, &job, &s->train, &s->test, s->calib.n ? &s->calib : NULL,
                       s->progress, &res);
    if (rc)
        return rc;
    quant_result_print(s->log, &job, &res);
    s->row->top1 = res.top1;
    s->row->top5 = res.top5;
    char path[2400];
    exp_stage_file(s, i, "quantize.h5", path, sizeof path);
    return pith_checkpoint_save(path, s->g, &m, job.train ? &res.cfg : NULL, NULL, NULL, 0);
}

int exp_stage_prune(exp_run_state *s, int i)
{
    const exp_stage *st = &s->cfg->stages[i];
    pith_prune_job job = st->prune;
    if (!st->prune_seed_given)
        job.seed = s->cfg->seed;
    if (job.magnitude)
        fprintf(s->log, "stage %d: magnitude pruning to %.1f%% (%s, %s), %d epochs\n", i + 1, 100.0 * job.sparsity,
                pith_prune_gran_name(job.granularity), pith_prune_schedule_name(job.schedule), job.epochs);
    else
        fprintf(s->log, "stage %d: structured pruning, %s, ratio %.2f, %d fine-tuning epochs\n", i + 1,
                pith_prune_criterion_name(job.criterion), (double)job.ratio, job.epochs);
    pith_prune_result r;
    int rc = pith_prune_run(s->g, &s->last_train, &job, &s->train, s->cfg->val ? &s->evalset : &s->test, s->progress,
                            &r);
    if (rc)
        return rc;
    if (r.trained)
        s->last_train = r.cfg;
    s->row->top1 = r.top1;
    fprintf(s->log, "prune: %d channels removed; now %lld parameters, %lld MACs; top-1 %.4f before, %.4f after\n",
            r.channels_removed, (long long)pith_graph_params(s->g, 1), (long long)pith_graph_macs(s->g), r.top1_before,
            r.top1);
    pith_ckpt_meta m;
    exp_stage_meta(s, i, &m);
    m.top1 = r.top1;
    char path[2400];
    exp_stage_file(s, i, "prune.h5", path, sizeof path);
    return pith_checkpoint_save(path, s->g, &m, r.trained ? &r.cfg : NULL, NULL, NULL, 0);
}

int exp_stage_lowrank(exp_run_state *s, int i)
{
    const exp_stage *st = &s->cfg->stages[i];
    pith_lowrank_rule rule = {st->lr_rank, st->lr_energy, st->lr_macs_ratio};
    pith_lowrank_report rep[EXP_MAX_LAYERS];
    int n_rep = 0;
    int rc = pith_lowrank_apply(s->g, st->lr_layers, &rule, rep, EXP_MAX_LAYERS, &n_rep);
    for (int q = 0; q < n_rep; q++)
        fprintf(s->log, "lowrank: %s rank %d of %d (%.1f%% energy), %lld -> %lld MACs%s\n", rep[q].name, rep[q].rank,
                rep[q].full_rank, 100 * rep[q].energy, (long long)rep[q].macs_before,
                (long long)(rep[q].replaced ? rep[q].macs_after : rep[q].macs_before), rep[q].replaced ? "" : ", kept");
    if (rc || st->lr_finetune < 1)
        return rc;
    /* pith lowrank --finetune: the recipe so far, lr / 10 unless given */
    pith_train_config c = pith_finetune_config(&s->last_train, st->lr_finetune, st->lr_lr, 10.0f);
    c.seed = s->cfg->seed;
    fprintf(s->log, "stage %d: lowrank fine-tuning, %d epochs at lr %g\n", i + 1, c.epochs, (double)c.lr);
    pith_trainer *t = NULL;
    rc = pith_trainer_create(&t, s->g, &c, &s->train, s->cfg->val ? &s->evalset : &s->test);
    if (!rc) {
        t->progress = s->progress;
        rc = pith_trainer_run(t);
        if (!rc && t->n_history) {
            s->row->top1 = t->history[t->n_history - 1].test_top1;
            s->row->top5 = t->history[t->n_history - 1].test_top5;
        }
    }
    pith_trainer_free(t);
    if (!rc)
        s->last_train = c;
    return rc;
}

/* Every point of the sweep starts from the model as the stages before left it. */
static int reopen(void *user, pith_graph **g)
{
    pith_ckpt_meta meta;
    return exp_load_checkpoint((const char *)user, g, &meta, NULL, NULL);
}

int exp_stage_sensitivity(exp_run_state *s, int i)
{
    const exp_stage *st = &s->cfg->stages[i];
    char base[2400], path[2400];
    exp_stage_file(s, i, "sensitivity-base.h5", base, sizeof base);
    exp_stage_file(s, i, "sensitivity.json", path, sizeof path);
    pith_ckpt_meta m;
    exp_stage_meta(s, i, &m);
    int rc = pith_checkpoint_save(base, s->g, &m, NULL, NULL, NULL, 0);
    int n = st->n_sens_ratios, rows = 0;
    double top1 = 0, *acc = calloc((size_t)EXP_MAX_LAYERS * n, sizeof *acc);
    char(*names)[PITH_NAME_MAX] = calloc(EXP_MAX_LAYERS, sizeof *names);
    int *channels = calloc(EXP_MAX_LAYERS, sizeof *channels);
    if (!rc && (!acc || !names || !channels))
        rc = pith_error(PITH_ENOMEM, "out of memory");
    pith_prune_criterion crit = (pith_prune_criterion)st->sens_criterion;
    const pith_dataset *test = s->cfg->val ? &s->evalset : &s->test;
    if (!rc)
        rc = pith_prune_sensitivity(reopen, base, crit, st->sens_ratios, n, &s->train, test, EXP_MAX_LAYERS, &top1, acc,
                                    names, channels, &rows, s->progress);
    FILE *f = rc ? NULL : fopen(path, "w");
    if (!rc && !f)
        rc = pith_error(PITH_EIO, "%s: cannot create", path);
    if (f) {
        json j;
        json_init(&j, f);
        json_obj(&j, NULL);
        json_str(&j, "criterion", pith_prune_criterion_name(crit));
        json_num(&j, "top1", top1);
        json_arr(&j, "ratios");
        for (int r = 0; r < n; r++)
            json_num(&j, NULL, st->sens_ratios[r]);
        json_end_arr(&j);
        json_arr(&j, "layers");
        for (int q = 0; q < rows; q++) {
            json_obj(&j, NULL);
            json_str(&j, "name", names[q]);
            json_int(&j, "channels", channels[q]);
            json_arr(&j, "top1");
            for (int r = 0; r < n; r++)
                json_num(&j, NULL, acc[q * n + r]);
            json_end_arr(&j);
            json_end_obj(&j);
        }
        json_end_arr(&j);
        json_end_obj(&j);
        json_finish(&j);
        rc = fclose(f) == 0 ? PITH_OK : pith_error(PITH_EIO, "%s: cannot write", path);
        fprintf(s->log, "stage %d: sensitivity (%s, %d ratios, %d layers, top-1 %.4f unpruned) -> %s\n", i + 1,
                pith_prune_criterion_name(crit), n, rows, top1, path);
    }
    unlink(base);
    free(acc);
    free(names);
    free(channels);
    return rc;
}
