/* fake_quant: the graph node that quantizes an activation tensor.
 *
 * Forward is dequantize(quantize(x)) with the integer kernels' rounding and
 * clamps (per tensor, parameters "scale" and "zero_point"). Backward is the
 * clipped straight-through estimator: the gradient passes where round(x/s)+z
 * lies inside [qmin, qmax] and is zero outside. With qlsq the scale is a
 * trainable parameter with the LSQ gradient (Esser et al. 2020); with qema
 * training updates the observed range [lo, hi] by an exponential moving
 * average of each batch's min/max (momentum 0.01, PyTorch's default) and
 * recomputes scale and zero point from it.
 *
 * With qacc the input is a quantized conv/linear's output (s_in * s_w[c] *
 * acc, possibly through relu). In evaluation the node then recovers the
 * integer accumulator and requantizes it with the fixed-point multiplier
 * exactly as the integer kernel does, so the workbench computes the board's
 * numbers; "acc_scale" (s_in * s_w[c] per channel) is written by the layer's
 * weight quantizer before every forward. A zero acc_scale falls back to the
 * plain path.
 *
 * With qrelu (1: relu, 2: relu6) the node applies the activation before
 * quantizing, as the integer kernel folds it into its output clamp; the
 * quantization pass folds a relu that only feeds the quantizer this way.
 *
 * With qstoch, training rounds stochastically (floor(x/s + u)); evaluation
 * always rounds to nearest even, as the kernels do.
 *
 * qmode 0 passes the input through (after qrelu's activation): calibration
 * runs the float model with every node in that mode and reads the outputs. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "../core/error.h"
#include "../core/graph.h"
#include "../core/rng.h"
#include "../core/threads.h"
#include "quant.h"
#include "quantizer.h"

enum { P_SCALE, P_ZERO_POINT, P_LO, P_HI, P_ACC_SCALE };

pith_qspec pith_fq_spec(const pith_node *nd)
{
    pith_qspec s = {nd->a.qbits, nd->a.qsym, nd->a.qsigned, nd->a.qnarrow, PITH_QGRAN_TENSOR, 0,
                    PITH_QROUND_EVEN};
    return s;
}

static int fq_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    pith_qspec s = pith_fq_spec(nd);
    int rc = pith_qspec_check(&s);
    if (rc)
        return pith_error(rc, "node '%s': %s", nd->name, pith_last_error());
    if (nd->a.qmode < 0 || nd->a.qmode > 1)
        return pith_error(PITH_EINVAL, "node '%s': qmode %d (expected 0 or 1)", nd->name, nd->a.qmode);
    if (nd->a.qrelu < 0 || nd->a.qrelu > 2)
        return pith_error(PITH_EINVAL, "node '%s': qrelu %d (0, 1 relu, 2 relu6)", nd->name, nd->a.qrelu);
    if (nd->a.qlsq && nd->a.qema)
        return pith_error(PITH_EINVAL, "node '%s': a learned scale (LSQ) and an EMA range exclude each other",
                          nd->name);
    *out = in[0];
    return PITH_OK;
}

static int fq_init(pith_node *nd, const pith_shape *in, pith_rng *rng)
{
    (void)rng;
    const int one = 1;
    pith_param *s = pith_node_new_param(nd, "scale", 1, &one, nd->a.qlsq != 0);
    pith_param *z = s ? pith_node_new_param(nd, "zero_point", 1, &one, 0) : NULL;
    pith_param *lo = z ? pith_node_new_param(nd, "lo", 1, &one, 0) : NULL;
    pith_param *hi = lo ? pith_node_new_param(nd, "hi", 1, &one, 0) : NULL;
    if (!hi)
        return PITH_ENOMEM;
    if (nd->a.qacc && !pith_node_new_param(nd, "acc_scale", 1, &in[0].d[0], 0))
        return PITH_ENOMEM;
    s->data[0] = 1.0f;
    lo->data[0] = 1.0f; /* lo > hi: nothing observed yet */
    hi->data[0] = -1.0f;
    return PITH_OK;
}

/* relu / relu6 as the kernel's clamp; NaN maps to 0 like the relu op. Hot
 * loops call this with a literal `relu`, so each mode compiles to its own
 * branch-free, vectorised loop. */
static inline __attribute__((always_inline)) float act(float x, int relu)
{
    if (!relu)
        return x;
    x = x > 0.0f ? x : 0.0f;
    return relu == 2 && x > 6.0f ? 6.0f : x;
}

