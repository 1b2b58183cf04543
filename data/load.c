/* Loading one split of a user's data into an image set: the files are read,
 * decoded and prepared for the model (resized, cropped, the model's
 * channels) in parallel, once, into a pixel store that every epoch reads. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../core/error.h"
#include "../core/progress.h"
#include "../core/threads.h"
#include "data.h"
#include "image.h"

#define CIFAR_SIDE 32
#define MAX_REASONS 8

void pith_data_opts_default(pith_data_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mean[0] = 0.0f;
    o->std[0] = 1.0f;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    o->cache_mem = pages > 0 && page > 0 ? (size_t)pages * (size_t)page / 4 : (size_t)1 << 30;
}

/* Where one split's images come from: files, or CIFAR planes in memory. */
typedef struct source {
    pith_data_files files;
    uint8_t *planes; /* CIFAR: n x 3 x 32 x 32 */
    int n;
} source;

typedef struct load_job {
    const source *src;
    const pith_data_opts *o;
    int c, h, w;           /* the model's input */
    pith_pixels *px;
    char **why;            /* per image: NULL, or why it could not be used */
    atomic_int done;
    pith_progress *prog;
    int probing;           /* first pass: sizes only */
} load_job;

/* The stored size of an image of w x h: the input's size, or for random
 * crops the shorter side resized (at least to the input). */
static void stored_size(const load_job *j, int w, int h, int *sw, int *sh)
{
    if (!j->o->train_crop) {
        *sw = j->w;
        *sh = j->h;
        return;
    }
    int side = j->o->pre.resize > 0 ? j->o->pre.resize : (int)ceil((j->w > j->h ? j->w : j->h) * 8.0 / 7.0);
    pithrt_image_resized_size(w, h, side, j->w, j->h, sw, sh);
}

static void set_why(load_job *j, int i)
{
    j->why[i] = strdup(pith_last_error());
    if (!j->why[i])
        j->why[i] = (char *)"(out of memory for the reason)";
}

/* The source image k, decoded (from its file or the CIFAR planes). */
static int source_image(const load_job *j, int k, int probe_only, pith_image *im)
{
    const source *s = j->src;
    memset(im, 0, sizeof *im);
    if (s->planes) {
        im->w = im->h = CIFAR_SIDE;
        im->c = 3;
        if (probe_only)
            return PITH_OK;
        if (!(im->px = malloc(3 * CIFAR_SIDE * CIFAR_SIDE)))
            return pith_error(PITH_ENOMEM, "out of memory");
        const uint8_t *p = s->planes + (size_t)k * 3 * CIFAR_SIDE * CIFAR_SIDE;
        for (int i = 0; i < CIFAR_SIDE * CIFAR_SIDE; i++)
            for (int ch = 0; ch < 3; ch++)
                im->px[3 * i + ch] = p[ch * CIFAR_SIDE * CIFAR_SIDE + i];
        return PITH_OK;
    }
    uint8_t *buf;
    size_t n;
    const char *path = s->files.path[k];
    int rc = pith_file_read(path, PITH_IMAGE_MAX_FILE, &buf, &n);
    if (rc)
        return rc;
    if (probe_only)
        rc = pith_image_probe(path, buf, n, &im->w, &im->h, &im->c);
    else
        rc = pith_image_decode(path, buf, n, im);
    free(buf);
    return rc;
}

/* image k's name in messages */
static const char *image_name(const load_job *j, int k, char *buf, size_t len)
{
    if (!j->src->planes)
        return j->src->files.path[k];
    snprintf(buf, len, "CIFAR image %d", k);
    return buf;
}

