#include "dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "error.h"
#include "idx.h"
#include "rng.h"
#include "threads.h"

const char *const pith_fmnist_class_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

void pith_pixels_release(pith_pixels *px)
{
    if (!px || --px->refs > 0)
        return;
    if (px->mapped)
        munmap(px->data, px->bytes);
    else
        free(px->data);
    free(px->off);
    free(px->w);
    free(px->h);
    free(px->scratch);
    free(px);
}

int pith_pixels_new(int n, int c, pith_pixels **out)
{
    pith_pixels *px = calloc(1, sizeof *px);
    if (px) {
        px->refs = 1;
        px->n = n;
        px->c = c;
        px->off = calloc((size_t)n + 1, sizeof *px->off);
        px->w = calloc((size_t)n + 1, sizeof *px->w);
        px->h = calloc((size_t)n + 1, sizeof *px->h);
    }
    if (!px || !px->off || !px->w || !px->h) {
        pith_pixels_release(px);
        *out = NULL;
        return pith_error(PITH_ENOMEM, "out of memory for the table of %d images", n);
    }
    *out = px;
    return PITH_OK;
}

void pith_dataset_free(pith_dataset *ds)
{
    free(ds->x);
    free(ds->y);
    free(ds->ids);
    free(ds->labels);
    pith_pixels_release(ds->px);
    memset(ds, 0, sizeof *ds);
}

float pith_dataset_mean(const pith_dataset *ds, int ch)
{
    return ds->norm_channels ? ds->norm_mean[ch % ds->norm_channels] : ds->mean;
}

float pith_dataset_std(const pith_dataset *ds, int ch)
{
    return ds->norm_channels ? ds->norm_std[ch % ds->norm_channels] : ds->std;
}

/* Allocates the samples of n images shaped like `like` (float samples, or
 * an image set's id table over like's pixels). */
static int alloc_like(pith_dataset *ds, const pith_dataset *like, int n)
{
    ds->n = n;
    ds->c = like->c;
    ds->h = like->h;
    ds->w = like->w;
    if (like->px) {
        ds->px = like->px;
        ds->px->refs++;
        ds->ids = malloc((size_t)n * sizeof(int) + 1);
    } else {
        ds->x = malloc((size_t)n * like->c * like->h * like->w * sizeof(float) + 1);
    }
    ds->y = malloc((size_t)n * sizeof(int) + 1);
    if ((!ds->x && !ds->ids) || !ds->y) {
        pith_dataset_free(ds);
        return pith_error(PITH_ENOMEM, "out of memory for %d images", n);
    }
    return PITH_OK;
}

static int alloc_ds(pith_dataset *ds, int n, int c, int h, int w)
{
    pith_dataset like = {0};
    like.c = c;
    like.h = h;
    like.w = w;
    return alloc_like(ds, &like, n);
}

/* The per-thread scratch of an image set's gather: a resize's and one
 * input-sized image, sized for the largest stored image and the threads in
 * effect. Made with the set; grown between loops when threads are added
 * (if that fails, the loops run on the threads there is scratch for). */
static int pixels_scratch(const pith_dataset *ds)
{
    pith_pixels *px = ds->px;
    const int threads = pith_get_threads();
    if (px->scratch && px->threads >= threads && px->scratch_w == ds->w && px->scratch_h == ds->h &&
        !memcmp(&px->scratch_pre, &ds->pre, sizeof ds->pre))
        return PITH_OK;
    size_t most = 0;
    for (int k = 0; k < px->n; k++) {
        /* a random crop resized, or the eval transform of a larger image */
        size_t b = pithrt_image_resize_scratch(px->w[k], px->h[k], px->c, ds->w, ds->h);
        size_t e = pithrt_image_prepare_scratch(px->w[k], px->h[k], px->c, &ds->pre, ds->w, ds->h);
        b = e > b ? e : b;
        most = b > most ? b : most;
    }
    most = (most + (size_t)ds->w * ds->h * px->c + 127) & ~(size_t)63;
    uint8_t *s = malloc(most * (size_t)threads);
    if (!s && px->scratch && px->scratch_w == ds->w && px->scratch_h == ds->h &&
        !memcmp(&px->scratch_pre, &ds->pre, sizeof ds->pre))
        return PITH_OK; /* the loops run on the threads there is scratch for */
    if (!s) {
        free(px->scratch);
        px->scratch = NULL;
        px->threads = 0;
        return pith_error(PITH_ENOMEM, "out of memory for the loader's scratch");
    }
    free(px->scratch);
    px->scratch = s;
    px->threads = threads;
    px->scratch_bytes = most;
    px->scratch_pre = ds->pre;
    px->scratch_w = ds->w;
    px->scratch_h = ds->h;
    return PITH_OK;
}

