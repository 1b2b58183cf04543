/* Loading an experiment config: the file (size and nesting checked first),
 * its overrides, the root keys and the dataset, the resolved YAML and its
 * hash, which names the run. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../core/dataset.h"
#include "../core/error.h"
#include "config_yaml.h"

static const char *const dataset_keys =
    "path, calib, input, order, scale, resize, resample, mean, std, subset, val, augment";

/* a number, or a list of 1 to 4 numbers (one per channel) */
static int floats(cy_ctx *c, yaml_node_t *v, const char *key, double lo, int lo_open, float *out, int *n)
{
    if (v && v->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *it = v->data.sequence.items.start;
        int k = (int)(v->data.sequence.items.top - it);
        if (k < 1 || k > 4)
            return cy_err(c, v, "%s: expected a number or a list of 1 to 4 (one per channel)", key);
        for (int i = 0; i < k; i++) {
            int rc = cy_float(c, cy_get(c, it[i]), key, lo, 1e6, lo_open, &out[i]);
            if (rc)
                return rc;
        }
        *n = k;
        return PITH_OK;
    }
    *n = 1;
    return cy_float(c, v, key, lo, 1e6, lo_open, &out[0]);
}

/* one of two words: *flag = 1 for the second */
static int word(cy_ctx *c, yaml_node_t *v, const char *key, const char *a, const char *b, int *flag)
{
    const char *s = cy_scalar(v);
    if (s && !strcmp(s, a))
        *flag = 0;
    else if (s && !strcmp(s, b))
        *flag = 1;
    else
        return cy_err(c, v, "%s: expected %s or %s", key, a, b);
    return PITH_OK;
}

