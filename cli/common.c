#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "cli.h"

char cli_argv0_line[1024];

int cli_fail(const char *cmd, int status)
{
    fprintf(stderr, "pith %s: %s\n", cmd, pith_last_error());
    return status == PITH_ENUM ? EXIT_NAN : EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pith %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see pith %s --help)\n", cmd);
    va_end(ap);
    return EXIT_USAGE;
}

int cli_next_option(const char *cmd, int argc, char **argv, const struct option *opts, void (*usage)(FILE *),
                    cli_common *co, int *code)
{
    for (;;) {
        int li = -1, c = getopt_long(argc, argv, "h", opts, &li);
        if (c == -1)
            return CLI_OPT_END;
        const char *name = li >= 0 ? opts[li].name : NULL;
        for (int k = 0; !name && c == 'h' && opts[k].name; k++) /* -h */
            if (opts[k].val == 'h' && !strcmp(opts[k].name, "help"))
                name = "help";
        if (c == '?' || c == ':') {
            usage(stderr);
            *code = EXIT_USAGE;
            return CLI_OPT_EXIT;
        }
        if (!name)
            return c;
        if (!strcmp(name, "help")) {
            usage(stdout);
            *code = EXIT_OK;
            return CLI_OPT_EXIT;
        } else if (!strcmp(name, "data")) {
            co->data = optarg;
        } else if (!strcmp(name, "out")) {
            co->out = optarg;
        } else if (!strcmp(name, "quiet")) {
            co->quiet = 1;
        } else if (!strcmp(name, "json")) {
            co->as_json = 1;
        } else if (!strcmp(name, "threads")) {
            if ((*code = cli_int(cmd, "--threads", optarg, 1, 1024, &co->threads)) != 0)
                return CLI_OPT_EXIT;
        } else {
            return c;
        }
    }
}

int cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return cli_usage_error(cmd, "%s expects an integer in %ld..%ld, got '%s'", opt, lo, hi, s);
    *out = (int)v;
    return 0;
}

int cli_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return cli_usage_error(cmd, "%s expects a non-negative integer, got '%s'", opt, s);
    *out = v;
    return 0;
}

int cli_float(const char *cmd, const char *opt, const char *s, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return cli_usage_error(cmd, "%s expects a number in [%g, %g], got '%s'", opt, lo, hi, s);
    *out = (float)v;
    return 0;
}

void cli_command_line(int argc, char **argv, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && o + 1 < len; i++)
        o += (size_t)snprintf(buf + o, len - o, i ? " %s" : "%s", argv[i]);
}

int cli_ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}
