/* Transposed convolution, int8 (the reference kernel): an integer GEMM in
 * gather form. Each output pixel's accumulator is its bias plus
 * (x - zx) * w over every input pixel and tap that lands on it (input row i
 * and tap u reach output row i s - p + u d), relu / relu6 as a clamp of the
 * accumulator, then fixed-point requantization per output channel: conv2d's
 * arithmetic, so the workbench's fake-quant recovers the same accumulator.
 * Weights [c_in][c_out / groups][kh][kw], int8 codes. */
#include "../pithrt.h"
#include "kernels.h"
#include "requant.h"


/* The input index i and tap u with i s - p + u d = o along one axis, for
 * every u; -1 where none lands. */
static inline int source_of(int o, int u, int s, int p, int d, int in)
{
    int num = o + p - u * d;
    if (num < 0 || num % s)
        return -1;
    int i = num / s;
    return i < in ? i : -1;
}

void pithrt_conv_transpose_s8_ref(const int8_t *x, int c, int h, int w, pithrt_qact xq, const int8_t *wt,
                                  const int32_t *bias, int8_t *y, int oc, int oh, int ow, pithrt_qact yq,
                                  const pithrt_requant *rq, const pithrt_geom *g)
{
    const int cg = c / g->groups, og = oc / g->groups, kk = g->kh * g->kw;
    const int32_t zx = xq.zero_point;
    for (int co = 0; co < oc; co++) {
        const int grp = co / og, k = co % og;
        const int32_t m = rq->p[3 * co], sh = rq->p[3 * co + 1];
        for (int yy = 0; yy < oh; yy++)
            for (int xx = 0; xx < ow; xx++) {
                /* modulo 2^32, as conv2d's accumulator */
                uint32_t acc = bias ? (uint32_t)bias[co] : 0u;
                for (int u = 0; u < g->kh; u++) {
                    int i = source_of(yy, u, g->sh, g->ph, g->dh, h);
                    if (i < 0)
                        continue;
                    for (int t = 0; t < g->kw; t++) {
                        int j = source_of(xx, t, g->sw, g->pw, g->dw, w);
                        if (j < 0)
                            continue;
                        for (int ci = grp * cg; ci < (grp + 1) * cg; ci++) {
                            int32_t wv = wt[((size_t)ci * og + k) * kk + u * g->kw + t];
                            acc += (uint32_t)(wv * ((int32_t)x[((size_t)ci * h + i) * w + j] - zx));
                        }
                    }
                }
                *y++ = (int8_t)pithrt_requantize(pithrt_acc_act((int32_t)acc, rq, co), m, sh, yq.zero_point,
                                                 yq.qmin, yq.qmax);
            }
    }
}
