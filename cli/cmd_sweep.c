/* pith sweep: a grid of `pith run` points (--param key=v1,v2,... and --seeds N),
 * run in parallel, skipping points already in the results table; or a Slurm
 * job-array script that runs one point per array task. */
#include <getopt.h>
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/error.h"
#include "../core/progress.h"
#include "cli.h"
#include "../experiments/config.h"
#include "../experiments/json.h"
#include "../experiments/results.h"

#define MAX_PARAMS 8
#define MAX_VALUES 64
#define MAX_POINTS 4096

static void usage(FILE *f)
{
    fprintf(f, "usage: pith sweep CONFIG.yaml --param KEY=V1,V2,... [--param ...] [options]\n"
               "\n"
               "Runs `pith run CONFIG` for every combination of the --param values and\n"
               "--seeds seeds. Every point is validated before any runs. A point whose run\n"
               "id is already in the results table is skipped, so an interrupted sweep\n"
               "resumes where it stopped.\n"
               "\n"
               "  --param KEY=V1,V2,...  a swept key (same keys as --set); repeat for a grid\n"
               "  --seeds N              seeds seed, seed+1, ..., seed+N-1 (default 1: the config's)\n"
               "  --set KEY=VALUE        a fixed override for every point\n"
               "  --jobs N               points run at once (default 1)\n"
               "  --threads N            threads per point (default: cores / jobs)\n"
               "  --runs DIR, --results FILE   as for pith run\n"
               "  --emit-slurm DIR       write DIR/sweep.sbatch (a job array, one task per\n"
               "                         point) instead of running\n"
               "  --dry-run              list the points and their run ids\n"
               "  --json                 one JSON object on stdout (points with run id, status,\n"
               "                         top-1); the per-point lines go to stderr\n"
               "  -h, --help             this help\n");
}

typedef struct point {
    char *args[MAX_PARAMS + 2]; /* "key=value" sets for this point */
    int n;
    char run_id[32];
    char label[512];
    const char *status;         /* ok, failed, skipped */
    double top1;
} point;

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
        if (*n == MAX_VALUES || len == 0 || len >= 128)
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

static int emit_slurm(const char *dir, const char *config, const char *runs, const char *results,
                      const char *const *fixed, int n_fixed, point *pts, int n, const char *exp_name)
{
    char path[PATH_MAX], cwd[PATH_MAX], self[PATH_MAX], cfg_abs[PATH_MAX];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/logs", dir);
    mkdir(path, 0777);
    if (!getcwd(cwd, sizeof cwd) || !realpath(config, cfg_abs))
        return pith_error(PITH_EIO, "%s: cannot resolve the path", config);
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    self[sl > 0 ? sl : 0] = '\0';
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
    fputs(self, f);
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
    printf("wrote %s: %d array tasks\n", path, n);
    return PITH_OK;
}

/* Starts `pith run` for one point, stdout to a pipe; returns the pid. */
static pid_t start_point(const char *config, const char *runs, const char *results, const char *const *fixed,
                         int n_fixed, const point *p, int threads, int *out_fd)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[2 * (64 + MAX_PARAMS) + 16];
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
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(fds[1]);
    *out_fd = fds[0];
    return pid;
}

