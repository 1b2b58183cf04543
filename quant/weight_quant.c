/* Weight quantizers: parameter transforms on a conv2d / linear weight (and
 * its bias) that make the layer compute with what the integer kernels will
 * hold.
 *
 *   uniform  w_hat = s * (clamp(round(w / s) + z) - z), clipped STE, optional LSQ
 *   binary   w_hat = alpha_c * sign(w), alpha_c = mean |w_c|       (BWN / XNOR-Net)
 *   ternary  w_hat = alpha_c * sign(w) * [|w| > 0.7 mean |w_c|]    (TWN)
 *   k-means  w_hat = codebook[index]; each centroid's gradient is the sum of
 *            its weights' gradients (Deep Compression); the weights are frozen
 *
 * Binary and ternary keep the latent float weights and pass the gradient
 * straight through.
 *
 * A uniform quantizer with wbn sits on a conv whose batchnorm is not folded
 * yet (QAT with BN statistics still training, Jacob et al. 2018 / PyTorch's
 * ConvBn): it quantizes the folded weight w * gamma / sqrt(var + eps), with
 * the running variance, and divides the factor out again, so that conv -> BN
 * in evaluation computes conv(x, Q(w_folded)) + b_folded, the integer model. When the layer's input comes from a fake_quant node the
 * bias is quantized to int32 with scale s_in * s_w[c], and the output
 * fake_quant (if it requantizes the accumulator) receives that scale. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../core/rng.h"
#include "../core/threads.h"
#include "quant.h"
#include "quant_internal.h"

const char *pith_wq_name(pith_wq_kind k)
{
    static const char *names[] = {"float", "uniform", "kmeans", "binary", "ternary"};
    return k >= PITH_WQ_FLOAT && k <= PITH_WQ_TERNARY ? names[k] : "?";
}

static inline int scale_index(const wq_ctx *c, int r, int j)
{
    switch (c->spec.gran) {
    case PITH_QGRAN_TENSOR: return 0;
    case PITH_QGRAN_CHANNEL: return r;
    default: return r * c->groups_per_row + j / c->spec.group;
    }
}

int pith_wq_scale_count(const pith_qspec *s, int rows, int cols)
{
    switch (s->gran) {
    case PITH_QGRAN_TENSOR: return 1;
    case PITH_QGRAN_CHANNEL: return rows;
    default: return rows * ((cols + s->group - 1) / s->group);
    }
}

static void publish_acc_scale(const wq_ctx *c)
{
    if (!c->acc_scale)
        return;
    for (int r = 0; r < c->n_acc; r++) {
        float s = 0.0f; /* 0: the accumulator is not on an integer grid */
        if (c->in_scale && !c->off && c->kind != PITH_WQ_KMEANS && c->spec.gran != PITH_QGRAN_GROUP)
            s = c->in_scale[0] * c->scale[c->kind == PITH_WQ_UNIFORM && c->spec.gran == PITH_QGRAN_TENSOR ? 0 : r];
        c->acc_scale[r] = s;
    }
}

/* alpha per channel for binary (mean |w|) and ternary (mean |w| above the threshold). */
/* The arguments of the row loops below, handed to their pieces. */
typedef struct wq_call {
    wq_ctx *c;
    const float *w;
    float *out, *grad;
    int refresh;
} wq_call;

/* Rows per piece: about WQ_GRAIN weights. */
#define WQ_GRAIN 32768
static size_t wq_rows_grain(const wq_ctx *c) { return c->cols < WQ_GRAIN ? WQ_GRAIN / (size_t)c->cols : 1; }

static void bt_scale_rows(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const wq_call *a = arg;
    wq_ctx *c = a->c;
    const float *w = a->w;
    for (int r = (int)lo; r < (int)hi; r++) {
        const float *x = w + (size_t)r * c->cols;
        double sum = 0.0;
        for (int j = 0; j < c->cols; j++)
            sum += fabsf(x[j]);
        double mean = sum / c->cols;
        if (c->kind == PITH_WQ_BINARY) {
            c->scale[r] = (float)mean;
            continue;
        }
        float delta = (float)(0.7 * mean);
        double s = 0.0;
        int cnt = 0;
        for (int j = 0; j < c->cols; j++)
            if (fabsf(x[j]) > delta) {
                s += fabsf(x[j]);
                cnt++;
            }
        c->scale[r] = cnt ? (float)(s / cnt) : 0.0f;
        c->zp[r] = delta; /* ternary: the threshold, kept for export */
    }
}

static void bt_scales(wq_ctx *c, const float *w)
{
    wq_call a = {.c = c, .w = w};
    pith_parallel_for((size_t)c->rows, wq_rows_grain(c), bt_scale_rows, &a);
}

