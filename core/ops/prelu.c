/* prelu: y = x > 0 ? x : slope x, with a learned slope per channel
 * (attribute out = channels) or one for all (out = 1). The slope's gradient
 * sums x dy over the negative inputs of its channel. */
#include "op_util.h"

static int prelu_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    if (nd->a.out != 1 && nd->a.out != in[0].d[0])
        return pith_error(PITH_ESHAPE, "prelu '%s': %d slopes for %d channels", nd->name, nd->a.out, in[0].d[0]);
    *out = in[0];
    if (nd->n_params)
        return check_param_shape(nd, 0, 1, &nd->a.out);
    return PITH_OK;
}

static int prelu_init(pith_node *nd, const pith_shape *in, pith_rng *rng)
{
    (void)in;
    (void)rng;
    pith_param *s = pith_node_new_param(nd, "slope", 1, &nd->a.out, 1);
    if (!s)
        return PITH_ENOMEM;
    for (size_t k = 0; k < s->size; k++)
        s->data[k] = 0.25f; /* PyTorch's default */
    return PITH_OK;
}

static size_t plane_of(const pith_shape *s) { return s->ndim == 3 ? (size_t)s->d[1] * s->d[2] : 1; }

static void prelu_forward(pith_node *nd, const pith_ctx *c)
{
    const int C = c->in[0].d[0];
    const size_t plane = plane_of(&c->in[0]);
    const float *sl = pith_param_value(&nd->params[0]);
    for (int b = 0; b < c->batch; b++)
        for (int ch = 0; ch < C; ch++) {
            const float a = sl[nd->a.out == 1 ? 0 : ch];
            const float *x = c->x[0] + ((size_t)b * C + ch) * plane;
            float *y = nd->y + ((size_t)b * C + ch) * plane;
            for (size_t i = 0; i < plane; i++)
                y[i] = x[i] > 0.0f ? x[i] : a * x[i];
        }
}

static void prelu_backward(pith_node *nd, const pith_ctx *c)
{
    const int C = c->in[0].d[0];
    const size_t plane = plane_of(&c->in[0]);
    pith_param *p = &nd->params[0];
    const float *sl = pith_param_value(p);
    for (int b = 0; b < c->batch; b++)
        for (int ch = 0; ch < C; ch++) {
            const int k = nd->a.out == 1 ? 0 : ch;
            const float *x = c->x[0] + ((size_t)b * C + ch) * plane, *dy = nd->dy + ((size_t)b * C + ch) * plane;
            float gs = 0.0f;
            for (size_t i = 0; i < plane; i++)
                gs += x[i] > 0.0f ? 0.0f : x[i] * dy[i];
            if (p->grad)
                p->grad[k] += gs;
            if (c->dx[0]) {
                float *dx = c->dx[0] + ((size_t)b * C + ch) * plane;
                for (size_t i = 0; i < plane; i++)
                    dx[i] += (x[i] > 0.0f ? 1.0f : sl[k]) * dy[i];
            }
        }
}

const pith_op pith_op_prelu = {
    .name = "prelu", .min_in = 1, .max_in = 1,
    .shape = prelu_shape, .init = prelu_init, .forward = prelu_forward, .backward = prelu_backward,
};
