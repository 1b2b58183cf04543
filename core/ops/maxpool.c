/* maxpool: window max; padding counts as -inf. Forward saves the argmax of
 * each output so backward routes the gradient to it (first max on ties). */
#include <stdint.h>

#include "pool_geom.h"

static int maxpool_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    return pool_shape("maxpool", nd, in, out);
}

static size_t maxpool_workspace(const pith_node *nd, const pith_shape *in, int batch)
{
    pith_shape out;
    if (pool_shape("maxpool", nd, in, &out))
        return 0;
    return pith_shape_size(&out) * (size_t)batch * sizeof(int32_t);
}

static void maxpool_forward(pith_node *nd, const pith_ctx *c)
{
    const pith_attrs *a = &nd->a;
    const int planes = c->batch * c->in[0].d[0], h = c->in[0].d[1], w = c->in[0].d[2];
    const int oh = nd->out.d[1], ow = nd->out.d[2];
    int32_t *arg = nd->ws;
#pragma omp parallel for schedule(static) if ((size_t)planes * h * w > PITH_OMP_MIN)
    for (int pl = 0; pl < planes; pl++) {
        const float *xp = c->x[0] + (size_t)pl * h * w;
        float *yp = nd->y + (size_t)pl * oh * ow;
        int32_t *ap = arg + (size_t)pl * oh * ow;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                float best = -INFINITY;
                int32_t bi = -1;
                for (int ki = 0; ki < a->kh; ki++) {
                    int ih = i * a->sh - a->ph + ki;
                    if (ih < 0 || ih >= h)
                        continue;
                    for (int kj = 0; kj < a->kw; kj++) {
                        int iw = j * a->sw - a->pw + kj;
                        if (iw < 0 || iw >= w)
                            continue;
                        float v = xp[ih * w + iw];
                        if (v > best || bi < 0) {
                            best = v;
                            bi = ih * w + iw;
                        }
                    }
                }
                yp[i * ow + j] = best;
                ap[i * ow + j] = bi;
            }
    }
}

static void maxpool_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const int planes = c->batch * c->in[0].d[0], hw = c->in[0].d[1] * c->in[0].d[2];
    const int ohw = nd->out.d[1] * nd->out.d[2];
    const int32_t *arg = nd->ws;
#pragma omp parallel for schedule(static) if ((size_t)planes * hw > PITH_OMP_MIN)
    for (int pl = 0; pl < planes; pl++) {
        float *dxp = c->dx[0] + (size_t)pl * hw;
        const float *gp = nd->dy + (size_t)pl * ohw;
        const int32_t *ap = arg + (size_t)pl * ohw;
        for (int k = 0; k < ohw; k++)
            if (ap[k] >= 0)
                dxp[ap[k]] += gp[k];
    }
}

const pith_op pith_op_maxpool = {
    .name = "maxpool", .min_in = 1, .max_in = 1,
    .shape = maxpool_shape, .workspace = maxpool_workspace,
    .forward = maxpool_forward, .backward = maxpool_backward,
};
