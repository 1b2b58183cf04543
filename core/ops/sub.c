/* sub: the elementwise difference a - b, with numpy broadcasting (broadcast.c). */
#include "broadcast.h"

static int sub_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    return bcast_shape("sub", nd, in, n_in, out);
}
static void sub_forward(pith_node *nd, const pith_ctx *c) { bcast_forward(BCAST_SUB, nd, c); }
static void sub_backward(pith_node *nd, const pith_ctx *c) { bcast_backward(BCAST_SUB, nd, c); }

const pith_op pith_op_sub = {
    .name = "sub", .min_in = 2, .max_in = 2, .overwrite_dx = 1,
    .shape = sub_shape, .forward = sub_forward, .backward = sub_backward,
};