static int parse_dataset(cy_ctx *c, yaml_node_t *m, exp_config *cfg)
{
    int rc = cy_need_map(c, m, "dataset");
    if (rc)
        return rc;
    FOR_PAIRS(m, p)
    {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        static const char *const pre_keys[] = {"input", "order", "scale", "resize", "resample", "mean", "std"};
        for (size_t q = 0; q < sizeof pre_keys / sizeof pre_keys[0]; q++)
            if (!strcmp(key, pre_keys[q]) && !cfg->pre_given)
                cfg->pre_given = cy_line(k);
        if (!strcmp(key, "path")) {
            rc = cy_str(c, v, "dataset.path", cfg->data_dir, sizeof cfg->data_dir);
            cfg->data_given = 1;
        } else if (!strcmp(key, "calib"))
            rc = cy_str(c, v, "dataset.calib", cfg->calib_path, sizeof cfg->calib_path);
        else if (!strcmp(key, "mean") || !strcmp(key, "std")) {
            /* the 0-1 convention (torchvision's; pith train's --mean01 / --std01) */
            const int is_mean = key[0] == 'm';
            float v4[4];
            int n = 0;
            rc = floats(c, v, is_mean ? "dataset.mean" : "dataset.std", is_mean ? -1e6 : 0, !is_mean, v4, &n);
            if (!rc) {
                for (int q = 0; q < 4; q++)
                    (is_mean ? cfg->norm_mean : cfg->norm_std)[q] = v4[n > 1 ? q % n : 0];
                *(is_mean ? &cfg->mean : &cfg->std) = v4[0];
                if (n > 1)
                    cfg->norm_channels = n;
            }
        } else if (!strcmp(key, "input")) {
            const char *t = cy_scalar(v);
            int ch, h, w;
            char end;
            if (!t || sscanf(t, "%dx%dx%d%c", &ch, &h, &w, &end) != 3 || (ch != 1 && ch != 3) || h < 1 || w < 1 ||
                h > 65535 || w > 65535)
                rc = cy_err(c, v, "dataset.input: expected CxHxW with C 1 or 3, e.g. 3x64x64");
            else {
                cfg->input_c = ch;
                cfg->input_h = h;
                cfg->input_w = w;
            }
        } else if (!strcmp(key, "order"))
            rc = word(c, v, "dataset.order", "RGB", "BGR", &cfg->pre.bgr);
        else if (!strcmp(key, "scale")) {
            int sc = 0;
            rc = cy_int(c, v, "dataset.scale", 1, 255, &sc);
            if (!rc && sc != 1 && sc != 255)
                rc = cy_err(c, v, "dataset.scale: 255 (pixels divided by 255) or 1 (kept 0..255)");
            cfg->pre.keep255 = sc == 1;
        } else if (!strcmp(key, "resize"))
            rc = cy_int(c, v, "dataset.resize", 0, 65535, &cfg->pre.resize);
        else if (!strcmp(key, "resample"))
            rc = word(c, v, "dataset.resample", "bilinear", "nearest", &cfg->pre.nearest);
        else if (!strcmp(key, "subset"))
            rc = cy_int(c, v, "dataset.subset", 0, 1 << 30, &cfg->subset);
        else if (!strcmp(key, "val"))
            rc = cy_int(c, v, "dataset.val", 0, 1 << 30, &cfg->val);
        else if (!strcmp(key, "augment")) {
            rc = cy_need_map(c, v, "dataset.augment");
            if (!rc)
                FOR_PAIRS(v, q)
                {
                    yaml_node_t *k2 = cy_get(c, q->key), *v2 = cy_get(c, q->value);
                    const char *key2 = cy_scalar(k2) ? cy_scalar(k2) : "";
                    if (!strcmp(key2, "crop_pad"))
                        rc = cy_int(c, v2, "dataset.augment.crop_pad", 0, 64, &cfg->aug.crop_pad);
                    else if (!strcmp(key2, "hflip"))
                        rc = cy_bool(c, v2, "dataset.augment.hflip", &cfg->aug.hflip);
                    else if (!strcmp(key2, "random_resized_crop")) /* the smallest area, e.g. 0.08 */
                        rc = cy_float(c, v2, "dataset.augment.random_resized_crop", 0, 1, 1, &cfg->aug.rrc_min);
                    else
                        rc = cy_unknown(c, k2, "dataset.augment", "crop_pad, hflip, random_resized_crop");
                    if (rc)
                        return rc;
                }
        } else
            rc = cy_unknown(c, k, "dataset", dataset_keys);
        if (rc)
            return rc;
    }
    return PITH_OK;
}


static const char *const root_keys = "experiment, seed, dataset, model, hardware, stages";

/* hardware: {name: "Raspberry Pi 5 (Cortex-A76, 4 threads)", price: 80} — what
 * the report's Hardware and Cost columns say for this config's runs. */
