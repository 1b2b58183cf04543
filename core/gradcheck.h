/* Gradient checker: compares every hand-written backward in a graph with
 * central finite differences. The scalar checked is L = sum_i r_i * y_i over
 * the output, with fixed random r, accumulated in double precision. */
#ifndef PITH_GRADCHECK_H
#define PITH_GRADCHECK_H

#include "graph.h"

typedef struct pith_gradcheck_result {
    int checked;          /* values compared */
    int skipped;          /* non-smooth points (one-sided differences disagree) */
    int failed;           /* outside tolerance */
    double max_err;       /* largest |analytic - numeric| / (atol + rtol * |numeric|) */
    char worst[160];      /* where max_err occurred */
} pith_gradcheck_result;

/* g must have been compiled with g->input_grad = 1 for `batch`; its input
 * buffer holds the point to check at. Checks the input gradient and every
 * trainable parameter's gradient (at most max_per_tensor entries of each,
 * spread evenly). Training mode is used as set on the graph. */
int pith_gradcheck(pith_graph *g, int batch, double h, double atol, double rtol,
                   int max_per_tensor, uint64_t seed, pith_gradcheck_result *res);

#endif
