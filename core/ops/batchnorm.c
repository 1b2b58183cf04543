/* batchnorm over channels: 2d on CxHxW, 1d on features (a 1x1 plane).
 * Training normalises with the biased batch variance and updates the running
 * statistics with the unbiased one, as PyTorch does. Eval mode uses the
 * running statistics, and its backward is that of the fixed affine map.
 * Forward saves only the per-channel mean and 1/std; backward recomputes
 * x-hat from the input, which is cheaper than writing and re-reading it.
 * When the graph compiler fuses a following relu/relu6 into this node
 * (nd->fused_act), forward clamps its output and backward masks the incoming
 * gradient with that output, so the activation costs no pass of its own. */
#include "op_util.h"

typedef struct bn_geom {
    int n, c, hw;
} bn_geom;

static bn_geom geom_of(const pith_shape *in, int batch)
{
    bn_geom g = {batch, in->d[0], in->ndim == 3 ? in->d[1] * in->d[2] : 1};
    return g;
}

static int bn_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    if (!(nd->a.eps > 0.0f) || !(nd->a.momentum >= 0.0f && nd->a.momentum <= 1.0f))
        return pith_error(PITH_EINVAL, "batchnorm '%s': eps must be > 0 and momentum in [0, 1]",
                          nd->name);
    if (nd->n_params) {
        for (int j = 0; j < 4; j++) {
            int rc = check_param_shape(nd, j, 1, &in[0].d[0]);
            if (rc)
                return rc;
        }
    }
    *out = in[0];
    return PITH_OK;
}

static int bn_init(pith_node *nd, const pith_shape *in, pith_rng *rng)
{
    (void)rng;
    const int *c = &in[0].d[0];
    pith_param *gamma = pith_node_new_param(nd, "weight", 1, c, 1);
    pith_param *beta = gamma ? pith_node_new_param(nd, "bias", 1, c, 1) : NULL;
    pith_param *rm = beta ? pith_node_new_param(nd, "running_mean", 1, c, 0) : NULL;
    pith_param *rv = rm ? pith_node_new_param(nd, "running_var", 1, c, 0) : NULL;
    if (!rv)
        return PITH_ENOMEM;
    for (int i = 0; i < *c; i++) {
        gamma->data[i] = 1.0f;
        rv->data[i] = 1.0f;
    }
    return PITH_OK;
}

/* Workspace: the planned thread count (first 64 bytes), the per-channel mean
 * and inverse std saved for backward, then per-thread scratch. */
#define BN_HEAD 16 /* floats */

static size_t bn_workspace(const pith_node *nd, const pith_shape *in, int batch)
{
    (void)nd;
    /* 2d: room for one channel's gradient planes per thread, used when a
     * following maxpool is fused in (decided after workspaces are sized) */
    size_t scratch = in->ndim == 3 ? (size_t)batch * in->d[1] * in->d[2] * pith_get_threads() : 0;
    return (BN_HEAD + 2 * (size_t)in->d[0] + scratch) * sizeof(float);
}

static void bn_prepare(pith_node *nd, const pith_shape *in, int batch)
{
    (void)in;
    (void)batch;
    *(int *)nd->ws = pith_get_threads();
}

/* The fused activation passes the gradient where 0 < v (and v < 6 for relu6),
 * v = x * scale + shift computed exactly as in forward (this file is built
 * without floating-point contraction, so both compute the same v). */
static inline float pass(float x, float scale, float shift, float hi)
{
    float v = x * scale + shift;
    return (v > 0.0f && v < hi) ? 1.0f : 0.0f;
}

/* Fused 2x2/2 maxpool. Four windows at a time with GCC vector extensions:
 * lanes hold a0 b0 a1 b1 ... of a row pair, a pair swap gives every lane its
 * partner. The arithmetic is the scalar code's, lane by lane (v = x * scale +
 * shift, no contraction; r = clamp(v); max picks one of its inputs), so the
 * results equal the unfused ops' bit for bit. Both outputs are written whole,
 * so the last block may overlap the one before it. */
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

