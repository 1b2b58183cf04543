/* pith report: the benchmark table researchers publish, in Markdown, from a
 * results table. Cells the table has no measurement for say n/a. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "cli.h"
#include "../experiments/json.h"
#include "../experiments/results.h"

#define MAX_COLS 64

static void usage(FILE *f)
{
    fprintf(f, "usage: pith report [RESULTS.tsv] [--json]   (default results/runs.tsv)\n"
               "\n"
               "Prints one Markdown row per successful run: Hardware | Model | Input | Batch |\n"
               "Data type | Sparsity | Params | MACs | Accuracy | FPS | Latency (ms) | Size (KB) |\n"
               "Peak memory (KB) | Comments. What a run did not measure is n/a (latency, FPS\n"
               "and peak memory come from a bench stage). Failed runs are listed below.\n"
               "--json prints one JSON object instead: the same cells per run (null for n/a)\n"
               "and the failed runs.\n");
}

/* Splits a line at tabs in place. */
static int split_tabs(char *line, char **f)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    f[n++] = line;
    for (char *p = line; *p && n < MAX_COLS; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static const char *human(double v, char *b, size_t len)
{
    if (v >= 1e9)
        snprintf(b, len, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(b, len, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(b, len, "%.1fK", v / 1e3);
    else
        snprintf(b, len, "%.0f", v);
    return b;
}

static int is_na(const char *s) { return !s || !*s || !strcmp(s, "NA") || !strcmp(s, "-"); }

int cmd_report(int argc, char **argv)
{
    const char *cmd = "report";
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return EXIT_OK;
    }
    const char *path = "results/runs.tsv";
    int as_json = 0, n_paths = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = 1;
        else if (argv[i][0] == '-')
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        else if (n_paths++)
            return cli_usage_error(cmd, "expected at most one results table");
        else
            path = argv[i];
    }
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_fail(cmd, pith_error(PITH_EIO, "%s: cannot open (run an experiment first)", path));
    static char line[16384];
    char *h[MAX_COLS], *v[MAX_COLS];
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return cli_fail(cmd, pith_error(PITH_EFORMAT, "%s: empty", path));
    }
    static char header[16384];
    memcpy(header, line, sizeof header);
    int nh = split_tabs(header, h);
    const char *need[] = {"experiment", "run_id", "host", "model", "input", "stages", "params",
                          "nonzero_params", "macs", "model_bytes", "top1", "latency_ms", "peak_mem_kb",
                          "knobs", "status", "error", "git_dirty"};
    enum { EXP, RUN, HOST, MODEL, INPUT, STAGES, PARAMS, NZ, MACS, BYTES, TOP1, LAT, PEAK, KNOBS, STATUS,
           ERR, DIRTY, N_NEED };
    int col[N_NEED];
    for (int i = 0; i < N_NEED; i++) {
        col[i] = -1;
        for (int j = 0; j < nh; j++)
            if (!strcmp(h[j], need[i]))
                col[i] = j;
        if (col[i] < 0) {
            fclose(f);
            return cli_fail(cmd, pith_error(PITH_EFORMAT, "%s: no column '%s' in the header", path, need[i]));
        }
    }
    json j;
    if (as_json) {
        json_init(&j, stdout);
        json_obj(&j, NULL);
        json_str(&j, "results", path);
        json_arr(&j, "runs");
    } else {
        printf("| Hardware | Model | Input | Batch | Data type | Sparsity | Params | MACs | Accuracy | FPS | "
               "Latency (ms) | Size (KB) | Peak memory (KB) | Comments |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    }
    int rows = 0, failed = 0, lineno = 1;
    static char failures[8192];
    failures[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        lineno++;
        int n = split_tabs(line, v);
        if (n != nh) {
            fprintf(stderr, "pith report: %s:%d: %d fields, expected %d; skipped\n", path, lineno, n, nh);
            continue;
        }
        if (strcmp(v[col[STATUS]], "ok") != 0) {
            failed++;
            size_t o = strlen(failures);
            snprintf(failures + o, sizeof failures - o, "- %s %s: %s\n", v[col[EXP]], v[col[RUN]],
                     v[col[ERR]]);
            continue;
        }
        char b1[32], b2[32], sp[32], acc[32], fps[32], lat[32], size[32], peak[32];
        double params = atof(v[col[PARAMS]]), nz = atof(v[col[NZ]]);
        snprintf(sp, sizeof sp, "%.1f%%", params > 0 ? 100.0 * (1.0 - nz / params) : 0.0);
        if (is_na(v[col[TOP1]]))
            snprintf(acc, sizeof acc, "n/a");
        else
            snprintf(acc, sizeof acc, "%.2f%%", 100 * atof(v[col[TOP1]]));
        if (is_na(v[col[LAT]])) {
            snprintf(lat, sizeof lat, "n/a");
            snprintf(fps, sizeof fps, "n/a");
        } else {
            double ms = atof(v[col[LAT]]);
            snprintf(lat, sizeof lat, "%.3f", ms);
            snprintf(fps, sizeof fps, "%.0f", ms > 0 ? 1000.0 / ms : 0.0);
        }
        snprintf(size, sizeof size, "%.1f", atof(v[col[BYTES]]) / 1024.0);
        if (is_na(v[col[PEAK]]))
            snprintf(peak, sizeof peak, "n/a");
        else
            snprintf(peak, sizeof peak, "%.0f", atof(v[col[PEAK]]));
        /* float32 unless a quantize stage ran: its chain entry names the format,
         * e.g. quantize(w4a4); the last one counts */
        char dtype[32] = "fp32";
        const char *qs = v[col[STAGES]], *last = NULL;
        while ((qs = strstr(qs, "quantize(")) != NULL)
            last = qs++;
        if (last) {
            const char *a = last + strlen("quantize("), *b = strchr(a, ')');
            snprintf(dtype, sizeof dtype, "%.*s", b ? (int)(b - a) : 0, a);
        }
        if (as_json) {
            double lat_ms = is_na(v[col[LAT]]) ? NAN : atof(v[col[LAT]]);
            json_obj(&j, NULL);
            json_str(&j, "hardware", v[col[HOST]]);
            json_str(&j, "model", v[col[MODEL]]);
            json_str(&j, "input", v[col[INPUT]]);
            json_num(&j, "batch", NAN);
            json_str(&j, "data_type", dtype);
            json_num(&j, "sparsity", params > 0 ? 1.0 - nz / params : 0.0);
            json_num(&j, "params", params);
            json_num(&j, "macs", atof(v[col[MACS]]));
            json_num(&j, "top1", is_na(v[col[TOP1]]) ? NAN : atof(v[col[TOP1]]));
            json_num(&j, "fps", lat_ms > 0 ? 1000.0 / lat_ms : NAN);
            json_num(&j, "latency_ms", lat_ms);
            json_num(&j, "size_kb", atof(v[col[BYTES]]) / 1024.0);
            json_num(&j, "peak_memory_kb", is_na(v[col[PEAK]]) ? NAN : atof(v[col[PEAK]]));
            json_str(&j, "experiment", v[col[EXP]]);
            json_str(&j, "run_id", v[col[RUN]]);
            json_str(&j, "stages", v[col[STAGES]]);
            json_str(&j, "knobs", is_na(v[col[KNOBS]]) ? "" : v[col[KNOBS]]);
            json_end_obj(&j);
            rows++;
            continue;
        }
        printf("| %s | %s | %s | n/a | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s %s, %s%s%s%s |\n",
               v[col[HOST]], v[col[MODEL]], v[col[INPUT]], dtype, sp, human(params, b1, sizeof b1),
               human(atof(v[col[MACS]]), b2, sizeof b2), acc, fps, lat, size, peak, v[col[EXP]],
               v[col[RUN]], v[col[STAGES]], is_na(v[col[KNOBS]]) ? "" : "; ",
               is_na(v[col[KNOBS]]) ? "" : v[col[KNOBS]], !strcmp(v[col[DIRTY]], "1") ? "; dirty tree" : "");
        rows++;
    }
    fclose(f);
    if (as_json) {
        json_end_arr(&j);
        json_int(&j, "failed", failed);
        json_str(&j, "failures", failures);
        json_end_obj(&j);
        json_finish(&j);
        return EXIT_OK;
    }
    printf("\n%d run%s from %s. Batch, FPS, latency and peak memory are n/a until a bench stage "
           "measures them; Size is float32 parameters and buffers, or a quantized model's weights as stored.\n",
           rows, rows == 1 ? "" : "s", path);
    if (failed)
        printf("\n%d failed run%s:\n%s", failed, failed == 1 ? "" : "s", failures);
    return EXIT_OK;
}
