#include "rng.h"

uint64_t pith_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t pith_hash64(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t s = a;
    uint64_t h = pith_splitmix64(&s);
    s = h ^ b;
    h = pith_splitmix64(&s);
    s = h ^ c;
    return pith_splitmix64(&s);
}

void pith_rng_seed(pith_rng *r, uint64_t seed)
{
    uint64_t s = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = pith_splitmix64(&s);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t pith_rng_next(pith_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float pith_rng_uniform(pith_rng *r) { return (float)(pith_rng_next(r) >> 40) * (1.0f / 16777216.0f); }

uint32_t pith_rng_below(pith_rng *r, uint32_t n)
{
    /* Lemire's multiply-shift; the bias for n < 2^20 is below 2^-44. */
    return (uint32_t)(((pith_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

void pith_rng_permutation(pith_rng *r, int *perm, int n)
{
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)pith_rng_below(r, (uint32_t)i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