static inline v8f vsel(v8i m, v8f a, v8f b) { return (v8f)((m & (v8i)a) | (~m & (v8i)b)); }
static inline v8f vmax8(v8f a, v8f b) { return vsel(a > b, a, b); }

static inline void window_block(const float *r0, const float *r1, float scale, float shift,
                                float hi, v8f *V0, v8f *V1, v8f *R0, v8f *R1, v8f *P0, v8f *P1,
                                v8f *M)
{
    const v8i swap = {1, 0, 3, 2, 5, 4, 7, 6};
    const v8f zero = {0}, S = zero + scale, SH = zero + shift, HI = zero + hi;
    v8f A, B;
    memcpy(&A, r0, sizeof A);
    memcpy(&B, r1, sizeof B);
    *V0 = A * S;
    *V0 = *V0 + SH;
    *V1 = B * S;
    *V1 = *V1 + SH;
    *R0 = vsel(*V0 > zero, vsel(*V0 < HI, *V0, HI), zero);
    *R1 = vsel(*V1 > zero, vsel(*V1 < HI, *V1, HI), zero);
    *P0 = __builtin_shuffle(*R0, swap);
    *P1 = __builtin_shuffle(*R1, swap);
    *M = vmax8(vmax8(*R0, *P0), vmax8(*R1, *P1));
}

static void pool_forward(const float *restrict x, float *restrict y, int h, int w, float scale,
                         float shift, float hi)
{
    const int ow = w / 2;
    for (int i = 0; i < h / 2; i++) {
        const float *r0 = x + (size_t)(2 * i) * w, *r1 = r0 + w;
        float *yr = y + (size_t)i * ow;
        if (ow >= 4) {
            for (int j = 0;; j += 4) {
                if (j + 4 > ow)
                    j = ow - 4;
                v8f V0, V1, R0, R1, P0, P1, M;
                window_block(r0 + 2 * j, r1 + 2 * j, scale, shift, hi, &V0, &V1, &R0, &R1, &P0, &P1, &M);
                float out[4] = {M[0], M[2], M[4], M[6]};
                memcpy(yr + j, out, sizeof out);
                if (j + 4 >= ow)
                    break;
            }
            continue;
        }
        for (int j = 0; j < ow; j++) {
            float a = r0[2 * j] * scale + shift, b = r0[2 * j + 1] * scale + shift;
            float c = r1[2 * j] * scale + shift, d = r1[2 * j + 1] * scale + shift;
            a = a > 0.0f ? (a < hi ? a : hi) : 0.0f;
            b = b > 0.0f ? (b < hi ? b : hi) : 0.0f;
            c = c > 0.0f ? (c < hi ? c : hi) : 0.0f;
            d = d > 0.0f ? (d < hi ? d : hi) : 0.0f;
            float m0 = a > b ? a : b, m1 = c > d ? c : d;
            yr[j] = m0 > m1 ? m0 : m1;
        }
    }
}

/* Gradient plane of the fused activation + pool: the pool's gradient goes to
 * the first maximum of each window (row-major, as maxpool does), and passes
 * only where the activation passed (0 < v < hi). */
