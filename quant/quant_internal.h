/* Shared between the files of quant/ (not part of its API). */
#ifndef PITH_QUANT_INTERNAL_H
#define PITH_QUANT_INTERNAL_H

#include "../core/graph.h"
#include "quantizer.h"

/* Scales of a weight spec for rows x cols values. */
int pith_wq_scale_count(const pith_qspec *s, int rows, int cols);
/* A weight quantizer's state (weight_quant.c), the parameter transform of
 * the weight and of the bias it quantizes to int32, attached by attach.c. */
typedef struct wq_ctx {
    const pith_graph *g;      /* its training flag: QAT recomputes min/max scales every step */
    pith_wq_kind kind;
    pith_qspec spec;
    int rows, cols;           /* output channels, values per channel */
    int groups_per_row;       /* per-group granularity */
    float *scale, *scale_grad, *zp;
    float *codebook, *codebook_grad, *index;
    const float *mask;        /* k-means after pruning: masked weights stay exactly zero */
    int k;
    const float *in_scale;    /* the input fake_quant's scale, NULL: float input */
    float *acc_scale;         /* the output fake_quant's accumulator scales, or NULL */
    int n_acc;
    int off;                  /* analysis: compute with the float weights */
    int stochastic;           /* round stochastically while training */
    const float *bn_gamma, *bn_var; /* wbn: the following batchnorm's gamma and running variance */
    float bn_eps;
    float *bn_factor;         /* wbn: gamma / sqrt(var + eps) per channel, from the last forward */
} wq_ctx;
extern const pith_param_transform pith_wq_weight_tf, pith_wq_bias_tf;
void pith_wq_destroy(void *ctx);

/* Attaches the weight (and bias) quantizer that node idx's attributes name. */
int pith_quant_attach(pith_graph *g, int idx);

#endif