static void load_one(void *arg, int k, int thread)
{
    load_job *j = arg;
    pith_pixels *px = j->px;
    pith_image im;
    int rc = source_image(j, k, j->probing, &im);
    if (!rc && j->probing) {
        stored_size(j, im.w, im.h, &px->w[k], &px->h[k]);
    } else if (!rc) {
        /* the eval transform; for random crops, the whole image resized to
         * its stored size (which keeps its aspect) */
        pithrt_preprocess p = j->o->pre;
        const int ow = px->w[k], oh = px->h[k];
        if (j->o->train_crop)
            p.resize = 0;
        void *scratch = malloc(pithrt_image_prepare_scratch(im.w, im.h, im.c, &p, ow, oh));
        char nb[48];
        if (!scratch)
            rc = pith_error(PITH_ENOMEM, "%s: out of memory preparing the image", image_name(j, k, nb, sizeof nb));
        else if (pithrt_image_prepare(im.px, im.w, im.h, im.c, &p, px->data + px->off[k], ow, oh, j->c, scratch))
            rc = pith_error(PITH_EINVAL, "%s: cannot resize %dx%d to %dx%d", image_name(j, k, nb, sizeof nb), im.w,
                            im.h, ow, oh);
        free(scratch);
        pith_image_free(&im);
    }
    if (rc)
        set_why(j, k);
    int done = atomic_fetch_add(&j->done, 1) + 1;
    if (thread == 0 && j->prog && pith_progress_due(j->prog, done))
        pith_progress_update(j->prog, done, done, "");
}

static int run_pass(load_job *j, const char *label)
{
    pith_progress prog;
    atomic_store(&j->done, 0);
    j->prog = j->o->progress ? &prog : NULL;
    if (j->prog)
        pith_progress_begin(&prog, j->o->progress, label, j->src->n);
    const double t0 = pith_now();
    pith_parallel(j->src->n, PITH_ANY_THREADS, load_one, j);
    if (j->prog) {
        char s[160];
        const double dt = pith_now() - t0;
        snprintf(s, sizeof s, "%s: %d images in %.2f s (%.0f images/s, %d threads)", label, j->src->n, dt,
                 dt > 0 ? j->src->n / dt : 0.0, pith_get_threads());
        pith_progress_end(&prog, s);
    }
    return PITH_OK;
}

/* The pixels' room: in memory up to the budget, else a mapped file (deleted
 * when unmapped; its name stays in the report). */
