/* The binary ops with numpy broadcasting of their per-sample shapes
 * (broadcast_add, sub, mul, div; internal). Both inputs have the same rank
 * (the importer pads a lower-rank operand with leading 1s); each dimension is
 * equal or 1 in one of them. The batch is never broadcast: a constant operand
 * is a constant node, which fills every sample. */
#ifndef PITH_BROADCAST_H
#define PITH_BROADCAST_H

#include "op_util.h"

typedef enum { BCAST_ADD, BCAST_SUB, BCAST_MUL, BCAST_DIV } bcast_kind;

int bcast_shape(const char *op, const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out);
void bcast_forward(bcast_kind k, pith_node *nd, const pith_ctx *c);
void bcast_backward(bcast_kind k, pith_node *nd, const pith_ctx *c);

#endif
