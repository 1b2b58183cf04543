#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "loss.h"
#include "progress.h"

/* Network slimming (Liu et al. 2017): the subgradient of lambda * sum |gamma|
 * over every batchnorm's scale, added before the optimizer step, drives the
 * scales of unneeded channels towards zero for the bn_gamma criterion. */
static void add_bn_l1(pith_graph *g, float lambda)
{
    for (int k = 0; k < g->n_order; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        if (strcmp(n->op->name, "batchnorm") || !n->n_params || !n->params[0].grad)
            continue;
        pith_param *gm = &n->params[0];
        for (size_t i = 0; i < gm->size; i++)
            gm->grad[i] += gm->data[i] > 0.0f ? lambda : gm->data[i] < 0.0f ? -lambda : 0.0f;
    }
}

pith_train_config pith_train_defaults(void)
{
    pith_train_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 5;
    c.batch = 64;
    c.lr = 0.05f;
    c.sched = PITH_SCHED_COSINE;
    c.step_epochs = 30;
    c.gamma = 0.1f;
    c.optim = pith_optim_defaults(PITH_OPTIM_SGD);
    c.seed = 1;
    return c;
}

int pith_train_config_check(const pith_train_config *c)
{
    if (c->epochs < 1 || c->epochs > PITH_MAX_EPOCHS)
        return pith_error(PITH_EINVAL, "epochs: %d is outside 1..%d", c->epochs, PITH_MAX_EPOCHS);
    if (c->stop_after < 0 || c->stop_after > c->epochs)
        return pith_error(PITH_EINVAL, "stop-after: %d is outside 0..epochs (%d)", c->stop_after,
                          c->epochs);
    if (c->batch < 1 || c->batch > 65536)
        return pith_error(PITH_EINVAL, "batch: %d is outside 1..65536", c->batch);
    if (!(c->lr > 0.0f && c->lr < 100.0f))
        return pith_error(PITH_EINVAL, "lr: %g must be in (0, 100)", (double)c->lr);
    if (!(c->min_lr >= 0.0f && c->min_lr <= c->lr))
        return pith_error(PITH_EINVAL, "min-lr: %g must be in [0, lr]", (double)c->min_lr);
    if (!(c->bn_l1 >= 0.0f && c->bn_l1 < 1.0f))
        return pith_error(PITH_EINVAL, "bn-l1: %g is outside [0, 1)", (double)c->bn_l1);
    if (!(c->label_smoothing >= 0.0f && c->label_smoothing < 1.0f))
        return pith_error(PITH_EINVAL, "label-smoothing: %g must be in [0, 1)",
                          (double)c->label_smoothing);
    if (c->warmup_epochs < 0 || c->warmup_epochs > c->epochs)
        return pith_error(PITH_EINVAL, "warmup: %d epochs is outside 0..epochs", c->warmup_epochs);
    if (c->sched == PITH_SCHED_STEP && (c->step_epochs < 1 || !(c->gamma > 0.0f)))
        return pith_error(PITH_EINVAL, "step schedule: step-epochs must be >= 1 and gamma > 0");
    if (c->subset < 0 || c->val < 0)
        return pith_error(PITH_EINVAL, "subset and val must be >= 0");
    if (c->aug.crop_pad < 0 || c->aug.crop_pad > 64)
        return pith_error(PITH_EINVAL, "crop padding: %d is outside 0..64", c->aug.crop_pad);
    return PITH_OK;
}

static int steps_per_epoch(const pith_trainer *t)
{
    return (t->train->n + t->cfg.batch - 1) / t->cfg.batch;
}

pith_schedule pith_trainer_schedule(const pith_trainer *t)
{
    int64_t spe = steps_per_epoch(t);
    pith_schedule s = {t->cfg.sched, t->cfg.lr, t->cfg.min_lr, spe * t->cfg.epochs,
                       spe * t->cfg.step_epochs, t->cfg.gamma, spe * t->cfg.warmup_epochs};
    return s;
}

int pith_trainer_create(pith_trainer **out, pith_graph *g, const pith_train_config *cfg,
                        const pith_dataset *train, const pith_dataset *test)
{
    *out = NULL;
    int rc = pith_train_config_check(cfg);
    if (rc)
        return rc;
    const pith_shape *os = pith_graph_output_shape(g);
    if (os->ndim != 1)
        return pith_error(PITH_ESHAPE, "the model output must be a vector of class scores");
    if (train->n < 1)
        return pith_error(PITH_EINVAL, "the training set is empty");
    if (train->classes > os->d[0] || (test && test->classes > os->d[0]))
        return pith_error(PITH_ESHAPE, "the data has %d classes but the model outputs %d",
                          train->classes, os->d[0]);
    if (train->c != g->input_shape.d[0] || train->h != g->input_shape.d[1] ||
        train->w != g->input_shape.d[2])
        return pith_error(PITH_ESHAPE, "the data is %dx%dx%d but the model takes %dx%dx%d", train->c,
                          train->h, train->w, g->input_shape.d[0], g->input_shape.d[1],
                          g->input_shape.d[2]);
    pith_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return pith_error(PITH_ENOMEM, "out of memory creating the trainer");
    t->g = g;
    t->cfg = *cfg;
    t->train = train;
    t->test = test;
    t->perm = malloc((size_t)train->n * sizeof *t->perm);
    t->labels = malloc((size_t)cfg->batch * sizeof *t->labels);
    if (!t->perm || !t->labels) {
        pith_trainer_free(t);
        return pith_error(PITH_ENOMEM, "out of memory creating the trainer");
    }
    rc = pith_optim_create(&t->opt, g, &cfg->optim);
    if (!rc)
        rc = pith_graph_compile(g, cfg->batch);
    if (rc) {
        pith_trainer_free(t);
        return rc;
    }
    *out = t;
    return PITH_OK;
}

