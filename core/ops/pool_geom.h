/* Window geometry shared by maxpool and avgpool (internal). */
#ifndef PITH_POOL_GEOM_H
#define PITH_POOL_GEOM_H

#include "op_util.h"

static inline int pool_shape(const char *op, const pith_node *nd, const pith_shape *in,
                             pith_shape *out)
{
    const pith_attrs *a = &nd->a;
    if (in[0].ndim != 3)
        return pith_error(PITH_ESHAPE, "%s '%s': input must be CxHxW", op, nd->name);
    if (a->kh <= 0 || a->kw <= 0 || a->sh <= 0 || a->sw <= 0 || a->ph < 0 || a->pw < 0 ||
        2 * a->ph > a->kh || 2 * a->pw > a->kw)
        return pith_error(PITH_EINVAL,
                          "%s '%s': kernel and stride must be >= 1, padding at most half the kernel",
                          op, nd->name);
    int oh = conv_out_dim(in[0].d[1], a->kh, a->sh, a->ph, 1);
    int ow = conv_out_dim(in[0].d[2], a->kw, a->sw, a->pw, 1);
    if (oh <= 0 || ow <= 0)
        return pith_error(PITH_ESHAPE, "%s '%s': a %dx%d input is smaller than the window", op,
                          nd->name, in[0].d[1], in[0].d[2]);
    out->ndim = 3;
    out->d[0] = in[0].d[0];
    out->d[1] = oh;
    out->d[2] = ow;
    return PITH_OK;
}

#endif
