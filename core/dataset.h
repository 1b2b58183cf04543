/* Image classification datasets. Two kinds of storage:
 * - float samples, normalised, n x c x h x w (IDX files: Fashion-MNIST,
 *   MNIST, or any set in that format; and synthetic sets in tests);
 * - image sets (data/: class folders, CIFAR, list files): 8-bit images
 *   decoded once, prepared for the model and kept in a pixel store for every
 *   epoch; gather crops, flips and normalises them batch by batch. */
#ifndef PITH_DATASET_H
#define PITH_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/image.h"

#define PITH_FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#define PITH_FMNIST_MEAN 0.2860f
#define PITH_FMNIST_STD 0.3530f

/* The 8-bit images of an image set, shared by its subsets and splits. Image
 * k is w[k] x h[k] x c bytes, interleaved, at data + off[k]: the model's
 * input size when the set was prepared for evaluation, larger (the shorter
 * side resized) when training crops it at random. */
typedef struct pith_pixels {
    int refs;
    int n, c;
    uint8_t *data;
    size_t bytes;
    int mapped;          /* data maps a cache file (unmapped on free) */
    uint64_t decodes;    /* images decoded to fill it */
    uint64_t reads;      /* images gathered from it since (cache hits) */
    size_t *off;
    int *w, *h;
    /* gather's resize scratch, one per thread, for inputs of scratch_w x
     * scratch_h made as scratch_pre says */
    int threads;
    size_t scratch_bytes;
    uint8_t *scratch;
    pithrt_preprocess scratch_pre;
    int scratch_w, scratch_h;
} pith_pixels;

typedef struct pith_dataset {
    int n, c, h, w;
    int classes;       /* 1 + the largest label (or the number of classes named) */
    float *x;          /* float samples: n x c x h x w, (pixel/255 - mean) / std; NULL for an image set */
    int *y;
    float mean, std;
    /* image sets */
    pith_pixels *px;   /* NULL: float samples */
    int *ids;          /* sample i is image ids[i] of px */
    pithrt_preprocess pre;
    int norm_channels; /* 0: mean, std for every channel; else norm_mean/std per channel */
    float norm_mean[4], norm_std[4];
    char *labels;      /* class names, each ending in '\n' (NULL: none) */
} pith_dataset;

typedef struct pith_augment {
    int crop_pad;      /* random crop after zero padding by this many pixels (0: off) */
    int hflip;         /* random horizontal flip with probability 1/2 */
    float rrc_min;     /* image sets: random-resized crop of 8..100% (rrc_min..1) of the area,
                          aspect 3/4..4/3 (torchvision's RandomResizedCrop); 0: off */
} pith_augment;

/* Whether a ever changes a sample (training then sees each image anew). */
static inline int pith_augment_active(const pith_augment *a)
{
    return a && (a->crop_pad > 0 || a->hflip || a->rrc_min > 0.0f);
}

extern const char *const pith_fmnist_class_names[10];

/* Images: an IDX file of n x h x w bytes; labels: n bytes. Counts must agree. */
int pith_dataset_load_idx(const char *images, const char *labels, float mean, float std,
                          pith_dataset *ds);
/* A directory in the MNIST layout: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
 * split is "train" or "test". */
int pith_dataset_load_dir(const char *dir, const char *split, float mean, float std,
                          pith_dataset *ds);
/* Copies samples [start, start + count). */
int pith_dataset_subset(const pith_dataset *src, int start, int count, pith_dataset *dst);
/* Random split (seeded): n_val samples to val, the rest to train, order kept. */
int pith_dataset_split(const pith_dataset *src, int n_val, uint64_t seed, pith_dataset *train,
                       pith_dataset *val);
void pith_dataset_free(pith_dataset *ds);

/* An empty pixel store for n images of c channels with room for `bytes`
 * (allocated by the caller: data, and set off/w/h); refs 1. */
int pith_pixels_new(int n, int c, pith_pixels **out);
void pith_pixels_release(pith_pixels *px);
/* Image set over px (a reference is taken): n samples, ids and labels y
 * copied; input c x h x w; classes; preprocessing and normalisation. */
int pith_dataset_from_pixels(pith_pixels *px, const int *ids, const int *y, int n, int c, int h, int w,
                             int classes, pith_dataset *ds);
/* The normalisation of channel ch of the model's input. */
float pith_dataset_mean(const pith_dataset *ds, int ch);
float pith_dataset_std(const pith_dataset *ds, int ch);

/* Gathers samples idx[0..n) into x (n x c x h x w) and y, applying aug with
 * randomness derived from (seed, position in the batch). */
void pith_dataset_gather(const pith_dataset *ds, const int *idx, int n, const pith_augment *aug,
                         uint64_t seed, float *x, int *y);

#endif
