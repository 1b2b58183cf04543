#include "progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

double pith_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void pith_progress_begin(pith_progress *p, FILE *out, const char *label, int64_t total)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = out ? isatty(fileno(out)) : 0;
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->t0 = p->last = pith_now();
    p->interval = 10.0;
}

static void fmt_eta(double s, char *buf, size_t len)
{
    if (s < 0 || s > 1e7)
        snprintf(buf, len, "--:--");
    else
        snprintf(buf, len, "%d:%02d", (int)s / 60, (int)s % 60);
}

int pith_progress_due(const pith_progress *p, int64_t done)
{
    return p->out && (done == p->total || pith_now() - p->last >= (p->tty ? 0.1 : p->interval));
}

void pith_progress_update(pith_progress *p, int64_t done, int64_t items, const char *status)
{
    if (!pith_progress_due(p, done))
        return;
    double now = pith_now();
    p->last = now;
    double el = now - p->t0;
    double rate = el > 0 ? (double)items / el : 0.0;
    char eta[16];
    fmt_eta(done > 0 ? el * (double)(p->total - done) / (double)done : -1, eta, sizeof eta);
    if (p->tty)
        fprintf(p->out, "\r\033[K%s [%lld/%lld] %s %.0f img/s ETA %s", p->label, (long long)done,
                (long long)p->total, status ? status : "", rate, eta);
    else if (done != p->total) /* the summary line follows */
        fprintf(p->out, "%s %lld/%lld %s %.0f img/s ETA %s\n", p->label, (long long)done,
                (long long)p->total, status ? status : "", rate, eta);
    fflush(p->out);
}

void pith_progress_end(pith_progress *p, const char *summary)
{
    if (!p->out)
        return;
    if (p->tty)
        fprintf(p->out, "\r\033[K");
    if (summary)
        fprintf(p->out, "%s\n", summary);
    fflush(p->out);
}
