/* Structured pruning: channels removed physically from the graph.
 *
 * Every output channel of a conv2d / linear (a producer) lives in a channel
 * space. Ops that keep channels apart (batchnorm, activations, pooling,
 * dropout, flatten, a depthwise conv) carry their input's channels through;
 * an add ties the channels of its inputs together, so their spaces form one
 * dependency group that is pruned as one; a concat lays its inputs' channels
 * side by side. Removing a channel of a group removes the producers' output
 * rows (weights, bias), the batchnorm entries and depthwise filters that
 * carry it, and the matching input slices of every consumer (conv input
 * channels, linear input features after a flatten). The graph must be
 * compiled again afterwards; `pith info` then shows the smaller shapes. */
#ifndef PITH_PRUNE_H
#define PITH_PRUNE_H

#include <stdint.h>

#include "../core/dataset.h"
#include "../core/graph.h"
#include "../core/rng.h"

#define PITH_PRUNE_MAX_MEMBERS 16

typedef struct pith_prune_group {
    int members[PITH_PRUNE_MAX_MEMBERS]; /* producer nodes; channel c of the group is their output channel c */
    int n_members;
    int channels;
    int prunable;
    char why[96];                        /* why not, when not prunable */
} pith_prune_group;

/* The dependency groups of g (sorted first), in topological order of their
 * first member. *groups is malloc'ed; free it. */
int pith_prune_groups(pith_graph *g, pith_prune_group **groups, int *n_groups);

/* Removes channels: remove[i] (channels of group i, 1 = remove) for every
 * group; NULL entries leave a group alone. Refuses to empty a group or to
 * touch one that is not prunable. Compile again afterwards. */
int pith_prune_remove(pith_graph *g, const pith_prune_group *groups, int n_groups, uint8_t *const *remove);

typedef enum {
    PITH_CRIT_L1 = 0,   /* sum |w| of the channel's filters */
    PITH_CRIT_L2,       /* sqrt(sum w^2) */
    PITH_CRIT_BN_GAMMA, /* |gamma| of the batchnorm after each producer (network slimming); groups
                         * without one are left unpruned */
    PITH_CRIT_TAYLOR,   /* |mean over images and positions of activation * gradient| (Molchanov et al.) */
    PITH_CRIT_RANDOM,   /* the control */
} pith_prune_criterion;
const char *pith_prune_criterion_name(pith_prune_criterion c);
int pith_prune_criterion_parse(const char *s, pith_prune_criterion *c);

/* Scores of every channel of every group (scores[i] has groups[i].channels
 * values; a group's score is the sum over its members). Taylor runs `images`
 * images of ds through the compiled graph with cross-entropy; the other
 * criteria read the weights (ds may be NULL). */
int pith_prune_scores(pith_graph *g, const pith_prune_group *groups, int n_groups, pith_prune_criterion crit,
                      const pith_dataset *ds, int images, pith_rng *rng, float **scores);

/* Uniform structured pruning: in every prunable group, removes the
 * floor(ratio * channels) lowest-scoring channels (keeping at least one).
 * Returns the number of channels removed (>= 0) or a negative status. */
int pith_prune_structured(pith_graph *g, pith_prune_criterion crit, float ratio, const pith_dataset *ds,
                          int images, uint64_t seed);

/* The same for one group only (its index in pith_prune_groups' order):
 * per-layer sensitivity analysis. */
int pith_prune_structured_group(pith_graph *g, int group, pith_prune_criterion crit, float ratio,
                                const pith_dataset *ds, int images, uint64_t seed);

/* ---- fine-grained pruning with masks ---- */

typedef enum { PITH_PRUNE_ELEMENT = 0, PITH_PRUNE_KERNEL, PITH_PRUNE_CHANNEL } pith_prune_gran;
const char *pith_prune_gran_name(pith_prune_gran g);
int pith_prune_gran_parse(const char *s, pith_prune_gran *g);

/* Masks the smallest-magnitude units of a conv2d / linear weight (units per
 * granularity, by mean |w|) so that `sparsity` of them are zero; raising the
 * sparsity later keeps what is already pruned. The mask is the node's "mask"
 * parameter; the layer computes with w * mask and masked weights stay zero
 * through optimizer steps. */
int pith_prune_magnitude(pith_graph *g, int layer, float sparsity, pith_prune_gran gran);
/* Zeroes the masked master weights again (an optimizer step with momentum
 * moves them; the layers compute with w * mask regardless). Call after steps
 * and before saving. */
void pith_prune_apply_masks(pith_graph *g);
/* pith_prune_magnitude on every conv2d and linear. */
int pith_prune_magnitude_all(pith_graph *g, float sparsity, pith_prune_gran gran);
/* Fraction of the weight that is exactly zero, measured from the weights. */
double pith_prune_sparsity(const pith_graph *g, int layer);
/* Re-attaches masks after a checkpoint load. */
int pith_prune_restore(pith_graph *g);

/* Automated gradual pruning (Zhu & Gupta 2017): the sparsity at step t of a
 * schedule starting at t0 with n updates every dt steps,
 * s_t = s_f + (s_i - s_f) (1 - k / n)^3 with k = floor((t - t0) / dt) updates done. */
double pith_agp_sparsity(double s_initial, double s_final, int64_t t0, int64_t n, int64_t dt, int64_t t);

#endif
