#include "step.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"

static const char *const schedule_names[] = {"oneshot", "iterative", "agp"};

const char *pith_prune_schedule_name(pith_prune_schedule s)
{
    return (unsigned)s < 3 ? schedule_names[s] : "?";
}

int pith_prune_schedule_parse(const char *s, pith_prune_schedule *out)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, schedule_names[i])) {
            *out = (pith_prune_schedule)i;
            return PITH_OK;
        }
    return pith_error(PITH_EINVAL, "schedule '%s': expected oneshot, iterative or agp", s);
}

pith_prune_job pith_prune_job_defaults(int magnitude)
{
    pith_prune_job j;
    memset(&j, 0, sizeof j);
    j.magnitude = magnitude;
    j.criterion = PITH_CRIT_L1;
    j.ratio = -1.0f;
    j.taylor_images = 1024;
    j.sparsity = -1.0f;
    j.granularity = PITH_PRUNE_ELEMENT;
    j.schedule = PITH_PRUNE_ONESHOT;
    j.epochs = magnitude ? 3 : 0;
    j.seed = 1;
    return j;
}

typedef struct agp_state {
    pith_graph *g;
    float target;
    pith_prune_gran gran;
    int64_t dt, n; /* n updates every dt steps; n = 0: masks only */
} agp_state;

/* After every step: masked weights back to zero; AGP raises the sparsity on its schedule. */
static int agp_step(pith_trainer *t, void *user)
{
    agp_state *a = user;
    if (a->n > 0 && t->step % a->dt == 0 && t->step / a->dt <= a->n) {
        float s = (float)pith_agp_sparsity(0.0, a->target, 0, a->n, a->dt, t->step);
        int rc = pith_prune_magnitude_all(a->g, s, a->gran);
        if (rc)
            return rc;
    }
    pith_prune_apply_masks(a->g);
    return PITH_OK;
}

/* Trains g for c->epochs; AGP (st->n > 0) spreads 10 updates over the first 3/4. */
static int train_masked(pith_graph *g, const pith_train_config *c, const pith_dataset *train, const pith_dataset *test,
                        agp_state *st, FILE *progress)
{
    pith_trainer *t = NULL;
    int rc = pith_trainer_create(&t, g, c, train, test);
    if (!rc) {
        if (st->n > 0) {
            int64_t total = (int64_t)c->epochs * ((train->n + c->batch - 1) / c->batch);
            st->dt = (total * 3 / 4) / st->n;
            if (st->dt < 1)
                st->dt = 1;
        }
        t->progress = progress;
        t->on_step = agp_step;
        t->step_user = st;
        rc = pith_trainer_run(t);
    }
    pith_trainer_free(t);
    return rc;
}

static int prune_magnitude(pith_graph *g, const pith_prune_job *j, pith_train_config *c, const pith_dataset *train,
                           const pith_dataset *test, FILE *progress, pith_prune_result *r)
{
    if (j->sparsity < 0)
        return pith_error(PITH_EINVAL, "magnitude pruning needs a sparsity");
    if (j->schedule != PITH_PRUNE_ONESHOT && j->epochs < 1)
        return pith_error(PITH_EINVAL, "the %s schedule prunes while it trains: it needs epochs >= 1",
                          pith_prune_schedule_name(j->schedule));
    int rounds = j->schedule == PITH_PRUNE_ITERATIVE ? 3 : 1, rc = PITH_OK;
    for (int k = 1; k <= rounds && !rc; k++) {
        agp_state st = {g, j->sparsity, j->granularity, 1, j->schedule == PITH_PRUNE_AGP ? 10 : 0};
        if (j->schedule != PITH_PRUNE_AGP) {
            rc = pith_prune_magnitude_all(g, j->sparsity * (float)k / (float)rounds, j->granularity);
            if (!rc && k == 1)
                rc = pith_test_accuracy(g, test, 500, &r->top1_pruned, NULL, NULL);
        }
        c->epochs = j->schedule == PITH_PRUNE_ITERATIVE ? (j->epochs + rounds - 1) / rounds : j->epochs;
        if (rc || c->epochs < 1)
            continue;
        if (progress)
            fprintf(progress, "%s: %d epoch%s at lr %g%s\n",
                    j->schedule == PITH_PRUNE_AGP ? "gradual pruning (AGP)" : "fine-tuning", c->epochs,
                    c->epochs == 1 ? "" : "s", (double)c->lr, rounds > 1 ? " (one round of 3)" : "");
        rc = train_masked(g, c, train, test, &st, progress);
        r->trained = 1;
    }
    if (!rc)
        pith_prune_apply_masks(g);
    return rc;
}

