/* Reading checkpoints: every group, dataset and attribute checked, errors
 * naming the file and the object. */
#include "checkpoint.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint_layout.h"
#include "error.h"

/* ---------------------------------------------------------------- reading */

typedef struct reader {
    hid_t f;
    const char *path;
} reader;

/* Opens attribute `name` of the object at `obj`; reports "path:obj: no attribute". */
static hid_t open_attr(const reader *r, hid_t loc, const char *obj, const char *name)
{
    if (H5Aexists(loc, name) <= 0) {
        pith_error(PITH_EFORMAT, "%s: %s has no attribute '%s'", r->path, obj, name);
        return -1;
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        pith_error(PITH_EFORMAT, "%s: cannot read attribute %s@%s", r->path, obj, name);
    return a;
}

static int attr_count(hid_t a)
{
    hid_t s = H5Aget_space(a);
    hssize_t n = s < 0 ? -1 : H5Sget_simple_extent_npoints(s);
    if (s >= 0)
        H5Sclose(s);
    return (int)n;
}

static int get_num(const reader *r, hid_t loc, const char *obj, const char *name, hid_t memtype,
                   void *out)
{
    hid_t a = open_attr(r, loc, obj, name);
    if (a < 0)
        return PITH_EFORMAT;
    hid_t t = H5Aget_type(a);
    H5T_class_t cls = H5Tget_class(t);
    int ok = (cls == H5T_INTEGER || cls == H5T_FLOAT) && attr_count(a) == 1 &&
             H5Aread(a, memtype, out) >= 0;
    H5Tclose(t);
    H5Aclose(a);
    return ok ? PITH_OK
              : pith_error(PITH_EFORMAT, "%s: %s@%s is not a single number", r->path, obj, name);
}

static int get_i64(const reader *r, hid_t loc, const char *obj, const char *name, int64_t *v)
{
    return get_num(r, loc, obj, name, H5T_NATIVE_INT64, v);
}

static int get_int(const reader *r, hid_t loc, const char *obj, const char *name, int lo, int hi,
                   int *v)
{
    int64_t x;
    int rc = get_i64(r, loc, obj, name, &x);
    if (rc)
        return rc;
    if (x < lo || x > hi)
        return pith_error(PITH_EFORMAT, "%s: %s@%s is %lld, expected %d..%d", r->path, obj, name,
                          (long long)x, lo, hi);
    *v = (int)x;
    return PITH_OK;
}

static int get_f64(const reader *r, hid_t loc, const char *obj, const char *name, double *v)
{
    return get_num(r, loc, obj, name, H5T_NATIVE_DOUBLE, v);
}

static int get_str(const reader *r, hid_t loc, const char *obj, const char *name, char *buf,
                   size_t len)
{
    hid_t a = open_attr(r, loc, obj, name);
    if (a < 0)
        return PITH_EFORMAT;
    hid_t t = H5Aget_type(a);
    int rc = PITH_OK;
    if (H5Tget_class(t) != H5T_STRING || attr_count(a) != 1) {
        rc = pith_error(PITH_EFORMAT, "%s: %s@%s is not a string", r->path, obj, name);
    } else if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &s) < 0 || !s)
            rc = pith_error(PITH_EFORMAT, "%s: cannot read %s@%s", r->path, obj, name);
        else
            snprintf(buf, len, "%s", s);
        H5free_memory(s);
        H5Tclose(mt);
    } else {
        size_t sz = H5Tget_size(t);
        char *s = calloc(sz + 1, 1);
        if (!s || H5Aread(a, t, s) < 0)
            rc = pith_error(PITH_EFORMAT, "%s: cannot read %s@%s", r->path, obj, name);
        else
            snprintf(buf, len, "%s", s);
        free(s);
    }
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

static void format_dims(char *buf, size_t len, int rank, const hsize_t *d)
{
    int o = snprintf(buf, len, "[");
    for (int i = 0; i < rank && o < (int)len; i++)
        o += snprintf(buf + o, len - (size_t)o, i ? ",%llu" : "%llu", (unsigned long long)d[i]);
    if (o < (int)len)
        snprintf(buf + o, len - (size_t)o, "]");
}

