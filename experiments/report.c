#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "json.h"

#define MAX_COLS 64

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

/* The columns the report reads; the first N_NEED must be in the header. */
enum {
    EXP, RUN, HOST, MODEL, INPUT, STAGES, PARAMS, NZ, MACS, BYTES, TOP1, LAT, PEAK, KNOBS, STATUS, ERR, DIRTY, N_NEED,
    BATCH = N_NEED, FPS, ENERGY, PITH, BENCH_ON, HARDWARE, PRICE, N_COLS
};
static const char *const col_names[N_COLS] = {
    "experiment", "run_id", "host", "model", "input", "stages", "params", "nonzero_params", "macs", "model_bytes",
    "top1", "latency_ms", "peak_mem_kb", "knobs", "status", "error", "git_dirty",
    "batch", "fps", "energy_uj_est", "pith_bytes", "bench_on", "hardware", "price_usd",
};

/* One row's cell, NULL when the table has no such column or says NA. */
static const char *cell(char **v, const int *col, int k)
{
    return col[k] < 0 || is_na(v[col[k]]) ? NULL : v[col[k]];
}

static double num(char **v, const int *col, int k)
{
    const char *s = cell(v, col, k);
    return s ? atof(s) : NAN;
}

static const char *fmt(char *b, size_t len, const char *f, double x)
{
    if (isnan(x))
        snprintf(b, len, "n/a");
    else
        snprintf(b, len, f, x);
    return b;
}

/* float32 unless a quantize stage ran: its chain entry names the format,
 * e.g. quantize(w4a4); the last one counts. */
static void data_type(const char *stages, char *dtype, size_t len)
{
    snprintf(dtype, len, "fp32");
    const char *qs = stages, *last = NULL;
    while ((qs = strstr(qs, "quantize(")) != NULL)
        last = qs++;
    if (last) {
        const char *a = last + strlen("quantize("), *b = strchr(a, ')');
        snprintf(dtype, len, "%.*s", b ? (int)(b - a) : 0, a);
    }
}

/* Where the figures come from: the config's hardware name when it gave one,
 * and always the host and kernels the bench stage measured on. */
static void hardware(char **v, const int *col, char *b, size_t len)
{
    const char *name = cell(v, col, HARDWARE), *on = cell(v, col, BENCH_ON), *host = v[col[HOST]];
    if (name)
        snprintf(b, len, "%s (measured on %s%s%s)", name, host, on ? ", " : "", on ? on : "");
    else
        snprintf(b, len, "%s%s%s", host, on ? ", " : "", on ? on : "");
}

static void json_row(json *j, char **v, const int *col, const char *hw, const char *dtype)
{
    double params = atof(v[col[PARAMS]]), nz = atof(v[col[NZ]]), lat = num(v, col, LAT);
    double fps = num(v, col, FPS), pith = num(v, col, PITH);
    json_obj(j, NULL);
    json_str(j, "hardware", hw);
    json_str(j, "model", v[col[MODEL]]);
    json_str(j, "input", v[col[INPUT]]);
    json_num(j, "batch", num(v, col, BATCH) > 0 ? num(v, col, BATCH) : NAN);
    json_str(j, "data_type", dtype);
    json_num(j, "sparsity", params > 0 ? 1.0 - nz / params : 0.0);
    json_num(j, "params", params);
    json_num(j, "macs", atof(v[col[MACS]]));
    json_num(j, "top1", num(v, col, TOP1));
    json_num(j, "fps", !isnan(fps) ? fps : lat > 0 ? 1000.0 / lat : NAN);
    json_num(j, "latency_ms", lat);
    json_num(j, "size_kb", atof(v[col[BYTES]]) / 1024.0);
    json_num(j, "pith_kb", pith > 0 ? pith / 1024.0 : NAN);
    json_num(j, "peak_memory_kb", num(v, col, PEAK));
    json_num(j, "energy_uj_est", num(v, col, ENERGY));
    json_num(j, "price_usd", num(v, col, PRICE));
    json_str(j, "experiment", v[col[EXP]]);
    json_str(j, "run_id", v[col[RUN]]);
    json_str(j, "stages", v[col[STAGES]]);
    json_str(j, "knobs", cell(v, col, KNOBS) ? v[col[KNOBS]] : "");
    json_end_obj(j);
}

