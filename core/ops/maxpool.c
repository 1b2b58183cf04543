/* maxpool: window max; padding counts as -inf. Backward routes each output's
 * gradient to the first maximum of its window in row-major order (PyTorch's
 * rule), found again from the saved input rather than stored as an index:
 * recomputing is cheaper than writing and reading an argmax tensor. */
#include "pool_geom.h"

static int maxpool_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    return pool_shape("maxpool", nd, in, out);
}

static int is_2x2(const pith_attrs *a)
{
    return a->kh == 2 && a->kw == 2 && a->sh == 2 && a->sw == 2 && a->ph == 0 && a->pw == 0;
}

/* Index (in the plane) of the first maximum of window (i, j); -1 if empty. */
static int window_argmax(const pith_attrs *a, const float *xp, int h, int w, int i, int j)
{
    float best = -INFINITY;
    int bi = -1;
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
    return bi;
}

static void maxpool_forward(pith_node *nd, const pith_ctx *c)
{
    const pith_attrs *a = &nd->a;
    const int planes = c->batch * c->in[0].d[0], h = c->in[0].d[1], w = c->in[0].d[2];
    const int oh = nd->out.d[1], ow = nd->out.d[2];
    const int fast = is_2x2(a);
#pragma omp parallel for schedule(static) if ((size_t)planes * h * w > PITH_OMP_MIN)
    for (int pl = 0; pl < planes; pl++) {
        const float *xp = c->x[0] + (size_t)pl * h * w;
        float *yp = nd->y + (size_t)pl * oh * ow;
        if (fast) {
            for (int i = 0; i < oh; i++) {
                const float *r0 = xp + (size_t)(2 * i) * w, *r1 = r0 + w;
                float *yr = yp + (size_t)i * ow;
                for (int j = 0; j < ow; j++) {
                    float m0 = r0[2 * j] > r0[2 * j + 1] ? r0[2 * j] : r0[2 * j + 1];
                    float m1 = r1[2 * j] > r1[2 * j + 1] ? r1[2 * j] : r1[2 * j + 1];
                    yr[j] = m0 > m1 ? m0 : m1;
                }
            }
            continue;
        }
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                int bi = window_argmax(a, xp, h, w, i, j);
                yp[i * ow + j] = bi >= 0 ? xp[bi] : -INFINITY;
            }
    }
}

/* 2x2/2 backward for one plane whose windows tile it exactly: every input
 * position is written, so dx is overwritten (or accumulated) without a
 * separate zeroing pass. Written with bitwise masks so that it vectorises.
 * The first of a, b, c, d (row-major) equal to the max gets the gradient. */
#define MAXPOOL2X2_BWD(OP)                                                                   \
    for (int i = 0; i < oh; i++) {                                                           \
        const float *r0 = xp + (size_t)(2 * i) * w, *r1 = r0 + w;                            \
        float *d0 = dxp + (size_t)(2 * i) * w, *d1 = d0 + w;                                 \
        const float *gr = gp + (size_t)i * ow;                                               \
        for (int j = 0; j < ow; j++) {                                                       \
            float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];        \
            float m = a > b ? a : b;                                                         \
            m = m > c ? m : c;                                                               \
            m = m > d ? m : d;                                                               \
            /* the gradient passes along a, b, c, d until one equals m */                   \
            float rest = gr[j];                                                              \
            float ga = a == m ? rest : 0.0f;                                                 \
            rest = a == m ? 0.0f : rest;                                                     \
            float gb = b == m ? rest : 0.0f;                                                 \
            rest = b == m ? 0.0f : rest;                                                     \
            float gc = c == m ? rest : 0.0f;                                                 \
            rest = c == m ? 0.0f : rest;                                                     \
            d0[2 * j] OP(ga);                                                                \
            d0[2 * j + 1] OP(gb);                                                            \
            d1[2 * j] OP(gc);                                                                \
            d1[2 * j + 1] OP(rest);                                                          \
        }                                                                                    \
    }
#define ASSIGN(v) = v
#define ACCUM(v) += v

static void maxpool2x2_backward_set(const float *restrict xp, const float *restrict gp, float *restrict dxp, int w, int oh,
                                    int ow)
{
    MAXPOOL2X2_BWD(ASSIGN)
}

static void maxpool2x2_backward_add(const float *restrict xp, const float *restrict gp, float *restrict dxp, int w, int oh,
                                    int ow)
{
    MAXPOOL2X2_BWD(ACCUM)
}

static void maxpool_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    const pith_attrs *a = &nd->a;
    const int planes = c->batch * c->in[0].d[0], h = c->in[0].d[1], w = c->in[0].d[2];
    const int oh = nd->out.d[1], ow = nd->out.d[2];
    const int tiles = is_2x2(a) && h % 2 == 0 && w % 2 == 0;
    const int overwrite = c->dx_overwrite[0];
#pragma omp parallel for schedule(static) if ((size_t)planes * h * w > PITH_OMP_MIN)
    for (int pl = 0; pl < planes; pl++) {
        const float *xp = c->x[0] + (size_t)pl * h * w;
        float *dxp = c->dx[0] + (size_t)pl * h * w;
        const float *gp = nd->dy + (size_t)pl * oh * ow;
        if (tiles) {
            if (overwrite)
                maxpool2x2_backward_set(xp, gp, dxp, w, oh, ow);
            else
                maxpool2x2_backward_add(xp, gp, dxp, w, oh, ow);
            continue;
        }
        if (overwrite)
            memset(dxp, 0, (size_t)h * w * sizeof(float));
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                int bi = window_argmax(a, xp, h, w, i, j);
                if (bi >= 0)
                    dxp[bi] += gp[i * ow + j];
            }
    }
}

const pith_op pith_op_maxpool = {
    .name = "maxpool", .min_in = 1, .max_in = 1,
    .shape = maxpool_shape, .forward = maxpool_forward, .backward = maxpool_backward, .overwrite_dx = 1,
};