/* Reads a float dataset whose shape must be exactly `shape`. */
static int read_f32(const reader *r, hid_t loc, const char *obj, const char *name, float *dst,
                    int rank, const int *shape)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return pith_error(PITH_EFORMAT, "%s: %s/%s is missing", r->path, obj, name);
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return pith_error(PITH_EFORMAT, "%s: %s/%s is not a dataset", r->path, obj, name);
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    hsize_t dims[8] = {0}, want[4];
    int drank = s < 0 ? -1 : H5Sget_simple_extent_ndims(s);
    int rc = PITH_OK;
    if (H5Tget_class(t) != H5T_FLOAT) {
        rc = pith_error(PITH_EFORMAT, "%s: %s/%s is not floating point", r->path, obj, name);
    } else if (drank < 0 || drank > 8) {
        rc = pith_error(PITH_EFORMAT, "%s: %s/%s has an unreadable shape", r->path, obj, name);
    } else {
        H5Sget_simple_extent_dims(s, dims, NULL);
        for (int i = 0; i < rank; i++)
            want[i] = (hsize_t)shape[i];
        int same = drank == rank;
        for (int i = 0; same && i < rank; i++)
            same = dims[i] == want[i];
        if (!same) {
            char have[96], exp[96];
            format_dims(have, sizeof have, drank, dims);
            format_dims(exp, sizeof exp, rank, want);
            rc = pith_error(PITH_ESHAPE, "%s: %s/%s has shape %s, expected %s", r->path, obj, name,
                            have, exp);
        } else if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) {
            rc = pith_error(PITH_EFORMAT, "%s: %s/%s cannot be read (corrupt data or checksum mismatch)",
                            r->path, obj, name);
        }
    }
    if (s >= 0)
        H5Sclose(s);
    if (t >= 0)
        H5Tclose(t);
    H5Dclose(d);
    return rc;
}

static hid_t open_group(const reader *r, hid_t loc, const char *name, const char *shown)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) {
        pith_error(PITH_EFORMAT, "%s: group %s is missing", r->path, shown);
        return -1;
    }
    hid_t gg = H5Gopen2(loc, name, H5P_DEFAULT);
    if (gg < 0)
        pith_error(PITH_EFORMAT, "%s: %s is not a group", r->path, shown);
    return gg;
}

static int read_graph(const reader *r, pith_graph **out)
{
    *out = NULL;
    hid_t gg = open_group(r, r->f, "graph", "/graph");
    if (gg < 0)
        return PITH_EFORMAT;
    hid_t nodes = open_group(r, gg, "nodes", "/graph/nodes");
    if (nodes < 0) {
        H5Gclose(gg);
        return PITH_EFORMAT;
    }
    int rc = PITH_OK, n_nodes = 0, output = 0;
    pith_shape in = {0, {0, 0, 0}};
    hid_t a = open_attr(r, gg, "/graph", "input_shape");
    if (a < 0) {
        rc = PITH_EFORMAT;
    } else {
        int cnt = attr_count(a);
        hid_t t = H5Aget_type(a);
        if ((cnt != 1 && cnt != 3) || H5Tget_class(t) != H5T_INTEGER ||
            H5Aread(a, H5T_NATIVE_INT, in.d) < 0)
            rc = pith_error(PITH_EFORMAT, "%s: /graph@input_shape must be 1 or 3 integers", r->path);
        in.ndim = cnt;
        H5Tclose(t);
        H5Aclose(a);
    }
    if (!rc)
        rc = get_int(r, gg, "/graph", "n_nodes", 1, 100000, &n_nodes);
    if (!rc)
        rc = get_int(r, gg, "/graph", "output", 0, n_nodes - 1, &output);
    pith_graph *g = NULL;
    if (!rc)
        rc = pith_graph_create(&g, in, 0);
    for (int k = 1; k < n_nodes && !rc; k++) {
        char gname[16], shown[64], name[PITH_NAME_MAX + 8], op[32];
        snprintf(gname, sizeof gname, "%04d", k);
        snprintf(shown, sizeof shown, "/graph/nodes/%s", gname);
        hid_t ng = open_group(r, nodes, gname, shown);
        if (ng < 0) {
            rc = PITH_EFORMAT;
            break;
        }
        pith_attrs at;
        memset(&at, 0, sizeof at);
        int inputs[PITH_MAX_INPUTS], n_in = 0;
        rc = get_str(r, ng, shown, "name", name, sizeof name);
        if (!rc)
            rc = get_str(r, ng, shown, "op", op, sizeof op);
        if (!rc && (a = open_attr(r, ng, shown, "inputs")) >= 0) {
            n_in = attr_count(a);
            hid_t t = H5Aget_type(a);
            if (n_in < 0 || n_in > PITH_MAX_INPUTS || H5Tget_class(t) != H5T_INTEGER ||
                (n_in > 0 && H5Aread(a, H5T_NATIVE_INT, inputs) < 0))
                rc = pith_error(PITH_EFORMAT, "%s: %s@inputs must be 0 to %d integers", r->path, shown,
                                PITH_MAX_INPUTS);
            H5Tclose(t);
            H5Aclose(a);
        } else if (!rc) {
            rc = PITH_EFORMAT;
        }
        for (int j = 0; j < n_in && !rc; j++)
            if (inputs[j] < 0 || inputs[j] >= k)
                rc = pith_error(PITH_EFORMAT, "%s: %s@inputs[%d] = %d does not name an earlier node",
                                r->path, shown, j, inputs[j]);
        for (int q = 0; pith_attr_table[q].name && !rc; q++) {
            const pith_attr_desc *d = &pith_attr_table[q];
            char *field = (char *)&at + d->offset;
            if (d->optional && H5Aexists(ng, d->name) <= 0)
                continue;
            if (d->is_float) {
                double v;
                rc = get_f64(r, ng, shown, d->name, &v);
                *(float *)field = (float)v;
            } else {
                rc = get_int(r, ng, shown, d->name, -1, 1 << 24, (int *)field);
            }
        }
        H5Gclose(ng);
        if (!rc) {
            int idx = pith_graph_add(g, op, name, &at, inputs, n_in);
            if (idx < 0) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", pith_last_error());
                rc = pith_error(idx, "%s: %s: %s", r->path, shown, msg);
            }
        }
    }
    if (!rc)
        g->output = output;
    H5Gclose(nodes);
    H5Gclose(gg);
    if (rc) {
        pith_graph_free(g);
        return rc;
    }
    *out = g;
    return PITH_OK;
}

