/* broadcast_add: the elementwise sum of two inputs whose shapes differ (a bias or a per-channel offset; same-shape sums are add), with numpy broadcasting (broadcast.c). */
#include "broadcast.h"

static int broadcast_add_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    return bcast_shape("broadcast_add", nd, in, n_in, out);
}
static void broadcast_add_forward(pith_node *nd, const pith_ctx *c) { bcast_forward(BCAST_ADD, nd, c); }
static void broadcast_add_backward(pith_node *nd, const pith_ctx *c) { bcast_backward(BCAST_ADD, nd, c); }

const pith_op pith_op_broadcast_add = {
    .name = "broadcast_add", .min_in = 2, .max_in = 2, .overwrite_dx = 1,
    .shape = broadcast_add_shape, .forward = broadcast_add_forward, .backward = broadcast_add_backward,
};