static int prune_structured(pith_graph *g, const pith_prune_job *j, pith_train_config *c, const pith_dataset *train,
                            const pith_dataset *test, FILE *progress, pith_prune_result *r)
{
    if (j->ratio < 0)
        return pith_error(PITH_EINVAL, "structured pruning needs a ratio");
    int rc = j->criterion == PITH_CRIT_TAYLOR ? pith_graph_compile(g, 64) : PITH_OK;
    if (!rc) {
        r->channels_removed = pith_prune_structured(g, j->criterion, j->ratio, train, j->taylor_images, j->seed);
        rc = r->channels_removed < 0 ? r->channels_removed : PITH_OK;
    }
    if (!rc)
        rc = pith_test_accuracy(g, test, 500, &r->top1_pruned, NULL, NULL);
    if (rc || j->epochs < 1)
        return rc;
    if (progress)
        fprintf(progress, "fine-tuning for %d epoch%s, lr %g\n", j->epochs, j->epochs == 1 ? "" : "s", (double)c->lr);
    agp_state st = {g, 0, j->granularity, 1, 0};
    r->trained = 1;
    return train_masked(g, c, train, test, &st, progress);
}

int pith_prune_run(pith_graph *g, const pith_train_config *base, const pith_prune_job *j, const pith_dataset *train,
                   const pith_dataset *test, FILE *progress, pith_prune_result *r)
{
    memset(r, 0, sizeof *r);
    r->top1_pruned = NAN;
    int rc = pith_test_accuracy(g, test, 500, &r->top1_before, NULL, NULL);
    r->cfg = pith_finetune_config(base, j->epochs, j->lr, 10.0f);
    r->cfg.seed = j->seed;
    if (!rc)
        rc = j->magnitude ? prune_magnitude(g, j, &r->cfg, train, test, progress, r)
                          : prune_structured(g, j, &r->cfg, train, test, progress, r);
    if (!rc)
        rc = pith_graph_sort(g);
    r->top1 = r->top1_pruned;
    if (!rc && (r->trained || isnan(r->top1)))
        rc = pith_test_accuracy(g, test, 500, &r->top1, NULL, NULL);
    return rc;
}

int pith_prune_sensitivity(pith_graph_open_fn open, void *user, pith_prune_criterion crit, const float *ratios,
                           int n_ratios, const pith_dataset *train, const pith_dataset *test, int max_rows,
                           double *base_top1, double *acc, char (*names)[PITH_NAME_MAX], int *channels, int *n_rows,
                           FILE *progress)
{
    pith_graph *g = NULL;
    pith_prune_group *groups = NULL;
    int n_groups = 0;
    *n_rows = 0;
    int rc = open(user, &g);
    if (!rc)
        rc = pith_prune_groups(g, &groups, &n_groups);
    if (!rc)
        rc = pith_test_accuracy(g, test, 500, base_top1, NULL, NULL);
    for (int gi = 0; gi < n_groups && !rc; gi++) {
        if (!groups[gi].prunable)
            continue;
        if (*n_rows == max_rows) {
            rc = pith_error(PITH_EINVAL, "more than %d prunable groups", max_rows);
            break;
        }
        int row = (*n_rows)++;
        snprintf(names[row], sizeof names[row], "%s", g->nodes[groups[gi].members[0]].name);
        channels[row] = groups[gi].channels;
        for (int k = 0; k < n_ratios && !rc; k++) {
            pith_graph *h = NULL; /* a fresh copy for every point */
            rc = open(user, &h);
            if (!rc && crit == PITH_CRIT_TAYLOR)
                rc = pith_graph_compile(h, 64);
            if (!rc) {
                int removed = pith_prune_structured_group(h, gi, crit, ratios[k], train, 1024, 1);
                rc = removed < 0 ? removed : 0;
            }
            if (!rc)
                rc = pith_test_accuracy(h, test, 500, &acc[row * n_ratios + k], NULL, NULL);
            pith_graph_free(h);
            if (progress && !rc)
                fprintf(progress, "sensitivity: %s at %.2f -> %.2f%%\n", names[row], (double)ratios[k],
                        100 * acc[row * n_ratios + k]);
        }
    }
    free(groups);
    pith_graph_free(g);
    return rc;
}
