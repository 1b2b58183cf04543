#include "dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "idx.h"
#include "rng.h"
#include "threads.h"

const char *const pith_fmnist_class_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

void pith_dataset_free(pith_dataset *ds)
{
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}

static int alloc_ds(pith_dataset *ds, int n, int c, int h, int w)
{
    ds->n = n;
    ds->c = c;
    ds->h = h;
    ds->w = w;
    ds->x = malloc((size_t)n * c * h * w * sizeof(float) + 1);
    ds->y = malloc((size_t)n * sizeof(int) + 1);
    if (!ds->x || !ds->y) {
        pith_dataset_free(ds);
        return pith_error(PITH_ENOMEM, "out of memory for %d images", n);
    }
    return PITH_OK;
}

int pith_dataset_load_idx(const char *images, const char *labels, float mean, float std,
                          pith_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    if (!(std > 0.0f))
        return pith_error(PITH_EINVAL, "normalisation std must be > 0, got %g", (double)std);
    pith_idx im, lb;
    int rc = pith_idx_read(images, &im);
    if (rc)
        return rc;
    rc = pith_idx_read(labels, &lb);
    if (rc) {
        pith_idx_free(&im);
        return rc;
    }
    if (im.ndim != 3) {
        rc = pith_error(PITH_EFORMAT, "%s: images must have 3 dimensions (n, h, w), found %d", images,
                        im.ndim);
    } else if (lb.ndim != 1) {
        rc = pith_error(PITH_EFORMAT, "%s: labels must have 1 dimension, found %d", labels, lb.ndim);
    } else if (im.dims[0] != lb.dims[0]) {
        rc = pith_error(PITH_EFORMAT, "%s has %u images but %s has %u labels", images, im.dims[0],
                        labels, lb.dims[0]);
    } else if (im.dims[1] > 4096 || im.dims[2] > 4096) {
        rc = pith_error(PITH_EFORMAT, "%s: %ux%u images are implausibly large", images, im.dims[1],
                        im.dims[2]);
    }
    if (!rc)
        rc = alloc_ds(ds, (int)im.dims[0], 1, (int)im.dims[1], (int)im.dims[2]);
    if (!rc) {
        ds->mean = mean;
        ds->std = std;
        const float scale = 1.0f / 255.0f;
        for (size_t i = 0; i < im.count; i++)
            ds->x[i] = ((float)im.data[i] * scale - mean) / std;
        int maxl = 0;
        for (int i = 0; i < ds->n; i++) {
            ds->y[i] = lb.data[i];
            maxl = ds->y[i] > maxl ? ds->y[i] : maxl;
        }
        ds->classes = maxl + 1;
    }
    pith_idx_free(&im);
    pith_idx_free(&lb);
    return rc;
}

static int find_file(const char *dir, const char *stem, char *out, size_t len)
{
    struct stat st;
    snprintf(out, len, "%s/%s.gz", dir, stem);
    if (stat(out, &st) == 0)
        return PITH_OK;
    snprintf(out, len, "%s/%s", dir, stem);
    if (stat(out, &st) == 0)
        return PITH_OK;
    return pith_error(PITH_EIO, "%s: no %s[.gz] (is the dataset installed? Fashion-MNIST comes with the "
                                "Debian package dataset-fashion-mnist)",
                      dir, stem);
}

int pith_dataset_load_dir(const char *dir, const char *split, float mean, float std,
                          pith_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    const char *prefix;
    if (strcmp(split, "train") == 0)
        prefix = "train";
    else if (strcmp(split, "test") == 0)
        prefix = "t10k";
    else
        return pith_error(PITH_EINVAL, "dataset split '%s' (expected train or test)", split);
    char stem[64], images[4096], labels[4096];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", prefix);
    int rc = find_file(dir, stem, images, sizeof images);
    if (rc)
        return rc;
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", prefix);
    rc = find_file(dir, stem, labels, sizeof labels);
    if (rc)
        return rc;
    return pith_dataset_load_idx(images, labels, mean, std, ds);
}

static void copy_sample(const pith_dataset *src, int i, pith_dataset *dst, int j)
{
    size_t sz = (size_t)src->c * src->h * src->w;
    memcpy(dst->x + (size_t)j * sz, src->x + (size_t)i * sz, sz * sizeof(float));
    dst->y[j] = src->y[i];
}

static void copy_meta(const pith_dataset *src, pith_dataset *dst)
{
    dst->classes = src->classes;
    dst->mean = src->mean;
    dst->std = src->std;
}

