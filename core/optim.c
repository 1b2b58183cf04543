#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "threads.h"

pith_optim_config pith_optim_defaults(pith_optim_kind kind)
{
    pith_optim_config c = {kind, 0.9f, 0, 5e-4f, 0.9f, 0.999f, 1e-8f};
    if (kind == PITH_OPTIM_ADAMW) {
        c.momentum = 0.0f;
        c.weight_decay = 0.01f;
    }
    return c;
}

const char *pith_optim_name(pith_optim_kind kind) { return kind == PITH_OPTIM_ADAMW ? "adamw" : "sgd"; }

int pith_optim_parse(const char *name, pith_optim_kind *kind)
{
    if (strcmp(name, "sgd") == 0)
        *kind = PITH_OPTIM_SGD;
    else if (strcmp(name, "adamw") == 0)
        *kind = PITH_OPTIM_ADAMW;
    else
        return pith_error(PITH_EINVAL, "unknown optimizer '%s' (expected sgd or adamw)", name);
    return PITH_OK;
}

void pith_optim_free(pith_optim *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->n_slots; i++) {
        free(o->slots[i].m);
        free(o->slots[i].v);
    }
    free(o->slots);
    free(o);
}

int pith_optim_create(pith_optim **out, pith_graph *g, const pith_optim_config *cfg)
{
    *out = NULL;
    if (!(cfg->momentum >= 0.0f && cfg->momentum < 1.0f) || !(cfg->weight_decay >= 0.0f) ||
        !(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f) || !(cfg->beta2 >= 0.0f && cfg->beta2 < 1.0f) ||
        !(cfg->eps > 0.0f))
        return pith_error(PITH_EINVAL,
                          "optimizer: momentum, beta1 and beta2 must be in [0, 1), weight decay >= "
                          "0, eps > 0");
    if (cfg->nesterov && cfg->momentum <= 0.0f)
        return pith_error(PITH_EINVAL, "optimizer: Nesterov needs momentum > 0");
    pith_optim *o = calloc(1, sizeof *o);
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_params; j++)
            count += g->nodes[i].params[j].trainable;
    if (!o || !(o->slots = calloc((size_t)count + 1, sizeof *o->slots))) {
        free(o);
        return pith_error(PITH_ENOMEM, "out of memory creating the optimizer");
    }
    o->cfg = *cfg;
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_params; j++) {
            pith_param *p = &g->nodes[i].params[j];
            if (!p->trainable)
                continue;
            pith_optim_slot *s = &o->slots[o->n_slots++];
            s->p = p;
            s->node = i;
            int need_m = cfg->kind == PITH_OPTIM_ADAMW || cfg->momentum > 0.0f;
            s->m = need_m ? calloc(p->size, sizeof(float)) : NULL;
            s->v = cfg->kind == PITH_OPTIM_ADAMW ? calloc(p->size, sizeof(float)) : NULL;
            if ((need_m && !s->m) || (cfg->kind == PITH_OPTIM_ADAMW && !s->v)) {
                pith_optim_free(o);
                return pith_error(PITH_ENOMEM, "out of memory creating the optimizer");
            }
        }
    *out = o;
    return PITH_OK;
}

/* The arguments of an update loop, handed to its pieces. */
typedef struct update_call {
    const pith_optim_config *c;
    pith_optim_slot *s;
    float lr;
    int first;
    int64_t t;
    int bad; /* the finite check: set when a piece finds a non-finite value (atomic) */
} update_call;

#define OPTIM_GRAIN 16384

static void sgd_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const update_call *u = arg;
    const pith_optim_config *c = u->c;
    float *w = u->s->p->data, *m = u->s->m;
    const float *gr = u->s->p->grad;
    const float mu = c->momentum, wd = c->weight_decay, lr = u->lr;
    const int nesterov = c->nesterov, first = u->first;
    for (size_t i = lo; i < hi; i++) {
        float d = gr[i] + wd * w[i];
        if (m) {
            /* torch initialises the buffer with the first gradient (no dampening). */
            float b = first ? d : mu * m[i] + d;
            m[i] = b;
            d = nesterov ? d + mu * b : b;
        }
        w[i] -= lr * d;
    }
}

static void sgd_update(const pith_optim_config *c, pith_optim_slot *s, float lr, int first)
{
    update_call u = {.c = c, .s = s, .lr = lr, .first = first};
    pith_parallel_for(s->p->size, OPTIM_GRAIN, sgd_range, &u);
}

static void adamw_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const update_call *u = arg;
    const pith_optim_config *c = u->c;
    pith_optim_slot *s = u->s;
    float *w = s->p->data;
    const float *gr = s->p->grad;
    const float b1 = c->beta1, b2 = c->beta2, lr = u->lr;
    const double bc1 = 1.0 - pow(b1, (double)u->t), bc2 = 1.0 - pow(b2, (double)u->t);
    const float step = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    for (size_t i = lo; i < hi; i++) {
        w[i] *= 1.0f - lr * c->weight_decay;
        s->m[i] = b1 * s->m[i] + (1.0f - b1) * gr[i];
        s->v[i] = b2 * s->v[i] + (1.0f - b2) * gr[i] * gr[i];
        float denom = sqrtf(s->v[i]) / bc2_sqrt + c->eps;
        w[i] -= step * s->m[i] / denom;
    }
}

static void adamw_update(const pith_optim_config *c, pith_optim_slot *s, float lr, int64_t t)
{
    update_call u = {.c = c, .s = s, .lr = lr, .t = t};
    pith_parallel_for(s->p->size, OPTIM_GRAIN, adamw_range, &u);
}

static void finite_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    update_call *u = arg;
    const float *gr = u->s->p->grad;
    int bad = 0;
    for (size_t k = lo; k < hi; k++)
        bad |= !isfinite(gr[k]);
    if (bad)
        __atomic_store_n(&u->bad, 1, __ATOMIC_RELAXED);
}

int pith_optim_step(pith_optim *o, float lr)
{
    for (int i = 0; i < o->n_slots; i++) {
        const pith_param *p = o->slots[i].p;
        if (p->frozen)
            continue;
        update_call u = {.s = &o->slots[i]};
        pith_parallel_for(p->size, OPTIM_GRAIN, finite_range, &u);
        if (u.bad)
            return pith_error(PITH_ENUM, "gradient of parameter '%s' (slot %d) is not finite",
                              p->name, i);
    }
    o->steps++;
    for (int i = 0; i < o->n_slots; i++) {
        pith_optim_slot *s = &o->slots[i];
        if (s->p->frozen)
            continue;
        if (o->cfg.kind == PITH_OPTIM_ADAMW)
            adamw_update(&o->cfg, s, lr, o->steps);
        else
            sgd_update(&o->cfg, s, lr, o->steps == 1);
    }
    return PITH_OK;
}