int pith_dataset_from_pixels(pith_pixels *px, const int *ids, const int *y, int n, int c, int h, int w,
                             int classes, pith_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    pith_dataset like = {0};
    like.c = c;
    like.h = h;
    like.w = w;
    like.px = px;
    int rc = alloc_like(ds, &like, n);
    if (rc)
        return rc;
    memcpy(ds->ids, ids, (size_t)n * sizeof *ids);
    memcpy(ds->y, y, (size_t)n * sizeof *y);
    ds->classes = classes;
    ds->mean = 0.0f;
    ds->std = 1.0f;
    if ((rc = pixels_scratch(ds)))
        pith_dataset_free(ds);
    return rc;
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
    if (src->px)
        dst->ids[j] = src->ids[i];
    else
        memcpy(dst->x + (size_t)j * sz, src->x + (size_t)i * sz, sz * sizeof(float));
    dst->y[j] = src->y[i];
}

static int copy_meta(const pith_dataset *src, pith_dataset *dst)
{
    dst->classes = src->classes;
    dst->mean = src->mean;
    dst->std = src->std;
    dst->pre = src->pre;
    dst->norm_channels = src->norm_channels;
    memcpy(dst->norm_mean, src->norm_mean, sizeof dst->norm_mean);
    memcpy(dst->norm_std, src->norm_std, sizeof dst->norm_std);
    if (src->labels && !(dst->labels = strdup(src->labels)))
        return pith_error(PITH_ENOMEM, "out of memory copying class names");
    return PITH_OK;
}

int pith_dataset_subset(const pith_dataset *src, int start, int count, pith_dataset *dst)
{
    memset(dst, 0, sizeof *dst);
    if (start < 0 || count < 0 || start > src->n || count > src->n - start)
        return pith_error(PITH_EINVAL, "subset [%d, %d) outside a dataset of %d samples", start,
                          start + count, src->n);
    int rc = alloc_like(dst, src, count);
    if (!rc && (rc = copy_meta(src, dst)))
        pith_dataset_free(dst);
    if (rc)
        return rc;
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
        rc = alloc_like(train, src, src->n - n_val);
    if (!rc)
        rc = alloc_like(val, src, n_val);
    if (!rc && !(rc = copy_meta(src, train)))
        rc = copy_meta(src, val);
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
    int n, grain;     /* image sets: samples, and samples per task */
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
    const int augment = pith_augment_active(aug);
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

/* torchvision's RandomResizedCrop box for a w x h image: 10 tries of an
 * area fraction in [min_area, 1) and a log-uniform aspect in [3/4, 4/3],
 * then the centre with the aspect clamped. */
static pithrt_box random_resized_box(pith_rng *r, int w, int h, float min_area)
{
    const double area = (double)w * h, lo = log(3.0 / 4.0), hi = log(4.0 / 3.0);
    for (int t = 0; t < 10; t++) {
        double target = area * (min_area + (1.0 - min_area) * pith_rng_uniform(r));
        double aspect = exp(lo + (hi - lo) * pith_rng_uniform(r));
        int cw = (int)lround(sqrt(target * aspect)), ch = (int)lround(sqrt(target / aspect));
        if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
            int y0 = (int)pith_rng_below(r, (uint32_t)(h - ch + 1));
            int x0 = (int)pith_rng_below(r, (uint32_t)(w - cw + 1));
            pithrt_box b = {x0, y0, x0 + cw, y0 + ch};
            return b;
        }
    }
    double ratio = (double)w / h;
    int cw = w, ch = h;
    if (ratio < 3.0 / 4.0)
        ch = (int)lround(w / (3.0 / 4.0));
    else if (ratio > 4.0 / 3.0)
        cw = (int)lround(h * (4.0 / 3.0));
    pithrt_box b = {(w - cw) / 2, (h - ch) / 2, (w - cw) / 2 + cw, (h - ch) / 2 + ch};
    return b;
}