void pith_trainer_free(pith_trainer *t)
{
    if (!t)
        return;
    pith_optim_free(t->opt);
    free(t->perm);
    free(t->labels);
    free(t);
}

static int argmax(const float *z, int k)
{
    int b = 0;
    for (int j = 1; j < k; j++)
        if (z[j] > z[b])
            b = j;
    return b;
}

int pith_trainer_epoch(pith_trainer *t, pith_epoch_record *rec)
{
    pith_graph *g = t->g;
    const pith_dataset *ds = t->train;
    const int bs = t->cfg.batch, k = pith_graph_output_shape(g)->d[0];
    const int steps = steps_per_epoch(t);
    const int ep = t->epoch; /* 0-based index of this epoch */
    pith_schedule sched = pith_trainer_schedule(t);
    pith_rng r;
    pith_rng_seed(&r, pith_hash64(t->cfg.seed, (uint64_t)ep, 0x5AFF1E));
    pith_rng_permutation(&r, t->perm, ds->n);

    pith_progress pr;
    char label[64];
    snprintf(label, sizeof label, "epoch %d/%d", ep + 1, t->cfg.epochs);
    pith_progress_begin(&pr, t->progress, label, steps);

    pith_graph_set_training(g, 1);
    double loss_sum = 0.0, lr = 0.0;
    int64_t correct = 0;
    double t0 = pith_now();
    for (int b = 0; b < steps; b++) {
        int start = b * bs, n = ds->n - start < bs ? ds->n - start : bs;
        pith_dataset_gather(ds, t->perm + start, n, &t->cfg.aug,
                            pith_hash64(t->cfg.seed, (uint64_t)ep, (uint64_t)b), pith_graph_input(g),
                            t->labels);
        g->step = (uint64_t)t->step;
        int rc = pith_graph_forward(g, n);
        if (rc)
            return rc;
        const float *z = pith_graph_output(g);
        int augmented = pith_augment_active(&t->cfg.aug);
        double loss = t->loss ? t->loss(t->loss_user, pith_graph_input(g), z, t->labels, t->perm + start, augmented,
                                        n, k, pith_graph_output_grad(g))
                              : pith_softmax_cross_entropy(z, t->labels, n, k, t->cfg.label_smoothing,
                                                           pith_graph_output_grad(g));
        if (!isfinite(loss))
            return pith_error(PITH_ENUM,
                              "the loss became %s at epoch %d, step %d of %d (try a lower learning "
                              "rate); the weights were not updated",
                              isnan(loss) ? "NaN" : "infinite", ep + 1, b + 1, steps);
        for (int i = 0; i < n; i++)
            correct += argmax(z + (size_t)i * k, k) == t->labels[i];
        pith_graph_zero_grad(g);
        rc = pith_graph_backward(g, n);
        if (rc)
            return rc;
        if (t->cfg.bn_l1 > 0.0f)
            add_bn_l1(g, t->cfg.bn_l1);
        lr = pith_schedule_lr(&sched, t->step);
        rc = pith_optim_step(t->opt, (float)lr);
        if (rc)
            return rc;
        t->step++;
        if (t->on_step && (rc = t->on_step(t, t->step_user)))
            return rc;
        loss_sum += loss * n;
        int64_t seen = (int64_t)start + n;
        if (pith_progress_due(&pr, b + 1)) {
            char status[96];
            snprintf(status, sizeof status, "loss %.4f acc %.2f%%", loss_sum / (double)seen,
                     100.0 * (double)correct / (double)seen);
            pith_progress_update(&pr, b + 1, seen, status);
        }
    }
    double secs = pith_now() - t0;
    memset(rec, 0, sizeof *rec);
    rec->epoch = ep + 1;
    rec->lr = lr;
    rec->train_loss = loss_sum / ds->n;
    rec->train_acc = (double)correct / ds->n;
    rec->seconds = secs;
    rec->img_per_s = ds->n / secs;
    char summary[160];
    snprintf(summary, sizeof summary, "%s: loss %.4f acc %.2f%% %.1f s %.0f img/s", label,
             rec->train_loss, 100.0 * rec->train_acc, secs, rec->img_per_s);
    pith_progress_end(&pr, summary);
    t->epoch++;
    return PITH_OK;
}

