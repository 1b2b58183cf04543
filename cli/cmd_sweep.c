/* pith sweep: a grid of `pith run` points (--param key=v1,v2,... and
 * --seeds N), run in parallel, skipping points already in the results
 * table; or a Slurm job-array script (the engine is experiments/sweep.h;
 * this is its command line). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/error.h"
#include "../experiments/json.h"
#include "../experiments/results.h"
#include "../experiments/sweep.h"
#include "cli.h"

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

static void print_json(const exp_sweep *sw, const exp_sweep_counts *n, const char *results)
{
    json j;
    json_init(&j, stdout);
    json_obj(&j, NULL);
    json_str(&j, "config", sw->config);
    json_int(&j, "points", sw->n);
    json_int(&j, "run", n->run);
    json_int(&j, "skipped", n->skipped);
    json_int(&j, "failed", n->failed);
    json_num(&j, "seconds", n->seconds);
    json_str(&j, "results", results);
    json_arr(&j, "runs");
    for (int i = 0; i < sw->n; i++) {
        json_obj(&j, NULL);
        json_str(&j, "run_id", sw->pts[i].run_id);
        json_str(&j, "knobs", sw->pts[i].label);
        json_str(&j, "status", sw->pts[i].status);
        json_num(&j, "top1", sw->pts[i].top1);
        json_end_obj(&j);
    }
    json_end_arr(&j);
    json_end_obj(&j);
    json_finish(&j);
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
    const char *params[EXP_SWEEP_MAX_PARAMS], *fixed[EXP_SWEEP_MAX_FIXED], *runs = "runs", *results = "results/runs.tsv";
    const char *slurm = NULL;
    int n_params = 0, n_fixed = 0, seeds = 1, jobs = 1, threads = 0, dry = 0, as_json = 0, c, rc;
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        switch (c) {
        case 'p':
            if (n_params == EXP_SWEEP_MAX_PARAMS)
                return cli_usage_error(cmd, "at most %d --param", EXP_SWEEP_MAX_PARAMS);
            params[n_params++] = optarg;
            break;
        case 'S': rc = cli_int(cmd, "--seeds", optarg, 1, 1000, &seeds); break;
        case 's':
            if (n_fixed == EXP_SWEEP_MAX_FIXED)
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

    exp_sweep sw;
    rc = exp_sweep_build(config, fixed, n_fixed, params, n_params, seeds, &sw);
    if (rc)
        return cli_fail(cmd, rc);
    /* the points run (and the Slurm script calls) this very binary */
    char self[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    self[sl > 0 ? sl : 0] = '\0';
    if (slurm) {
        char script[PATH_MAX + 64];
        rc = exp_sweep_emit_slurm(&sw, slurm, self, runs, results, script, sizeof script);
        if (!rc)
            printf("wrote %s: %d array tasks\n", script, sw.n);
        code = rc ? cli_fail(cmd, rc) : EXIT_OK;
    } else if (dry) {
        char *done = results_done_ids(results);
        for (int i = 0; done && i < sw.n; i++)
            printf("%-16s %s%s\n", sw.pts[i].run_id, sw.pts[i].label,
                   results_done_has(done, sw.pts[i].run_id) ? "  (done)" : "");
        code = done ? EXIT_OK : cli_fail(cmd, PITH_EIO);
        free(done);
    } else {
        if (!threads) {
            threads = (int)sysconf(_SC_NPROCESSORS_ONLN) / jobs;
            threads = threads < 1 ? 1 : threads;
        }
        FILE *msg = as_json ? stderr : stdout;
        exp_sweep_counts n;
        rc = exp_sweep_run(&sw, self, runs, results, jobs, threads, msg, &n);
        if (!rc)
            fprintf(msg, "sweep: %d points, %d run, %d skipped, %d failed, %.1f s; rows in %s\n", sw.n, n.run,
                    n.skipped, n.failed, n.seconds, results);
        if (!rc && as_json)
            print_json(&sw, &n, results);
        code = rc ? cli_fail(cmd, rc) : n.failed ? EXIT_FAIL : EXIT_OK;
    }
    exp_sweep_free(&sw);
    return code;
}
