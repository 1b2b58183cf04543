/* Window geometry shared by maxpool and avgpool (internal). */
#ifndef PITH_POOL_GEOM_H
#define PITH_POOL_GEOM_H

#include "op_util.h"

#include "../../runtime/kernels/pool_dims.h"

enum { POOL_CEIL = 1, POOL_EXCLUDE_PAD = 2, POOL_END_PADS = 4 };

/* the padding after the input along H and W */
static inline int pool_end_h(const pith_attrs *a) { return a->pool_ext & POOL_END_PADS ? a->ph_end : a->ph; }
static inline int pool_end_w(const pith_attrs *a) { return a->pool_ext & POOL_END_PADS ? a->pw_end : a->pw; }

static inline int pool_shape(const char *op, const pith_node *nd, const pith_shape *in,
                             pith_shape *out)
{
    const pith_attrs *a = &nd->a;
    if (in[0].ndim != 3)
        return pith_error(PITH_ESHAPE, "%s '%s': input must be CxHxW", op, nd->name);
    const int eh = pool_end_h(a), ew = pool_end_w(a);
    if (a->kh <= 0 || a->kw <= 0 || a->sh <= 0 || a->sw <= 0 || a->ph < 0 || a->pw < 0 ||
        2 * a->ph > a->kh || 2 * a->pw > a->kw || eh < 0 || ew < 0 || 2 * eh > a->kh || 2 * ew > a->kw ||
        a->pool_ext < 0 || a->pool_ext > 7)
        return pith_error(PITH_EINVAL,
                          "%s '%s': kernel and stride must be >= 1, padding at most half the kernel",
                          op, nd->name);
    const int ceil_mode = a->pool_ext & POOL_CEIL;
    int oh = pithrt_pool_out_dim(in[0].d[1], a->kh, a->sh, a->ph, eh, ceil_mode);
    int ow = pithrt_pool_out_dim(in[0].d[2], a->kw, a->sw, a->pw, ew, ceil_mode);
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