int pith_dataset_subset(const pith_dataset *src, int start, int count, pith_dataset *dst)
{
    memset(dst, 0, sizeof *dst);
    if (start < 0 || count < 0 || start > src->n || count > src->n - start)
        return pith_error(PITH_EINVAL, "subset [%d, %d) outside a dataset of %d samples", start,
                          start + count, src->n);
    int rc = alloc_ds(dst, count, src->c, src->h, src->w);
    if (rc)
        return rc;
    copy_meta(src, dst);
    for (int j = 0; j < count; j++)
        copy_sample(src, start + j, dst, j);
    return PITH_OK;
}

int pith_dataset_split(const pith_dataset *src, int n_val, uint64_t seed, pith_dataset *train,
                       pith_dataset *val)
{
    memset(train, 0, sizeof *train);
    memset(val, 0, sizeof *val);
    if (n_val < 0 || n_val >= src->n)
        return pith_error(PITH_EINVAL, "validation size %d must be in [0, %d)", n_val, src->n);
    int *perm = malloc((size_t)src->n * sizeof *perm);
    char *is_val = calloc((size_t)src->n, 1);
    int rc = (!perm || !is_val) ? pith_error(PITH_ENOMEM, "out of memory splitting the dataset") : 0;
    if (!rc)
        rc = alloc_ds(train, src->n - n_val, src->c, src->h, src->w);
    if (!rc)
        rc = alloc_ds(val, n_val, src->c, src->h, src->w);
    if (!rc) {
        pith_rng r;
        pith_rng_seed(&r, pith_hash64(seed, 0x5917, 0));
        pith_rng_permutation(&r, perm, src->n);
        for (int i = 0; i < n_val; i++)
            is_val[perm[i]] = 1;
        int a = 0, b = 0;
        for (int i = 0; i < src->n; i++) {
            if (is_val[i])
                copy_sample(src, i, val, b++);
            else
                copy_sample(src, i, train, a++);
        }
        copy_meta(src, train);
        copy_meta(src, val);
    } else {
        pith_dataset_free(train);
        pith_dataset_free(val);
    }
    free(perm);
    free(is_val);
    return rc;
}

/* The arguments of the gather loop, handed to its pieces. */
typedef struct gather_call {
    const pith_dataset *ds;
    const int *idx;
    const pith_augment *aug;
    uint64_t seed;
    float *x;
    int *y;
} gather_call;

static void gather_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const gather_call *g = arg;
    const pith_dataset *ds = g->ds;
    const int *idx = g->idx;
    const pith_augment *aug = g->aug;
    const uint64_t seed = g->seed;
    float *x = g->x;
    int *y = g->y;
    const int c = ds->c, h = ds->h, w = ds->w;
    const size_t sz = (size_t)c * h * w;
    const int augment = aug && (aug->crop_pad > 0 || aug->hflip);
    /* Padding is a black pixel, i.e. 0 before normalisation. */
    const float pad_value = -ds->mean / ds->std;
    for (int i = (int)lo; i < (int)hi; i++) {
        const float *src = ds->x + (size_t)idx[i] * sz;
        float *dst = x + (size_t)i * sz;
        y[i] = ds->y[idx[i]];
        if (!augment) {
            memcpy(dst, src, sz * sizeof(float));
            continue;
        }
        pith_rng r;
        pith_rng_seed(&r, pith_hash64(seed, (uint64_t)i, 0xA46));
        int dy = 0, dx = 0, flip = 0;
        if (aug->crop_pad > 0) {
            dy = (int)pith_rng_below(&r, 2u * aug->crop_pad + 1) - aug->crop_pad;
            dx = (int)pith_rng_below(&r, 2u * aug->crop_pad + 1) - aug->crop_pad;
        }
        if (aug->hflip)
            flip = pith_rng_uniform(&r) < 0.5f;
        for (int ch = 0; ch < c; ch++)
            for (int yy = 0; yy < h; yy++)
                for (int xx = 0; xx < w; xx++) {
                    int sy = yy + dy, sx = (flip ? w - 1 - xx : xx) + dx;
                    float v = (sy >= 0 && sy < h && sx >= 0 && sx < w)
                                  ? src[((size_t)ch * h + sy) * w + sx]
                                  : pad_value;
                    dst[((size_t)ch * h + yy) * w + xx] = v;
                }
    }
}

void pith_dataset_gather(const pith_dataset *ds, const int *idx, int n, const pith_augment *aug,
                         uint64_t seed, float *x, int *y)
{
    gather_call g = {ds, idx, aug, seed, x, y};
    const size_t sz = (size_t)ds->c * ds->h * ds->w;
    pith_parallel_for((size_t)n, sz < 65536 ? 65536 / sz : 1, gather_range, &g);
}
