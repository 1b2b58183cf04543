/* What every command and every config stage does before its technique: load
 * a dataset's splits, load a checkpoint with its quantizers and masks
 * re-attached, and the float-model prologue of the compression commands. */
#include "workbench.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/error.h"
#include "../core/rng.h"
#include "../core/zoo.h"
#include "../export/export.h"
#include "../prune/prune.h"
#include "../quant/quant.h"

void exp_utc_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void exp_data_opts(const pith_ckpt_meta *meta, const pith_graph *g, pith_data_opts *o)
{
    pith_data_opts_default(o);
    o->mean[0] = meta->mean;
    o->std[0] = meta->std;
    if (meta->norm_channels > 0) {
        o->norm_channels = meta->norm_channels;
        memcpy(o->mean, meta->norm_mean, sizeof o->mean);
        memcpy(o->std, meta->norm_std, sizeof o->std);
    }
    o->pre = meta->pre;
    o->labels = meta->labels[0] ? meta->labels : NULL;
    if (g && g->input_shape.ndim == 3) {
        o->c = g->input_shape.d[0];
        o->h = g->input_shape.d[1];
        o->w = g->input_shape.d[2];
    }
}

int exp_load_split(const char *dir, const char *split, const pith_data_opts *o, pith_dataset *ds)
{
    pith_data_report rep;
    return pith_data_load(dir && dir[0] ? dir : PITH_FMNIST_DIR, split, o, ds, &rep);
}

int exp_load_test(const char *dir, int held_out, const pith_data_opts *o, uint64_t seed, pith_dataset *test)
{
    pith_data_kind kind;
    const char *path = dir && dir[0] ? dir : PITH_FMNIST_DIR;
    int rc = pith_data_kind_of(path, &kind);
    if (rc || !held_out || !pith_data_holds_out(kind))
        return rc ? rc : exp_load_split(path, "test", o, test);
    pith_dataset train, none;
    rc = exp_load_data(path, o, 0, 0, seed, &train, &none, test);
    pith_dataset_free(&train);
    pith_dataset_free(&none);
    return rc;
}

/* A class tree without splits, or a list: 1 in 10 images (at least one)
 * held out at random as the test set. */
static int hold_out(pith_dataset *full, uint64_t seed, pith_dataset *train, pith_dataset *test)
{
    if (full->n < 2)
        return pith_error(PITH_EINVAL, "%d image: too few to hold some out for testing", full->n);
    int n_test = full->n / 10 > 0 ? full->n / 10 : 1;
    return pith_dataset_split(full, n_test, pith_hash64(seed, 0x7e57, 0), train, test);
}

int exp_load_data(const char *dir, const pith_data_opts *o, int subset, int val, uint64_t seed,
                  pith_dataset *train, pith_dataset *evalset, pith_dataset *test)
{
    pith_dataset full = {0};
    memset(train, 0, sizeof *train);
    memset(evalset, 0, sizeof *evalset);
    memset(test, 0, sizeof *test);
    const char *path = dir && dir[0] ? dir : PITH_FMNIST_DIR;
    pith_data_kind kind;
    int rc = pith_data_kind_of(path, &kind);
    const int one_set = !rc && pith_data_holds_out(kind);
    if (!rc)
        rc = exp_load_split(path, "train", o, &full);
    if (!rc && one_set) {
        pith_dataset all = full;
        memset(&full, 0, sizeof full);
        rc = hold_out(&all, seed, &full, test);
        pith_dataset_free(&all);
    } else if (!rc) {
        pith_data_opts eval = *o;
        eval.train_crop = 0; /* the test split is prepared for evaluation only */
        rc = exp_load_split(path, "test", &eval, test);
    }
    if (!rc && subset) {
        pith_dataset tmp;
        rc = pith_dataset_subset(&full, 0, subset < full.n ? subset : full.n, &tmp);
        if (!rc) {
            pith_dataset_free(&full);
            full = tmp;
        }
    }
    if (!rc && val) {
        if (val >= full.n)
            rc = pith_error(PITH_EINVAL, "val %d leaves no training images (of %d)", val, full.n);
        else
            rc = pith_dataset_split(&full, val, seed, train, evalset);
        pith_dataset_free(&full);
    } else if (!rc) {
        *train = full;
        memset(&full, 0, sizeof full);
    }
    if (rc) {
        pith_dataset_free(&full);
        pith_dataset_free(train);
        pith_dataset_free(evalset);
        pith_dataset_free(test);
    }
    return rc;
}

static int load_checkpoint(const char *path, pith_graph **g, pith_ckpt_meta *meta, pith_train_config *cfg,
                           int *has_cfg, pith_epoch_record *hist, int *n_hist, int max_hist)
{
    int rc = pith_quant_register();
    if (!rc)
        rc = pith_checkpoint_load(path, g, meta, cfg, has_cfg, hist, n_hist, max_hist);
    if (!rc) {
        rc = pith_quant_restore(*g);
        if (!rc)
            rc = pith_prune_restore(*g);
        if (rc) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", pith_last_error());
            pith_graph_free(*g);
            *g = NULL;
            rc = pith_error(rc, "%s: %s", path, msg);
        }
    }
    return rc;
}

