/* pith run: one experiment point from a YAML config (the engine is
 * experiments/run.h; this is its command line). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/threads.h"
#include "../experiments/config.h"
#include "../experiments/json.h"
#include "../experiments/results.h"
#include "../experiments/run.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pith run CONFIG.yaml [--set key=value]... [options]\n"
            "\n"
            "Runs the config's stages in order (train, eval, quantize, prune, finetune,\n"
            "distill, lowrank, export, bench) and appends one row to the\n"
            "results table. The run directory runs/<experiment>/<run-id>/ holds the\n"
            "resolved config (config.yaml), provenance.json, log.txt, each stage's\n"
            "checkpoint and metrics. The run id is derived from the resolved config's\n"
            "hash and the seed: a point already in the table (status ok) is not run\n"
            "again unless --force.\n"
            "\n"
            "  --set KEY=VALUE   override a key: seed=3, dataset.subset=2000, train.epochs=2\n"
            "                    (a first key naming a stage reaches into that stage)\n"
            "  --knob KEY=VALUE  like --set, and recorded as a swept knob in the results\n"
            "                    table (pith sweep passes its grid this way); without any\n"
            "                    --knob, the --set overrides are recorded\n"
            "  --runs DIR        runs directory (default runs)\n"
            "  --results FILE    results table (default results/runs.tsv)\n"
            "  --force           run even if the table has this run id\n"
            "  --no-cache        run every stage; by default a run starts from the\n"
            "                    checkpoint of an earlier run whose config agrees up to\n"
            "                    its last training stage and whose seed is the same\n"
            "                    (runs/<experiment>/cache/; a sweep over pruning ratios\n"
            "                    trains each seed's base model once)\n"
            "  --check           validate the config (with overrides) and print the run id\n"
            "  --threads N       threads (default: all cores)\n"
            "  --json            print one JSON object on stdout\n"
            "  --quiet           no progress on stderr\n"
            "  -h, --help        this help\n");
}

/* Starts the --json object on stdout with what names the run. */
static void json_begin_run(json *j, const exp_config *cfg, const char *dir)
{
    json_init(j, stdout);
    json_obj(j, NULL);
    json_str(j, "experiment", cfg->name);
    json_str(j, "run_id", cfg->run_id);
    json_str(j, "dir", dir);
}

int cmd_run(int argc, char **argv)
{
    const char *cmd = "run";
    static const struct option opts[] = {
        {"set", 1, 0, 's'}, {"knob", 1, 0, 'k'}, {"runs", 1, 0, 'r'}, {"results", 1, 0, 'R'}, {"force", 0, 0, 'f'}, {"no-cache", 0, 0, 'C'},
        {"check", 0, 0, 'c'}, {"threads", 1, 0, 't'}, {"json", 0, 0, 'j'}, {"quiet", 0, 0, 'q'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *sets[128], *knobs[64];
    int n_sets = 0, n_knobs = 0, force = 0, no_cache = 0, check = 0, threads = 0, as_json = 0, quiet = 0, c, rc;
    const char *runs = "runs", *results = "results/runs.tsv";
    optind = 1;
    cli_common co = {0};
    int code = EXIT_OK;
    rc = 0;
    while (!rc && (c = cli_next_option(cmd, argc, argv, opts, usage, &co, &code)) >= 0) {
        switch (c) {
        case 's':
        case 'k':
            if (n_sets == 128 || n_knobs == 64)
                return cli_usage_error(cmd, "too many --set/--knob");
            sets[n_sets++] = optarg;
            if (c == 'k')
                knobs[n_knobs++] = optarg;
            break;
        case 'r': runs = optarg; break;
        case 'R': results = optarg; break;
        case 'f': force = 1; break;
        case 'C': no_cache = 1; break;
        case 'c': check = 1; break;
        }
    }
    if (rc || c == CLI_OPT_EXIT)
        return rc ? rc : code;
    threads = co.threads, quiet = co.quiet, as_json = co.as_json;
    if (optind != argc - 1)
        return cli_usage_error(cmd, "expected one config file");
    exp_config cfg;
    rc = exp_config_load(argv[optind], sets, n_sets, &cfg);
    if (rc)
        return cli_fail(cmd, rc);
    char dir[2048];
    if (exp_run_dir(&cfg, runs, dir, sizeof dir)) {
        exp_config_free(&cfg);
        return cli_usage_error(cmd, "--runs path too long");
    }
    if (check) {
        if (as_json) {
            json j;
            json_begin_run(&j, &cfg, dir);
            json_end_obj(&j);
            json_finish(&j);
        } else {
            printf("%s: valid; run id %s (%s)\n", cfg.path, cfg.run_id, dir);
        }
        exp_config_free(&cfg);
        return EXIT_OK;
    }
    int done = results_has_run(results, cfg.run_id);
    if (done > 0 && !force) {
        if (as_json) {
            json j;
            json_begin_run(&j, &cfg, dir);
            json_bool(&j, "skipped", 1);
            json_end_obj(&j);
            json_finish(&j);
        } else {
            printf("%s: run %s is already in %s (use --force to run it again)\n", cfg.name, cfg.run_id,
                   results);
        }
        exp_config_free(&cfg);
        return EXIT_OK;
    }
    pith_set_threads(threads);
    exp_run_opts o = {runs, results, !no_cache, knobs, n_knobs, quiet ? NULL : stderr};
    exp_row row;
    rc = exp_run(&cfg, &o, &row);
    code = EXIT_OK;
    if (rc) {
        code = cli_fail(cmd, rc);
    } else if (as_json) {
        json j;
        json_begin_run(&j, &cfg, dir);
        json_num(&j, "top1", row.top1);
        json_num(&j, "top5", row.top5);
        json_int(&j, "params", row.params);
        json_int(&j, "macs", row.macs);
        json_int(&j, "bytes", row.bytes);
        json_num(&j, "latency_ms", row.latency_ms);
        json_num(&j, "fps", row.fps);
        json_num(&j, "peak_mem_kb", row.peak_mem_kb);
        json_num(&j, "energy_uj_est", row.energy_uj);
        json_int(&j, "pith_bytes", row.pith_bytes);
        json_end_obj(&j);
        json_finish(&j);
    } else {
        if (isnan(row.top1)) /* not scored: no labelled test images (a detector, a segmenter) */
            printf("%s %s: top-1 n/a, %lld params, %lld MACs", cfg.name, cfg.run_id, (long long)row.params,
                   (long long)row.macs);
        else
            printf("%s %s: top-1 %.2f%% top-5 %.2f%%, %lld params, %lld MACs", cfg.name, cfg.run_id, 100 * row.top1,
                   100 * row.top5, (long long)row.params, (long long)row.macs);
        if (row.batch)
            printf("; %.3f ms, %.0f inferences/s, %.0f KB peak, %.2f uJ (est.) on %s", row.latency_ms, row.fps,
                   row.peak_mem_kb, row.energy_uj, row.bench_on);
        printf("; %s; row added to %s\n", dir, results);
    }
    exp_config_free(&cfg);
    return code;
}
