/* Bringing a user's images in: what a --data path names, and loading one
 * split of it into an image set (core/dataset.h) prepared for the model.
 *
 * A path is one of:
 * - an IDX directory ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]);
 * - a CIFAR-10 or CIFAR-100 binary directory (data_batch_*.bin and
 *   test_batch.bin, or train.bin and test.bin);
 * - a class-folder tree: one folder per class holding .jpg, .jpeg, .png, .ppm or
 *   .pgm files (in sub-folders too); classes sorted by name, files by path
 *   (torchvision's ImageFolder order); with train/
 *   and val/ (or test/) subfolders, those are the splits;
 * - a list file: one image path per line (relative to the list's folder, else
 *   to the working directory),
 *   optionally followed by whitespace and an integer label; '#' comments. */
#ifndef PITH_DATA_H
#define PITH_DATA_H

#include <stdio.h>

#include "../core/dataset.h"

typedef enum pith_data_kind {
    PITH_DATA_IDX,
    PITH_DATA_CIFAR,
    PITH_DATA_FOLDERS,       /* one class tree: a split is held out for testing */
    PITH_DATA_FOLDER_SPLITS, /* train/ and val/ (or test/) class trees */
    PITH_DATA_LIST,
} pith_data_kind;

/* Data without a test split of its own (one class tree, a list): training
 * holds some of it out. */
static inline int pith_data_holds_out(pith_data_kind kind)
{
    return kind == PITH_DATA_FOLDERS || kind == PITH_DATA_LIST;
}

/* What path is; an error names it when it is none of the kinds. */
int pith_data_kind_of(const char *path, pith_data_kind *kind);
const char *pith_data_kind_name(pith_data_kind kind);

typedef struct pith_data_opts {
    int c, h, w;              /* the model's input; 0: the data's own (CIFAR 3x32x32, IDX, the first image) */
    pithrt_preprocess pre;    /* channel order, scale, resize, resampling */
    int norm_channels;        /* 0: mean[0], std[0] for every channel */
    float mean[4], std[4];    /* after scaling (0..1 units unless pre.keep255) */
    int train_crop;           /* keep images larger (shorter side pre.resize, or 8/7 of the input)
                                 for random-resized crops */
    int skip_bad;             /* skip unreadable images (counted) instead of failing */
    int calib;                /* a list without labels is fine (calibration) */
    const char *labels;       /* class names the data must have (a checkpoint's), '\n'-ended; NULL: any */
    size_t cache_mem;         /* pixels held in memory up to this; beyond, a mapped cache file */
    const char *cache_dir;    /* where that file goes (NULL: $TMPDIR or /tmp) */
    FILE *progress;           /* NULL: quiet */
} pith_data_opts;

/* Sensible defaults: RGB, /255, resize to the input, 1/4 of RAM in memory. */
void pith_data_opts_default(pith_data_opts *o);

/* What loading did, for the log. */
typedef struct pith_data_report {
    int images, skipped;
    double seconds;           /* reading, decoding and preparing */
    size_t bytes;             /* pixels kept */
    int mapped;               /* in a cache file rather than in memory */
    char cache_path[512];
} pith_data_report;

/* Loads split "train" or "test" of path. For a class tree without splits and
 * for a list file both splits are the whole set (the caller holds out). */
int pith_data_load(const char *path, const char *split, const pith_data_opts *o, pith_dataset *ds,
                   pith_data_report *rep);

/* The sources behind a set, before decoding (data/sources.c). */
typedef struct pith_data_files {
    int n;
    char **path;
    int *label;               /* -1: none (a calibration list) */
    int classes;
    char *labels;             /* class names, '\n'-ended (NULL: not named) */
} pith_data_files;
int pith_data_scan_folders(const char *dir, pith_data_files *f);
int pith_data_scan_list(const char *file, int need_labels, pith_data_files *f);
/* The same on the list's text (text[n] is overwritten with a NUL: n + 1 bytes). */
int pith_data_parse_list(const char *file, char *text, size_t n, int need_labels, pith_data_files *f);
void pith_data_files_free(pith_data_files *f);

/* One CIFAR batch file's bytes (1 label byte a record for CIFAR-10, 2 for
 * CIFAR-100, then 3072 bytes of planes) appended at planes + 3072 * *at and
 * labels + *at (room for n / record size more). */
int pith_cifar_parse(const char *name, const uint8_t *buf, size_t n, int cifar100, uint8_t *planes, int *labels,
                     size_t *at);
/* How many records a batch of n bytes holds, or -1 when n is not a whole number of them. */
long pith_cifar_records(size_t n, int cifar100);
/* CIFAR binary batches of one split: images (3 x 32 x 32 planes each) and labels. */
int pith_cifar_read(const char *dir, const char *split, uint8_t **planes, int **labels, int *n, int *classes,
                    char **names);

#endif
