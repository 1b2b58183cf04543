/* 1-D k-means for weight sharing (Han et al., Deep Compression, 2016).
 *
 * The values are sorted once; with sorted centroids every cluster is a
 * contiguous run of the sorted values, so an assignment step is k binary
 * searches for the midpoints and an update step is k means from a prefix sum.
 * The initialisations are the paper's: linear (evenly spaced over [min,
 * max], the one it recommends), density (evenly spaced quantiles of the
 * CDF) and random (k distinct values drawn from the weights). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "quant.h"

int pith_kmeans_init_parse(const char *s, pith_kmeans_init *k)
{
    if (strcmp(s, "linear") == 0)
        *k = PITH_KM_LINEAR;
    else if (strcmp(s, "density") == 0)
        *k = PITH_KM_DENSITY;
    else if (strcmp(s, "random") == 0)
        *k = PITH_KM_RANDOM;
    else
        return pith_error(PITH_EINVAL, "unknown k-means initialisation '%s' (linear, density, random)", s);
    return PITH_OK;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* First position in sorted v[0..n) with v[i] > t. */
static size_t upper_bound(const float *v, size_t n, float t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] > t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int pith_kmeans_1d(const float *w, size_t n, int k, pith_kmeans_init init, pith_rng *rng,
                   float *centroids, float *index)
{
    if (n == 0 || k < 1)
        return pith_error(PITH_EINVAL, "k-means of %zu values into %d clusters", n, k);
    float *v = malloc(n * sizeof *v);
    double *prefix = malloc((n + 1) * sizeof *prefix);
    size_t *end = malloc((size_t)k * sizeof *end);
    if (!v || !prefix || !end) {
        free(v);
        free(prefix);
        free(end);
        return pith_error(PITH_ENOMEM, "k-means: out of memory");
    }
    memcpy(v, w, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_float);
    prefix[0] = 0.0;
    for (size_t i = 0; i < n; i++)
        prefix[i + 1] = prefix[i] + v[i];
    float lo = v[0], hi = v[n - 1];
    for (int j = 0; j < k; j++) {
        if (init == PITH_KM_LINEAR)
            centroids[j] = k == 1 ? 0.5f * (lo + hi) : lo + (hi - lo) * (float)j / (float)(k - 1);
        else if (init == PITH_KM_DENSITY)
            centroids[j] = v[(size_t)(((double)j + 0.5) / k * (double)n)];
        else
            centroids[j] = v[(size_t)(pith_rng_next(rng) % n)];
    }
    qsort(centroids, (size_t)k, sizeof *centroids, cmp_float);
    for (int iter = 0; iter < 100; iter++) {
        /* assignment: cluster j holds the sorted values up to the midpoint with j + 1 */
        for (int j = 0; j < k - 1; j++)
            end[j] = upper_bound(v, n, 0.5f * (centroids[j] + centroids[j + 1]));
        end[k - 1] = n;
        int moved = 0;
        size_t start = 0;
        for (int j = 0; j < k; j++) {
            if (end[j] < start)
                end[j] = start;
            if (end[j] > start) {
                float m = (float)((prefix[end[j]] - prefix[start]) / (double)(end[j] - start));
                moved |= m != centroids[j];
                centroids[j] = m;
            }
            start = end[j];
        }
        if (!moved)
            break;
        /* equal centroids (duplicate random picks) stay sorted; keep the order strict for the search */
        qsort(centroids, (size_t)k, sizeof *centroids, cmp_float);
    }
    /* final assignment of the original order: nearest centroid, ties to the lower */
    for (size_t i = 0; i < n; i++) {
        int a = 0, b = k - 1;
        while (a < b) {
            int mid = (a + b) / 2;
            if (w[i] > 0.5f * (centroids[mid] + centroids[mid + 1]))
                a = mid + 1;
            else
                b = mid;
        }
        index[i] = (float)a;
    }
    free(v);
    free(prefix);
    free(end);
    return PITH_OK;
}