int cmd_sweep(int argc, char **argv)
{
    const char *cmd = "sweep";
    static const struct option opts[] = {
        {"param", 1, 0, 'p'}, {"seeds", 1, 0, 'S'}, {"set", 1, 0, 's'}, {"jobs", 1, 0, 'j'},
        {"threads", 1, 0, 't'}, {"runs", 1, 0, 'r'}, {"results", 1, 0, 'R'},
        {"emit-slurm", 1, 0, 'E'}, {"dry-run", 0, 0, 'd'}, {"json", 0, 0, 'J'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *params[MAX_PARAMS], *fixed[64], *runs = "runs", *results = "results/runs.tsv";
    const char *slurm = NULL;
    int n_params = 0, n_fixed = 0, seeds = 1, jobs = 1, threads = 0, dry = 0, as_json = 0, c, rc;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        switch (c) {
        case 'p':
            if (n_params == MAX_PARAMS)
                return cli_usage_error(cmd, "at most %d --param", MAX_PARAMS);
            params[n_params++] = optarg;
            break;
        case 'S': rc = cli_int(cmd, "--seeds", optarg, 1, 1000, &seeds); break;
        case 's':
            if (n_fixed == 64)
                return cli_usage_error(cmd, "at most 64 --set");
            fixed[n_fixed++] = optarg;
            break;
        case 'j': rc = cli_int(cmd, "--jobs", optarg, 1, 256, &jobs); break;
        case 'r': runs = optarg; break;
        case 'R': results = optarg; break;
        case 'E': slurm = optarg; break;
        case 'd': dry = 1; break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    threads = co.threads, as_json = co.as_json;
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one config file");
    const char *config = argv[optind];

    /* the grid */
    static char keys[MAX_PARAMS][128], vals[MAX_PARAMS][MAX_VALUES][128];
    int nv[MAX_PARAMS], total = seeds;
    for (int i = 0; i < n_params; i++) {
        if (split_values(params[i], keys[i], sizeof keys[i], vals[i], &nv[i]))
            return cli_usage_error(cmd, "--param %s: expected key=v1,v2,... (at most %d values)", params[i],
                                   MAX_VALUES);
        if (!strcmp(keys[i], "seed"))
            return cli_usage_error(cmd, "sweep seeds with --seeds N");
        total *= nv[i];
        if (total > MAX_POINTS)
            return cli_usage_error(cmd, "more than %d points", MAX_POINTS);
    }
    exp_config base;
    rc = exp_config_load(config, fixed, n_fixed, &base);
    if (rc)
        return cli_fail(cmd, rc);
    uint64_t seed0 = base.seed;
    char exp_name[64];
    snprintf(exp_name, sizeof exp_name, "%s", base.name);
    exp_config_free(&base);

    point *pts = calloc((size_t)total, sizeof *pts);
    char *store = calloc((size_t)total * (MAX_PARAMS + 1), 192);
    if (!pts || !store) {
        free(pts);
        free(store);
        return cli_fail(cmd, pith_error(PITH_ENOMEM, "out of memory"));
    }
    for (int i = 0; i < total && !rc; i++) {
        point *p = &pts[i];
        int r = i;
        size_t lo = 0;
        for (int k = 0; k < n_params; k++) {
            int v = r % nv[k];
            r /= nv[k];
            p->args[p->n] = store + ((size_t)i * (MAX_PARAMS + 1) + (size_t)p->n) * 192;
            snprintf(p->args[p->n], 192, "%s=%s", keys[k], vals[k][v]);
            lo += (size_t)snprintf(p->label + lo, sizeof p->label - lo, "%s ", p->args[p->n]);
            p->n++;
        }
        p->args[p->n] = store + ((size_t)i * (MAX_PARAMS + 1) + (size_t)p->n) * 192;
        snprintf(p->args[p->n], 192, "seed=%llu", (unsigned long long)(seed0 + (uint64_t)r));
        snprintf(p->label + lo, sizeof p->label - lo, "%s", p->args[p->n]);
        p->n++;
        /* validate every point, and learn its run id, before running any */
        const char *sets[64 + MAX_PARAMS + 1];
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
    code = EXIT_OK;
    /* the table is read once: which points are done */
    char *done = rc || slurm ? NULL : results_done_ids(results);
    if (!rc && !slurm && !done)
        rc = PITH_EIO;
    if (rc) {
        code = cli_fail(cmd, rc);
    } else if (slurm) {
        rc = emit_slurm(slurm, config, runs, results, fixed, n_fixed, pts, total, exp_name);
        code = rc ? cli_fail(cmd, rc) : EXIT_OK;
    } else if (dry) {
        for (int i = 0; i < total; i++)
            printf("%-16s %s%s\n", pts[i].run_id, pts[i].label,
                   results_done_has(done, pts[i].run_id) ? "  (done)" : "");
    } else {
        if (!threads) {
            threads = (int)sysconf(_SC_NPROCESSORS_ONLN) / jobs;
            threads = threads < 1 ? 1 : threads;
        }
        FILE *msg = as_json ? stderr : stdout;
        int skipped = 0, failed = 0, finished = 0, next = 0, running = 0;
        pid_t pids[256];
        int fds[256], which[256];
        double t0 = pith_now();
        /* points already done are skipped up front */
        char *pending = calloc((size_t)total, 1);
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
                pid_t pid = start_point(config, runs, results, fixed, n_fixed, &pts[next], threads, &fd);
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
                point *p = &pts[which[k]];
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
        fprintf(msg, "sweep: %d points, %d run, %d skipped, %d failed, %.1f s; rows in %s\n", total,
                finished, skipped, failed, pith_now() - t0, results);
        if (as_json) {
            json j;
            json_init(&j, stdout);
            json_obj(&j, NULL);
            json_str(&j, "config", config);
            json_int(&j, "points", total);
            json_int(&j, "run", finished);
            json_int(&j, "skipped", skipped);
            json_int(&j, "failed", failed);
            json_num(&j, "seconds", pith_now() - t0);
            json_str(&j, "results", results);
            json_arr(&j, "runs");
            for (int i = 0; i < total; i++) {
                json_obj(&j, NULL);
                json_str(&j, "run_id", pts[i].run_id);
                json_str(&j, "knobs", pts[i].label);
                json_str(&j, "status", pts[i].status);
                json_num(&j, "top1", pts[i].top1);
                json_end_obj(&j);
            }
            json_end_arr(&j);
            json_end_obj(&j);
            json_finish(&j);
        }
        code = failed ? EXIT_FAIL : EXIT_OK;
    }
    free(done);
    free(pts);
    free(store);
    return code;
}
