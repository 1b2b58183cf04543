/* Progress of long work. On a terminal: one live line, redrawn in place at
 * most ten times a second. Otherwise: a plain log line every `interval`
 * seconds, so logs stay readable. Writes only to the stream it is given. */
#ifndef PITH_PROGRESS_H
#define PITH_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct pith_progress {
    FILE *out;          /* NULL: silent */
    int tty;
    char label[64];
    int64_t total;
    double t0, last;
    double interval;    /* seconds between log lines when not a terminal */
} pith_progress;

double pith_now(void);
void pith_progress_begin(pith_progress *p, FILE *out, const char *label, int64_t total);
/* Whether an update at `done` would print now (callers skip formatting otherwise). */
int pith_progress_due(const pith_progress *p, int64_t done);
/* done items of total; `status` is appended (e.g. "loss 0.41 acc 85.2%"). items_per_s is
 * computed from `items` processed since begin. */
void pith_progress_update(pith_progress *p, int64_t done, int64_t items, const char *status);
/* Ends the live line with a final summary. */
void pith_progress_end(pith_progress *p, const char *summary);

#endif
