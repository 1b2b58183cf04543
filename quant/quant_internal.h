/* Shared between the files of quant/ (not part of its API). */
#ifndef PITH_QUANT_INTERNAL_H
#define PITH_QUANT_INTERNAL_H

#include "../core/graph.h"
#include "quantizer.h"

/* Scales of a weight spec for rows x cols values. */
int pith_wq_scale_count(const pith_qspec *s, int rows, int cols);
/* Attaches the weight (and bias) quantizer that node idx's attributes name. */
int pith_quant_attach(pith_graph *g, int idx);

#endif