static int parse_hardware(cy_ctx *c, yaml_node_t *m, exp_config *cfg)
{
    int rc = cy_need_map(c, m, "hardware");
    for (yaml_node_pair_t *p = rc ? NULL : m->data.mapping.pairs.start; !rc && p && p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        float price;
        if (!strcmp(key, "name"))
            rc = cy_str(c, v, "hardware.name", cfg->hardware, sizeof cfg->hardware);
        else if (!strcmp(key, "price")) {
            rc = cy_float(c, v, "hardware.price", 0, 1e7, 0, &price);
            cfg->price_usd = price;
        } else
            rc = cy_unknown(c, k, "hardware", "name, price");
    }
    return rc;
}
static int parse_root(cy_ctx *c, exp_config *cfg)
{
    yaml_node_t *root = yaml_document_get_root_node(c->doc);
    if (!root)
        return pith_error(PITH_EINVAL, "%s: empty config", c->path);
    int rc = cy_need_map(c, root, "the config");
    if (rc)
        return rc;
    yaml_node_t *stages = NULL, *model = NULL;
    int has_name = 0;
    FOR_PAIRS(root, p)
    {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        if (!strcmp(key, "experiment")) {
            rc = cy_str(c, v, "experiment", cfg->name, sizeof cfg->name);
            if (!rc && strspn(cfg->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
                           strlen(cfg->name))
                rc = cy_err(c, v, "experiment: use letters, digits, '-', '_' and '.' only (it names a folder)");
            has_name = 1;
        } else if (!strcmp(key, "seed"))
            rc = cy_u64(c, v, "seed", &cfg->seed);
        else if (!strcmp(key, "dataset"))
            rc = parse_dataset(c, v, cfg);
        else if (!strcmp(key, "model"))
            model = v;
        else if (!strcmp(key, "hardware"))
            rc = parse_hardware(c, v, cfg);
        else if (!strcmp(key, "stages"))
            stages = v;
        else
            rc = cy_unknown(c, k, "the config", root_keys);
        if (rc)
            return rc;
    }
    if (!has_name)
        return cy_err(c, root, "missing required key 'experiment' (a name for the runs folder)");
    if (!model)
        return cy_err(c, root, "missing required key 'model' (a zoo name, a list of layers or {checkpoint: PATH})");
    if (!stages)
        return cy_err(c, root, "missing required key 'stages'");
    rc = exp_parse_model(c, model, cfg);
    if (!rc && cfg->checkpoint[0] && cfg->pre_given)
        return pith_error(PITH_EINVAL, "%s:%d: dataset: the input's size and preprocessing are the checkpoint's "
                          "(%s); give only path, calib, subset, val and augment", c->path, cfg->pre_given,
                          cfg->checkpoint);
    if (!rc)
        rc = exp_parse_stages(c, stages, cfg);
    if (!rc)
        exp_prefix_keys(c, root, stages, cfg);
    return rc;
}


/* ------------------------------------------------------------------ loading */

typedef struct buf {
    char *s;
    size_t n, cap;
} buf;

static int write_buf(void *data, unsigned char *b, size_t size)
{
    buf *o = data;
    if (o->n + size + 1 > o->cap) {
        size_t cap = (o->cap + size + 1) * 2;
        char *s = realloc(o->s, cap);
        if (!s)
            return 0;
        o->s = s;
        o->cap = cap;
    }
    memcpy(o->s + o->n, b, size);
    o->n += size;
    o->s[o->n] = '\0';
    return 1;
}

/* Limits that no experiment config comes near. libyaml's loader takes time
 * that grows faster than linearly with nesting, so an absurd file is refused
 * by a cheap event scan before it is loaded. */
#define CONFIG_MAX_BYTES (1 << 20)
#define CONFIG_MAX_DEPTH 32

static int prescan(FILE *f, const char *path)
{
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        rewind(f);
        if (size > CONFIG_MAX_BYTES)
            return pith_error(PITH_EINVAL, "%s: %ld bytes; a config is at most %d", path, size,
                              CONFIG_MAX_BYTES);
    }
    yaml_parser_t parser;
    yaml_event_t ev;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int depth = 0, rc = PITH_OK;
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev))
            break; /* the loader reports syntax errors with their line */
        yaml_event_type_t t = ev.type;
        int line = (int)ev.start_mark.line + 1;
        yaml_event_delete(&ev);
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (++depth > CONFIG_MAX_DEPTH) {
                rc = pith_error(PITH_EINVAL, "%s:%d: nested deeper than %d levels", path, line,
                                CONFIG_MAX_DEPTH);
                break;
            }
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            depth--;
        } else if (t == YAML_STREAM_END_EVENT) {
            break;
        }
    }
    yaml_parser_delete(&parser);
    rewind(f);
    return rc;
}

/* Folds the bytes of `file` (a config's model.checkpoint) into *h. */
static int hash_file(const char *file, const char *config, uint64_t *h)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return pith_error(PITH_EIO, "%s: model.checkpoint: %s: cannot open", config, file);
    unsigned char b[65536];
    size_t n;
    uint64_t x = *h;
    while ((n = fread(b, 1, sizeof b, f)) > 0)
        for (size_t i = 0; i < n; i++)
            x = (x ^ b[i]) * 0x100000001b3ull;
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return pith_error(PITH_EIO, "%s: model.checkpoint: %s: read error", config, file);
    *h = x;
    return PITH_OK;
}

