/* Shared between the files of quant/ (not part of its API). */
#ifndef PITH_QUANT_INTERNAL_H
#define PITH_QUANT_INTERNAL_H

#include "../core/graph.h"
#include "quantizer.h"

/* Scales of a weight spec for rows x cols values. */
int pith_wq_scale_count(const pith_qspec *s, int rows, int cols);
/* Consumers of node among the sorted nodes; *only is the last one found. */
int pith_quant_consumers(const pith_graph *g, int node, int *only);
/* The fake_quant node that quantizes a layer's output (through relu, relu6
 * or batchnorm with no other consumer), or -1. */
int pith_quant_output_fq(const pith_graph *g, int layer);
/* Attaches the weight (and bias) quantizer that node idx's attributes name. */
int pith_quant_attach(pith_graph *g, int idx);
/* Re-reads which layers have a quantized input (after calibration or enabling). */
int pith_quant_relink(pith_graph *g);

#endif