/* Parameters a pass added (quantizer scales, codebooks, masks) are not
 * created by the op's init: create each dataset of the node's group that the
 * node does not have yet, with the file's shape. */
static int read_extra_params(const reader *r, hid_t ng, const char *shown, pith_node *n)
{
    H5G_info_t info;
    if (H5Gget_info(ng, &info) < 0)
        return pith_error(PITH_EFORMAT, "%s: %s cannot be listed", r->path, shown);
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char name[64];
        ssize_t len = H5Lget_name_by_idx(ng, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                         H5P_DEFAULT);
        if (len < 0 || (size_t)len >= sizeof name || (size_t)len >= sizeof n->params[0].name)
            return pith_error(PITH_EFORMAT, "%s: %s has a dataset with an unusable name", r->path,
                              shown);
        if (pith_node_param(n, name))
            continue;
        hid_t d = H5Dopen2(ng, name, H5P_DEFAULT);
        if (d < 0)
            return pith_error(PITH_EFORMAT, "%s: %s/%s is not a dataset", r->path, shown, name);
        hid_t s = H5Dget_space(d);
        int rank = s < 0 ? -1 : H5Sget_simple_extent_ndims(s);
        hsize_t dims[4] = {0};
        int shape[4], rc = PITH_OK;
        double total = 1;
        if (rank < 1 || rank > 4) {
            rc = pith_error(PITH_EFORMAT, "%s: %s/%s must have 1 to 4 dimensions", r->path, shown, name);
        } else {
            H5Sget_simple_extent_dims(s, dims, NULL);
            for (int k = 0; k < rank; k++) {
                total *= (double)dims[k];
                shape[k] = (int)dims[k];
            }
            if (total < 1 || total > (double)(1 << 28))
                rc = pith_error(PITH_EFORMAT, "%s: %s/%s has %.0f values (1 to 2^28 allowed)", r->path,
                                shown, name, total);
        }
        int64_t tr = 0;
        if (!rc && H5Aexists(d, "trainable") > 0)
            rc = get_i64(r, d, shown, "trainable", &tr);
        if (s >= 0)
            H5Sclose(s);
        H5Dclose(d);
        if (rc)
            return rc;
        if (!pith_node_new_param(n, name, rank, shape, tr != 0))
            return pith_error(PITH_EFORMAT, "%s: %s/%s: node '%s' cannot hold another parameter",
                              r->path, shown, name, n->name);
    }
    return PITH_OK;
}

