/* global_avgpool: CxHxW -> Cx1x1 mean over each plane. */
#include "op_util.h"

static int gap_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    if (in[0].ndim != 3)
        return pith_error(PITH_ESHAPE, "global_avgpool '%s': input must be CxHxW", nd->name);
    out->ndim = 3;
    out->d[0] = in[0].d[0];
    out->d[1] = 1;
    out->d[2] = 1;
    return PITH_OK;
}

static void gap_forward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    const int hw = c->in[0].d[1] * c->in[0].d[2];
    const float inv = 1.0f / (float)hw;
    for (int pl = (int)lo; pl < (int)hi; pl++) {
        const float *xp = c->x[0] + (size_t)pl * hw;
        float s = 0.0f;
        for (int k = 0; k < hw; k++)
            s += xp[k];
        nd->y[pl] = s * inv;
    }
}

static void gap_forward(pith_node *nd, const pith_ctx *c)
{
    pith_for_planes(nd, c, gap_forward_range);
}

static void gap_backward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    if (!c->dx[0])
        return;
    const int hw = c->in[0].d[1] * c->in[0].d[2];
    const float inv = 1.0f / (float)hw;
    for (int pl = (int)lo; pl < (int)hi; pl++) {
        float *dxp = c->dx[0] + (size_t)pl * hw;
        float gv = nd->dy[pl] * inv;
        for (int k = 0; k < hw; k++)
            dxp[k] += gv;
    }
}

static void gap_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    pith_for_planes(nd, c, gap_backward_range);
}

const pith_op pith_op_global_avgpool = {
    .name = "global_avgpool", .min_in = 1, .max_in = 1,
    .shape = gap_shape, .forward = gap_forward, .backward = gap_backward,
};
