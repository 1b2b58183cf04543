/* The op table: every op the graph knows, by name. */
#include <string.h>

#include "../error.h"
#include "../graph.h"

#include "ops.h"

/* The graph input: its buffer is filled by the caller, nothing to compute. */
static int input_shape(const pith_node *n, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)in;
    (void)n_in;
    *out = n->out;
    return 0;
}
static void input_noop(pith_node *n, const pith_ctx *c)
{
    (void)n;
    (void)c;
}
const pith_op pith_op_input = {
    .name = "input", .min_in = 0, .max_in = 0,
    .shape = input_shape, .forward = input_noop, .backward = input_noop,
};

#define MAX_OPS 48

static const pith_op *all_ops[MAX_OPS + 1] = {
    &pith_op_input, &pith_op_conv2d, &pith_op_linear, &pith_op_batchnorm, &pith_op_relu,
    &pith_op_relu6, &pith_op_hardswish, &pith_op_maxpool, &pith_op_avgpool,
    &pith_op_global_avgpool, &pith_op_flatten, &pith_op_add, &pith_op_concat, &pith_op_dropout,
    &pith_op_sigmoid, &pith_op_hardsigmoid, &pith_op_silu, &pith_op_constant, &pith_op_broadcast_add,
    &pith_op_sub, &pith_op_mul, &pith_op_div, &pith_op_channel_shuffle, &pith_op_slice,
    &pith_op_resize, &pith_op_clip, &pith_op_leaky_relu, &pith_op_prelu,
    &pith_op_channel_mean, &pith_op_softmax, &pith_op_global_maxpool, &pith_op_pad,
    &pith_op_conv_transpose, NULL,
};

const pith_op *const *pith_op_all(void) { return (const pith_op *const *)all_ops; }

int pith_op_register(const pith_op *op)
{
    if (!op || !op->name || !op->shape || !op->forward || !op->backward)
        return pith_error(PITH_EINVAL, "op registration needs a name, shape, forward and backward");
    int n = 0;
    for (; all_ops[n]; n++) {
        if (all_ops[n] == op)
            return PITH_OK;
        if (strcmp(all_ops[n]->name, op->name) == 0)
            return pith_error(PITH_EINVAL, "an op named '%s' is already registered", op->name);
    }
    if (n >= MAX_OPS)
        return pith_error(PITH_ENOMEM, "op table full (%d ops)", MAX_OPS);
    all_ops[n] = op;
    return PITH_OK;
}

const pith_op *pith_op_find(const char *name)
{
    for (int i = 0; all_ops[i]; i++)
        if (strcmp(all_ops[i]->name, name) == 0)
            return all_ops[i];
    return NULL;
}
