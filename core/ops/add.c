/* add: elementwise sum of 2..8 inputs of one shape (residual connections). */
#include "op_util.h"

static int add_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    for (int j = 1; j < n_in; j++)
        if (!pith_shape_equal(&in[0], &in[j])) {
            char a[48], b[48];
            pith_shape_format(&in[0], a, sizeof a);
            pith_shape_format(&in[j], b, sizeof b);
            return pith_error(PITH_ESHAPE, "add '%s': input 0 is %s but input %d is %s", nd->name, a,
                              j, b);
        }
    *out = in[0];
    return PITH_OK;
}

/* y += x over a range (forward: the output; backward: an input's gradient) */
static void accumulate_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_ew_args *a = arg;
    for (size_t i = lo; i < hi; i++)
        a->y[i] += a->x[i];
}

static void add_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    memcpy(nd->y, c->x[0], n * sizeof(float));
    for (int j = 1; j < c->n_in; j++) {
        pith_ew_args a = {.x = c->x[j], .y = nd->y};
        pith_parallel_for(n, PITH_GRAIN, accumulate_range, &a);
    }
}

static void add_backward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    for (int j = 0; j < c->n_in; j++) {
        if (!c->dx[j])
            continue;
        pith_ew_args a = {.x = nd->dy, .y = c->dx[j]};
        pith_parallel_for(n, PITH_GRAIN, accumulate_range, &a);
    }
}

const pith_op pith_op_add = {
    .name = "add", .min_in = 2, .max_in = PITH_MAX_INPUTS,
    .shape = add_shape, .forward = add_forward, .backward = add_backward,
};