static int read_params(const reader *r, pith_graph *g)
{
    hid_t pg = open_group(r, r->f, "params", "/params");
    if (pg < 0)
        return PITH_EFORMAT;
    int rc = PITH_OK;
    for (int i = 1; i < g->n_nodes && !rc; i++) {
        pith_node *n = &g->nodes[i];
        if (!n->n_params)
            continue;
        char shown[128];
        snprintf(shown, sizeof shown, "/params/%s", n->name);
        hid_t ng = open_group(r, pg, n->name, shown);
        if (ng < 0) {
            rc = PITH_EFORMAT;
            break;
        }
        rc = read_extra_params(r, ng, shown, n);
        for (int j = 0; j < n->n_params && !rc; j++) {
            pith_param *p = &n->params[j];
            rc = read_f32(r, ng, shown, p->name, p->data, p->ndim, p->shape);
            if (!rc && H5Lexists(ng, p->name, H5P_DEFAULT) > 0) {
                hid_t d = H5Dopen2(ng, p->name, H5P_DEFAULT);
                int64_t fr = 0;
                if (d >= 0 && H5Aexists(d, "frozen") > 0 && get_i64(r, d, shown, "frozen", &fr) == 0)
                    p->frozen = p->trainable && fr != 0;
                if (d >= 0)
                    H5Dclose(d);
            }
            for (size_t q = 0; !rc && q < p->size; q++)
                if (!isfinite(p->data[q]))
                    rc = pith_error(PITH_EFORMAT, "%s: %s/%s holds a non-finite value at index %zu",
                                    r->path, shown, p->name, q);
        }
        H5Gclose(ng);
    }
    H5Gclose(pg);
    return rc;
}

static int read_train(const reader *r, pith_train_config *c)
{
    hid_t t = open_group(r, r->f, "train", "/train");
    if (t < 0)
        return PITH_EFORMAT;
    *c = pith_train_defaults();
    const char *o = "/train";
    char s[32];
    double v;
    int64_t i64;
    int rc = 0;
#define F64(name, field) \
    if (!rc && !(rc = get_f64(r, t, o, name, &v))) field = (float)v;
    rc = rc ? rc : get_int(r, t, o, "epochs", 1, PITH_MAX_EPOCHS, &c->epochs);
    rc = rc ? rc : get_int(r, t, o, "batch", 1, 65536, &c->batch);
    F64("lr", c->lr);
    F64("min_lr", c->min_lr);
    if (!rc && !(rc = get_str(r, t, o, "schedule", s, sizeof s)))
        rc = pith_sched_parse(s, &c->sched);
    rc = rc ? rc : get_int(r, t, o, "step_epochs", 0, PITH_MAX_EPOCHS, &c->step_epochs);
    F64("gamma", c->gamma);
    rc = rc ? rc : get_int(r, t, o, "warmup_epochs", 0, PITH_MAX_EPOCHS, &c->warmup_epochs);
    if (!rc && !(rc = get_str(r, t, o, "optimizer", s, sizeof s)))
        rc = pith_optim_parse(s, &c->optim.kind);
    F64("momentum", c->optim.momentum);
    rc = rc ? rc : get_int(r, t, o, "nesterov", 0, 1, &c->optim.nesterov);
    F64("weight_decay", c->optim.weight_decay);
    F64("beta1", c->optim.beta1);
    F64("beta2", c->optim.beta2);
    F64("adam_eps", c->optim.eps);
    F64("label_smoothing", c->label_smoothing);
    if (!rc && H5Aexists(t, "bn_l1") > 0) /* absent from older checkpoints: 0 */
        F64("bn_l1", c->bn_l1);
    rc = rc ? rc : get_int(r, t, o, "crop_pad", 0, 64, &c->aug.crop_pad);
    rc = rc ? rc : get_int(r, t, o, "hflip", 0, 1, &c->aug.hflip);
    if (!rc && H5Aexists(t, "random_resized_crop") > 0) {
        double area = 0;
        if (!(rc = get_f64(r, t, o, "random_resized_crop", &area)) && !(area > 0.0 && area <= 1.0))
            rc = pith_error(PITH_EFORMAT, "%s: %s@random_resized_crop is %g (the smallest area, in (0, 1])", r->path,
                            o, area);
        c->aug.rrc_min = (float)area;
    }
    if (!rc && !(rc = get_i64(r, t, o, "seed", &i64)))
        c->seed = (uint64_t)i64;
    rc = rc ? rc : get_int(r, t, o, "subset", 0, 1 << 30, &c->subset);
    rc = rc ? rc : get_int(r, t, o, "val", 0, 1 << 30, &c->val);
#undef F64
    H5Gclose(t);
    if (!rc && pith_train_config_check(c)) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", pith_last_error());
        rc = pith_error(PITH_EFORMAT, "%s: /train: %s", r->path, msg);
    }
    return rc;
}