int exp_load_checkpoint(const char *path, pith_graph **g, pith_ckpt_meta *meta, pith_train_config *cfg,
                        int *has_cfg)
{
    return load_checkpoint(path, g, meta, cfg, has_cfg, NULL, NULL, 0);
}

int exp_load_resumable(const char *path, pith_graph **g, pith_ckpt_meta *meta, pith_train_config *cfg,
                       pith_epoch_record *hist, int *n_hist, int max_hist)
{
    int has_cfg = 0;
    int rc = load_checkpoint(path, g, meta, cfg, &has_cfg, hist, n_hist, max_hist);
    if (rc)
        return rc;
    int has_optim = pith_checkpoint_has_optim(path);
    if (has_cfg && has_optim == 1)
        return PITH_OK;
    int quantized = pith_graph_is_quantized(*g);
    pith_graph_free(*g);
    *g = NULL;
    if (has_optim < 0)
        return has_optim;
    return pith_error(PITH_EINVAL,
                      "%s cannot be resumed: it holds a %s model without the %s a resume continues "
                      "(written by: %s). Fine-tune it instead with the command that made it "
                      "(--finetune N), or from a config's finetune stage",
                      path, quantized ? "quantized" : "float",
                      has_cfg ? "optimizer state" : "training recipe and optimizer state",
                      meta->command[0] ? meta->command : "unknown");
}

const char *exp_class_name(const char *dataset, int classes, int c, char *buf, size_t len)
{
    return exp_model_class_name(NULL, dataset, classes, c, buf, len);
}

const char *exp_model_class_name(const pith_ckpt_meta *meta, const char *dataset, int classes, int c, char *buf,
                                 size_t len)
{
    if (meta && meta->labels[0]) { /* line c of the model's own names */
        const char *p = meta->labels;
        for (int k = 0; k < c && p; k++)
            p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
        if (p && *p) {
            snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
            return buf;
        }
    }
    if (classes == 10 && (!dataset || !dataset[0] || strstr(dataset, "fashion")))
        return pith_fmnist_class_names[c];
    snprintf(buf, len, "class %d", c);
    return buf;
}

/* meta (may be NULL): an imported model's per-channel normalisation and
 * class names, which take the place of mean, std and the dataset's names */
int exp_export(pith_graph *g, const char *dataset, float mean, float std, const pith_ckpt_meta *meta,
               const float *golden_in, const char *out, pith_export_report *rep)
{
    const int k = pith_graph_output_shape(g)->d[0];
    char names[64][32];
    const char *labels[64];
    pith_export_opts o;
    memset(&o, 0, sizeof o);
    o.norm_channels = 1;
    o.mean[0] = mean;
    o.std[0] = std;
    if (k <= 64 && dataset && dataset[0]) { /* "": no dataset (an imported model's) */
        for (int i = 0; i < k; i++)
            labels[i] = exp_class_name(dataset, k, i, names[i], sizeof names[i]);
        o.labels = labels;
        o.n_labels = k;
    }
    const char *names_of[4096];
    if (meta)
        o.pre = meta->pre;
    if (meta && meta->norm_channels > 0) {
        o.norm_channels = meta->norm_channels;
        memcpy(o.mean, meta->norm_mean, sizeof o.mean);
        memcpy(o.std, meta->norm_std, sizeof o.std);
    }
    if (meta && meta->labels[0]) {
        /* point into a copy, one name per line */
        static __thread char copy[sizeof meta->labels];
        memcpy(copy, meta->labels, sizeof copy);
        int n = 0;
        for (char *p = copy; *p && n < 4096;) {
            char *e = strchr(p, '\n');
            if (e)
                *e = '\0';
            names_of[n++] = p;
            p = e ? e + 1 : p + strlen(p);
        }
        o.labels = names_of;
        o.n_labels = n;
    }
    o.golden_in = golden_in;
    return pith_export_file(g, &o, out, rep);
}

int exp_open_float_model(const char *path, const char *if_quantized, exp_float_model *fm)
{
    memset(fm, 0, sizeof *fm);
    int rc = exp_load_checkpoint(path, &fm->g, &fm->meta, &fm->base, &fm->has_cfg);
    if (!rc && !fm->has_cfg)
        fm->base = pith_train_defaults();
    if (!rc && pith_graph_is_quantized(fm->g))
        rc = pith_error(PITH_EINVAL, "%s is %s", path, if_quantized);
    if (rc)
        exp_float_model_free(fm);
    return rc;
}

int exp_open_float(const char *path, const char *data, uint64_t seed, const char *if_quantized, exp_float_model *fm)
{
    pith_dataset none = {0};
    int rc = exp_open_float_model(path, if_quantized, fm);
    if (!rc)
    {
        pith_data_opts o;
        exp_data_opts(&fm->meta, fm->g, &o);
        /* the checkpoint's seed: a class tree's held-out test images are then
         * the ones its training held out */
        (void)seed;
        rc = exp_load_data(data && data[0] ? data : fm->meta.dataset, &o, 0, 0, fm->meta.seed, &fm->train, &none,
                           &fm->test);
    }
    pith_dataset_free(&none);
    if (rc)
        exp_float_model_free(fm);
    return rc;
}

void exp_float_model_free(exp_float_model *fm)
{
    pith_graph_free(fm->g);
    pith_dataset_free(&fm->train);
    pith_dataset_free(&fm->test);
    memset(fm, 0, sizeof *fm);
}
