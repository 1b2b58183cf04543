/* Writing checkpoints: the graph, its parameters and buffers, the optimizer
 * state, the recipe and the metadata, to a temporary file renamed into place. */
#include "checkpoint.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint_layout.h"
#include "error.h"

/* ---------------------------------------------------------------- writing */

static int set_attr(hid_t loc, const char *name, hid_t type, const void *v, int n)
{
    hsize_t dim = (hsize_t)n;
    hid_t space = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    hid_t a = space < 0 ? -1 : H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, type, v);
    if (a >= 0)
        H5Aclose(a);
    if (space >= 0)
        H5Sclose(space);
    return rc < 0 ? pith_error(PITH_EIO, "cannot write attribute '%s'", name) : PITH_OK;
}

/* An attribute with no values (a null dataspace): a node without inputs. */
static int set_empty(hid_t loc, const char *name, hid_t type)
{
    hid_t space = H5Screate(H5S_NULL);
    hid_t a = space < 0 ? -1 : H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0)
        H5Aclose(a);
    if (space >= 0)
        H5Sclose(space);
    return a < 0 ? pith_error(PITH_EIO, "cannot write attribute '%s'", name) : PITH_OK;
}

static int set_str(hid_t loc, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    int rc = set_attr(loc, name, t, v, 0);
    H5Tclose(t);
    return rc;
}

static int set_i64(hid_t loc, const char *name, int64_t v) { return set_attr(loc, name, H5T_NATIVE_INT64, &v, 0); }
static int set_f64(hid_t loc, const char *name, double v) { return set_attr(loc, name, H5T_NATIVE_DOUBLE, &v, 0); }

static int write_f32(hid_t loc, const char *name, const float *data, int rank, const int *shape)
{
    hsize_t dims[4];
    for (int i = 0; i < rank; i++)
        dims[i] = (hsize_t)shape[i];
    hid_t space = H5Screate_simple(rank, dims, NULL);
    /* One chunk per parameter, so the Fletcher-32 checksum covers it. */
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, rank, dims);
    H5Pset_fletcher32(dcpl);
    hid_t d = H5Dcreate2(loc, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (d >= 0)
        H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    return rc < 0 ? pith_error(PITH_EIO, "cannot write dataset '%s'", name) : PITH_OK;
}