static int get_floats(const reader *r, hid_t loc, const char *name, float *out, int max)
{
    hid_t a = open_attr(r, loc, "/meta", name);
    if (a < 0)
        return -1;
    hid_t t = H5Aget_type(a);
    int n = attr_count(a);
    int ok = H5Tget_class(t) == H5T_FLOAT && n >= 1 && n <= max && H5Aread(a, H5T_NATIVE_FLOAT, out) >= 0;
    H5Tclose(t);
    H5Aclose(a);
    return ok ? n : pith_error(PITH_EFORMAT, "%s: /meta@%s must be 1 to %d numbers", r->path, name, max);
}

static int get_norm(const reader *r, hid_t t, pith_ckpt_meta *m)
{
    int n = get_floats(r, t, "norm_mean", m->norm_mean, 4);
    int k = n < 0 ? n : get_floats(r, t, "norm_std", m->norm_std, 4);
    if (n < 0 || k < 0)
        return PITH_EFORMAT;
    if (k != n)
        return pith_error(PITH_EFORMAT, "%s: /meta@norm_mean has %d values but @norm_std %d", r->path, n, k);
    for (int c = 0; c < n; c++)
        if (!isfinite(m->norm_mean[c]) || !(m->norm_std[c] > 0.0f) || !isfinite(m->norm_std[c]))
            return pith_error(PITH_EFORMAT, "%s: /meta normalisation of channel %d: mean %g, std %g", r->path, c,
                              (double)m->norm_mean[c], (double)m->norm_std[c]);
    m->norm_channels = n;
    return PITH_OK;
}

/* the input's preprocessing: optional (files written before it have none:
 * RGB, divided by 255, resized straight to the input) */
static int get_preprocess(const reader *r, hid_t t, pithrt_preprocess *p)
{
    const char *o = "/meta";
    char s[16];
    int rc = 0, scale = 255;
    memset(p, 0, sizeof *p);
    if (H5Aexists(t, "input_order") > 0 && !(rc = get_str(r, t, o, "input_order", s, sizeof s))) {
        if (strcmp(s, "RGB") && strcmp(s, "BGR"))
            return pith_error(PITH_EFORMAT, "%s: /meta@input_order is '%s' (RGB or BGR)", r->path, s);
        p->bgr = strcmp(s, "BGR") == 0;
    }
    if (!rc && H5Aexists(t, "input_scale") > 0 && !(rc = get_int(r, t, o, "input_scale", 1, 255, &scale)) &&
        scale != 1 && scale != 255)
        return pith_error(PITH_EFORMAT, "%s: /meta@input_scale is %d (1 or 255)", r->path, scale);
    p->keep255 = scale == 1;
    if (!rc && H5Aexists(t, "input_resize") > 0)
        rc = get_int(r, t, o, "input_resize", 0, 65535, &p->resize);
    if (!rc && H5Aexists(t, "input_resample") > 0 && !(rc = get_str(r, t, o, "input_resample", s, sizeof s))) {
        if (strcmp(s, "bilinear") && strcmp(s, "nearest"))
            return pith_error(PITH_EFORMAT, "%s: /meta@input_resample is '%s' (bilinear or nearest)", r->path, s);
        p->nearest = strcmp(s, "nearest") == 0;
    }
    return rc;
}