void exp_config_data_opts(const exp_config *cfg, pith_data_opts *o)
{
    pith_data_opts_default(o);
    o->c = cfg->input_c;
    o->h = cfg->input_h;
    o->w = cfg->input_w;
    o->pre = cfg->pre;
    o->mean[0] = cfg->mean;
    o->std[0] = cfg->std;
    if (cfg->norm_channels) {
        o->norm_channels = cfg->norm_channels;
        memcpy(o->mean, cfg->norm_mean, sizeof o->mean);
        memcpy(o->std, cfg->norm_std, sizeof o->std);
    }
    o->train_crop = cfg->aug.rrc_min > 0.0f;
}

int exp_config_load(const char *path, const char *const *sets, int n_sets, exp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", PITH_FMNIST_DIR);
    cfg->mean = PITH_FMNIST_MEAN;
    cfg->std = PITH_FMNIST_STD;
    cfg->seed = 1;
    cfg->price_usd = NAN;
    FILE *f = fopen(path, "rb");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot open", path);
    int rc = prescan(f, path);
    if (rc) {
        fclose(f);
        return rc;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int ok = yaml_parser_load(&parser, &doc);
    if (!ok)
        rc = pith_error(PITH_EINVAL, "%s:%d: YAML syntax error: %s", path, (int)parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "unknown");
    yaml_parser_delete(&parser);
    fclose(f);
    if (rc)
        return rc;
    cy_ctx c = {path, &doc};
    for (int i = 0; i < n_sets && !rc; i++) {
        rc = exp_apply_set(&c, sets[i]);
        if (!rc) {
            size_t o = strlen(cfg->knobs);
            snprintf(cfg->knobs + o, sizeof cfg->knobs - o, "%s%s", o ? ";" : "", sets[i]);
        }
    }
    if (!rc)
        rc = parse_root(&c, cfg);
    if (!rc) {
        /* the resolved config: what ran, and what its hash identifies */
        yaml_emitter_t em;
        buf out = {0};
        yaml_emitter_initialize(&em);
        yaml_emitter_set_output(&em, write_buf, &out);
        yaml_emitter_set_unicode(&em, 1);
        if (!yaml_emitter_open(&em) || !yaml_emitter_dump(&em, &doc) || !yaml_emitter_close(&em) || !out.s)
            rc = pith_error(PITH_EINVAL, "%s: cannot write the resolved config", path);
        else
            doc.nodes.start = NULL; /* dump took the document */
        yaml_emitter_delete(&em);
        cfg->resolved = out.s;
        uint64_t h = 0xcbf29ce484222325ull;
        for (size_t i = 0; out.s && i < out.n; i++)
            h = (h ^ (unsigned char)out.s[i]) * 0x100000001b3ull;
        uint64_t file_h = 0xcbf29ce484222325ull;
        if (!rc && cfg->checkpoint[0]) { /* the run is of what the file holds, not of its name */
            rc = hash_file(cfg->checkpoint, path, &file_h);
            h ^= file_h;
            for (int i = 0; i < cfg->n_stages; i++)
                cfg->stages[i].prefix_key ^= file_h;
        }
        cfg->hash = h;
        snprintf(cfg->run_id, sizeof cfg->run_id, "%010llx-s%llu", (unsigned long long)(h >> 24),
                 (unsigned long long)cfg->seed);
    }
    if (doc.nodes.start)
        yaml_document_delete(&doc);
    if (rc)
        exp_config_free(cfg);
    return rc;
}

void exp_config_free(exp_config *cfg)
{
    free(cfg->layers);
    free(cfg->resolved);
    cfg->layers = NULL;
    cfg->resolved = NULL;
    cfg->n_layers = 0;
}

