/* The input and data options shared by the commands that read images:
 * preprocessing (--input, --resize, --nearest, --bgr, --keep255, --mean,
 * --std, --mean01, --std01) and the loader (--skip-bad, --cache-mb,
 * --cache-dir). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_data_flags_init(cli_data_flags *f)
{
    memset(f, 0, sizeof *f);
    f->resize = -1;
    f->cache_mb = -1;
}

int cli_parse_shape(const char *cmd, const char *s, pith_shape *out)
{
    int d[3], n = 0;
    const char *p = s;
    while (n < 3) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > (1 << 20))
            break;
        d[n++] = (int)v;
        p = end;
        if (*p != 'x')
            break;
        p++;
    }
    if (*p || (n != 1 && n != 3))
        return cli_usage_error(cmd, "--input '%s': expected CxHxW or F (positive sizes)", s);
    *out = n == 1 ? (pith_shape){1, {d[0], 0, 0}} : (pith_shape){3, {d[0], d[1], d[2]}};
    return 0;
}

int cli_parse_list(const char *cmd, const char *opt, const char *s, float *v, int *n, int positive)
{
    *n = 0;
    const char *p = s;
    for (;;) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || !isfinite(x) || (positive && !(x > 0)) || *n == 4)
            return cli_usage_error(cmd, "%s '%s': expected 1 to 4 comma-separated %snumbers", opt, s,
                                   positive ? "positive " : "");
        v[(*n)++] = (float)x;
        if (!*end)
            return 0;
        if (*end != ',')
            return cli_usage_error(cmd, "%s '%s': expected 1 to 4 comma-separated numbers", opt, s);
        p = end + 1;
    }
}

int cli_data_flag(const char *cmd, int opt, const char *arg, cli_data_flags *f)
{
    int rc = 0;
    switch (opt) {
    case CLI_O_INPUT: {
        pith_shape s;
        if (!(rc = cli_parse_shape(cmd, arg, &s))) {
            if (s.ndim != 3 || (s.d[0] != 1 && s.d[0] != 3))
                return cli_usage_error(cmd, "--input '%s': images need CxHxW with C 1 (gray) or 3 (RGB)", arg);
            f->c = s.d[0];
            f->h = s.d[1];
            f->w = s.d[2];
        }
        break;
    }
    case CLI_O_RESIZE: rc = cli_int(cmd, "--resize", arg, 0, 65535, &f->resize); break;
    case CLI_O_NEAREST: f->nearest = 1; break;
    case CLI_O_BGR: f->bgr = 1; break;
    case CLI_O_KEEP255: f->keep255 = 1; break;
    case CLI_O_MEAN:
    case CLI_O_MEAN01:
        if (f->n_mean)
            return cli_usage_error(cmd, "give --mean or --mean01 once");
        f->mean01 = opt == CLI_O_MEAN01;
        rc = cli_parse_list(cmd, f->mean01 ? "--mean01" : "--mean", arg, f->mean, &f->n_mean, 0);
        break;
    case CLI_O_STD:
    case CLI_O_STD01:
        if (f->n_std)
            return cli_usage_error(cmd, "give --std or --std01 once");
        f->std01 = opt == CLI_O_STD01;
        rc = cli_parse_list(cmd, f->std01 ? "--std01" : "--std", arg, f->std, &f->n_std, 1);
        break;
    case CLI_O_SKIP_BAD: f->skip_bad = 1; return 1;
    case CLI_O_CACHE_MB: {
        int mb;
        if (!(rc = cli_int(cmd, "--cache-mb", arg, 0, 1 << 30, &mb)))
            f->cache_mb = mb;
        return rc ? rc : 1;
    }
    case CLI_O_CACHE_DIR: f->cache_dir = arg; return 1;
    default: return 0;
    }
    if (!rc)
        f->given = 1;
    return rc ? rc : 1;
}

/* A value given in the 0-255 convention (or 0-1, given01) in the units the
 * pixel has after scaling: 0..1, or 0..255 with keep255. A 0-1 value given
 * as such is kept bit for bit. */
static float in_units(float v, int given01, int keep255)
{
    if (keep255)
        return given01 ? v * 255.0f : v;
    return given01 ? v : v / 255.0f;
}

int cli_data_apply(const char *cmd, const cli_data_flags *f, int channels, pith_data_opts *o)
{
    if (f->c) {
        o->c = f->c;
        o->h = f->h;
        o->w = f->w;
        channels = f->c;
    }
    if (f->resize >= 0)
        o->pre.resize = f->resize;
    if (f->nearest)
        o->pre.nearest = 1;
    if (f->bgr)
        o->pre.bgr = 1;
    if (f->keep255)
        o->pre.keep255 = 1;
    if (f->n_mean || f->n_std) {
        int nn = f->n_mean > f->n_std ? f->n_mean : f->n_std;
        if (f->n_mean > 1 && f->n_std > 1 && f->n_mean != f->n_std)
            return cli_usage_error(cmd, "--mean has %d values and --std %d", f->n_mean, f->n_std);
        if (nn > 1 && channels && nn != channels)
            return cli_usage_error(cmd, "%d normalisation values for a %d-channel input", nn, channels);
        for (int k = 0; k < 4; k++) {
            o->mean[k] = f->n_mean ? in_units(f->mean[f->n_mean > 1 ? k % f->n_mean : 0], f->mean01, o->pre.keep255)
                                   : 0.0f;
            o->std[k] = f->n_std ? in_units(f->std[f->n_std > 1 ? k % f->n_std : 0], f->std01, o->pre.keep255) : 1.0f;
        }
        o->norm_channels = nn > 1 ? nn : 0;
    }
    if (f->skip_bad)
        o->skip_bad = 1;
    if (f->cache_mb >= 0)
        o->cache_mem = (size_t)f->cache_mb << 20;
    if (f->cache_dir)
        o->cache_dir = f->cache_dir;
    return 0;
}

void cli_data_to_meta(const pith_data_opts *o, pith_ckpt_meta *meta)
{
    meta->pre = o->pre;
    meta->mean = o->mean[0];
    meta->std = o->std[0];
    meta->norm_channels = o->norm_channels;
    if (o->norm_channels) {
        memcpy(meta->norm_mean, o->mean, sizeof meta->norm_mean);
        memcpy(meta->norm_std, o->std, sizeof meta->norm_std);
    }
}

void cli_data_report(FILE *f, const pith_dataset *ds, const char *what)
{
    if (!f || !ds->px)
        return;
    const pith_pixels *px = ds->px;
    uint64_t reads = px->reads, all = reads + px->decodes;
    fprintf(f, "%s cache: %d images, %.1f MB %s; %llu decodes, %llu reads since: hit rate %.1f%%\n", what, px->n,
            (double)px->bytes / 1e6, px->mapped ? "in a mapped cache file" : "in memory",
            (unsigned long long)px->decodes, (unsigned long long)reads, all ? 100.0 * (double)reads / (double)all : 0.0);
}
