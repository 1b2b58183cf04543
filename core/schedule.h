/* Learning-rate schedules, as a pure function of the global step so that a
 * resumed run computes exactly the rates an uninterrupted one would. */
#ifndef PITH_SCHEDULE_H
#define PITH_SCHEDULE_H

#include <stdint.h>

typedef enum { PITH_SCHED_CONSTANT = 0, PITH_SCHED_STEP, PITH_SCHED_COSINE } pith_sched_kind;

typedef struct pith_schedule {
    pith_sched_kind kind;
    float base_lr;
    float min_lr;          /* cosine floor */
    int64_t total_steps;   /* cosine horizon */
    int64_t step_size;     /* step: decay every step_size steps */
    float gamma;           /* step: multiply by gamma */
    int64_t warmup_steps;  /* linear warm-up from 0 (exclusive) to the schedule's value */
} pith_schedule;

/* Learning rate at global step t (0-based). Cosine follows the per-step form
 * lr = min + (base - min) * (1 + cos(pi * t / T)) / 2. */
float pith_schedule_lr(const pith_schedule *s, int64_t t);
const char *pith_sched_name(pith_sched_kind k);
int pith_sched_parse(const char *name, pith_sched_kind *k);

#endif
