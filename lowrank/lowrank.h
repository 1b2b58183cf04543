/* SVD low-rank factorization of linear and conv2d layers (LAPACKE sgesdd).
 *
 * A linear layer W (m x n) becomes two: n -> r (sqrt(S_r) V_r^T, no bias) and
 * r -> m (U_r sqrt(S_r), the original bias). A conv2d with kernel k x k
 * becomes a k x k conv to r channels (same stride, padding, dilation)
 * followed by a 1 x 1 conv, from the SVD of W reshaped to out x (in k k).
 * The first factor is a new node named "<layer>.svd_in"; the layer keeps its
 * name as the second factor, so its consumers are untouched. */
#ifndef PITH_LOWRANK_H
#define PITH_LOWRANK_H

#include <stdint.h>

#include "../core/graph.h"

typedef struct pith_lowrank_rule {
    int rank;          /* > 0: this rank */
    float energy;      /* in (0, 1]: smallest rank keeping this fraction of sum s_i^2 */
    float macs_ratio;  /* in (0, 1): largest rank whose MACs are at most this fraction of the layer's */
} pith_lowrank_rule;

typedef struct pith_lowrank_report {
    char name[PITH_NAME_MAX];
    int full_rank;     /* min(m, n) */
    int rank;          /* chosen */
    double energy;     /* retained fraction of sum s_i^2 */
    int64_t macs_before, macs_after;
    int replaced;      /* 0: kept as is (the factorization would not reduce MACs) */
} pith_lowrank_report;

/* Singular values of the layer's weight (as a matrix out x rest), descending;
 * s must hold min(m, n) values. */
int pith_lowrank_singular_values(const pith_graph *g, int layer, float *s);
/* The rank a rule picks for singular values s[0..k). */
int pith_lowrank_choose(const float *s, int k, int m, int n, int64_t positions, const pith_lowrank_rule *rule);
/* Factorizes layer `layer` (a linear or a groups-1 conv2d) per rule, if that
 * reduces its MACs. Compile again afterwards. */
int pith_lowrank_factorize(pith_graph *g, int layer, const pith_lowrank_rule *rule, pith_lowrank_report *rep);
/* The lowrank step of pith lowrank and of a config's lowrank stage: every
 * layer named in `layers` ("conv2,fc1"; each must be a linear or conv2d), or
 * with layers NULL or "" every linear and groups-1 conv2d but the output
 * layer, in topological order, factorized per rule. rep[max] receives one
 * report per layer tried (*n of them). Compile again afterwards. */
int pith_lowrank_apply(pith_graph *g, const char *layers, const pith_lowrank_rule *rule, pith_lowrank_report *rep,
                       int max, int *n);

#endif
