/* Quantization passes over the graph: fold batchnorm, insert fake-quant nodes
 * on activations, attach weight quantizers (uniform, k-means codebook,
 * binary, ternary), calibrate with observers, and restore all of it from a
 * checkpoint. The arithmetic is quantizer.h's; the integer scheme is the one
 * in DESIGN.md that export/ and runtime/ execute.
 *
 * Where the state lives (so that checkpoints carry it without a quant-specific
 * section): a fake_quant node's spec is in its attributes (qbits, qsym, ...),
 * its scale, zero point and observed range are its parameters; a quantized
 * conv2d/linear has wq/wbits/wsym/wgran/wgroup attributes and w_scale/w_zp
 * (uniform, binary, ternary) or codebook/w_index (k-means) parameters. After
 * loading, pith_quant_restore() re-attaches the weight transforms. */
#ifndef PITH_QUANT_H
#define PITH_QUANT_H

#include <stdio.h>

#include "../core/dataset.h"
#include "../core/graph.h"
#include "../core/rng.h"
#include "quantizer.h"

/* Registers the fake_quant op; call before building or loading a graph that
 * has one. Idempotent. */
int pith_quant_register(void);
extern const pith_op pith_op_fake_quant;
pith_qspec pith_fq_spec(const pith_node *nd);

typedef enum { PITH_WQ_FLOAT = 0, PITH_WQ_UNIFORM, PITH_WQ_KMEANS, PITH_WQ_BINARY, PITH_WQ_TERNARY } pith_wq_kind;
const char *pith_wq_name(pith_wq_kind k);

typedef enum {
    PITH_OBS_MINMAX = 0,
    PITH_OBS_EMA,        /* moving average of per-batch min/max, momentum 0.01 */
    PITH_OBS_PERCENTILE, /* clip at the p-th percentile of |x| (or of each tail) */
    PITH_OBS_KL,         /* TensorRT's entropy calibration: clip minimising KL(P || Q) */
    PITH_OBS_MSE,        /* clip minimising the quantization error's mean square */
} pith_observer;
const char *pith_observer_name(pith_observer o);
int pith_observer_parse(const char *s, pith_observer *o);

typedef enum { PITH_KM_LINEAR = 0, PITH_KM_DENSITY, PITH_KM_RANDOM } pith_kmeans_init;
int pith_kmeans_init_parse(const char *s, pith_kmeans_init *k);

/* What the integer model takes and gives: float IO quantizes the input and
 * dequantizes the output inside the model; int8 IO leaves both to the caller.
 * Weight-only keeps activations float (dynamic-range quantization). */
typedef enum { PITH_QIO_FLOAT = 0, PITH_QIO_INT8, PITH_QIO_WEIGHT_ONLY } pith_qio;

/* One layer's precision in a mixed-precision plan: 0 bits means float. */
typedef struct pith_qlayer {
    char name[PITH_NAME_MAX];
    int wbits, abits;
} pith_qlayer;

/* Cross-layer equalization (cle.c): every pair of conv / linear layers with
 * only relu, max pooling or dropout between them and no other consumer gets
 * its shared channels rescaled so that both layers' per-channel weight
 * ranges are equal, `sweeps` times over the pairs (chains settle); the float
 * function is unchanged. Pairs that an op which does not commute with
 * scaling (relu6, hardswish, ...) separates are listed as skipped. The model's
 * batchnorms must be folded. */
#define PITH_CLE_MAX_SKIPPED 32
typedef struct pith_cle_report {
    int pairs;
    int n_skipped;
    struct {
        char layer[PITH_NAME_MAX], by[PITH_NAME_MAX];
    } skipped[PITH_CLE_MAX_SKIPPED];
} pith_cle_report;
int pith_cle(pith_graph *g, int sweeps, pith_cle_report *rep);

typedef struct pith_quant_config {
    pith_wq_kind method;       /* weights of every conv2d / linear */
    pith_qspec w, a;           /* weight and activation specs */
    pith_observer w_obs;       /* weights: MINMAX or MSE */
    pith_qio io;
    int fold_bn;               /* fold batchnorm into the preceding conv / linear */
    int lsq;                   /* learned step sizes (weights and activations) */
    int ema;                   /* training updates activation ranges by EMA */
    int keep_ends;             /* binary/ternary/k-means: first and last layer stay uniform int8 */
    int cle;                   /* cross-layer equalization after BN folding (needs fold_bn) */
    pith_cle_report *cle_report; /* where pith_quant_apply reports it (may be NULL) */
    pith_kmeans_init km_init;
    uint64_t seed;             /* k-means random initialisation */
    const pith_qlayer *plan;   /* per-layer overrides by node name */
    int n_plan;
} pith_quant_config;

/* int8 per-channel symmetric weights, int8 asymmetric activations, BN folded. */
pith_quant_config pith_quant_defaults(void);

/* Folds every batchnorm whose input is a conv2d or linear with no other
 * consumer into that layer (w *= gamma / sqrt(var + eps), b = (b - mean) *
 * gamma / sqrt(var + eps) + beta); the batchnorm leaves the graph. Returns the
 * number folded (>= 0) or a negative status. */
int pith_fold_batchnorm(pith_graph *g);

/* Quantizes g per c: folds BN (if asked), inserts fake_quant nodes (disabled
 * until calibrated), quantizes weights. The graph must be compiled again
 * afterwards. Fails on a graph that is already quantized. */