static void gather_image(const void *arg, int i, int thread)
{
    const gather_call *g = arg;
    const pith_dataset *ds = g->ds;
    const pith_pixels *px = ds->px;
    const pith_augment *aug = g->aug;
    const int k = ds->ids[g->idx[i]], c = ds->c, h = ds->h, w = ds->w;
    const int sw = px->w[k], sh = px->h[k];
    const uint8_t *src = px->data + px->off[k];
    uint8_t *img = px->scratch + (size_t)thread * px->scratch_bytes;
    void *rs = img + (((size_t)w * h * c + 63) & ~(size_t)63);
    g->y[i] = ds->y[g->idx[i]];
    pith_rng r;
    pith_rng_seed(&r, pith_hash64(g->seed, (uint64_t)i, 0xA46));
    int dy = 0, dx = 0, flip = 0;
    if (aug && aug->crop_pad > 0) {
        dy = (int)pith_rng_below(&r, 2u * aug->crop_pad + 1) - aug->crop_pad;
        dx = (int)pith_rng_below(&r, 2u * aug->crop_pad + 1) - aug->crop_pad;
    }
    if (aug && aug->hflip)
        flip = pith_rng_uniform(&r) < 0.5f;
    if (aug && aug->rrc_min > 0.0f) {
        pithrt_box b = random_resized_box(&r, sw, sh, aug->rrc_min);
        pithrt_image_resize(src, sw, sh, c, b, ds->pre.nearest, img, w, h, rs);
    } else if (sw == w && sh == h) {
        img = (uint8_t *)src;
    } else { /* a training-size image evaluated: the eval transform */
        pithrt_image_prepare(src, sw, sh, c, &ds->pre, img, w, h, c, rs);
    }
    float *dst = g->x + (size_t)i * c * h * w;
    const int shifted = dy || dx || flip;
    for (int ch = 0; ch < c; ch++) {
        const int sc = (ds->pre.bgr && c == 3) ? 2 - ch : ch;
        const float mean = pith_dataset_mean(ds, ch), sd = pith_dataset_std(ds, ch);
        const float pad = pithrt_pixel_value(0, ds->pre.keep255, mean, sd);
        float *o = dst + (size_t)ch * h * w;
        if (!shifted) {
            for (size_t p = 0; p < (size_t)h * w; p++)
                o[p] = pithrt_pixel_value(img[p * c + sc], ds->pre.keep255, mean, sd);
            continue;
        }
        for (int yy = 0; yy < h; yy++)
            for (int xx = 0; xx < w; xx++) {
                int sy = yy + dy, sx = (flip ? w - 1 - xx : xx) + dx;
                o[(size_t)yy * w + xx] =
                    (sy >= 0 && sy < h && sx >= 0 && sx < w)
                        ? pithrt_pixel_value(img[((size_t)sy * w + sx) * c + sc], ds->pre.keep255, mean, sd)
                        : pad;
            }
    }
}

/* gather_image over a piece of the batch: samples [t * grain, (t + 1) * grain) */
static void gather_images(void *arg, int t, int thread)
{
    const gather_call *g = arg;
    for (int i = t * g->grain; i < (t + 1) * g->grain && i < g->n; i++)
        gather_image(arg, i, thread);
}

void pith_dataset_gather(const pith_dataset *ds, const int *idx, int n, const pith_augment *aug,
                         uint64_t seed, float *x, int *y)
{
    gather_call g = {ds, idx, aug, seed, x, y, n, 1};
    if (ds->px) {
        /* the scratch was made with the set, for the threads of then; more
         * threads since get more scratch, or the loop runs on fewer */
        if (pixels_scratch(ds)) { /* out of memory: zeros rather than a write past the scratch */
            memset(x, 0, (size_t)n * ds->c * ds->h * ds->w * sizeof *x);
            for (int i = 0; i < n; i++)
                y[i] = ds->y[idx[i]];
            return;
        }
        ds->px->reads += (uint64_t)n;
        /* pieces fixed by the shapes: a few samples each when they are small */
        const size_t sz = (size_t)ds->c * ds->h * ds->w;
        g.grain = sz < 16384 ? (int)(16384 / sz) : 1;
        pith_parallel((n + g.grain - 1) / g.grain, ds->px->threads, gather_images, &g);
        return;
    }
    const size_t sz = (size_t)ds->c * ds->h * ds->w;
    pith_parallel_for((size_t)n, sz < 65536 ? 65536 / sz : 1, gather_range, &g);
}