/* Rows are independent (per-channel and per-group scales live in their row),
 * so both directions run in parallel over output channels. */
static void uniform_row(wq_ctx *c, const float *w, float *out, int r, int refresh)
{
    const float *x = w + (size_t)r * c->cols;
    float *y = out + (size_t)r * c->cols;
    int per_row = c->spec.gran == PITH_QGRAN_GROUP ? c->groups_per_row : 1;
    int first = c->spec.gran == PITH_QGRAN_TENSOR ? 0 : r * per_row;
    if (refresh && c->spec.gran != PITH_QGRAN_TENSOR)
        pith_weight_qparams(&c->spec, PITH_OBS_MINMAX, x, 1, c->cols, c->scale + first, c->zp + first);
    int32_t qmin, qmax;
    pith_qspec_limits(&c->spec, &qmin, &qmax);
    const float f = c->bn_factor ? c->bn_factor[r] : 1.0f;
    int span = c->spec.gran == PITH_QGRAN_GROUP ? c->spec.group : c->cols;
    for (int j0 = 0, u = first; j0 < c->cols; j0 += span, u++) {
        int j1 = j0 + span < c->cols ? j0 + span : c->cols;
        float s = c->scale[u] >= FLT_MIN ? c->scale[u] : FLT_MIN, z = c->zp[u];
        if (c->stochastic && c->g->training) {
            /* floor(v + rnd) with rnd from a hash of (graph seed, step, element): unbiased, reproducible */
            for (int j = j0; j < j1; j++) {
                uint64_t st = pith_hash64(c->g->seed, c->g->step, (uint64_t)r * (uint64_t)c->cols + (uint64_t)j);
                float rnd = (float)(pith_splitmix64(&st) >> 40) * (1.0f / 16777216.0f);
                float q = floorf(x[j] / s + rnd) + z;
                q = q < (float)qmin ? (float)qmin : q > (float)qmax ? (float)qmax : q;
                y[j] = (q - z) * s / f;
            }
        } else if (!c->bn_factor) {
            for (int j = j0; j < j1; j++) {
                float q = nearbyintf(x[j] / s) + z;
                q = q < (float)qmin ? (float)qmin : q > (float)qmax ? (float)qmax : q;
                y[j] = (q - z) * s;
            }
        } else {
            for (int j = j0; j < j1; j++) {
                float q = nearbyintf(x[j] / s) + z;
                q = q < (float)qmin ? (float)qmin : q > (float)qmax ? (float)qmax : q;
                y[j] = (q - z) * s / f;
            }
        }
    }
}

/* wbn: out = w * gamma / sqrt(var + eps), the weight the folded model will hold. */
static void uniform_rows(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const wq_call *a = arg;
    for (int r = (int)lo; r < (int)hi; r++)
        uniform_row(a->c, a->w, a->out, r, a->refresh);
}

static void bt_rows(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const wq_call *a = arg;
    const wq_ctx *c = a->c;
    const float *w = a->w;
    float *out = a->out;
    for (int r = (int)lo; r < (int)hi; r++)
        for (int j = 0; j < c->cols; j++) {
            size_t i = (size_t)r * c->cols + j;
            float s = c->scale[r];
            if (c->kind == PITH_WQ_BINARY)
                out[i] = w[i] >= 0.0f ? s : -s;
            else
                out[i] = fabsf(w[i]) > c->zp[r] ? (w[i] > 0.0f ? s : -s) : 0.0f;
        }
}

static const float *fold_into(wq_ctx *c, const float *w, float *out)
{
    if (!c->bn_gamma)
        return w;
    for (int r = 0; r < c->rows; r++) {
        float f = c->bn_gamma[r] / sqrtf(c->bn_var[r] + c->bn_eps);
        c->bn_factor[r] = f != 0.0f && isfinite(f) ? f : 1.0f;
        for (int j = 0; j < c->cols; j++)
            out[(size_t)r * c->cols + j] = w[(size_t)r * c->cols + j] * c->bn_factor[r];
    }
    return out;
}

