/* Image classification datasets held in memory as normalised float32 NCHW,
 * loaded from IDX files (Fashion-MNIST, MNIST, or any set in that format). */
#ifndef PITH_DATASET_H
#define PITH_DATASET_H

#include <stdint.h>

#define PITH_FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#define PITH_FMNIST_MEAN 0.2860f
#define PITH_FMNIST_STD 0.3530f

typedef struct pith_dataset {
    int n, c, h, w;
    int classes;       /* 1 + the largest label */
    float *x;          /* n x c x h x w, (pixel/255 - mean) / std */
    int *y;
    float mean, std;
} pith_dataset;

typedef struct pith_augment {
    int crop_pad;      /* random crop after zero padding by this many pixels (0: off) */
    int hflip;         /* random horizontal flip with probability 1/2 */
} pith_augment;

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

/* Gathers samples idx[0..n) into x (n x c x h x w) and y, applying aug with
 * randomness derived from (seed, position in the batch). */
void pith_dataset_gather(const pith_dataset *ds, const int *idx, int n, const pith_augment *aug,
                         uint64_t seed, float *x, int *y);

#endif
