/* The model of an experiment config: a zoo name, or a list of layers built
 * into a graph. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../core/zoo.h"
#include "config_yaml.h"

static const char *const layer_keys =
    "op, name, inputs, out, kernel, stride, padding, dilation, groups, bias, p, eps, momentum";

static int parse_layer(cy_ctx *c, yaml_node_t *m, exp_layer *l)
{
    memset(l, 0, sizeof *l);
    l->line = cy_line(m);
    l->a.sh = l->a.sw = l->a.dh = l->a.dw = l->a.groups = 1;
    l->a.eps = 1e-5f;
    l->a.momentum = 0.1f;
    int rc = cy_need_map(c, m, "a layer");
    if (rc)
        return rc;
    int has_kernel = 0, has_stride = 0;
    FOR_PAIRS(m, p)
    {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        if (!strcmp(key, "op")) {
            rc = cy_str(c, v, "op", l->op, sizeof l->op);
            if (!rc && (!pith_op_find(l->op) || pith_op_find(l->op) == &pith_op_input)) {
                char list[256] = "";
                const pith_op *const *ops = pith_op_all();
                for (int i = 1; ops[i]; i++) {
                    strncat(list, i > 1 ? ", " : "", sizeof list - strlen(list) - 1);
                    strncat(list, ops[i]->name, sizeof list - strlen(list) - 1);
                }
                rc = cy_err(c, v, "op: unknown op '%s' (allowed: %s)", l->op, list);
            }
        } else if (!strcmp(key, "name"))
            rc = cy_str(c, v, "name", l->name, sizeof l->name);
        else if (!strcmp(key, "inputs")) {
            if (v->type == YAML_SCALAR_NODE) {
                rc = cy_str(c, v, "inputs", l->inputs[0], sizeof l->inputs[0]);
                l->n_inputs = 1;
            } else if (v->type == YAML_SEQUENCE_NODE) {
                for (yaml_node_item_t *it = v->data.sequence.items.start;
                     it < v->data.sequence.items.top && !rc; it++) {
                    if (l->n_inputs == PITH_MAX_INPUTS)
                        rc = cy_err(c, v, "inputs: at most %d", PITH_MAX_INPUTS);
                    else
                        rc = cy_str(c, cy_get(c, *it), "inputs", l->inputs[l->n_inputs++],
                                     sizeof l->inputs[0]);
                }
            } else
                rc = cy_err(c, v, "inputs: expected a layer name or a list of names");
        } else if (!strcmp(key, "out"))
            rc = cy_int(c, v, "out", 1, 1 << 20, &l->a.out);
        else if (!strcmp(key, "kernel")) {
            rc = cy_pair(c, v, "kernel", 1, &l->a.kh, &l->a.kw);
            has_kernel = 1;
        } else if (!strcmp(key, "stride")) {
            rc = cy_pair(c, v, "stride", 1, &l->a.sh, &l->a.sw);
            has_stride = 1;
        } else if (!strcmp(key, "padding"))
            rc = cy_pair(c, v, "padding", 0, &l->a.ph, &l->a.pw);
        else if (!strcmp(key, "dilation"))
            rc = cy_pair(c, v, "dilation", 1, &l->a.dh, &l->a.dw);
        else if (!strcmp(key, "groups"))
            rc = cy_int(c, v, "groups", 1, 1 << 20, &l->a.groups);
        else if (!strcmp(key, "bias"))
            rc = cy_bool(c, v, "bias", &l->a.bias);
        else if (!strcmp(key, "p"))
            rc = cy_float(c, v, "p", 0, 0.999, 0, &l->a.p);
        else if (!strcmp(key, "eps"))
            rc = cy_float(c, v, "eps", 0, 1, 1, &l->a.eps);
        else if (!strcmp(key, "momentum"))
            rc = cy_float(c, v, "momentum", 0, 1, 0, &l->a.momentum);
        else
            rc = cy_unknown(c, k, "a layer", layer_keys);
        if (rc)
            return rc;
    }
    if (!l->op[0])
        return cy_err(c, m, "a layer needs 'op'");
    if (!l->name[0])
        return cy_err(c, m, "a layer needs 'name'");
    /* pooling stride defaults to its kernel, as in PyTorch */
    if (has_kernel && !has_stride && (pith_op_find(l->op) == &pith_op_maxpool || pith_op_find(l->op) == &pith_op_avgpool)) {
        l->a.sh = l->a.kh;
        l->a.sw = l->a.kw;
    }
    return PITH_OK;
}

/* model: {checkpoint: PATH, name: NAME}: a pith checkpoint (an imported ONNX
 * model, or any earlier result) named NAME in the results (default: the
 * file's name without folder and extension). */