static inline __attribute__((always_inline)) int act_passes(float x, int relu)
{
    return !relu || (x > 0.0f && (relu == 1 || x < 6.0f));
}

/* Elementwise fake quantization; nearbyintf rounds half to even in the
 * default rounding mode, which pith never changes (tests check it against
 * pith_round_half_even). */
static inline __attribute__((always_inline)) void fq_plain_mode(const float *x, float *y, size_t n, float s,
                                                                  float z, float qmin, float qmax, const int relu)
{
    for (size_t i = 0; i < n; i++) {
        float q = nearbyintf(act(x[i], relu) / s) + z;
        q = q < qmin ? qmin : q > qmax ? qmax : q;
        y[i] = (q - z) * s;
    }
}

static void fq_plain(const float *x, float *y, size_t n, float s, float z, float qmin, float qmax, int relu)
{
    if (relu == 1)
        fq_plain_mode(x, y, n, s, z, qmin, qmax, 1);
    else if (relu == 2)
        fq_plain_mode(x, y, n, s, z, qmin, qmax, 2);
    else
        fq_plain_mode(x, y, n, s, z, qmin, qmax, 0);
}

/* The arguments of the parallel loops below, handed to their pieces. A
 * loop's pieces are at most FQ_PIECES, whole multiples of 1024 elements (the
 * LSQ sum's blocks), fixed by the size alone; a reduction keeps one partial
 * per piece and adds them in piece order, so no result depends on the
 * thread count. */
#define FQ_PIECES 64
typedef struct fq_call {
    const float *x, *dy;
    float *y, *dx;
    float s, z, qmin, qmax;
    int relu, ow;
    size_t grain;
    double part[FQ_PIECES];
    float lo[FQ_PIECES], hi[FQ_PIECES];
} fq_call;

static size_t fq_grain(size_t n)
{
    size_t g = ((n + FQ_PIECES - 1) / FQ_PIECES + 1023) & ~(size_t)1023;
    return g < 16384 ? 16384 : g;
}

static void fq_plain_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const fq_call *a = arg;
    fq_plain(a->x + lo, a->y + lo, hi - lo, a->s, a->z, a->qmin, a->qmax, a->relu);
}

static void fq_plain_parallel(const float *x, float *y, size_t n, float s, float z, float qmin, float qmax,
                              int relu)
{
    fq_call a = {.x = x, .y = y, .s = s, .z = z, .qmin = qmin, .qmax = qmax, .relu = relu};
    pith_parallel_for(n, fq_grain(n), fq_plain_range, &a);
}

static void fq_requant(pith_node *nd, const pith_ctx *c, float s, int32_t z, int32_t qmin, int32_t qmax)
{
    const float *acc_scale = nd->params[P_ACC_SCALE].data;
    const int ch = c->in[0].d[0];
    const size_t plane = pith_shape_size(&c->in[0]) / (size_t)ch;
    for (int b = 0; b < c->batch; b++)
        for (int k = 0; k < ch; k++) {
            size_t off = ((size_t)b * ch + k) * plane;
            const float *x = c->x[0] + off;
            float *y = nd->y + off;
            int32_t m;
            int shift;
            if (!(acc_scale[k] > 0.0f) ||
                pith_quantize_multiplier((double)acc_scale[k] / (double)s, &m, &shift)) {
                fq_plain(x, y, plane, s, (float)z, (float)qmin, (float)qmax, nd->a.qrelu);
                continue;
            }
            for (size_t i = 0; i < plane; i++) {
                float a = nearbyintf(act(x[i], nd->a.qrelu) / acc_scale[k]);
                int32_t acc = a >= 2147483520.0f ? INT32_MAX : a <= -2147483520.0f ? INT32_MIN : (int32_t)a;
                y[i] = (float)(pith_requantize(acc, m, shift, z, qmin, qmax) - z) * s;
            }
        }
}

static void minmax_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    fq_call *a = arg;
    float bmin = FLT_MAX, bmax = -FLT_MAX;
    for (size_t i = lo; i < hi; i++) {
        bmin = a->x[i] < bmin ? a->x[i] : bmin;
        bmax = a->x[i] > bmax ? a->x[i] : bmax;
    }
    a->lo[lo / a->grain] = bmin;
    a->hi[lo / a->grain] = bmax;
}