int pith_quant_apply(pith_graph *g, const pith_quant_config *c);
/* QAT with batchnorm (fold_bn 0): freezes the BN statistics by folding every
 * batchnorm into its layer (running statistics) and switching the layer's
 * quantizer from the BN-aware form to the plain one. Compile again after. */
int pith_quant_freeze_bn(pith_graph *g);
/* Re-attaches weight quantizers after a checkpoint load; a float graph is left alone. */
int pith_quant_restore(pith_graph *g);
/* "w8 sym channel", "a8 asym +relu", "kmeans 4-bit", ... ("" for a float node). */
void pith_quant_describe(const pith_node *n, char *buf, size_t len);
/* The fake_quant node that quantizes a layer's output (directly, or through
 * relu, relu6 or batchnorm with no other consumer), or -1. g must be sorted. */
int pith_quant_output_fq(const pith_graph *g, int layer);
/* 1 if any node is quantized. */
int pith_graph_is_quantized(const pith_graph *g);

/* Runs n images of ds (from `first` on; the caller shuffles) through the float
 * model and sets every fake_quant node's range with observer `obs` (percentile:
 * `pct`, e.g. 99.99), then enables them. g must be compiled. */
int pith_quant_calibrate(pith_graph *g, const pith_dataset *ds, int n, pith_observer obs, float pct,
                         FILE *progress);

/* Quantizer state made elsewhere (an imported QDQ model's): an activation
 * quantizer of node `node`'s output (scale[0], zero point on the signed
 * grid), or layer `node`'s symmetric weight scales (n: one per output
 * channel, or 1). */
typedef struct pith_qstate {
    const char *node;
    int weights;
    int n;
    const float *scale;
    int32_t zero_point;
} pith_qstate;
/* Loads st into g right after pith_quant_apply (8-bit asymmetric signed
 * activations), in place of calibration, and enables the quantizers. Every
 * activation quantizer must find its tensor's state (fails naming the first
 * that does not); layers without weight state keep pith's scales. */
int pith_quant_set_state(pith_graph *g, const pith_qstate *st, int n);

/* Turns quantization of weights / activations on or off everywhere (for
 * analysis: weight-only vs activation-only errors), or for one layer by name
 * (NULL: all layers). The layer's activation quantizer is the fake_quant node
 * after it. */
int pith_quant_enable(pith_graph *g, const char *layer, int weights, int acts);

/* Weight scales per output channel (or tensor, or group) for values w[rows][cols]
 * by min/max or by the MSE-optimal clip. n_scales = 1, rows, or rows * ceil(cols / group). */
int pith_weight_qparams(const pith_qspec *s, pith_observer obs, const float *w, int rows, int cols,
                        float *scale, float *zero_point);

/* 1-D k-means of w into k centroids (Lloyd's algorithm on the sorted values,
 * to convergence or 100 iterations); index[i] is w[i]'s centroid. */
int pith_kmeans_1d(const float *w, size_t n, int k, pith_kmeans_init init, pith_rng *rng,
                   float *centroids, float *index);

/* Clip [lo, hi] for the values summarised by a histogram of `bins` equal bins
 * over [hmin, hmax], per observer (MINMAX returns the histogram's range). */
int pith_observer_range(pith_observer obs, const double *hist, int bins, float hmin, float hmax,
                        const pith_qspec *spec, float pct, float *lo, float *hi);

/* Re-reads which layers have a quantized input, after fake_quant nodes were
 * switched (qmode) by hand; pith_quant_enable does this itself. */
int pith_quant_relink(pith_graph *g);

/* Re-quantizes one layer (by name) at other bit widths: its weights (min/max
 * scales) and its output quantizer (from the calibrated range). 0 bits: float.
 * For mixed-precision search on a calibrated graph. */
int pith_quant_set_layer_bits(pith_graph *g, const char *layer, int wbits, int abits);

typedef struct pith_error_metrics {
    double cosine;     /* cosine similarity of the float and quantized tensors */
    double euclid;     /* Euclidean distance per image, averaged */
    double sqnr_db;    /* 10 log10(sum f^2 / sum (f - q)^2) */
    double max_abs;    /* largest absolute difference */
    double saturated;  /* fraction of values clipped by the output quantizer */
} pith_error_metrics;

typedef struct pith_layer_error {
    char name[PITH_NAME_MAX];
    pith_error_metrics entire;       /* the whole network quantized */
    pith_error_metrics single;       /* only this layer quantized, float input */
    pith_error_metrics weights_only; /* every weight quantized, activations float */
    pith_error_metrics acts_only;    /* every activation quantized, weights float */
} pith_layer_error;

/* Per-layer errors over n images of ds. gq and gf are two loads of the same
 * quantized checkpoint, compiled for the same batch; gf is used as the float
 * reference (its quantizers are switched off), gq is left as it was. */
int pith_quant_analyze(pith_graph *gq, pith_graph *gf, const pith_dataset *ds, int n, pith_layer_error *out,
                       int max, int *n_out, FILE *progress);

/* Size in bytes of the weights as the runtime would store them (codes packed
 * at their bit width, plus scales / codebooks, biases as int32 or float). */
int64_t pith_quant_weight_bytes(const pith_graph *g);

#endif