static int parse_checkpoint_model(cy_ctx *c, yaml_node_t *m, exp_config *cfg)
{
    int rc = PITH_OK;
    FOR_PAIRS(m, p)
    {
        yaml_node_t *k = cy_get(c, p->key), *v = cy_get(c, p->value);
        const char *key = cy_scalar(k) ? cy_scalar(k) : "";
        if (!strcmp(key, "checkpoint"))
            rc = cy_str(c, v, "model.checkpoint", cfg->checkpoint, sizeof cfg->checkpoint);
        else if (!strcmp(key, "name"))
            rc = cy_str(c, v, "model.name", cfg->model, sizeof cfg->model);
        else
            rc = cy_unknown(c, k, "model", "checkpoint, name");
        if (rc)
            return rc;
    }
    if (!cfg->checkpoint[0])
        return cy_err(c, m, "model: a mapping needs 'checkpoint' (a pith checkpoint, e.g. from pith import)");
    if (!cfg->model[0]) {
        const char *base = strrchr(cfg->checkpoint, '/');
        base = base ? base + 1 : cfg->checkpoint;
        size_t n = strcspn(base, ".");
        snprintf(cfg->model, sizeof cfg->model, "%.*s", (int)(n ? n : strlen(base)), base);
    }
    return PITH_OK;
}

int exp_parse_model(cy_ctx *c, yaml_node_t *v, exp_config *cfg)
{
    if (v->type == YAML_MAPPING_NODE)
        return parse_checkpoint_model(c, v, cfg);
    if (cy_scalar(v)) {
        int rc = cy_str(c, v, "model", cfg->model, sizeof cfg->model);
        if (rc)
            return rc;
        for (int i = 0; pith_zoo[i].name; i++)
            if (!strcmp(pith_zoo[i].name, cfg->model))
                return PITH_OK;
        char list[256] = "";
        for (int i = 0; pith_zoo[i].name; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, pith_zoo[i].name, sizeof list - strlen(list) - 1);
        }
        return cy_err(c, v, "model: unknown zoo model '%s' (allowed: %s, a list of layers, or {checkpoint: PATH})", cfg->model,
                   list);
    }
    if (v->type != YAML_SEQUENCE_NODE)
        return cy_err(c, v, "model: expected a zoo name, a list of layers or {checkpoint: PATH}");
    int n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n < 1 || n > EXP_MAX_LAYERS)
        return cy_err(c, v, "model: 1 to %d layers", EXP_MAX_LAYERS);
    cfg->layers = calloc((size_t)n, sizeof *cfg->layers);
    if (!cfg->layers)
        return pith_error(PITH_ENOMEM, "out of memory");
    snprintf(cfg->model, sizeof cfg->model, "custom");
    for (int i = 0; i < n; i++) {
        int rc = parse_layer(c, cy_get(c, v->data.sequence.items.start[i]), &cfg->layers[i]);
        if (rc)
            return rc;
        cfg->n_layers++;
    }
    return PITH_OK;
}


int exp_build_model(const exp_config *cfg, int c, int h, int w, int classes, pith_graph **out)
{
    if (!cfg->n_layers)
        return pith_zoo_build(cfg->model, c, h, w, classes, cfg->seed, out);
    pith_shape in = {3, {c, h, w}};
    pith_graph *g;
    int rc = pith_graph_create(&g, in, cfg->seed);
    int prev = 0;
    for (int i = 0; i < cfg->n_layers && !rc; i++) {
        const exp_layer *l = &cfg->layers[i];
        int ins[PITH_MAX_INPUTS], n = l->n_inputs ? l->n_inputs : 1;
        ins[0] = prev;
        for (int j = 0; j < l->n_inputs && !rc; j++) {
            ins[j] = pith_graph_find(g, l->inputs[j]);
            if (ins[j] < 0)
                rc = pith_error(PITH_EINVAL, "%s:%d: layer '%s': input '%s' is not an earlier layer",
                                cfg->path, l->line, l->name, l->inputs[j]);
        }
        int idx = rc ? rc : pith_graph_add(g, l->op, l->name, &l->a, ins, n);
        if (idx < 0 && !rc) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", pith_last_error());
            rc = pith_error(idx, "%s:%d: layer '%s': %s", cfg->path, l->line, l->name, msg);
        }
        prev = idx;
    }
    /* the last layer's width must be the number of classes */
    if (!rc) {
        const pith_shape *os = pith_graph_output_shape(g);
        if (os->ndim != 1 || os->d[0] != classes)
            rc = pith_error(PITH_ESHAPE, "%s: the model's last layer must output %d class scores",
                            cfg->path, classes);
    }
    if (rc) {
        pith_graph_free(g);
        return rc;
    }
    *out = g;
    return PITH_OK;
}