static void markdown_row(FILE *out, char **v, const int *col, const char *hw, const char *dtype)
{
    char b1[32], b2[32], sp[32], acc[32], fps[32], lat[32], size[32], pith[32], peak[32], energy[32], cost[32];
    char batch[16];
    double params = atof(v[col[PARAMS]]), nz = atof(v[col[NZ]]), ms = num(v, col, LAT), f = num(v, col, FPS);
    double pb = num(v, col, PITH);
    snprintf(sp, sizeof sp, "%.1f%%", params > 0 ? 100.0 * (1.0 - nz / params) : 0.0);
    fmt(acc, sizeof acc, "%.2f%%", 100 * num(v, col, TOP1));
    fmt(lat, sizeof lat, "%.3f", ms);
    fmt(fps, sizeof fps, "%.0f", !isnan(f) ? f : ms > 0 ? 1000.0 / ms : NAN);
    fmt(size, sizeof size, "%.1f", atof(v[col[BYTES]]) / 1024.0);
    fmt(pith, sizeof pith, "%.1f", pb > 0 ? pb / 1024.0 : NAN);
    fmt(peak, sizeof peak, "%.0f", num(v, col, PEAK));
    fmt(energy, sizeof energy, "%.2f", num(v, col, ENERGY));
    fmt(cost, sizeof cost, "$%.0f", num(v, col, PRICE));
    fmt(batch, sizeof batch, "%.0f", num(v, col, BATCH) > 0 ? num(v, col, BATCH) : NAN);
    const char *knobs = cell(v, col, KNOBS);
    fprintf(out, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s %s, %s%s%s%s |\n",
            hw, v[col[MODEL]], v[col[INPUT]], batch, dtype, sp, human(params, b1, sizeof b1),
            human(atof(v[col[MACS]]), b2, sizeof b2), acc, fps, lat, size, pith, peak, energy, cost, v[col[EXP]],
            v[col[RUN]], v[col[STAGES]], knobs ? "; " : "", knobs ? knobs : "",
            !strcmp(v[col[DIRTY]], "1") ? "; dirty tree" : "");
}

int exp_report(const char *path, int as_json, FILE *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot open (run an experiment first)", path);
    static char line[16384], header[16384], failures[8192];
    char *h[MAX_COLS], *v[MAX_COLS];
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return pith_error(PITH_EFORMAT, "%s: empty", path);
    }
    memcpy(header, line, sizeof header);
    int nh = split_tabs(header, h), col[N_COLS];
    for (int i = 0; i < N_COLS; i++) {
        col[i] = -1;
        for (int k = 0; k < nh; k++)
            if (!strcmp(h[k], col_names[i]))
                col[i] = k;
        if (col[i] < 0 && i < N_NEED) {
            fclose(f);
            return pith_error(PITH_EFORMAT, "%s: no column '%s' in the header", path, col_names[i]);
        }
    }
    json j;
    if (as_json) {
        json_init(&j, out);
        json_obj(&j, NULL);
        json_str(&j, "results", path);
        json_arr(&j, "runs");
    } else {
        fprintf(out, "| Hardware | Model | Input | Batch | Data type | Sparsity | Params | MACs | Accuracy | FPS | "
                     "Latency (ms) | Size (KB) | .pith (KB) | Peak memory (KB) | Energy (est., uJ) | Cost | Comments |\n"
                     "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    }
    int rows = 0, failed = 0, lineno = 1;
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
            snprintf(failures + o, sizeof failures - o, "- %s %s: %s\n", v[col[EXP]], v[col[RUN]], v[col[ERR]]);
            continue;
        }
        char hw[512], dtype[32];
        hardware(v, col, hw, sizeof hw);
        data_type(v[col[STAGES]], dtype, sizeof dtype);
        if (as_json)
            json_row(&j, v, col, hw, dtype);
        else
            markdown_row(out, v, col, hw, dtype);
        rows++;
    }
    fclose(f);
    if (as_json) {
        json_end_arr(&j);
        json_int(&j, "failed", failed);
        json_str(&j, "failures", failures);
        json_end_obj(&j);
        json_finish(&j);
        return PITH_OK;
    }
    fprintf(out,
            "\n%d run%s from %s. Batch, FPS, latency, .pith, peak memory and energy come from a run's export and "
            "bench stages (n/a without them), measured on the host and kernels the Hardware column names. Size is "
            "float32 parameters and buffers, or a quantized model's weights as stored; peak memory is the heap the "
            "loaded model holds (file, tables, packed weights, arena). Energy is an estimate per inference from "
            "Horowitz (ISSCC 2014, 45 nm) per-operation costs counted on the runtime's plan, not a measurement "
            "(docs/runtime.md).\n",
            rows, rows == 1 ? "" : "s", path);
    if (failed)
        fprintf(out, "\n%d failed run%s:\n%s", failed, failed == 1 ? "" : "s", failures);
    return PITH_OK;
}