static void pool_backward(const float *restrict x, const float *restrict gy, float *restrict g, int h,
                          int w, float scale, float shift, float hi)
{
    const int ow = w / 2;
    const v8i dup = {0, 0, 1, 1, 2, 2, 3, 3}, odd = {0, -1, 0, -1, 0, -1, 0, -1};
    const v8f zero = {0}, HI = zero + hi;
    for (int i = 0; i < h / 2; i++) {
        const float *r0 = x + (size_t)(2 * i) * w, *r1 = r0 + w;
        float *g0 = g + (size_t)(2 * i) * w, *g1 = g0 + w;
        const float *gr = gy + (size_t)i * ow;
        if (ow >= 4) {
            for (int j = 0;; j += 4) {
                if (j + 4 > ow)
                    j = ow - 4;
                v8f V0, V1, R0, R1, P0, P1, M, G = {0};
                window_block(r0 + 2 * j, r1 + 2 * j, scale, shift, hi, &V0, &V1, &R0, &R1, &P0, &P1, &M);
                memcpy(&G, gr + j, 4 * sizeof(float));
                G = __builtin_shuffle(G, dup);
                v8i eA = R0 == M, eP = P0 == M, eB = R1 == M, eQ = P1 == M;
                v8i wA = eA & ~(odd & eP);
                v8i wB = eB & ~(eA | eP) & ~(odd & eQ);
                v8i pA = (V0 > zero) & (V0 < HI), pB = (V1 > zero) & (V1 < HI);
                v8f gA = vsel(wA & pA, G, zero), gB = vsel(wB & pB, G, zero);
                memcpy(g0 + 2 * j, &gA, sizeof gA);
                memcpy(g1 + 2 * j, &gB, sizeof gB);
                if (j + 4 >= ow)
                    break;
            }
            continue;
        }
        for (int j = 0; j < ow; j++) {
            float v[4] = {r0[2 * j] * scale + shift, r0[2 * j + 1] * scale + shift,
                          r1[2 * j] * scale + shift, r1[2 * j + 1] * scale + shift};
            float r[4];
            for (int q = 0; q < 4; q++)
                r[q] = v[q] > 0.0f ? (v[q] < hi ? v[q] : hi) : 0.0f;
            float m0 = r[0] > r[1] ? r[0] : r[1], m1 = r[2] > r[3] ? r[2] : r[3];
            float m = m0 > m1 ? m0 : m1;
            int at = r[0] == m ? 0 : r[1] == m ? 1 : r[2] == m ? 2 : 3;
            float gv = (v[at] > 0.0f && v[at] < hi) ? gr[j] : 0.0f;
            g0[2 * j] = at == 0 ? gv : 0.0f;
            g0[2 * j + 1] = at == 1 ? gv : 0.0f;
            g1[2 * j] = at == 2 ? gv : 0.0f;
            g1[2 * j + 1] = at == 3 ? gv : 0.0f;
        }
    }
}

static void masked_sums(const float *restrict dy, const float *restrict x, int n, float scale,
                        float shift, int act, float *s1, float *s2)
{
    const float hi = act == 2 ? 6.0f : INFINITY;
    float a1[16] = {0}, a2[16] = {0};
    int p = 0;
    for (; p + 16 <= n; p += 16)
        for (int k = 0; k < 16; k++) {
            float g = pass(x[p + k], scale, shift, hi) != 0.0f ? dy[p + k] : 0.0f;
            a1[k] += g;
            a2[k] += g * x[p + k];
        }
    float t1 = 0.0f, t2 = 0.0f;
    for (; p < n; p++) {
        float g = pass(x[p], scale, shift, hi) != 0.0f ? dy[p] : 0.0f;
        t1 += g;
        t2 += g * x[p];
    }
    for (int k = 0; k < 16; k++) {
        t1 += a1[k];
        t2 += a2[k];
    }
    *s1 = t1;
    *s2 = t2;
}

static void masked_dx(const float *restrict dy, const float *restrict x, float *restrict dx, int n,
                      float scale, float shift, int act, float k, float a, float b, int overwrite)
{
    const float hi = act == 2 ? 6.0f : INFINITY;
    for (int p = 0; p < n; p++) {
        float g = pass(x[p], scale, shift, hi) != 0.0f ? dy[p] : 0.0f;
        float v = k * g - a * x[p] + b;
        dx[p] = overwrite ? v : dx[p] + v;
    }
}

/* One channel's inverse std, scale and shift (y = x * scale + shift). */
static inline void bn_affine(float gamma, float beta, float mean, float var, float eps, float *is, float *scale,
                             float *shift)
{
    *is = 1.0f / sqrtf(var + eps);
    *scale = gamma * *is;
    *shift = beta - mean * *scale;
}

void pith_batchnorm_affine(const pith_node *n, int ch, float *scale, float *shift)
{
    float is;
    bn_affine(pith_param_value(&n->params[0])[ch], pith_param_value(&n->params[1])[ch], n->params[2].data[ch],
              n->params[3].data[ch], n->a.eps, &is, scale, shift);
}