static hid_t group(hid_t loc, const char *name)
{
    if (H5Lexists(loc, name, H5P_DEFAULT) > 0)
        return H5Gopen2(loc, name, H5P_DEFAULT);
    return H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

static int write_graph(hid_t f, pith_graph *g, int *pos)
{
    int rc = pith_graph_sort(g);
    if (rc)
        return rc;
    for (int i = 0; i < g->n_nodes; i++)
        pos[i] = -1;
    for (int k = 0; k < g->n_order; k++)
        pos[g->order[k]] = k;
    hid_t gg = group(f, "graph");
    hid_t nodes = gg < 0 ? -1 : group(gg, "nodes");
    if (nodes < 0)
        return pith_error(PITH_EIO, "cannot create /graph");
    rc = set_attr(gg, "input_shape", H5T_NATIVE_INT, g->input_shape.d, g->input_shape.ndim);
    if (!rc)
        rc = set_i64(gg, "n_nodes", g->n_order);
    if (!rc)
        rc = set_i64(gg, "output", pos[g->output]);
    for (int k = 1; k < g->n_order && !rc; k++) {
        const pith_node *n = &g->nodes[g->order[k]];
        char name[16];
        snprintf(name, sizeof name, "%04d", k);
        hid_t ng = group(nodes, name);
        if (ng < 0) {
            rc = pith_error(PITH_EIO, "cannot create /graph/nodes/%s", name);
            break;
        }
        int in[PITH_MAX_INPUTS];
        for (int j = 0; j < n->n_in; j++)
            in[j] = pos[n->in[j]];
        rc = set_str(ng, "name", n->name);
        if (!rc)
            rc = set_str(ng, "op", n->op->name);
        if (!rc)
            rc = n->n_in ? set_attr(ng, "inputs", H5T_NATIVE_INT, in, n->n_in) : set_empty(ng, "inputs", H5T_NATIVE_INT);
        for (int a = 0; pith_attr_table[a].name && !rc; a++) {
            const pith_attr_desc *d = &pith_attr_table[a];
            const char *field = (const char *)&n->a + d->offset;
            if (d->optional && *(const int *)field == 0)
                continue;
            rc = d->is_float ? set_attr(ng, d->name, H5T_NATIVE_FLOAT, field, 0)
                             : set_attr(ng, d->name, H5T_NATIVE_INT, field, 0);
        }
        H5Gclose(ng);
    }
    H5Gclose(nodes);
    H5Gclose(gg);
    return rc;
}

static int write_params(hid_t f, const pith_graph *g)
{
    hid_t pg = group(f, "params");
    if (pg < 0)
        return pith_error(PITH_EIO, "cannot create /params");
    int rc = PITH_OK;
    for (int k = 1; k < g->n_order && !rc; k++) {
        const pith_node *n = &g->nodes[g->order[k]];
        if (!n->n_params)
            continue;
        hid_t ng = group(pg, n->name);
        if (ng < 0) {
            rc = pith_error(PITH_EIO, "cannot create /params/%s", n->name);
            break;
        }
        for (int j = 0; j < n->n_params && !rc; j++) {
            const pith_param *p = &n->params[j];
            rc = write_f32(ng, p->name, p->data, p->ndim, p->shape);
            hid_t d = rc ? -1 : H5Dopen2(ng, p->name, H5P_DEFAULT);
            if (d >= 0) {
                rc = set_i64(d, "trainable", p->trainable);
                if (!rc)
                    rc = set_i64(d, "frozen", p->frozen);
                H5Dclose(d);
            }
        }
        H5Gclose(ng);
    }
    H5Gclose(pg);
    return rc;
}

static int write_optim(hid_t f, const pith_graph *g, const pith_optim *o)
{
    hid_t og = group(f, "optim");
    if (og < 0)
        return pith_error(PITH_EIO, "cannot create /optim");
    const pith_optim_config *c = &o->cfg;
    int rc = set_str(og, "type", pith_optim_name(c->kind));
    if (!rc)
        rc = set_i64(og, "steps", o->steps);
    for (int i = 0; i < o->n_slots && !rc; i++) {
        const pith_optim_slot *s = &o->slots[i];
        if (!s->m)
            continue;
        char path[256];
        snprintf(path, sizeof path, "%s/%s", g->nodes[s->node].name, s->p->name);
        hid_t ng = group(og, g->nodes[s->node].name);
        hid_t pg = ng < 0 ? -1 : group(ng, s->p->name);
        if (pg < 0)
            rc = pith_error(PITH_EIO, "cannot create /optim/%s", path);
        if (!rc)
            rc = write_f32(pg, c->kind == PITH_OPTIM_ADAMW ? "exp_avg" : "momentum", s->m,
                           s->p->ndim, s->p->shape);
        if (!rc && s->v)
            rc = write_f32(pg, "exp_avg_sq", s->v, s->p->ndim, s->p->shape);
        if (pg >= 0)
            H5Gclose(pg);
        if (ng >= 0)
            H5Gclose(ng);
    }
    H5Gclose(og);
    return rc;
}

static int write_train(hid_t f, const pith_train_config *c)
{
    hid_t t = group(f, "train");
    if (t < 0)
        return pith_error(PITH_EIO, "cannot create /train");
    int rc = 0;
    rc = rc ? rc : set_i64(t, "epochs", c->epochs);
    rc = rc ? rc : set_i64(t, "batch", c->batch);
    rc = rc ? rc : set_f64(t, "lr", c->lr);
    rc = rc ? rc : set_f64(t, "min_lr", c->min_lr);
    rc = rc ? rc : set_str(t, "schedule", pith_sched_name(c->sched));
    rc = rc ? rc : set_i64(t, "step_epochs", c->step_epochs);
    rc = rc ? rc : set_f64(t, "gamma", c->gamma);
    rc = rc ? rc : set_i64(t, "warmup_epochs", c->warmup_epochs);
    rc = rc ? rc : set_str(t, "optimizer", pith_optim_name(c->optim.kind));
    rc = rc ? rc : set_f64(t, "momentum", c->optim.momentum);
    rc = rc ? rc : set_i64(t, "nesterov", c->optim.nesterov);
    rc = rc ? rc : set_f64(t, "weight_decay", c->optim.weight_decay);
    rc = rc ? rc : set_f64(t, "beta1", c->optim.beta1);
    rc = rc ? rc : set_f64(t, "beta2", c->optim.beta2);
    rc = rc ? rc : set_f64(t, "adam_eps", c->optim.eps);
    rc = rc ? rc : set_f64(t, "label_smoothing", c->label_smoothing);
    rc = rc ? rc : set_f64(t, "bn_l1", c->bn_l1);
    rc = rc ? rc : set_i64(t, "crop_pad", c->aug.crop_pad);
    rc = rc ? rc : set_i64(t, "hflip", c->aug.hflip);
    if (c->aug.rrc_min > 0.0f)
        rc = rc ? rc : set_f64(t, "random_resized_crop", c->aug.rrc_min);
    rc = rc ? rc : set_i64(t, "seed", (int64_t)c->seed);
    rc = rc ? rc : set_i64(t, "subset", c->subset);
    rc = rc ? rc : set_i64(t, "val", c->val);
    H5Gclose(t);
    return rc;
}

static int write_meta(hid_t f, const pith_ckpt_meta *m, const pith_epoch_record *hist, int n_hist)
{
    hid_t t = group(f, "meta");
    if (t < 0)
        return pith_error(PITH_EIO, "cannot create /meta");
    int rc = 0;
    rc = rc ? rc : set_str(t, "model", m->model);
    rc = rc ? rc : set_str(t, "dataset", m->dataset);
    rc = rc ? rc : set_str(t, "command", m->command);
    rc = rc ? rc : set_str(t, "created", m->created);
    rc = rc ? rc : set_i64(t, "seed", (int64_t)m->seed);
    rc = rc ? rc : set_i64(t, "epoch", m->epoch);
    rc = rc ? rc : set_i64(t, "step", m->step);
    rc = rc ? rc : set_f64(t, "mean", m->mean);
    rc = rc ? rc : set_f64(t, "std", m->std);
    rc = rc ? rc : set_i64(t, "classes", m->classes);
    if (!rc && m->norm_channels > 0) {
        rc = set_attr(t, "norm_mean", H5T_NATIVE_FLOAT, m->norm_mean, m->norm_channels);
        rc = rc ? rc : set_attr(t, "norm_std", H5T_NATIVE_FLOAT, m->norm_std, m->norm_channels);
    }
    if (!rc && m->labels[0])
        rc = set_str(t, "labels", m->labels);
    rc = rc ? rc : set_str(t, "input_order", m->pre.bgr ? "BGR" : "RGB");
    rc = rc ? rc : set_i64(t, "input_scale", m->pre.keep255 ? 1 : 255);
    rc = rc ? rc : set_i64(t, "input_resize", m->pre.resize);
    rc = rc ? rc : set_str(t, "input_resample", m->pre.nearest ? "nearest" : "bilinear");
    rc = rc ? rc : set_f64(t, "top1", m->top1);
    rc = rc ? rc : set_f64(t, "top5", m->top5);
    rc = rc ? rc : set_f64(t, "test_loss", m->test_loss);
    if (!rc && hist && n_hist > 0) {
        double *buf = malloc((size_t)n_hist * PITH_CKPT_HISTORY_COLS * sizeof *buf);
        if (!buf) {
            H5Gclose(t);
            return pith_error(PITH_ENOMEM, "out of memory writing the history");
        }
        for (int i = 0; i < n_hist; i++) {
            const pith_epoch_record *r = &hist[i];
            double row[PITH_CKPT_HISTORY_COLS] = {r->epoch, r->lr, r->train_loss, r->train_acc, r->test_loss,
                                        r->test_top1, r->test_top5, r->seconds, r->img_per_s};
            memcpy(buf + (size_t)i * PITH_CKPT_HISTORY_COLS, row, sizeof row);
        }
        hsize_t dims[2] = {(hsize_t)n_hist, PITH_CKPT_HISTORY_COLS};
        hid_t space = H5Screate_simple(2, dims, NULL);
        hid_t d = H5Dcreate2(t, "history", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
            rc = pith_error(PITH_EIO, "cannot write /meta/history");
        if (!rc)
            rc = set_str(d, "columns", PITH_CKPT_HISTORY_COLUMNS);
        if (d >= 0)
            H5Dclose(d);
        H5Sclose(space);
        free(buf);
    }
    H5Gclose(t);
    return rc;
}

int pith_checkpoint_save(const char *path, pith_graph *g, const pith_ckpt_meta *meta,
                         const pith_train_config *cfg, const pith_optim *opt,
                         const pith_epoch_record *hist, int n_hist)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return pith_error(PITH_EINVAL, "%s: path too long", path);
    int *pos = malloc((size_t)g->n_nodes * sizeof *pos);
    if (!pos)
        return pith_error(PITH_ENOMEM, "out of memory saving %s", path);
    /* The 1.8+ file format: object headers and indexes carry checksums, so
     * corrupt metadata is detected as well as corrupt tensors. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        free(pos);
        return pith_error(PITH_EIO, "%s: cannot create (does the directory exist and is it writable?)",
                          tmp);
    }
    int rc = set_str(f, "format", PITH_CKPT_FORMAT);
    if (!rc)
        rc = set_i64(f, "version", PITH_CKPT_VERSION);
    if (!rc)
        rc = write_graph(f, g, pos);
    if (!rc)
        rc = write_params(f, g);
    if (!rc && opt)
        rc = write_optim(f, g, opt);
    if (!rc && cfg)
        rc = write_train(f, cfg);
    if (!rc)
        rc = write_meta(f, meta, hist, n_hist);
    free(pos);
    if (H5Fclose(f) < 0 && !rc)
        rc = pith_error(PITH_EIO, "%s: error closing the file", tmp);
    if (!rc && rename(tmp, path) != 0)
        rc = pith_error(PITH_EIO, "%s: cannot rename the temporary file into place", path);
    if (rc) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", pith_last_error());
        remove(tmp);
        return pith_error(rc, "saving %s: %s", path, msg);
    }
    return PITH_OK;
}

