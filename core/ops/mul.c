/* mul: the elementwise product, with numpy broadcasting (broadcast.c). */
#include "broadcast.h"

static int mul_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    return bcast_shape("mul", nd, in, n_in, out);
}
static void mul_forward(pith_node *nd, const pith_ctx *c) { bcast_forward(BCAST_MUL, nd, c); }
static void mul_backward(pith_node *nd, const pith_ctx *c) { bcast_backward(BCAST_MUL, nd, c); }

const pith_op pith_op_mul = {
    .name = "mul", .min_in = 2, .max_in = 2, .overwrite_dx = 1,
    .shape = mul_shape, .forward = mul_forward, .backward = mul_backward,
};