/* 1-d inputs have one value per (sample, channel): a strided reduction. */
static void channel_stats(const float *x, bn_geom g, int ch, float *mean, float *var)
{
    const size_t m = (size_t)g.n * g.hw;
    double s = 0.0, ss = 0.0;
    for (int n = 0; n < g.n; n++) {
        const float *xp = x + ((size_t)n * g.c + ch) * g.hw;
        s += g.hw > 1 ? sum_f32(xp, g.hw) : xp[0];
    }
    float mu = (float)(s / (double)m);
    for (int n = 0; n < g.n; n++) {
        const float *xp = x + ((size_t)n * g.c + ch) * g.hw;
        ss += g.hw > 1 ? sum_sqdev_f32(xp, mu, g.hw) : (xp[0] - mu) * (xp[0] - mu);
    }
    *mean = mu;
    *var = (float)ss; /* sum of squared deviations; caller divides */
}

static void bn_forward_channel(void *arg, int ch, int thread)
{
    (void)thread;
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    bn_geom g = geom_of(&c->in[0], c->batch);
    const float *gamma = pith_param_value(&nd->params[0]);
    const float *beta = pith_param_value(&nd->params[1]);
    float *rm = nd->params[2].data, *rv = nd->params[3].data;
    float *saved_mean = (float *)nd->ws + BN_HEAD, *saved_invstd = saved_mean + g.c;
    const float eps = nd->a.eps, mom = nd->a.momentum;
    const size_t m = (size_t)g.n * g.hw;
    const int training = c->training, act = nd->fused_act;
    const int h = c->in[0].ndim == 3 ? c->in[0].d[1] : 1, w = c->in[0].ndim == 3 ? c->in[0].d[2] : 1;
    float mean, var;
    if (training) {
        float ssd;
        channel_stats(c->x[0], g, ch, &mean, &ssd);
        var = (float)((double)ssd / (double)m);
        float unbiased = m > 1 ? (float)((double)ssd / (double)(m - 1)) : var;
        rm[ch] = (1.0f - mom) * rm[ch] + mom * mean;
        rv[ch] = (1.0f - mom) * rv[ch] + mom * unbiased;
    } else {
        mean = rm[ch];
        var = rv[ch];
    }
    float is, scale, shift;
    bn_affine(gamma[ch], beta[ch], mean, var, eps, &is, &scale, &shift);
    saved_mean[ch] = mean;
    saved_invstd[ch] = is;
    const float hi = act == 2 ? 6.0f : INFINITY;
    for (int n = 0; n < g.n; n++) {
        size_t off = ((size_t)n * g.c + ch) * g.hw;
        const float *xp = c->x[0] + off;
        float *yp = nd->y + off;
        if (nd->pool_y) {
            pool_forward(xp, nd->pool_y + off / 4, h, w, scale, shift, hi);
            continue;
        }
        if (act)
            for (int p = 0; p < g.hw; p++) {
                float v = xp[p] * scale + shift;
                v = v > 0.0f ? v : 0.0f;
                yp[p] = v < hi ? v : hi;
            }
        else
            for (int p = 0; p < g.hw; p++)
                yp[p] = xp[p] * scale + shift;
    }
}


