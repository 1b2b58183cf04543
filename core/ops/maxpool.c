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
    return a->kh == 2 && a->kw == 2 && a->sh == 2 && a->sw == 2 && a->ph == 0 && a->pw == 0 && !a->pool_ext;
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

static void maxpool_forward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    const pith_attrs *a = &nd->a;
    const int h = c->in[0].d[1], w = c->in[0].d[2];
    const int oh = nd->out.d[1], ow = nd->out.d[2];
    const int fast = is_2x2(a);
    for (int pl = (int)lo; pl < (int)hi; pl++) {
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

static void maxpool_forward(pith_node *nd, const pith_ctx *c)
{
    pith_for_planes(nd, c, maxpool_forward_range);
}

/* 2x2/2 backward for one plane whose windows tile it exactly: every input
 * position is written, so dx is overwritten (or accumulated) without a
 * separate zeroing pass. The first of a, b (top row), c, d (bottom row) that
 * equals the window's max gets the gradient. Four windows at a time with
 * GCC vector extensions: lanes hold a0 b0 a1 b1 ..., a pair swap gives every
 * lane its partner, and the tie rule becomes mask arithmetic. */
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

static inline v8f vsel(v8i m, v8f a, v8f b) { return (v8f)((m & (v8i)a) | (~m & (v8i)b)); }
static inline v8f vmax(v8f a, v8f b) { return vsel(a > b, a, b); }

static void maxpool2x2_backward(const float *restrict xp, const float *restrict gp,
                                float *restrict dxp, int w, int oh, int ow, int overwrite)
{
    const v8i swap = {1, 0, 3, 2, 5, 4, 7, 6}, dup = {0, 0, 1, 1, 2, 2, 3, 3};
    const v8i odd = {0, -1, 0, -1, 0, -1, 0, -1};
    for (int i = 0; i < oh; i++) {
        const float *r0 = xp + (size_t)(2 * i) * w, *r1 = r0 + w;
        float *d0 = dxp + (size_t)(2 * i) * w, *d1 = d0 + w;
        const float *gr = gp + (size_t)i * ow;
        int j = 0;
        for (;; j += 4) {
            /* When overwriting, the last block may overlap the previous one:
             * it writes the same values again. */
            if (j + 4 > ow) {
                if (!overwrite || ow < 4 || j >= ow)
                    break;
                j = ow - 4;
            }
            v8f A, B, G = {0};
            memcpy(&A, r0 + 2 * j, sizeof A);
            memcpy(&B, r1 + 2 * j, sizeof B);
            memcpy(&G, gr + j, 4 * sizeof(float));
            G = __builtin_shuffle(G, dup);
            v8f P = __builtin_shuffle(A, swap), Q = __builtin_shuffle(B, swap);
            v8f M = vmax(vmax(A, P), vmax(B, Q));
            v8i eA = A == M, eP = P == M, eB = B == M, eQ = Q == M;
            v8i wA = eA & ~(odd & eP);
            v8i wB = eB & ~(eA | eP) & ~(odd & eQ);
            v8f zero = {0};
            v8f gA = vsel(wA, G, zero), gB = vsel(wB, G, zero);
            if (!overwrite) {
                v8f oA, oB;
                memcpy(&oA, d0 + 2 * j, sizeof oA);
                memcpy(&oB, d1 + 2 * j, sizeof oB);
                gA += oA;
                gB += oB;
            }
            memcpy(d0 + 2 * j, &gA, sizeof gA);
            memcpy(d1 + 2 * j, &gB, sizeof gB);
            if (j + 4 == ow) {
                j = ow;
                break;
            }
        }
        for (; j < ow; j++) {
            float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
            float m = a > b ? a : b;
            m = m > c ? m : c;
            m = m > d ? m : d;
            float g[4] = {0, 0, 0, 0};
            g[a == m ? 0 : b == m ? 1 : c == m ? 2 : 3] = gr[j];
            if (overwrite) {
                d0[2 * j] = g[0];
                d0[2 * j + 1] = g[1];
                d1[2 * j] = g[2];
                d1[2 * j + 1] = g[3];
            } else {
                d0[2 * j] += g[0];
                d0[2 * j + 1] += g[1];
                d1[2 * j] += g[2];
                d1[2 * j + 1] += g[3];
            }
        }
    }
}

static void maxpool_backward_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    if (!c->dx[0])
        return;
    const pith_attrs *a = &nd->a;
    const int h = c->in[0].d[1], w = c->in[0].d[2];
    const int oh = nd->out.d[1], ow = nd->out.d[2];
    const int tiles = is_2x2(a) && h % 2 == 0 && w % 2 == 0;
    const int overwrite = c->dx_overwrite[0];
    for (int pl = (int)lo; pl < (int)hi; pl++) {
        const float *xp = c->x[0] + (size_t)pl * h * w;
        float *dxp = c->dx[0] + (size_t)pl * h * w;
        const float *gp = nd->dy + (size_t)pl * oh * ow;
        if (tiles) {
            maxpool2x2_backward(xp, gp, dxp, w, oh, ow, overwrite);
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

static void maxpool_backward(pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0])
        return;
    pith_for_planes(nd, c, maxpool_backward_range);
}

const pith_op pith_op_maxpool = {
    .name = "maxpool", .min_in = 1, .max_in = 1,
    .shape = maxpool_shape, .forward = maxpool_forward, .backward = maxpool_backward, .overwrite_dx = 1,
};
