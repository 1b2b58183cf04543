/* The training stages of a config: train, finetune (training of the model as
 * it stands, with fine-tuning defaults) and distill (training against a
 * teacher's logits). Each saves its checkpoint after every epoch. */
#include <stdio.h>
#include <string.h>

#include "../core/checkpoint.h"
#include "../core/error.h"
#include "../distill/distill.h"
#include "../prune/prune.h"
#include "stages.h"
#include "workbench.h"

pith_train_config exp_stage_recipe(const exp_config *cfg, const exp_stage *st)
{
    pith_train_config tc = st->train;
    tc.seed = cfg->seed;
    tc.subset = cfg->subset;
    tc.val = cfg->val;
    tc.aug = cfg->aug;
    return tc;
}

void exp_stage_file(const exp_run_state *s, int i, const char *what, char *buf, size_t len)
{
    snprintf(buf, len, "%s/stage%d-%s", s->dir, i + 1, what);
}

void exp_stage_meta(const exp_run_state *s, int i, pith_ckpt_meta *m)
{
    const exp_config *cfg = s->cfg;
    if (s->origin) { /* a checkpoint's model keeps its input, preprocessing, classes and names */
        *m = *s->origin;
        if (cfg->data_given)
            snprintf(m->dataset, sizeof m->dataset, "%s", cfg->data_dir);
        snprintf(m->command, sizeof m->command, "pith run %.900s (stage %d: %s)", cfg->path, i + 1,
                 exp_stage_words[cfg->stages[i].kind]);
        exp_utc_now(m->created, sizeof m->created);
        m->seed = cfg->seed;
        return;
    }
    memset(m, 0, sizeof *m);
    snprintf(m->model, sizeof m->model, "%s", cfg->model);
    snprintf(m->dataset, sizeof m->dataset, "%s", cfg->data_dir);
    snprintf(m->command, sizeof m->command, "pith run %.900s (stage %d: %s)", cfg->path, i + 1,
             exp_stage_words[cfg->stages[i].kind]);
    exp_utc_now(m->created, sizeof m->created);
    m->seed = cfg->seed;
    m->mean = cfg->mean;
    m->std = cfg->std;
    m->norm_channels = cfg->norm_channels;
    memcpy(m->norm_mean, cfg->norm_mean, sizeof m->norm_mean);
    memcpy(m->norm_std, cfg->norm_std, sizeof m->norm_std);
    m->pre = cfg->pre;
    if (s->train.labels && strlen(s->train.labels) < sizeof m->labels)
        snprintf(m->labels, sizeof m->labels, "%s", s->train.labels);
    m->classes = s->g ? pith_graph_output_shape(s->g)->d[0] : 0;
}

typedef struct epoch_saver {
    const exp_run_state *s;
    int stage;
    char ckpt[2300];
} epoch_saver;

static int save_epoch(pith_trainer *t, const pith_epoch_record *r, void *user)
{
    epoch_saver *e = user;
    pith_ckpt_meta m;
    exp_stage_meta(e->s, e->stage, &m);
    m.epoch = t->epoch;
    m.step = t->step;
    m.classes = pith_graph_output_shape(t->g)->d[0];
    m.top1 = r->test_top1;
    m.top5 = r->test_top5;
    m.test_loss = r->test_loss;
    fprintf(e->s->log,
            "epoch %d: lr %.6g train_loss %.4f train_acc %.4f test_loss %.4f top1 %.4f top5 %.4f %.1f s %.0f img/s\n",
            r->epoch, r->lr, r->train_loss, r->train_acc, r->test_loss, r->test_top1, r->test_top5, r->seconds,
            r->img_per_s);
    fflush(e->s->log);
    return pith_checkpoint_save(e->ckpt, t->g, &m, &t->cfg, t->opt, t->history, t->n_history);
}

static int keep_masks(pith_trainer *t, void *user)
{
    (void)user;
    pith_prune_apply_masks(t->g);
    return PITH_OK;
}

/* The teacher of a distill stage (pith distill's setup). */
static int open_teacher(exp_run_state *s, int i, const pith_train_config *tc, pith_graph **teacher, pith_distill *kd)
{
    const exp_stage *st = &s->cfg->stages[i];
    pith_ckpt_meta tmeta;
    int rc = exp_load_checkpoint(st->teacher, teacher, &tmeta, NULL, NULL);
    int augmented = pith_augment_active(&tc->aug);
    if (!rc)
        rc = pith_distill_setup(kd, *teacher, st->kd_T, st->kd_alpha, tc->batch, augmented ? 0 : s->train.n);
    if (!rc)
        fprintf(s->log, "stage %d: teacher %s (T %g, alpha %g)\n", i + 1, st->teacher, (double)st->kd_T,
                (double)st->kd_alpha);
    return rc;
}

int exp_stage_train(exp_run_state *s, int i)
{
    const exp_config *cfg = s->cfg;
    const exp_stage *st = &cfg->stages[i];
    pith_train_config tc = exp_stage_recipe(cfg, st);
    const char *what = exp_stage_words[st->kind];
    pith_graph *teacher = NULL;
    pith_distill kd = {.T = st->kd_T, .alpha = st->kd_alpha};
    int rc = PITH_OK;
    if (st->kind == STAGE_DISTILL)
        rc = open_teacher(s, i, &tc, &teacher, &kd);
    epoch_saver saver = {s, i, ""};
    char file[32];
    snprintf(file, sizeof file, "%s.h5", what);
    exp_stage_file(s, i, file, saver.ckpt, sizeof saver.ckpt);
    pith_trainer *t = NULL;
    if (!rc) {
        fprintf(s->log, "stage %d: %s, %d epochs, batch %d, lr %g (%s), %s\n", i + 1, what, tc.epochs, tc.batch,
                (double)tc.lr, pith_sched_name(tc.sched), pith_optim_name(tc.optim.kind));
        rc = pith_trainer_create(&t, s->g, &tc, &s->train, cfg->val ? &s->evalset : &s->test);
    }
    if (!rc) {
        t->progress = s->progress;
        t->on_epoch = save_epoch;
        t->user = &saver;
        t->on_step = keep_masks; /* magnitude-pruned weights stay zero */
        if (teacher) {
            t->loss = pith_distill_loss;
            t->loss_user = &kd;
        }
        rc = pith_trainer_run(t);
        if (!rc && t->n_history) {
            s->row->top1 = t->history[t->n_history - 1].test_top1;
            s->row->top5 = t->history[t->n_history - 1].test_top5;
        }
    }
    pith_trainer_free(t);
    if (teacher)
        fprintf(s->log, "teacher: %lld images run, %lld served from its logit cache\n", (long long)kd.teacher_images,
                (long long)kd.cached_images);
    pith_distill_free(&kd);
    pith_graph_free(teacher);
    s->last_train = tc;
    int all = 1;
    for (int q = 0; q <= i; q++)
        all = all && exp_cacheable(cfg->stages[q].kind);
    if (!rc && s->cache && all) {
        char dst[2400];
        exp_cache_path(s->cache, cfg, i, dst, sizeof dst);
        exp_cache_store(s->cache, saver.ckpt, dst);
    }
    return rc;
}
