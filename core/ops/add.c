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

static void add_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    memcpy(nd->y, c->x[0], n * sizeof(float));
    for (int j = 1; j < c->n_in; j++) {
        const float *x = c->x[j];
#pragma omp parallel for schedule(static) if (n > PITH_OMP_MIN)
        for (size_t i = 0; i < n; i++)
            nd->y[i] += x[i];
    }
}

static void add_backward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    for (int j = 0; j < c->n_in; j++) {
        float *dx = c->dx[j];
        if (!dx)
            continue;
#pragma omp parallel for schedule(static) if (n > PITH_OMP_MIN)
        for (size_t i = 0; i < n; i++)
            dx[i] += nd->dy[i];
    }
}

const pith_op pith_op_add = {
    .name = "add", .min_in = 2, .max_in = PITH_MAX_INPUTS,
    .shape = add_shape, .forward = add_forward, .backward = add_backward,
};
