/* libyaml node helpers of the config reader: typed values whose errors name
 * the file, the line and the key. */
#include "config_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"

yaml_node_t *cy_get(cy_ctx *c, int id) { return yaml_document_get_node(c->doc, id); }
int cy_line(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }

const char *cy_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* "file:line: message" */
int cy_err(cy_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return pith_error(PITH_EINVAL, "%s:%d: %s", c->path, cy_line(n), msg);
}

/* An empty value (`eval:` with nothing after it) or none (`- eval`) counts as an
 * empty mapping. */
int cy_is_empty(const yaml_node_t *n)
{
    return !n || (n->type == YAML_SCALAR_NODE && (!n->data.scalar.length || !strcmp(cy_scalar(n), "~") ||
                                                !strcmp(cy_scalar(n), "null")));
}

int cy_int(cy_ctx *c, const yaml_node_t *n, const char *key, long lo, long hi, int *out)
{
    const char *s = cy_scalar(n);
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || v < lo || v > hi)
        return cy_err(c, n, "%s: expected an integer in %ld..%ld, got %s%s%s", key, lo, hi, s ? "'" : "",
                   s ? s : "a list or mapping", s ? "'" : "");
    *out = (int)v;
    return PITH_OK;
}

int cy_u64(cy_ctx *c, const yaml_node_t *n, const char *key, uint64_t *out)
{
    const char *s = cy_scalar(n);
    char *end;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || s[0] == '-')
        return cy_err(c, n, "%s: expected a non-negative integer, got '%s'", key, s ? s : "?");
    *out = v;
    return PITH_OK;
}

int cy_float(cy_ctx *c, const yaml_node_t *n, const char *key, double lo, double hi, int lo_open, float *out)
{
    const char *s = cy_scalar(n);
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || errno || *end || !(lo_open ? v > lo : v >= lo) || !(v <= hi))
        return cy_err(c, n, "%s: expected a number in %s%g, %g], got '%s'", key, lo_open ? "(" : "[", lo,
                   hi, s ? s : "?");
    *out = (float)v;
    return PITH_OK;
}

int cy_bool(cy_ctx *c, const yaml_node_t *n, const char *key, int *out)
{
    const char *s = cy_scalar(n);
    static const char *const t[] = {"true", "yes", "on", "1"}, *const f[] = {"false", "no", "off", "0"};
    for (int i = 0; s && i < 4; i++) {
        if (!strcmp(s, t[i])) {
            *out = 1;
            return PITH_OK;
        }
        if (!strcmp(s, f[i])) {
            *out = 0;
            return PITH_OK;
        }
    }
    return cy_err(c, n, "%s: expected true or false, got '%s'", key, s ? s : "?");
}

int cy_str(cy_ctx *c, const yaml_node_t *n, const char *key, char *buf, size_t len)
{
    const char *s = cy_scalar(n);
    if (!s || !*s || strlen(s) >= len)
        return cy_err(c, n, "%s: expected a string of 1 to %zu characters", key, len - 1);
    snprintf(buf, len, "%s", s);
    return PITH_OK;
}

/* An int, or a [h, w] pair. */
int cy_pair(cy_ctx *c, const yaml_node_t *n, const char *key, int lo, int *h, int *w)
{
    if (n && n->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *it = n->data.sequence.items.start;
        if (n->data.sequence.items.top - it != 2)
            return cy_err(c, n, "%s: expected an integer or a list [h, w]", key);
        int rc = cy_int(c, cy_get(c, it[0]), key, lo, 1 << 16, h);
        return rc ? rc : cy_int(c, cy_get(c, it[1]), key, lo, 1 << 16, w);
    }
    int rc = cy_int(c, n, key, lo, 1 << 16, h);
    *w = *h;
    return rc;
}

int cy_unknown(cy_ctx *c, const yaml_node_t *k, const char *section, const char *allowed)
{
    return cy_err(c, k, "unknown key '%s' in %s (allowed: %s)", cy_scalar(k) ? cy_scalar(k) : "?", section,
               allowed);
}

int cy_need_map(cy_ctx *c, const yaml_node_t *n, const char *what)
{
    if (!n || n->type != YAML_MAPPING_NODE)
        return cy_err(c, n, "%s must be a mapping (key: value lines)", what);
    return PITH_OK;
}

yaml_node_pair_t *cy_find_pair(cy_ctx *c, yaml_node_t *map, const char *key)
{
    FOR_PAIRS(map, p)
    if (cy_scalar(cy_get(c, p->key)) && !strcmp(cy_scalar(cy_get(c, p->key)), key))
        return p;
    return NULL;
}