int pith_trainer_run(pith_trainer *t)
{
    int stop = t->cfg.stop_after ? t->cfg.stop_after : t->cfg.epochs;
    while (t->epoch < stop) {
        pith_epoch_record rec;
        int rc = pith_trainer_epoch(t, &rec);
        if (rc)
            return rc;
        rec.test_top1 = rec.test_top5 = rec.test_loss = NAN;
        if (t->test) {
            pith_metrics m;
            rc = pith_metrics_init(&m, pith_graph_output_shape(t->g)->d[0]);
            if (!rc)
                rc = pith_evaluate(t->g, t->test, &m, NULL);
            if (!rc) {
                rec.test_top1 = pith_metrics_top1(&m);
                rec.test_top5 = pith_metrics_top5(&m);
                rec.test_loss = pith_metrics_loss(&m);
                if (t->progress)
                    fprintf(t->progress, "epoch %d/%d: test top-1 %.2f%% top-5 %.2f%% loss %.4f\n",
                            rec.epoch, t->cfg.epochs, 100 * rec.test_top1, 100 * rec.test_top5,
                            rec.test_loss);
            }
            pith_metrics_free(&m);
            if (rc)
                return rc;
        }
        if (t->n_history < PITH_MAX_EPOCHS)
            t->history[t->n_history++] = rec;
        if (t->on_epoch) {
            rc = t->on_epoch(t, &rec, t->user);
            if (rc)
                return rc;
        }
    }
    return PITH_OK;
}

int pith_evaluate(pith_graph *g, const pith_dataset *ds, pith_metrics *m, FILE *progress)
{
    if (!g->batch)
        return pith_error(PITH_ESTATE, "evaluate: the graph is not compiled");
    const pith_shape *os = pith_graph_output_shape(g);
    if (os->ndim != 1 || os->d[0] != m->classes)
        return pith_error(PITH_ESHAPE, "evaluate: the model output does not have %d class scores",
                          m->classes);
    if (ds->c != g->input_shape.d[0] || ds->h != g->input_shape.d[1] || ds->w != g->input_shape.d[2])
        return pith_error(PITH_ESHAPE, "evaluate: the data is %dx%dx%d but the model takes %dx%dx%d",
                          ds->c, ds->h, ds->w, g->input_shape.d[0], g->input_shape.d[1],
                          g->input_shape.d[2]);
    for (int i = 0; i < ds->n; i++)
        if (ds->y[i] < 0 || ds->y[i] >= m->classes)
            return pith_error(PITH_EINVAL, "evaluate: label %d of sample %d is outside 0..%d",
                              ds->y[i], i, m->classes - 1);
    const int bs = g->batch;
    int *idx = malloc((size_t)bs * sizeof *idx);
    int *labels = malloc((size_t)bs * sizeof *labels);
    if (!idx || !labels) {
        free(idx);
        free(labels);
        return pith_error(PITH_ENOMEM, "evaluate: out of memory");
    }
    int was_training = g->training;
    pith_graph_set_training(g, 0);
    pith_progress pr;
    int steps = (ds->n + bs - 1) / bs;
    pith_progress_begin(&pr, progress, "eval", steps);
    int rc = PITH_OK;
    for (int b = 0; b < steps && !rc; b++) {
        int start = b * bs, n = ds->n - start < bs ? ds->n - start : bs;
        for (int i = 0; i < n; i++)
            idx[i] = start + i;
        pith_dataset_gather(ds, idx, n, NULL, 0, pith_graph_input(g), labels);
        rc = pith_graph_forward(g, n);
        if (!rc)
            pith_metrics_add(m, pith_graph_output(g), labels, n);
        pith_progress_update(&pr, b + 1, start + n, "");
    }
    pith_progress_end(&pr, NULL);
    pith_graph_set_training(g, was_training);
    free(idx);
    free(labels);
    return rc;
}

int pith_test_accuracy(pith_graph *g, const pith_dataset *test, int batch, double *top1, double *top5, double *loss)
{
    pith_metrics m = {0};
    int rc = batch > 0 ? pith_graph_compile(g, batch) : PITH_OK;
    if (!rc)
        rc = pith_metrics_init(&m, pith_graph_output_shape(g)->d[0]);
    if (!rc)
        rc = pith_evaluate(g, test, &m, NULL);
    if (!rc) {
        *top1 = pith_metrics_top1(&m);
        if (top5)
            *top5 = pith_metrics_top5(&m);
        if (loss)
            *loss = pith_metrics_loss(&m);
    }
    pith_metrics_free(&m);
    return rc;
}

pith_train_config pith_finetune_config(const pith_train_config *base, int epochs, float lr, float divisor)
{
    pith_train_config c = base ? *base : pith_train_defaults();
    c.epochs = epochs > 0 ? epochs : 1;
    c.stop_after = 0;
    c.warmup_epochs = 0;
    c.subset = 0;
    c.val = 0;
    c.lr = lr > 0 ? lr : c.lr / divisor;
    c.min_lr = 0;
    c.sched = PITH_SCHED_COSINE;
    return c;
}