static int read_meta(const reader *r, pith_ckpt_meta *m, pith_epoch_record *hist, int *n_hist,
                     int max_hist)
{
    memset(m, 0, sizeof *m);
    hid_t t = open_group(r, r->f, "meta", "/meta");
    if (t < 0)
        return PITH_EFORMAT;
    const char *o = "/meta";
    int64_t i64 = 0;
    double v;
    int rc = 0;
    rc = rc ? rc : get_str(r, t, o, "model", m->model, sizeof m->model);
    rc = rc ? rc : get_str(r, t, o, "dataset", m->dataset, sizeof m->dataset);
    rc = rc ? rc : get_str(r, t, o, "command", m->command, sizeof m->command);
    rc = rc ? rc : get_str(r, t, o, "created", m->created, sizeof m->created);
    if (!rc && !(rc = get_i64(r, t, o, "seed", &i64)))
        m->seed = (uint64_t)i64;
    rc = rc ? rc : get_int(r, t, o, "epoch", 0, PITH_MAX_EPOCHS, &m->epoch);
    rc = rc ? rc : get_i64(r, t, o, "step", &m->step);
    if (!rc && !(rc = get_f64(r, t, o, "mean", &v)))
        m->mean = (float)v;
    if (!rc && !(rc = get_f64(r, t, o, "std", &v)))
        m->std = (float)v;
    rc = rc ? rc : get_int(r, t, o, "classes", 1, 1 << 26, &m->classes); /* outputs: a detector has 705,600 */
    rc = rc ? rc : get_f64(r, t, o, "top1", &m->top1);
    rc = rc ? rc : get_f64(r, t, o, "top5", &m->top5);
    rc = rc ? rc : get_f64(r, t, o, "test_loss", &m->test_loss);
    if (!rc && !(m->std > 0.0f))
        rc = pith_error(PITH_EFORMAT, "%s: /meta@std must be > 0", r->path);
    /* per-channel normalisation and class names: optional (imported models) */
    if (!rc && H5Aexists(t, "norm_mean") > 0)
        rc = get_norm(r, t, m);
    if (!rc && H5Aexists(t, "labels") > 0)
        rc = get_str(r, t, o, "labels", m->labels, sizeof m->labels);
    if (!rc)
        rc = get_preprocess(r, t, &m->pre);
    if (!rc && m->step < 0)
        rc = pith_error(PITH_EFORMAT, "%s: /meta@step is negative", r->path);
    if (n_hist)
        *n_hist = 0;
    if (!rc && hist && n_hist && H5Lexists(t, "history", H5P_DEFAULT) > 0) {
        hid_t d = H5Dopen2(t, "history", H5P_DEFAULT);
        hid_t s = d < 0 ? -1 : H5Dget_space(d);
        hsize_t dims[2] = {0, 0};
        if (s < 0 || H5Sget_simple_extent_ndims(s) != 2 || H5Sget_simple_extent_dims(s, dims, NULL) < 0 ||
            dims[1] != PITH_CKPT_HISTORY_COLS || dims[0] > (hsize_t)PITH_MAX_EPOCHS) {
            rc = pith_error(PITH_EFORMAT, "%s: /meta/history must be N x %d with N <= %d", r->path,
                            PITH_CKPT_HISTORY_COLS, PITH_MAX_EPOCHS);
        } else {
            double *buf = malloc((size_t)dims[0] * PITH_CKPT_HISTORY_COLS * sizeof *buf + 1);
            if (!buf || H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
                rc = pith_error(PITH_EFORMAT, "%s: cannot read /meta/history", r->path);
            } else {
                int n = (int)dims[0] < max_hist ? (int)dims[0] : max_hist;
                for (int i = 0; i < n; i++) {
                    const double *row = buf + (size_t)i * PITH_CKPT_HISTORY_COLS;
                    pith_epoch_record *e = &hist[i];
                    e->epoch = (int)row[0];
                    e->lr = row[1];
                    e->train_loss = row[2];
                    e->train_acc = row[3];
                    e->test_loss = row[4];
                    e->test_top1 = row[5];
                    e->test_top5 = row[6];
                    e->seconds = row[7];
                    e->img_per_s = row[8];
                }
                *n_hist = n;
            }
            free(buf);
        }
        if (s >= 0)
            H5Sclose(s);
        if (d >= 0)
            H5Dclose(d);
    }
    H5Gclose(t);
    return rc;
}