static int wq_forward(void *ctx, const pith_param *p, float *out)
{
    wq_ctx *c = ctx;
    const float *w = p->data;
    if (c->off) {
        memcpy(out, w, p->size * sizeof(float));
        publish_acc_scale(c);
        return PITH_OK;
    }
    switch (c->kind) {
    case PITH_WQ_UNIFORM: {
        /* QAT follows the weights: min/max scales every step, unless learned */
        int refresh = c->g->training && !c->scale_grad;
        const float *src = fold_into(c, w, out);
        if (refresh && c->spec.gran == PITH_QGRAN_TENSOR)
            pith_weight_qparams(&c->spec, PITH_OBS_MINMAX, src, c->rows, c->cols, c->scale, c->zp);
        wq_call a = {.c = c, .w = src, .out = out, .refresh = refresh};
        pith_parallel_for((size_t)c->rows, wq_rows_grain(c), uniform_rows, &a);
        break;
    }
    case PITH_WQ_BINARY:
    case PITH_WQ_TERNARY:
        bt_scales(c, w);
        wq_call a = {.c = c, .w = w, .out = out};
        pith_parallel_for((size_t)c->rows, wq_rows_grain(c), bt_rows, &a);
        break;
    case PITH_WQ_KMEANS:
        for (size_t i = 0; i < p->size; i++)
            out[i] = c->mask && c->mask[i] == 0.0f ? 0.0f : c->codebook[(int)c->index[i]];
        break;
    default:
        return pith_error(PITH_ESTATE, "weight quantizer: unknown kind %d", (int)c->kind);
    }
    publish_acc_scale(c);
    return PITH_OK;
}

/* The straight-through gradient of uniform weights, and LSQ's scale gradient. */
static void uniform_grad_rows(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const wq_call *a = arg;
    const wq_ctx *c = a->c;
    const float *w = a->w;
    float *grad = a->grad;
    int32_t qmin_i, qmax_i;
    pith_qspec_limits(&c->spec, &qmin_i, &qmax_i);
    const float qmin = (float)qmin_i, qmax = (float)qmax_i;
    const size_t size = (size_t)c->rows * c->cols;
    const float lsq_g = (float)(1.0 / sqrt((double)size * (double)(qmax_i > 0 ? qmax_i : 1)));
    for (int r = (int)lo; r < (int)hi; r++)
        for (int j = 0; j < c->cols; j++) {
            size_t i = (size_t)r * c->cols + j;
            int si = scale_index(c, r, j);
            float s = c->scale[si] >= FLT_MIN ? c->scale[si] : FLT_MIN, z = c->zp[si];
            float f = c->bn_factor ? c->bn_factor[r] : 1.0f;
            float v = w[i] * f / s, q = nearbyintf(v) + z;
            int inside = q >= qmin && q <= qmax;
            if (c->scale_grad)
                c->scale_grad[si] += lsq_g * grad[i] / f * (q < qmin ? qmin - z : q > qmax ? qmax - z : (q - z) - v);
            if (!inside)
                grad[i] = 0.0f;
        }
}

static void wq_backward(void *ctx, const pith_param *p, float *grad)
{
    wq_ctx *c = ctx;
    if (c->off)
        return;
    const float *w = p->data;
    if (c->kind == PITH_WQ_KMEANS) {
        for (size_t i = 0; i < p->size; i++) {
            if (c->codebook_grad && !(c->mask && c->mask[i] == 0.0f))
                c->codebook_grad[(int)c->index[i]] += grad[i];
            grad[i] = 0.0f;
        }
        return;
    }
    if (c->kind != PITH_WQ_UNIFORM)
        return; /* binary / ternary: plain straight-through */
    wq_call a = {.c = c, .w = w, .grad = grad};
    /* a per-tensor learned scale is shared by all rows: accumulate it serially */
    if (c->scale_grad && c->spec.gran == PITH_QGRAN_TENSOR)
        uniform_grad_rows(&a, 0, (size_t)c->rows, 0);
    else
        pith_parallel_for((size_t)c->rows, wq_rows_grain(c), uniform_grad_rows, &a);
}

void pith_wq_destroy(void *ctx)
{
    wq_ctx *c = ctx;
    free(c->bn_factor);
    free(c);
}

const pith_param_transform pith_wq_weight_tf = {
    .name = "weight_quant", .forward = wq_forward, .backward = wq_backward, .destroy = pith_wq_destroy,
};

/* Bias as int32 with scale s_in * s_w[c]; the gradient passes straight through. */
static int bq_forward(void *ctx, const pith_param *p, float *out)
{
    const wq_ctx *c = ctx;
    for (size_t r = 0; r < p->size; r++) {
        float s = c->in_scale[0] * c->scale[c->kind == PITH_WQ_UNIFORM && c->spec.gran == PITH_QGRAN_TENSOR ? 0 : r];
        if (c->off || !(s >= FLT_MIN)) {
            out[r] = p->data[r];
            continue;
        }
        float q = nearbyintf(p->data[r] / s);
        q = q < -2147483520.0f ? -2147483520.0f : q > 2147483520.0f ? 2147483520.0f : q;
        out[r] = q * s;
    }
    return PITH_OK;
}

const pith_param_transform pith_wq_bias_tf = {
    .name = "bias_quant", .forward = bq_forward, .backward = NULL, .destroy = NULL,
};

