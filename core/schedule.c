#include "schedule.h"

#include <math.h>
#include <string.h>

#include "error.h"

float pith_schedule_lr(const pith_schedule *s, int64_t t)
{
    double lr = s->base_lr;
    switch (s->kind) {
    case PITH_SCHED_CONSTANT:
        break;
    case PITH_SCHED_STEP:
        if (s->step_size > 0)
            lr = s->base_lr * pow(s->gamma, (double)(t / s->step_size));
        break;
    case PITH_SCHED_COSINE: {
        double frac = s->total_steps > 0 ? (double)t / (double)s->total_steps : 0.0;
        if (frac > 1.0)
            frac = 1.0;
        lr = s->min_lr + (s->base_lr - s->min_lr) * 0.5 * (1.0 + cos(M_PI * frac));
        break;
    }
    }
    if (s->warmup_steps > 0 && t < s->warmup_steps)
        lr *= (double)(t + 1) / (double)s->warmup_steps;
    return (float)lr;
}

const char *pith_sched_name(pith_sched_kind k)
{
    return k == PITH_SCHED_STEP ? "step" : k == PITH_SCHED_COSINE ? "cosine" : "constant";
}

int pith_sched_parse(const char *name, pith_sched_kind *k)
{
    if (strcmp(name, "constant") == 0)
        *k = PITH_SCHED_CONSTANT;
    else if (strcmp(name, "step") == 0)
        *k = PITH_SCHED_STEP;
    else if (strcmp(name, "cosine") == 0)
        *k = PITH_SCHED_COSINE;
    else
        return pith_error(PITH_EINVAL, "unknown schedule '%s' (expected constant, step or cosine)",
                          name);
    return PITH_OK;
}