static int open_checkpoint(const char *path, reader *r)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    r->path = path;
    if (access(path, R_OK) != 0)
        return pith_error(PITH_EIO, "%s: cannot open (no such file or no permission)", path);
    if (H5Fis_hdf5(path) <= 0)
        return pith_error(PITH_EFORMAT, "%s: not an HDF5 file, or truncated", path);
    r->f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (r->f < 0)
        return pith_error(PITH_EFORMAT, "%s: cannot open as HDF5 (truncated or corrupt)", path);
    char fmt[64];
    int64_t ver = 0;
    int rc = get_str(r, r->f, "/", "format", fmt, sizeof fmt);
    if (!rc && strcmp(fmt, PITH_CKPT_FORMAT) != 0)
        rc = pith_error(PITH_EFORMAT, "%s: /@format is '%s', expected '%s'", path, fmt, PITH_CKPT_FORMAT);
    if (!rc)
        rc = get_i64(r, r->f, "/", "version", &ver);
    if (!rc && ver != PITH_CKPT_VERSION)
        rc = pith_error(PITH_EFORMAT, "%s: checkpoint version %lld, this pith reads version %d", path,
                        (long long)ver, PITH_CKPT_VERSION);
    if (rc)
        H5Fclose(r->f);
    return rc;
}

int pith_checkpoint_load(const char *path, pith_graph **g, pith_ckpt_meta *meta,
                         pith_train_config *cfg, int *has_cfg, pith_epoch_record *hist,
                         int *n_hist, int max_hist)
{
    *g = NULL;
    reader r;
    int rc = open_checkpoint(path, &r);
    if (rc)
        return rc;
    rc = read_graph(&r, g);
    if (!rc)
        rc = read_params(&r, *g);
    if (!rc)
        rc = read_meta(&r, meta, hist, n_hist, max_hist);
    if (!rc && cfg) {
        int has = H5Lexists(r.f, "train", H5P_DEFAULT) > 0;
        if (has_cfg)
            *has_cfg = has;
        if (has)
            rc = read_train(&r, cfg);
    }
    H5Fclose(r.f);
    if (rc) {
        pith_graph_free(*g);
        *g = NULL;
    }
    return rc;
}

int pith_checkpoint_has_optim(const char *path)
{
    reader r;
    int rc = open_checkpoint(path, &r);
    if (rc)
        return rc;
    int has = H5Lexists(r.f, "optim", H5P_DEFAULT) > 0;
    H5Fclose(r.f);
    return has;
}

int pith_checkpoint_load_optim(const char *path, pith_optim *opt, const pith_graph *g)
{
    reader r;
    int rc = open_checkpoint(path, &r);
    if (rc)
        return rc;
    hid_t og = open_group(&r, r.f, "optim", "/optim");
    if (og < 0) {
        H5Fclose(r.f);
        return PITH_EFORMAT;
    }
    char type[16];
    rc = get_str(&r, og, "/optim", "type", type, sizeof type);
    if (!rc && strcmp(type, pith_optim_name(opt->cfg.kind)) != 0)
        rc = pith_error(PITH_EFORMAT, "%s: the optimizer state is for %s, not %s", path, type,
                        pith_optim_name(opt->cfg.kind));
    int64_t steps = 0;
    if (!rc)
        rc = get_i64(&r, og, "/optim", "steps", &steps);
    if (!rc && steps < 0)
        rc = pith_error(PITH_EFORMAT, "%s: /optim@steps is negative", path);
    for (int i = 0; i < opt->n_slots && !rc; i++) {
        pith_optim_slot *s = &opt->slots[i];
        if (!s->m)
            continue;
        char rel[160], shown[200];
        snprintf(rel, sizeof rel, "%s/%s", g->nodes[s->node].name, s->p->name);
        snprintf(shown, sizeof shown, "/optim/%s", rel);
        hid_t pg = open_group(&r, og, rel, shown);
        if (pg < 0) {
            rc = PITH_EFORMAT;
            break;
        }
        rc = read_f32(&r, pg, shown, opt->cfg.kind == PITH_OPTIM_ADAMW ? "exp_avg" : "momentum", s->m,
                      s->p->ndim, s->p->shape);
        if (!rc && s->v)
            rc = read_f32(&r, pg, shown, "exp_avg_sq", s->v, s->p->ndim, s->p->shape);
        H5Gclose(pg);
    }
    if (!rc)
        opt->steps = steps;
    H5Gclose(og);
    H5Fclose(r.f);
    return rc;
}

