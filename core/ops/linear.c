/* linear: y = x W^T + b, x [N, in], W [out, in].
 *
 * Big layers split their GEMMs by hand into pieces (of output features, or
 * of input features for dx) that the workbench's threads share, each piece
 * one single-threaded GEMM: for a batch of 64 that beats OpenBLAS's own
 * split, and the pieces do not change with the thread count. */
#include <cblas.h>

#include "op_util.h"

static int linear_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    if (in[0].ndim != 1)
        return pith_error(PITH_ESHAPE,
                          "linear '%s': input must be a feature vector (add a flatten), got %d dims",
                          nd->name, in[0].ndim);
    if (nd->a.out <= 0)
        return pith_error(PITH_EINVAL, "linear '%s': out features must be >= 1", nd->name);
    if (nd->n_params) {
        int ws[2] = {nd->a.out, in[0].d[0]};
        int rc = check_param_shape(nd, 0, 2, ws);
        if (!rc && nd->a.bias)
            rc = check_param_shape(nd, 1, 1, &nd->a.out);
        if (rc)
            return rc;
    }
    out->ndim = 1;
    out->d[0] = nd->a.out;
    return PITH_OK;
}

static int linear_init(pith_node *nd, const pith_shape *in, pith_rng *rng)
{
    int ws[2] = {nd->a.out, in[0].d[0]};
    pith_param *w = pith_node_new_param(nd, "weight", 2, ws, 1);
    if (!w)
        return PITH_ENOMEM;
    float bound = 1.0f / sqrtf((float)in[0].d[0]);
    pith_fill_uniform(w->data, w->size, bound, rng);
    if (nd->a.bias) {
        pith_param *b = pith_node_new_param(nd, "bias", 1, &nd->a.out, 1);
        if (!b)
            return PITH_ENOMEM;
        pith_fill_uniform(b->data, b->size, bound, rng);
    }
    return PITH_OK;
}

/* Pieces of a dimension of `total`: fixed by the layer's shape alone (never
 * by the thread count), so each piece is the same GEMM on any number of
 * threads. Small layers are one piece; big ones up to 8, each a multiple of
 * 16 wide (whole GEMM kernel blocks) and at least 64. */
static int pieces_of(int n, int fin, int fout, int total)
{
    if ((double)n * fin * fout < 1e6)
        return 1;
    int p = total / 64;
    return p < 1 ? 1 : p > 8 ? 8 : p;
}

static void piece(int total, int pieces, int k, int *lo, int *hi)
{
    int step = ((total + pieces - 1) / pieces + 15) & ~15;
    *lo = k * step < total ? k * step : total;
    *hi = (k + 1) * step < total ? (k + 1) * step : total;
}

static void linear_forward_piece(void *arg, int k, int thread)
{
    (void)thread;
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    const int n = c->batch, fin = c->in[0].d[0], fout = nd->a.out;
    const float *w = pith_param_value(&nd->params[0]);
    const float *b = nd->a.bias ? pith_param_value(&nd->params[1]) : NULL;
    float *y = nd->y;
    int o0, o1;
    piece(fout, pieces_of(n, fin, fout, fout), k, &o0, &o1);
    if (o1 <= o0)
        return;
    if (b)
        for (int i = 0; i < n; i++)
            memcpy(y + (size_t)i * fout + o0, b + o0, (size_t)(o1 - o0) * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, o1 - o0, fin, 1.0f, c->x[0], fin,
                w + (size_t)o0 * fin, fin, b ? 1.0f : 0.0f, y + o0, fout);
}

static void linear_forward(pith_node *nd, const pith_ctx *c)
{
    pith_op_call call = {nd, c};
    const int fin = c->in[0].d[0], fout = nd->a.out;
    pith_parallel(pieces_of(c->batch, fin, fout, fout), PITH_ANY_THREADS, linear_forward_piece, &call);
}

/* Tasks [0, pw): pieces of output features (dW rows, db); [pw, pw + px):
 * pieces of input features (dx columns). */
static void linear_backward_piece(void *arg, int k, int thread)
{
    (void)thread;
    const pith_op_call *call = arg;
    pith_node *nd = call->nd;
    const pith_ctx *c = call->c;
    const int n = c->batch, fin = c->in[0].d[0], fout = nd->a.out;
    pith_param *wp = &nd->params[0];
    const float *w = pith_param_value(wp), *x = c->x[0], *dy = nd->dy;
    float *db = nd->a.bias ? nd->params[1].grad : NULL, *dx = c->dx[0];
    const int pw = pieces_of(n, fin, fout, fout), px = pieces_of(n, fin, fout, fin);
    if (k < pw) {
        int o0, o1;
        piece(fout, pw, k, &o0, &o1);
        if (o1 <= o0)
            return;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, fin, n, 1.0f, dy + o0, fout, x, fin,
                    1.0f, wp->grad + (size_t)o0 * fin, fin);
        if (db)
            for (int i = 0; i < n; i++) {
                const float *g = dy + (size_t)i * fout;
                for (int o = o0; o < o1; o++)
                    db[o] += g[o];
            }
        return;
    }
    int k0, k1;
    piece(fin, px, k - pw, &k0, &k1);
    if (dx && k1 > k0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k1 - k0, fout, 1.0f, dy, fout, w + k0, fin,
                    c->dx_overwrite[0] ? 0.0f : 1.0f, dx + k0, fin);
}

static void linear_backward(pith_node *nd, const pith_ctx *c)
{
    pith_op_call call = {nd, c};
    const int n = c->batch, fin = c->in[0].d[0], fout = nd->a.out;
    pith_parallel(pieces_of(n, fin, fout, fout) + (c->dx[0] ? pieces_of(n, fin, fout, fin) : 0), PITH_ANY_THREADS,
                  linear_backward_piece, &call);
}

static int64_t linear_macs(const pith_node *nd, const pith_shape *in)
{
    return (int64_t)nd->a.out * in[0].d[0];
}

const pith_op pith_op_linear = {
    .name = "linear", .min_in = 1, .max_in = 1,
    .shape = linear_shape, .init = linear_init,
    .forward = linear_forward, .backward = linear_backward, .overwrite_dx = 1, .macs = linear_macs,
};
