/* Seeded generators. Counter-based helpers let shuffles, augmentation and
 * dropout be derived from (seed, epoch, step) so that a resumed run draws
 * exactly the numbers an uninterrupted one would, whatever the thread count. */
#ifndef PITH_RNG_H
#define PITH_RNG_H

#include <stdint.h>

typedef struct pith_rng {
    uint64_t s[4]; /* xoshiro256** state */
} pith_rng;

uint64_t pith_splitmix64(uint64_t *state);
/* Mixes several words into one seed. */
uint64_t pith_hash64(uint64_t a, uint64_t b, uint64_t c);
void pith_rng_seed(pith_rng *r, uint64_t seed);
uint64_t pith_rng_next(pith_rng *r);
/* Uniform in [0, 1) with 24 random bits. */
float pith_rng_uniform(pith_rng *r);
/* Uniform integer in [0, n). */
uint32_t pith_rng_below(pith_rng *r, uint32_t n);
/* Fisher-Yates permutation of 0..n-1. */
void pith_rng_permutation(pith_rng *r, int *perm, int n);

#endif
