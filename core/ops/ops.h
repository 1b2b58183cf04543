/* The core ops' tables. A pass asks what a node is by comparing its op
 * pointer with these (n->op == &pith_op_conv2d), never by name; the names
 * exist for checkpoints, messages and pith_op_find. Ops other modules
 * register declare theirs in their own header (quant.h: pith_op_fake_quant). */
#ifndef PITH_CORE_OPS_H
#define PITH_CORE_OPS_H

#include "../graph.h"

extern const pith_op pith_op_input, pith_op_conv2d, pith_op_linear, pith_op_batchnorm, pith_op_relu,
    pith_op_relu6, pith_op_hardswish, pith_op_maxpool, pith_op_avgpool, pith_op_global_avgpool,
    pith_op_flatten, pith_op_add, pith_op_concat, pith_op_dropout, pith_op_sigmoid, pith_op_hardsigmoid,
    pith_op_silu, pith_op_constant, pith_op_broadcast_add, pith_op_sub, pith_op_mul, pith_op_div,
    pith_op_channel_shuffle, pith_op_slice, pith_op_resize, pith_op_clip, pith_op_leaky_relu, pith_op_prelu,
    pith_op_channel_mean, pith_op_softmax, pith_op_global_maxpool, pith_op_pad,
    pith_op_conv_transpose;

/* An evaluating batchnorm's channel ch as y = x * scale + shift, from its
 * running statistics: the forward's own arithmetic, for the export of a
 * batchnorm no layer absorbs (its f32 constants, or its int8 tables). */
void pith_batchnorm_affine(const pith_node *n, int ch, float *scale, float *shift);

#endif
