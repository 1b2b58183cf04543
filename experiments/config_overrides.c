/* What makes runs comparable: --set overrides applied to the YAML document
 * before it is read, and the stage-prefix keys of the stage cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "config_yaml.h"

/* FNV-1a over a canonical form of a node: scalars, [items], {key:value}. */
static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t node_key(cy_ctx *c, const yaml_node_t *n, uint64_t h, int depth)
{
    if (!n || depth > 64)
        return fnv(h, "~", 1);
    if (n->type == YAML_SCALAR_NODE)
        return fnv(fnv(h, "'", 1), (const char *)n->data.scalar.value, n->data.scalar.length);
    if (n->type == YAML_SEQUENCE_NODE) {
        h = fnv(h, "[", 1);
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
            h = fnv(node_key(c, cy_get(c, *it), h, depth + 1), ",", 1);
        return fnv(h, "]", 1);
    }
    h = fnv(h, "{", 1);
    FOR_PAIRS(n, p)
    {
        h = fnv(node_key(c, cy_get(c, p->key), h, depth + 1), ":", 1);
        h = fnv(node_key(c, cy_get(c, p->value), h, depth + 1), ",", 1);
    }
    return fnv(h, "}", 1);
}

/* stages[i].prefix_key identifies everything that determines the model after
 * stage i: every root key but `stages` (seed, dataset, model, ...) and
 * stages 0..i. pith run reuses a stage's checkpoint across runs that share it. */
void exp_prefix_keys(cy_ctx *c, yaml_node_t *root, yaml_node_t *stages, exp_config *cfg)
{
    uint64_t h = 0xcbf29ce484222325ull;
    FOR_PAIRS(root, p)
    {
        const char *key = cy_scalar(cy_get(c, p->key));
        if (key && !strcmp(key, "stages"))
            continue;
        h = fnv(node_key(c, cy_get(c, p->key), h, 0), ":", 1);
        h = fnv(node_key(c, cy_get(c, p->value), h, 0), ";", 1);
    }
    int i = 0;
    for (yaml_node_item_t *it = stages->data.sequence.items.start;
         it < stages->data.sequence.items.top && i < cfg->n_stages; it++, i++) {
        h = fnv(node_key(c, cy_get(c, *it), h, 0), ";", 1);
        cfg->stages[i].prefix_key = h;
    }
}


static int cy_new_scalar(cy_ctx *c, const char *v)
{
    return yaml_document_add_scalar(c->doc, NULL, (yaml_char_t *)v, (int)strlen(v), YAML_ANY_SCALAR_STYLE);
}

/* Applies "a.b.c=value". */
int exp_apply_set(cy_ctx *c, const char *set)
{
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return pith_error(PITH_EINVAL, "--set %s: expected key=value", set);
    char path[256];
    snprintf(path, sizeof path, "%.*s", (int)(eq - set), set);
    const char *value = eq + 1;
    int cur = 1; /* root node id */
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return pith_error(PITH_EINVAL, "--set %s: the config is not a mapping", set);
    char *save = NULL;
    for (char *k = strtok_r(path, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        int last = save == NULL || *save == '\0';
        yaml_node_t *n = cy_get(c, cur);
        if (n->type == YAML_SEQUENCE_NODE) {
            char *end;
            long i = strtol(k, &end, 10);
            long len = n->data.sequence.items.top - n->data.sequence.items.start;
            if (*end || i < 0 || i >= len)
                return pith_error(PITH_EINVAL, "--set %s: '%s' is not an index of a %ld-item list", set, k, len);
            if (last) {
                n->data.sequence.items.start[i] = cy_new_scalar(c, value);
                return PITH_OK;
            }
            cur = n->data.sequence.items.start[i];
            continue;
        }
        if (n->type != YAML_MAPPING_NODE)
            return pith_error(PITH_EINVAL, "--set %s: '%s' is below a plain value", set, k);
        yaml_node_pair_t *p = cy_find_pair(c, n, k);
        if (!p && cur == 1) {
            /* a stage name: train.epochs reaches into the stages list */
            yaml_node_pair_t *sp = cy_find_pair(c, n, "stages");
            yaml_node_t *seq = sp ? cy_get(c, sp->value) : NULL;
            for (yaml_node_item_t *it = seq && seq->type == YAML_SEQUENCE_NODE ? seq->data.sequence.items.start : NULL;
                 it && it < seq->data.sequence.items.top && !p; it++) {
                yaml_node_t *st = cy_get(c, *it);
                if (st->type == YAML_MAPPING_NODE)
                    p = cy_find_pair(c, st, k);
            }
            if (p && !last && cy_is_empty(cy_get(c, p->value))) {
                int m = yaml_document_add_mapping(c->doc, NULL, YAML_BLOCK_MAPPING_STYLE);
                p->value = m;
            }
        }
        if (last) {
            if (p) {
                p->value = cy_new_scalar(c, value);
            } else {
                int kid = cy_new_scalar(c, k), vid = cy_new_scalar(c, value);
                yaml_document_append_mapping_pair(c->doc, cur, kid, vid);
            }
            return PITH_OK;
        }
        if (!p) {
            int kid = cy_new_scalar(c, k);
            int m = yaml_document_add_mapping(c->doc, NULL, YAML_BLOCK_MAPPING_STYLE);
            yaml_document_append_mapping_pair(c->doc, cur, kid, m);
            cur = m;
        } else {
            cur = p->value;
        }
    }
    return PITH_OK;
}