static int store_alloc(pith_pixels *px, size_t bytes, const pith_data_opts *o, pith_data_report *rep)
{
    px->bytes = bytes ? bytes : 1;
    if (px->bytes <= o->cache_mem) {
        px->data = malloc(px->bytes);
        if (px->data)
            return PITH_OK;
    }
    const char *dir = o->cache_dir && o->cache_dir[0] ? o->cache_dir : getenv("TMPDIR");
    /* mkstemp(3)'s template: it replaces the six X with a unique name */
    snprintf(rep->cache_path, sizeof rep->cache_path, "%s/.pith-cache-XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(rep->cache_path);
    if (fd < 0)
        return pith_error(PITH_EIO, "%s: cannot create the image cache file", rep->cache_path);
    int rc = ftruncate(fd, (off_t)px->bytes);
    void *m = rc ? MAP_FAILED : mmap(NULL, px->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    unlink(rep->cache_path);
    if (m == MAP_FAILED)
        return pith_error(PITH_EIO, "%s: cannot map %zu bytes for the image cache", rep->cache_path, px->bytes);
    px->data = m;
    px->mapped = 1;
    rep->mapped = 1;
    return PITH_OK;
}

/* The bad images: an error listing some, or (skip_bad) the ones kept. */
static int sort_out_bad(load_job *j, const char *path, int *keep, int *n_keep, pith_data_report *rep)
{
    const int n = j->src->n;
    int bad = 0;
    *n_keep = 0;
    for (int i = 0; i < n; i++) {
        if (j->why[i])
            bad++;
        else
            keep[(*n_keep)++] = i;
    }
    rep->skipped = j->o->skip_bad ? bad : 0;
    if (!bad)
        return PITH_OK;
    if (j->o->progress)
        for (int i = 0; i < n; i++)
            if (j->why[i])
                fprintf(j->o->progress, "%s: %s\n", j->o->skip_bad ? "skipped" : "bad image", j->why[i]);
    if (j->o->skip_bad && *n_keep > 0) {
        if (j->o->progress)
            fprintf(j->o->progress, "%s: skipped %d of %d images that cannot be used (--skip-bad)\n", path, bad, n);
        return PITH_OK;
    }
    char msg[1536];
    int len = snprintf(msg, sizeof msg, "%s: %d of %d images cannot be used", path, bad, n);
    for (int i = 0, shown = 0; i < n && shown < MAX_REASONS; i++)
        if (j->why[i] && len < (int)sizeof msg) {
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s %s", shown ? ";" : ":", j->why[i]);
            shown++;
        }
    if (bad > MAX_REASONS && len < (int)sizeof msg)
        len += snprintf(msg + len, sizeof msg - (size_t)len, "; and %d more", bad - MAX_REASONS);
    if (len < (int)sizeof msg)
        snprintf(msg + len, sizeof msg - (size_t)len, "%s",
                 *n_keep ? " (--skip-bad leaves them out)" : " (none is left)");
    return pith_error(PITH_EFORMAT, "%s", msg);
}

static int same_labels(const char *path, const char *have, const char *want)
{
    if (!have || !want || !want[0] || strcmp(have, want) == 0)
        return PITH_OK;
    /* the first class that differs */
    int k = 0;
    const char *a = have, *b = want;
    while (*a && *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || memcmp(a, b, la))
            return pith_error(PITH_EFORMAT, "%s: class %d is '%.*s' but the model's is '%.*s' (the class folders "
                              "must be the model's classes, sorted by name)",
                              path, k, (int)la, a, (int)lb, b);
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
        k++;
    }
    return pith_error(PITH_EFORMAT, "%s: %s classes than the model (%d in common)", path, *a ? "more" : "fewer", k);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* Which files or planes a split is, and their class names. */
static int open_source(const char *path, pith_data_kind kind, const char *split, const pith_data_opts *o, source *s,
                       int *classes)
{
    memset(s, 0, sizeof *s);
    int rc = 0;
    char dir[4096];
    if (kind == PITH_DATA_CIFAR) {
        int *labels;
        char *names;
        rc = pith_cifar_read(path, split, &s->planes, &labels, &s->n, classes, &names);
        if (!rc) {
            s->files.label = labels;
            s->files.labels = names;
            s->files.classes = *classes;
        }
        return rc;
    }
    if (kind == PITH_DATA_LIST) {
        rc = pith_data_scan_list(path, !o->calib, &s->files);
    } else if (kind == PITH_DATA_FOLDERS) {
        rc = pith_data_scan_folders(path, &s->files);
    } else {
        int test = strcmp(split, "train") != 0;
        snprintf(dir, sizeof dir, "%s/%s", path, "train");
        if (test) {
            /* the test split must have the training split's classes */
            pith_data_files tr;
            rc = pith_data_scan_folders(dir, &tr);
            snprintf(dir, sizeof dir, "%s/%s", path, "val");
            if (access(dir, F_OK) != 0)
                snprintf(dir, sizeof dir, "%s/%s", path, "test");
            if (!rc && !(rc = pith_data_scan_folders(dir, &s->files)) && strcmp(tr.labels, s->files.labels)) {
                rc = same_labels(dir, s->files.labels, tr.labels);
                pith_data_files_free(&s->files);
            }
            pith_data_files_free(&tr);
        } else {
            rc = pith_data_scan_folders(dir, &s->files);
        }
    }
    if (rc)
        return rc;
    s->n = s->files.n;
    *classes = s->files.classes;
    return PITH_OK;
}

int pith_data_load(const char *path, const char *split, const pith_data_opts *o, pith_dataset *ds,
                   pith_data_report *rep)
{
    memset(ds, 0, sizeof *ds);
    memset(rep, 0, sizeof *rep);
    pith_data_kind kind;
    int rc = pith_data_kind_of(path, &kind);
    if (rc)
        return rc;
    const double t0 = pith_now();
    if (kind == PITH_DATA_IDX) {
        rc = pith_dataset_load_dir(path, split, o->mean[0], o->std[0], ds);
        if (!rc && o->c && (o->c != ds->c || o->h != ds->h || o->w != ds->w)) {
            rc = pith_error(PITH_ESHAPE, "%s: IDX images are %dx%dx%d; the model takes %dx%dx%d", path, ds->c, ds->h,
                            ds->w, o->c, o->h, o->w);
            pith_dataset_free(ds);
        }
        rep->images = ds->n;
        rep->seconds = pith_now() - t0;
        return rc;
    }
    source src;
    int classes = 0;
    if ((rc = open_source(path, kind, split, o, &src, &classes)))
        return rc;
    if (o->labels && src.files.labels)
        rc = same_labels(path, src.files.labels, o->labels);
    else if (o->labels && o->labels[0] && classes > count_lines(o->labels))
        rc = pith_error(PITH_EFORMAT, "%s: label %d, but the model has %d classes", path, classes - 1,
                        count_lines(o->labels));
    load_job j = {.src = &src, .o = o, .c = o->c, .h = o->h, .w = o->w};
    /* no input size given: the first readable image's size and channels */
    for (int k = 0; !rc && !j.c && k < src.n; k++) {
        pith_image first;
        if (source_image(&j, k, 1, &first) == 0) {
            j.c = first.c;
            j.h = first.h;
            j.w = first.w;
        } else if (k == src.n - 1) {
            char last[512]; /* the message is rewritten below: copy it first */
            snprintf(last, sizeof last, "%s", pith_last_error());
            rc = pith_error(PITH_EFORMAT, "%s: no image of %d can be read (the last: %s)", path, src.n, last);
        }
    }
    if (!rc && j.c != 1 && j.c != 3)
        rc = pith_error(PITH_EINVAL, "the model takes %d channels; images give 1 (gray) or 3 (RGB)", j.c);
    pith_pixels *px = NULL;
    int *keep = NULL;
    j.why = rc ? NULL : calloc((size_t)src.n, sizeof *j.why);
    if (!rc && !j.why)
        rc = pith_error(PITH_ENOMEM, "out of memory");
    if (!rc)
        rc = pith_pixels_new(src.n, j.c, &px);
    j.px = px;
    if (!rc && o->train_crop) {
        j.probing = 1;
        run_pass(&j, "reading sizes");
        j.probing = 0;
    } else if (!rc) {
        for (int k = 0; k < src.n; k++) {
            px->w[k] = j.w;
            px->h[k] = j.h;
        }
    }
    size_t bytes = 0;
    for (int k = 0; !rc && k < src.n; k++) {
        px->off[k] = bytes;
        if (!j.why[k])
            bytes += (size_t)px->w[k] * px->h[k] * j.c;
    }
    if (!rc)
        rc = store_alloc(px, bytes, o, rep);
    if (!rc)
        run_pass(&j, "decoding");
    int n_keep = 0;
    if (!rc && !(keep = malloc((size_t)src.n * sizeof *keep + 1)))
        rc = pith_error(PITH_ENOMEM, "out of memory");
    if (!rc)
        rc = sort_out_bad(&j, path, keep, &n_keep, rep);
    int *y = NULL;
    if (!rc && !(y = malloc((size_t)n_keep * sizeof *y + 1)))
        rc = pith_error(PITH_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < n_keep; i++)
        y[i] = src.files.label[keep[i]] < 0 ? 0 : src.files.label[keep[i]];
    if (!rc)
        rc = pith_dataset_from_pixels(px, keep, y, n_keep, j.c, j.h, j.w, classes > 0 ? classes : 1, ds);
    if (!rc) {
        ds->pre = o->pre;
        ds->norm_channels = o->norm_channels;
        memcpy(ds->norm_mean, o->mean, sizeof ds->norm_mean);
        memcpy(ds->norm_std, o->std, sizeof ds->norm_std);
        ds->mean = o->mean[0];
        ds->std = o->std[0];
        if (src.files.labels)
            ds->labels = strdup(src.files.labels);
        rep->images = ds->n;
        rep->bytes = px->bytes;
        px->decodes = (uint64_t)src.n;
    }
    rep->seconds = pith_now() - t0;
    pith_pixels_release(px);
    if (j.why)
        for (int i = 0; i < src.n; i++)
            if (j.why[i] && strcmp(j.why[i], "(out of memory for the reason)"))
                free(j.why[i]);
    free(j.why);
    free(keep);
    free(y);
    free(src.planes);
    pith_data_files_free(&src.files);
    return rc;
}