static void bn_backward_channel(void *arg, int ch, int thread)
{
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    bn_geom g = geom_of(&c->in[0], c->batch);
    const float *gamma = pith_param_value(&nd->params[0]);
    const float *beta = pith_param_value(&nd->params[1]);
    float *dgamma = nd->params[0].grad, *dbeta = nd->params[1].grad;
    const float *saved_mean = (const float *)nd->ws + BN_HEAD, *saved_invstd = saved_mean + g.c;
    const size_t m = (size_t)g.n * g.hw;
    const int training = c->training;
    float *dx = c->dx[0];
    const int ow = c->dx_overwrite[0], act = nd->fused_act;
    const int h = c->in[0].ndim == 3 ? c->in[0].d[1] : 1, w = c->in[0].ndim == 3 ? c->in[0].d[2] : 1;
    const float mean = saved_mean[ch], is = saved_invstd[ch];
    const float scale = gamma[ch] * is, shift = beta[ch] - mean * scale;
    double sdy = 0.0, sdyx = 0.0;
    float *gplanes = (float *)nd->ws + BN_HEAD + 2 * (size_t)g.c +
                     (size_t)thread * g.n * g.hw;
    for (int n = 0; n < g.n; n++) {
        size_t off = ((size_t)n * g.c + ch) * g.hw;
        const float *gp = nd->dy + off, *xp = c->x[0] + off;
        if (nd->pool_y) {
            /* the pool's and the activation's backward: the gradient of
             * this plane, built in scratch, then summed like any other */
            float *gpl = gplanes + (size_t)n * g.hw;
            pool_backward(xp, nd->pool_dy + off / 4, gpl, h, w, scale, shift, act == 2 ? 6.0f : INFINITY);
            sdy += sum_f32(gpl, g.hw);
            sdyx += dot_f32(gpl, xp, g.hw);
            continue;
        }
        if (act) {
            /* the fused activation's backward: its mask is recomputed from
             * x with the forward's exact arithmetic, so y need not be read */
            float s1 = 0.0f, s2 = 0.0f;
            masked_sums(gp, xp, g.hw, scale, shift, act, &s1, &s2);
            sdy += s1;
            sdyx += s2;
        } else if (g.hw > 1) {
            sdy += sum_f32(gp, g.hw);
            sdyx += dot_f32(gp, xp, g.hw);
        } else {
            sdy += gp[0];
            sdyx += (double)gp[0] * xp[0];
        }
    }
    /* sum(dy * xhat) = is * (sum(dy * x) - mean * sum(dy)) */
    const double sdyh = is * (sdyx - mean * sdy);
    dgamma[ch] += (float)sdyh;
    dbeta[ch] += (float)sdy;
    if (!dx)
        return;
    const float k = gamma[ch] * is;
    const float mdy = training ? (float)(sdy / (double)m) : 0.0f;
    const float mdyh = training ? (float)(sdyh / (double)m) : 0.0f;
    /* dx = k * (dy - mean(dy) - xhat * mean(dy * xhat)), xhat = (x - mean) * is */
    const float a = k * mdyh * is, b = -k * mdy + k * mdyh * is * mean;
    for (int n = 0; n < g.n; n++) {
        size_t off = ((size_t)n * g.c + ch) * g.hw;
        const float *gp = nd->dy + off, *xp = c->x[0] + off;
        float *dxp = dx + off;
        if (nd->pool_y)
            gp = gplanes + (size_t)n * g.hw; /* already masked */
        else if (act) {
            masked_dx(gp, xp, dxp, g.hw, scale, shift, act, k, a, b, ow);
            continue;
        }
        if (ow)
            for (int p = 0; p < g.hw; p++)
                dxp[p] = k * gp[p] - a * xp[p] + b;
        else
            for (int p = 0; p < g.hw; p++)
                dxp[p] += k * gp[p] - a * xp[p] + b;
    }
}

/* One task per channel; small layers (1-d after a linear) on the caller. */
static void bn_channels(pith_node *nd, const pith_ctx *c, pith_task_fn fn)
{
    bn_geom g = geom_of(&c->in[0], c->batch);
    pith_op_call call = {nd, c};
    if ((size_t)g.n * g.hw * g.c <= PITH_GRAIN)
        for (int ch = 0; ch < g.c; ch++)
            fn(&call, ch, 0);
    else
        pith_parallel(g.c, *(int *)nd->ws, fn, &call);
}

static void bn_forward(pith_node *nd, const pith_ctx *c) { bn_channels(nd, c, bn_forward_channel); }
static void bn_backward(pith_node *nd, const pith_ctx *c) { bn_channels(nd, c, bn_backward_channel); }

const pith_op pith_op_batchnorm = {
    .name = "batchnorm", .min_in = 1, .max_in = 1,
    .shape = bn_shape, .init = bn_init, .workspace = bn_workspace, .prepare = bn_prepare,
    .forward = bn_forward, .backward = bn_backward, .overwrite_dx = 1,
};
