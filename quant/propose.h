/* Mixed precision: from the per-layer errors of a quantized model
 * (pith_quant_analyze), a plan that meets a target accuracy drop — the most
 * sensitive layers (lowest single-layer SQNR) go to 16 bits, then to float,
 * until the test top-1 is within `target` points of the float model's. */
#ifndef PITH_QUANT_PROPOSE_H
#define PITH_QUANT_PROPOSE_H

#include <stdio.h>

#include "../core/dataset.h"
#include "../core/graph.h"
#include "quant.h"

typedef struct pith_mp_result {
    double float_top1; /* quantizers off */
    double start_top1; /* as quantized */
    double top1;       /* with the plan */
    int met;           /* the drop is within the target */
    int promoted;      /* layers changed */
} pith_mp_result;

/* g is changed to the plan. order[n]: the layers by sensitivity, most
 * sensitive first; new_w[n], new_a[n]: each layer's weight and activation
 * bits under the plan (0: float). */
int pith_quant_propose(pith_graph *g, const pith_layer_error *e, int n, const pith_dataset *test, float target,
                       FILE *progress, int *order, int *new_w, int *new_a, pith_mp_result *r);

#endif
