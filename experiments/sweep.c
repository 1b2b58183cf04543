#include "sweep.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/error.h"
#include "../core/progress.h"
#include "config.h"
#include "results.h"

static int split_values(const char *spec, char *key, size_t klen, char vals[][128], int *n)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || (size_t)(eq - spec) >= klen)
        return -1;
    snprintf(key, klen, "%.*s", (int)(eq - spec), spec);
    *n = 0;
    const char *p = eq + 1;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*n == EXP_SWEEP_MAX_VALUES || len == 0 || len >= 128)
            return -1;
        snprintf(vals[(*n)++], 128, "%.*s", (int)len, p);
        p += len + (comma ? 1 : 0);
    }
    return *n ? 0 : -1;
}

/* Single-quotes a word for the shell. */
static void shell_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

int exp_sweep_emit_slurm(const exp_sweep *sw, const char *dir, const char *pith, const char *runs, const char *results,
                         char *script, size_t len)
{
    const char *config = sw->config, *exp_name = sw->experiment;
    const char *const *fixed = sw->fixed;
    const int n_fixed = sw->n_fixed, n = sw->n;
    const exp_point *pts = sw->pts;
    char path[PATH_MAX], cwd[PATH_MAX], cfg_abs[PATH_MAX];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/logs", dir);
    mkdir(path, 0777);
    if (!getcwd(cwd, sizeof cwd) || !realpath(config, cfg_abs))
        return pith_error(PITH_EIO, "%s: cannot resolve the path", config);
    if (snprintf(path, sizeof path, "%s/sweep.sbatch", dir) >= (int)sizeof path)
        return pith_error(PITH_EINVAL, "%s: path too long", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot create", path);
    fprintf(f, "#!/bin/bash\n"
               "# pith sweep of %s: %d points, one array task each.\n"
               "#   sbatch %s        (override the pith binary with PITH=/path/to/pith)\n"
               "#SBATCH --job-name=pith-%s\n"
               "#SBATCH --array=0-%d\n"
               "#SBATCH --cpus-per-task=2\n"
               "#SBATCH --output=%s/logs/%%A_%%a.out\n"
               "set -euo pipefail\n",
            config, n, path, exp_name, n - 1, dir);
    fputs("cd ", f);
    shell_quote(f, cwd);
    fputs("\ncase \"${SLURM_ARRAY_TASK_ID:?not set}\" in\n", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "  %d) ARGS=(", i);
        for (int j = 0; j < n_fixed; j++) {
            fputs(" --set ", f);
            shell_quote(f, fixed[j]);
        }
        for (int j = 0; j < pts[i].n; j++) {
            fputs(" --knob ", f);
            shell_quote(f, pts[i].args[j]);
        }
        fprintf(f, " ) ;;  # run %s\n", pts[i].run_id);
    }
    fprintf(f, "  *) echo \"no point $SLURM_ARRAY_TASK_ID (0..%d)\" >&2; exit 2 ;;\n"
               "esac\n"
               "exec \"${PITH:-",
            n - 1);
    fputs(pith, f);
    fputs("}\" run ", f);
    shell_quote(f, cfg_abs);
    fputs(" --runs ", f);
    shell_quote(f, runs);
    fputs(" --results ", f);
    shell_quote(f, results);
    fputs(" --quiet \"${ARGS[@]}\"\n", f);
    int ok = fclose(f) == 0;
    chmod(path, 0755);
    if (!ok)
        return pith_error(PITH_EIO, "%s: write failed", path);
    snprintf(script, len, "%s", path);
    return PITH_OK;
}