static void ema_update(pith_node *nd, const pith_qspec *spec, const float *x, size_t n)
{
    const int relu = nd->a.qrelu;
    fq_call a = {.x = x, .grain = fq_grain(n)};
    pith_parallel_for(n, a.grain, minmax_range, &a);
    float bmin = FLT_MAX, bmax = -FLT_MAX;
    for (size_t k = 0; k * a.grain < n; k++) {
        bmin = a.lo[k] < bmin ? a.lo[k] : bmin;
        bmax = a.hi[k] > bmax ? a.hi[k] : bmax;
    }
    if (relu) {
        bmin = act(bmin, relu);
        bmax = act(bmax, relu);
    }
    float *lo = nd->params[P_LO].data, *hi = nd->params[P_HI].data;
    if (!isfinite(bmin) || !isfinite(bmax))
        return;
    if (lo[0] > hi[0]) {
        lo[0] = bmin;
        hi[0] = bmax;
    } else {
        lo[0] += 0.01f * (bmin - lo[0]);
        hi[0] += 0.01f * (bmax - hi[0]);
    }
    int32_t zp;
    if (pith_qparams(spec, lo[0], hi[0], nd->params[P_SCALE].data, &zp) == PITH_OK)
        nd->params[P_ZERO_POINT].data[0] = (float)zp;
}

static void fq_forward(pith_node *nd, const pith_ctx *c)
{
    const size_t n = pith_shape_size(&c->in[0]) * (size_t)c->batch;
    const float *x = c->x[0];
    if (!nd->a.qmode) {
        if (!nd->a.qrelu)
            memcpy(nd->y, x, n * sizeof(float));
        else
            for (size_t i = 0; i < n; i++)
                nd->y[i] = act(x[i], nd->a.qrelu);
        return;
    }
    pith_qspec spec = pith_fq_spec(nd);
    int32_t qmin, qmax;
    pith_qspec_limits(&spec, &qmin, &qmax);
    if (c->training && nd->a.qema)
        ema_update(nd, &spec, x, n);
    float s = nd->params[P_SCALE].data[0];
    if (!(s >= FLT_MIN)) /* a learned scale must stay positive */
        s = nd->params[P_SCALE].data[0] = FLT_MIN;
    int32_t z = (int32_t)nd->params[P_ZERO_POINT].data[0];
    if (c->training && nd->a.qstoch) {
        /* stochastic rounding: floor(v + u), u uniform in [0, 1), from a
         * counter-based hash of (call seed, element): unbiased, reproducible */
        const float *xs = x;
        for (size_t i = 0; i < n; i++) {
            uint64_t st = c->seed ^ (i * 0x9E3779B97F4A7C15ull);
            float u = (float)(pith_splitmix64(&st) >> 40) * (1.0f / 16777216.0f);
            float q = floorf(act(xs[i], nd->a.qrelu) / s + u) + (float)z;
            q = q < (float)qmin ? (float)qmin : q > (float)qmax ? (float)qmax : q;
            nd->y[i] = (q - (float)z) * s;
        }
        return;
    }
    if (!c->training && nd->a.qacc && nd->n_params > P_ACC_SCALE)
        fq_requant(nd, c, s, z, qmin, qmax);
    else
        fq_plain_parallel(x, nd->y, n, s, (float)z, (float)qmin, (float)qmax, nd->a.qrelu);
}

static inline __attribute__((always_inline)) void ste_mode(const float *x, const float *dy, float *dx, size_t n,
                                                             int ow, float s, float z, float qmin, float qmax,
                                                             const int relu)
{
    for (size_t i = 0; i < n; i++) {
        float q = nearbyintf(act(x[i], relu) / s) + z;
        int pass = act_passes(x[i], relu) && q >= qmin && q <= qmax;
        dx[i] = (ow ? 0.0f : dx[i]) + (pass ? dy[i] : 0.0f);
    }
}

/* The clipped STE plus LSQ's step-size gradient d(x_hat)/ds = (q - z) - x/s
 * inside the range, (qmin|qmax) - z outside, summed in 8 lanes per block of
 * 1024 (so the compiler can vectorise it) and the blocks in double. */
