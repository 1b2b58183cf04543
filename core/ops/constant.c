/* constant: a fixed tensor the graph computes with (an imported model's
 * per-channel scale, normalisation or bias operand). Its value is the
 * parameter "value", a buffer (not trained); every sample of the output holds
 * it, so the broadcasting ops downstream never broadcast over the batch.
 * Shape from the attributes: (out) for a vector, (out, kh, kw) for C x H x W. */
#include "op_util.h"

static int constant_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)in;
    (void)n_in;
    const pith_attrs *a = &nd->a;
    if (a->out < 1 || a->kh < 0 || a->kw < 0 || (a->kh == 0) != (a->kw == 0))
        return pith_error(PITH_EINVAL, "constant '%s': shape %dx%dx%d is not a vector or C x H x W", nd->name,
                          a->out, a->kh, a->kw);
    *out = a->kh ? (pith_shape){3, {a->out, a->kh, a->kw}} : (pith_shape){1, {a->out, 0, 0}};
    return PITH_OK;
}

static int constant_init(pith_node *nd, const pith_shape *in, pith_rng *rng)
{
    (void)in;
    (void)rng;
    int shape[3] = {nd->out.d[0], nd->out.d[1], nd->out.d[2]};
    return pith_node_new_param(nd, "value", nd->out.ndim, shape, 0) ? PITH_OK : PITH_ENOMEM;
}

static void constant_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&nd->out);
    for (int b = 0; b < c->batch; b++)
        memcpy(nd->y + (size_t)b * n, nd->params[0].data, n * sizeof(float));
}

static void constant_backward(pith_node *nd, const pith_ctx *c)
{
    (void)nd;
    (void)c;
}

const pith_op pith_op_constant = {
    .name = "constant", .min_in = 0, .max_in = 0,
    .shape = constant_shape, .init = constant_init, .forward = constant_forward, .backward = constant_backward,
};