/* Starts `pith run` for one point, stdout to a pipe; returns the pid. */
static pid_t start_point(const char *pith, const char *config, const char *runs, const char *results, const char *const *fixed,
                         int n_fixed, const exp_point *p, int threads, int *out_fd)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[2 * (64 + EXP_SWEEP_MAX_PARAMS) + 16];
        char th[16];
        int a = 0;
        argv[a++] = "pith";
        argv[a++] = "run";
        argv[a++] = (char *)config;
        for (int j = 0; j < n_fixed; j++) {
            argv[a++] = "--set";
            argv[a++] = (char *)fixed[j];
        }
        for (int j = 0; j < p->n; j++) {
            argv[a++] = "--knob";
            argv[a++] = p->args[j];
        }
        argv[a++] = "--runs";
        argv[a++] = (char *)runs;
        argv[a++] = "--results";
        argv[a++] = (char *)results;
        snprintf(th, sizeof th, "%d", threads);
        argv[a++] = "--threads";
        argv[a++] = th;
        argv[a++] = "--quiet";
        argv[a++] = "--json";
        argv[a] = NULL;
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(pith, argv);
        _exit(127);
    }
    close(fds[1]);
    *out_fd = fds[0];
    return pid;
}

int exp_sweep_build(const char *config, const char *const *fixed, int n_fixed, const char *const *params, int n_params,
                    int seeds, exp_sweep *sw)
{
    memset(sw, 0, sizeof *sw);
    sw->config = config;
    sw->fixed = fixed;
    sw->n_fixed = n_fixed;
    if (n_params > EXP_SWEEP_MAX_PARAMS || n_fixed > EXP_SWEEP_MAX_FIXED)
        return pith_error(PITH_EINVAL, "at most %d --param and %d --set", EXP_SWEEP_MAX_PARAMS, EXP_SWEEP_MAX_FIXED);
    static char keys[EXP_SWEEP_MAX_PARAMS][128], vals[EXP_SWEEP_MAX_PARAMS][EXP_SWEEP_MAX_VALUES][128];
    int nv[EXP_SWEEP_MAX_PARAMS], total = seeds;
    for (int i = 0; i < n_params; i++) {
        if (split_values(params[i], keys[i], sizeof keys[i], vals[i], &nv[i]))
            return pith_error(PITH_EINVAL, "--param %s: expected key=v1,v2,... (at most %d values)", params[i],
                              EXP_SWEEP_MAX_VALUES);
        if (!strcmp(keys[i], "seed"))
            return pith_error(PITH_EINVAL, "--param seed: sweep seeds with --seeds N");
        total *= nv[i];
        if (total > EXP_SWEEP_MAX_POINTS)
            return pith_error(PITH_EINVAL, "more than %d points", EXP_SWEEP_MAX_POINTS);
    }
    exp_config base;
    int rc = exp_config_load(config, fixed, n_fixed, &base);
    if (rc)
        return rc;
    uint64_t seed0 = base.seed;
    snprintf(sw->experiment, sizeof sw->experiment, "%s", base.name);
    exp_config_free(&base);
    sw->pts = calloc((size_t)total, sizeof *sw->pts);
    sw->store = calloc((size_t)total * (EXP_SWEEP_MAX_PARAMS + 1), 192);
    if (!sw->pts || !sw->store) {
        exp_sweep_free(sw);
        return pith_error(PITH_ENOMEM, "out of memory");
    }
    sw->n = total;
    for (int i = 0; i < total && !rc; i++) {
        exp_point *p = &sw->pts[i];
        int r = i;
        size_t lo = 0;
        p->top1 = NAN;
        p->status = "failed";
        for (int k = 0; k < n_params; k++) {
            int v = r % nv[k];
            r /= nv[k];
            p->args[p->n] = sw->store + ((size_t)i * (EXP_SWEEP_MAX_PARAMS + 1) + (size_t)p->n) * 192;
            snprintf(p->args[p->n], 192, "%s=%s", keys[k], vals[k][v]);
            lo += (size_t)snprintf(p->label + lo, sizeof p->label - lo, "%s ", p->args[p->n]);
            p->n++;
        }
        p->args[p->n] = sw->store + ((size_t)i * (EXP_SWEEP_MAX_PARAMS + 1) + (size_t)p->n) * 192;
        snprintf(p->args[p->n], 192, "seed=%llu", (unsigned long long)(seed0 + (uint64_t)r));
        snprintf(p->label + lo, sizeof p->label - lo, "%s", p->args[p->n]);
        p->n++;
        /* validate every point, and learn its run id, before running any */
        const char *sets[EXP_SWEEP_MAX_FIXED + EXP_SWEEP_MAX_PARAMS + 1];
        int ns = 0;
        for (int j = 0; j < n_fixed; j++)
            sets[ns++] = fixed[j];
        for (int j = 0; j < p->n; j++)
            sets[ns++] = p->args[j];
        exp_config pc;
        rc = exp_config_load(config, sets, ns, &pc);
        if (!rc) {
            snprintf(p->run_id, sizeof p->run_id, "%s", pc.run_id);
            exp_config_free(&pc);
        }
    }
    if (rc)
        exp_sweep_free(sw);
    return rc;
}

