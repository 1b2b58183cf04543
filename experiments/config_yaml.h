/* Inside the config reader (not for other folders): the parsing context, the
 * typed node helpers whose errors say "file:line: key: expected ...", and the
 * parts of the reader that live in their own files. */
#ifndef PITH_EXPERIMENTS_CONFIG_YAML_H
#define PITH_EXPERIMENTS_CONFIG_YAML_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config.h"

typedef struct cy_ctx {
    const char *path;
    yaml_document_t *doc;
} cy_ctx;

yaml_node_t *cy_get(cy_ctx *c, int id);
int cy_line(const yaml_node_t *n);
/* The node's text, or NULL when it is not a scalar. */
const char *cy_scalar(const yaml_node_t *n);
/* Sets the error "file:line: message" and returns PITH_EINVAL. */
int cy_err(cy_ctx *c, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An empty value (`eval:` with nothing after it) or none (`- eval`) counts as an empty mapping. */
int cy_is_empty(const yaml_node_t *n);
int cy_int(cy_ctx *c, const yaml_node_t *n, const char *key, long lo, long hi, int *out);
int cy_u64(cy_ctx *c, const yaml_node_t *n, const char *key, uint64_t *out);
int cy_float(cy_ctx *c, const yaml_node_t *n, const char *key, double lo, double hi, int lo_open, float *out);
int cy_bool(cy_ctx *c, const yaml_node_t *n, const char *key, int *out);
int cy_str(cy_ctx *c, const yaml_node_t *n, const char *key, char *buf, size_t len);
/* An int, or a [h, w] pair. */
int cy_pair(cy_ctx *c, const yaml_node_t *n, const char *key, int lo, int *h, int *w);
int cy_unknown(cy_ctx *c, const yaml_node_t *k, const char *section, const char *allowed);
int cy_need_map(cy_ctx *c, const yaml_node_t *n, const char *what);
yaml_node_pair_t *cy_find_pair(cy_ctx *c, yaml_node_t *map, const char *key);

#define FOR_PAIRS(map, p) \
    for (yaml_node_pair_t *p = (map)->data.mapping.pairs.start; p < (map)->data.mapping.pairs.top; p++)

/* config_stages.c: the `stages` list. */
int exp_parse_stages(cy_ctx *c, yaml_node_t *seq, exp_config *cfg);
/* config_model.c: `model`, a zoo name or a list of layers. */
int exp_parse_model(cy_ctx *c, yaml_node_t *v, exp_config *cfg);
/* config_overrides.c: applies "a.b.c=value" to the document. */
int exp_apply_set(cy_ctx *c, const char *set);
/* config_overrides.c: stages[i].prefix_key identifies everything that
 * determines the model after stage i. */
void exp_prefix_keys(cy_ctx *c, yaml_node_t *root, yaml_node_t *stages, exp_config *cfg);

#endif
