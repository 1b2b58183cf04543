/* Helpers shared by the op files (internal). */
#ifndef PITH_OP_UTIL_H
#define PITH_OP_UTIL_H

#include <math.h>
#include <string.h>

#include "../error.h"
#include "../graph.h"
#include "../threads.h"

/* Elements per piece of an elementwise parallel loop: a piece is worth a
 * hand-off (tens of microseconds of work) and stays in the cache. */
#define PITH_GRAIN 16384

/* The arguments of an elementwise loop (forward: x -> y; backward: x, dy ->
 * dx, overwriting when ow). */
typedef struct pith_ew_args {
    const float *x, *dy;
    float *y, *dx;
    int ow;
} pith_ew_args;

/* dx = dy * x (+ dx unless ow) over a range: a gradient through a fixed
 * per-element scale. */
static inline void pith_ew_mul_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_ew_args *a = arg;
    for (size_t i = lo; i < hi; i++)
        a->dx[i] = (a->ow ? 0.0f : a->dx[i]) + a->dy[i] * a->x[i];
}

/* An op's call, handed to the pieces of its parallel loop. */
typedef struct pith_op_call {
    pith_node *nd;
    const pith_ctx *c;
} pith_op_call;

static inline int conv_out_dim(int in, int k, int s, int p, int d)
{
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* Checks that a node's parameter has the given shape (after a rewrite). */
static inline int check_param_shape(const pith_node *n, int j, int ndim, const int *shape)
{
    if (j >= n->n_params)
        return pith_error(PITH_ESHAPE, "node '%s': parameter %d missing", n->name, j);
    const pith_param *p = &n->params[j];
    int ok = p->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = p->shape[i] == shape[i];
    if (!ok)
        return pith_error(PITH_ESHAPE, "node '%s': parameter '%s' does not match the layer's shape",
                          n->name, p->name);
    return PITH_OK;
}

/* Sums with 16 independent accumulators: the compiler can vectorise them
 * (a plain running sum cannot be reordered without fast-math), and the order
 * is fixed, so results do not depend on the thread count. */
static inline float sum_f32(const float *x, int n)
{
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++)
            acc[k] += x[i + k];
    float s = 0.0f;
    for (; i < n; i++)
        s += x[i];
    for (int k = 0; k < 16; k++)
        s += acc[k];
    return s;
}

/* Sum of (x - m)^2. */
static inline float sum_sqdev_f32(const float *x, float m, int n)
{
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++) {
            float d = x[i + k] - m;
            acc[k] += d * d;
        }
    float s = 0.0f;
    for (; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    for (int k = 0; k < 16; k++)
        s += acc[k];
    return s;
}

/* Dot product of x and y. */
static inline float dot_f32(const float *x, const float *y, int n)
{
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++)
            acc[k] += x[i + k] * y[i + k];
    float s = 0.0f;
    for (; i < n; i++)
        s += x[i] * y[i];
    for (int k = 0; k < 16; k++)
        s += acc[k];
    return s;
}

/* Shape function of the elementwise ops. */
static inline int pith_shape_same(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)nd;
    (void)n_in;
    *out = in[0];
    return PITH_OK;
}

/* Runs fn over the op's input planes (batch x channels of CxHxW), about
 * PITH_GRAIN values a piece. */
static inline void pith_for_planes(pith_node *nd, const pith_ctx *c, pith_range_fn fn)
{
    const size_t planes = (size_t)c->batch * c->in[0].d[0], per = (size_t)c->in[0].d[1] * c->in[0].d[2];
    pith_op_call call = {nd, c};
    pith_parallel_for(planes, per < PITH_GRAIN ? PITH_GRAIN / per : 1, fn, &call);
}

#endif