static inline __attribute__((always_inline)) double ste_lsq_mode(const float *x, const float *dy, float *dx, size_t n,
                                                                 int ow, float s, float z, float qmin, float qmax,
                                                                 const int relu)
{
    double total = 0.0;
    for (size_t b0 = 0; b0 < n; b0 += 1024) {
        size_t b1 = b0 + 1024 < n ? b0 + 1024 : n, i = b0;
        float lane[8] = {0};
        for (; i + 8 <= b1; i += 8)
            for (int k = 0; k < 8; k++) {
                float xi = x[i + k], v = act(xi, relu) / s, q = nearbyintf(v) + z;
                int pass = act_passes(xi, relu) && q >= qmin && q <= qmax;
                if (dx)
                    dx[i + k] = (ow ? 0.0f : dx[i + k]) + (pass ? dy[i + k] : 0.0f);
                float d = q < qmin ? qmin - z : q > qmax ? qmax - z : (q - z) - v;
                lane[k] += dy[i + k] * d;
            }
        for (; i < b1; i++) {
            float xi = x[i], v = act(xi, relu) / s, q = nearbyintf(v) + z;
            int pass = act_passes(xi, relu) && q >= qmin && q <= qmax;
            if (dx)
                dx[i] = (ow ? 0.0f : dx[i]) + (pass ? dy[i] : 0.0f);
            float d = q < qmin ? qmin - z : q > qmax ? qmax - z : (q - z) - v;
            lane[0] += dy[i] * d;
        }
        total += (double)lane[0] + lane[1] + lane[2] + lane[3] + lane[4] + lane[5] + lane[6] + lane[7];
    }
    return total;
}

static void ste_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const fq_call *a = arg;
    const float *x = a->x + lo, *dy = a->dy + lo;
    float *dx = a->dx + lo;
    if (a->relu == 1)
        ste_mode(x, dy, dx, hi - lo, a->ow, a->s, a->z, a->qmin, a->qmax, 1);
    else if (a->relu == 2)
        ste_mode(x, dy, dx, hi - lo, a->ow, a->s, a->z, a->qmin, a->qmax, 2);
    else
        ste_mode(x, dy, dx, hi - lo, a->ow, a->s, a->z, a->qmin, a->qmax, 0);
}

static void ste_lsq_range(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    fq_call *a = arg;
    const float *x = a->x + lo, *dy = a->dy + lo;
    float *dx = a->dx ? a->dx + lo : NULL;
    double t = a->relu == 1   ? ste_lsq_mode(x, dy, dx, hi - lo, a->ow, a->s, a->z, a->qmin, a->qmax, 1)
               : a->relu == 2 ? ste_lsq_mode(x, dy, dx, hi - lo, a->ow, a->s, a->z, a->qmin, a->qmax, 2)
                              : ste_lsq_mode(x, dy, dx, hi - lo, a->ow, a->s, a->z, a->qmin, a->qmax, 0);
    a->part[lo / a->grain] = t;
}

static void fq_backward(pith_node *nd, const pith_ctx *c)
{
    const size_t per = pith_shape_size(&c->in[0]), n = per * (size_t)c->batch;
    const float *x = c->x[0], *dy = nd->dy;
    float *dx = c->dx[0];
    const int ow = c->dx_overwrite[0];
    const int relu = nd->a.qrelu;
    if (!nd->a.qmode) {
        if (dx)
            for (size_t i = 0; i < n; i++)
                dx[i] = (ow ? 0.0f : dx[i]) + (act_passes(x[i], relu) ? dy[i] : 0.0f);
        return;
    }
    pith_qspec spec = pith_fq_spec(nd);
    int32_t qmin_i, qmax_i;
    pith_qspec_limits(&spec, &qmin_i, &qmax_i);
    const float s = nd->params[P_SCALE].data[0], z = nd->params[P_ZERO_POINT].data[0];
    const float qmin = (float)qmin_i, qmax = (float)qmax_i;
    float *ds = nd->a.qlsq ? nd->params[P_SCALE].grad : NULL;
    fq_call a = {.x = x, .dy = dy, .dx = dx, .s = s, .z = z, .qmin = qmin, .qmax = qmax, .relu = relu,
                 .ow = ow, .grain = fq_grain(n)};
    if (!ds) { /* plain QAT: the gradient only, in the simplest (vectorised) loop */
        if (dx)
            pith_parallel_for(n, a.grain, ste_range, &a);
        return;
    }
    pith_parallel_for(n, a.grain, ste_lsq_range, &a);
    double total = 0.0;
    for (size_t k = 0; k * a.grain < n; k++)
        total += a.part[k];
    /* LSQ scales the step's gradient by 1 / sqrt(elements * qmax), the batch
     * included, as the reference implementations do */
    ds[0] += (float)(total / sqrt((double)n * (double)(qmax_i > 0 ? qmax_i : 1)));
}

const pith_op pith_op_fake_quant = {
    .name = "fake_quant", .min_in = 1, .max_in = 1,
    .shape = fq_shape, .init = fq_init, .forward = fq_forward, .backward = fq_backward,
    .overwrite_dx = 1,
};
