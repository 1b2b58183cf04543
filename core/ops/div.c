/* div: the elementwise quotient a / b, with numpy broadcasting (broadcast.c). */
#include "broadcast.h"

static int div_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    return bcast_shape("div", nd, in, n_in, out);
}
static void div_forward(pith_node *nd, const pith_ctx *c) { bcast_forward(BCAST_DIV, nd, c); }
static void div_backward(pith_node *nd, const pith_ctx *c) { bcast_backward(BCAST_DIV, nd, c); }

const pith_op pith_op_div = {
    .name = "div", .min_in = 2, .max_in = 2, .overwrite_dx = 1,
    .shape = div_shape, .forward = div_forward, .backward = div_backward,
};
