/* Mixed-precision plans: the YAML file `pith analyze --propose` writes and
 * `pith quantize --plan` reads.
 *
 *   layers:
 *     conv1: {wbits: 8, abits: 16}
 *     fc2: {wbits: float, abits: float}
 *
 * Layers not listed get the command's --wbits / --abits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../core/error.h"
#include "quantize.h"

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int line(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 0; }

static int bits_value(const char *path, const yaml_node_t *v, const char *key, int *out)
{
    const char *s = scalar(v);
    if (s && !strcmp(s, "float")) {
        *out = 0;
        return PITH_OK;
    }
    char *end;
    errno = 0;
    long b = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || !((b >= 2 && b <= 8) || b == 16))
        return pith_error(PITH_EINVAL, "%s:%d: %s: expected 2 to 8, 16 or float", path, line(v), key);
    *out = (int)b;
    return PITH_OK;
}

static int parse(const char *path, yaml_document_t *d, pith_qlayer *layers, int max, int *n)
{
    yaml_node_t *root = yaml_document_get_root_node(d);
    if (!root || root->type != YAML_MAPPING_NODE)
        return pith_error(PITH_EINVAL, "%s: expected a mapping with a 'layers' key", path);
    yaml_node_t *lm = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(d, p->key));
        if (k && !strcmp(k, "layers"))
            lm = yaml_document_get_node(d, p->value);
        else if (!k || strcmp(k, "target_drop") != 0)
            return pith_error(PITH_EINVAL, "%s:%d: unknown key '%s' (layers, target_drop)", path,
                              line(yaml_document_get_node(d, p->key)), k ? k : "?");
    }
    if (!lm || lm->type != YAML_MAPPING_NODE)
        return pith_error(PITH_EINVAL, "%s: 'layers' must be a mapping of layer names", path);
    *n = 0;
    for (yaml_node_pair_t *p = lm->data.mapping.pairs.start; p < lm->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(d, p->key), *vn = yaml_document_get_node(d, p->value);
        const char *name = scalar(kn);
        if (!name || strlen(name) >= PITH_NAME_MAX)
            return pith_error(PITH_EINVAL, "%s:%d: a layer name must be a string under %d characters", path,
                              line(kn), PITH_NAME_MAX);
        if (*n >= max)
            return pith_error(PITH_EINVAL, "%s:%d: more than %d layers", path, line(kn), max);
        if (!vn || vn->type != YAML_MAPPING_NODE)
            return pith_error(PITH_EINVAL, "%s:%d: %s: expected {wbits: ..., abits: ...}", path, line(vn), name);
        for (int i = 0; i < *n; i++)
            if (!strcmp(layers[i].name, name))
                return pith_error(PITH_EINVAL, "%s:%d: layer '%s' appears twice", path, line(kn), name);
        pith_qlayer *l = &layers[*n];
        snprintf(l->name, sizeof l->name, "%s", name);
        int have_w = 0, have_a = 0;
        for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top; q++) {
            yaml_node_t *k2 = yaml_document_get_node(d, q->key), *v2 = yaml_document_get_node(d, q->value);
            const char *key = scalar(k2);
            int rc;
            if (key && !strcmp(key, "wbits")) {
                rc = bits_value(path, v2, "wbits", &l->wbits);
                have_w = 1;
            } else if (key && !strcmp(key, "abits")) {
                rc = bits_value(path, v2, "abits", &l->abits);
                have_a = 1;
            } else {
                rc = pith_error(PITH_EINVAL, "%s:%d: %s: unknown key '%s' (wbits, abits)", path, line(k2), name,
                                key ? key : "?");
            }
            if (rc)
                return rc;
        }
        if (!have_w || !have_a)
            return pith_error(PITH_EINVAL, "%s:%d: %s needs both wbits and abits", path, line(vn), name);
        (*n)++;
    }
    return PITH_OK;
}

int quant_plan_load(const char *path, pith_qlayer *layers, int max, int *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return pith_error(PITH_EIO, "cannot open plan %s: %s", path, strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = PITH_OK;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return pith_error(PITH_ENOMEM, "out of memory");
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = pith_error(PITH_EINVAL, "%s:%d: %s", path, (int)parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "YAML syntax error");
    } else {
        rc = parse(path, &doc, layers, max, n);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