void exp_sweep_free(exp_sweep *sw)
{
    free(sw->pts);
    free(sw->store);
    sw->pts = NULL;
    sw->store = NULL;
    sw->n = 0;
}

int exp_sweep_run(exp_sweep *sw, const char *pith, const char *runs, const char *results, int jobs, int threads,
                  FILE *msg, exp_sweep_counts *counts)
{
    const char *config = sw->config;
    const char *const *fixed = sw->fixed;
    const int n_fixed = sw->n_fixed, total = sw->n;
    exp_point *pts = sw->pts;
    memset(counts, 0, sizeof *counts);
    /* the table is read once: which points are done */
    char *done = results_done_ids(results);
    char *pending = calloc((size_t)(total ? total : 1), 1);
    if (!done || !pending) {
        free(done);
        free(pending);
        return done ? pith_error(PITH_ENOMEM, "out of memory") : PITH_EIO;
    }
    if (jobs > 256)
        jobs = 256;
    int skipped = 0, failed = 0, finished = 0, next = 0, running = 0;
    pid_t pids[256];
    int fds[256], which[256];
    double t0 = pith_now();
    /* points already done are skipped up front */
    for (int i = 0; i < total; i++) {
        pending[i] = !results_done_has(done, pts[i].run_id);
        pts[i].top1 = NAN;
        pts[i].status = "failed";
        if (!pending[i]) {
            skipped++;
            pts[i].status = "skipped";
            fprintf(msg, "[skip] %s (%s already in %s)\n", pts[i].label, pts[i].run_id, results);
        }
    }
    while (next < total || running) {
        while (running < jobs && next < total) {
            if (!pending[next]) {
                next++;
                continue;
            }
            int fd;
            pid_t pid = start_point(pith, config, runs, results, fixed, n_fixed, &pts[next], threads, &fd);
            if (pid < 0) {
                failed++;
                next++;
                continue;
            }
            pids[running] = pid;
            fds[running] = fd;
            which[running] = next++;
            running++;
        }
        if (!running)
            break;
        int st;
        pid_t exited = wait(&st);
        for (int k = 0; k < running; k++) {
            if (pids[k] != exited)
                continue;
            char out[4096] = "";
            ssize_t got = read(fds[k], out, sizeof out - 1);
            out[got > 0 ? got : 0] = '\0';
            close(fds[k]);
            exp_point *p = &pts[which[k]];
            int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
            const char *t1 = strstr(out, "\"top1\":");
            finished++;
            failed += !ok;
            p->status = ok ? "ok" : "failed";
            if (ok && t1)
                p->top1 = atof(t1 + 7);
            fprintf(msg, "[%d/%d] %s: %s", finished + skipped, total, p->label, ok ? "ok" : "FAILED");
            if (ok && t1)
                fprintf(msg, ", top-1 %.2f%%", 100 * p->top1);
            fprintf(msg, " (%s)\n", p->run_id);
            fflush(msg);
            pids[k] = pids[running - 1];
            fds[k] = fds[running - 1];
            which[k] = which[running - 1];
            running--;
            break;
        }
    }
    free(pending);
    counts->run = finished;
    counts->skipped = skipped;
    counts->failed = failed;
    counts->seconds = pith_now() - t0;
    free(done);
    return PITH_OK;
}
