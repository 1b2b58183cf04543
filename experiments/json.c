#include "json.h"

#include <math.h>

void json_init(json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->count[0] = 0;
}

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void item(json *j, const char *key)
{
    if (j->count[j->depth]++)
        fputc(',', j->f);
    if (key) {
        put_string(j->f, key);
        fputc(':', j->f);
    }
}

static void open_(json *j, const char *key, char c)
{
    item(j, key);
    fputc(c, j->f);
    if (j->depth < 31)
        j->count[++j->depth] = 0;
}

void json_obj(json *j, const char *key) { open_(j, key, '{'); }
void json_arr(json *j, const char *key) { open_(j, key, '['); }

void json_end_obj(json *j)
{
    fputc('}', j->f);
    if (j->depth > 0)
        j->depth--;
}

void json_end_arr(json *j)
{
    fputc(']', j->f);
    if (j->depth > 0)
        j->depth--;
}

void json_str(json *j, const char *key, const char *v)
{
    item(j, key);
    put_string(j->f, v ? v : "");
}

void json_num(json *j, const char *key, double v)
{
    item(j, key);
    if (isfinite(v))
        fprintf(j->f, "%.17g", v);
    else
        fputs("null", j->f);
}

void json_int(json *j, const char *key, int64_t v)
{
    item(j, key);
    fprintf(j->f, "%lld", (long long)v);
}

void json_bool(json *j, const char *key, int v)
{
    item(j, key);
    fputs(v ? "true" : "false", j->f);
}

void json_finish(json *j)
{
    fputc('\n', j->f);
    fflush(j->f);
}
