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

typedef struct wq_ctx {
    const pith_graph *g;      /* its training flag: QAT recomputes min/max scales every step */
    pith_wq_kind kind;
    pith_qspec spec;
    int rows, cols;           /* output channels, values per channel */
    int groups_per_row;       /* per-group granularity */
    float *scale, *scale_grad, *zp;
    float *codebook, *codebook_grad, *index;
    const float *mask;        /* k-means after pruning: masked weights stay exactly zero */
    int k;
    const float *in_scale;    /* the input fake_quant's scale, NULL: float input */
    float *acc_scale;         /* the output fake_quant's accumulator scales, or NULL */
    int n_acc;
    int off;                  /* analysis: compute with the float weights */
    int stochastic;           /* round stochastically while training */
    const float *bn_gamma, *bn_var; /* wbn: the following batchnorm's gamma and running variance */
    float bn_eps;
    float *bn_factor;         /* wbn: gamma / sqrt(var + eps) per channel, from the last forward */
} wq_ctx;

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

static void wq_destroy(void *ctx)
{
    wq_ctx *c = ctx;
    free(c->bn_factor);
    free(c);
}

static const pith_param_transform weight_tf = {
    .name = "weight_quant", .forward = wq_forward, .backward = wq_backward, .destroy = wq_destroy,
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

static const pith_param_transform bias_tf = {
    .name = "bias_quant", .forward = bq_forward, .backward = NULL, .destroy = NULL,
};

/* ---- links between a layer and its fake_quant neighbours ---- */


/* The scale of the fake_quant node the layer's input comes from, through ops
 * that keep values on the quantized grid; NULL when the input is float. */
static const float *input_scale(const pith_graph *g, const pith_node *layer)
{
    const pith_node *n = &g->nodes[layer->in[0]];
    while ((n->op == &pith_op_maxpool) || (n->op == &pith_op_flatten) || (n->op == &pith_op_dropout) || (n->op == &pith_op_relu))
        n = &g->nodes[n->in[0]];
    return (n->op == &pith_op_fake_quant) && n->a.qmode == 1 ? n->params[0].data : NULL;
}

int pith_quant_output_fq(const pith_graph *g, int layer)
{
    int cur = layer, next = -1;
    while (pith_graph_consumers(g, cur, &next) == 1) {
        const pith_node *n = &g->nodes[next];
        if (n->op == &pith_op_fake_quant)
            return next;
        if (n->op != &pith_op_relu && n->op != &pith_op_relu6 && n->op != &pith_op_batchnorm)
            return -1;
        cur = next;
    }
    return -1;
}

static pith_param *need_param(pith_node *n, const char *name, size_t size)
{
    pith_param *p = pith_node_param(n, name);
    if (!p || p->size != size) {
        pith_error(PITH_EFORMAT, "layer '%s': quantizer parameter '%s' is %s (expected %zu values)",
                   n->name, name, p ? "the wrong size" : "missing", size);
        return NULL;
    }
    return p;
}

int pith_quant_attach(pith_graph *g, int idx)
{
    pith_node *n = &g->nodes[idx];
    if (!n->a.wq)
        return PITH_OK;
    if (n->op != &pith_op_conv2d && n->op != &pith_op_linear)
        return pith_error(PITH_EFORMAT, "node '%s': weight quantization on a %s", n->name, n->op->name);
    if (n->a.wq < PITH_WQ_UNIFORM || n->a.wq > PITH_WQ_TERNARY)
        return pith_error(PITH_EFORMAT, "node '%s': unknown weight quantizer %d", n->name, n->a.wq);
    pith_param *w = &n->params[0];
    wq_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return pith_error(PITH_ENOMEM, "out of memory");
    c->g = g;
    c->kind = (pith_wq_kind)n->a.wq;
    c->stochastic = n->a.wstoch;
    c->rows = w->shape[0];
    c->cols = (int)(w->size / (size_t)c->rows);
    pith_qspec s = {n->a.wbits, n->a.wsym, 1, n->a.wsym, (pith_qgran)n->a.wgran, n->a.wgroup, PITH_QROUND_EVEN};
    c->spec = s;
    int rc = PITH_OK;
    if (c->kind == PITH_WQ_UNIFORM) {
        rc = pith_qspec_check(&s);
        if (rc) {
            free(c);
            return pith_error(rc, "node '%s': %s", n->name, pith_last_error());
        }
        if (s.gran == PITH_QGRAN_GROUP)
            c->groups_per_row = (c->cols + s.group - 1) / s.group;
        int ns = pith_wq_scale_count(&s, c->rows, c->cols);
        pith_param *ps = need_param(n, "w_scale", (size_t)ns), *pz = ps ? need_param(n, "w_zp", (size_t)ns) : NULL;
        if (!pz) {
            free(c);
            return PITH_EFORMAT;
        }
        c->scale = ps->data;
        c->scale_grad = n->a.wlsq ? ps->grad : NULL;
        c->zp = pz->data;
        int32_t qmin, qmax;
        pith_qspec_limits(&s, &qmin, &qmax);
        for (int u = 0; u < ns; u++)
            if (!(pz->data[u] >= (float)qmin && pz->data[u] <= (float)qmax) || pz->data[u] != floorf(pz->data[u])) {
                free(c);
                return pith_error(PITH_EFORMAT, "node '%s': w_zp[%d] = %g is not an integer in [%d, %d]", n->name, u,
                                  (double)pz->data[u], (int)qmin, (int)qmax);
            }
    } else if (c->kind == PITH_WQ_KMEANS) {
        if (n->a.wbits < 1 || n->a.wbits > 8) {
            free(c);
            return pith_error(PITH_EFORMAT, "node '%s': k-means with %d bits (1 to 8)", n->name, n->a.wbits);
        }
        c->k = 1 << n->a.wbits;
        pith_param *cb = need_param(n, "codebook", (size_t)c->k), *ix = cb ? need_param(n, "w_index", w->size) : NULL;
        if (!ix) {
            free(c);
            return PITH_EFORMAT;
        }
        for (size_t i = 0; i < w->size; i++)
            if (!(ix->data[i] >= 0.0f && ix->data[i] < (float)c->k && ix->data[i] == floorf(ix->data[i]))) {
                free(c);
                return pith_error(PITH_EFORMAT, "node '%s': w_index[%zu] = %g is not a centroid number", n->name,
                                  i, (double)ix->data[i]);
            }
        c->codebook = cb->data;
        c->codebook_grad = cb->grad;
        c->index = ix->data;
        pith_param *mk = pith_node_param(n, "mask");
        c->mask = mk && mk->size == w->size ? mk->data : NULL;
        w->frozen = 1;
    } else {
        pith_param *ps = need_param(n, "w_scale", (size_t)c->rows), *pz = ps ? need_param(n, "w_zp", (size_t)c->rows) : NULL;
        if (!pz) {
            free(c);
            return PITH_EFORMAT;
        }
        c->scale = ps->data;
        c->zp = pz->data;
    }
    rc = pith_graph_sort(g);
    if (!rc && n->a.wbn) {
        int bn = -1;
        if (c->kind != PITH_WQ_UNIFORM || pith_graph_consumers(g, idx, &bn) != 1 || g->nodes[bn].op != &pith_op_batchnorm ||
            g->nodes[bn].params[0].size != (size_t)c->rows)
            rc = pith_error(PITH_EFORMAT, "node '%s': wbn set, but its only consumer is not a matching batchnorm",
                            n->name);
        else {
            c->bn_gamma = g->nodes[bn].params[0].data;
            c->bn_var = pith_node_param(&g->nodes[bn], "running_var")->data;
            c->bn_eps = g->nodes[bn].a.eps;
            c->bn_factor = malloc((size_t)c->rows * sizeof *c->bn_factor);
            if (!c->bn_factor)
                rc = pith_error(PITH_ENOMEM, "out of memory");
            for (int r = 0; !rc && r < c->rows; r++)
                c->bn_factor[r] = 1.0f;
        }
    }
    if (rc) {
        wq_destroy(c);
        return rc;
    }
    c->in_scale = input_scale(g, n);
    int ofq = pith_quant_output_fq(g, idx);
    if (ofq >= 0 && g->nodes[ofq].a.qacc) {
        pith_param *as = pith_node_param(&g->nodes[ofq], "acc_scale");
        if (as && (int)as->size == c->rows) {
            c->acc_scale = as->data;
            c->n_acc = c->rows;
        }
    }
    rc = pith_param_set_transform(w, &weight_tf, c);
    if (rc)
        return rc;
    n = &g->nodes[idx];
    if (n->a.bias && c->in_scale && c->kind != PITH_WQ_KMEANS && s.gran != PITH_QGRAN_GROUP)
        rc = pith_param_set_transform(&n->params[1], &bias_tf, c);
    return rc;
}

/* A loaded activation quantizer must hold a usable state: a positive finite
 * scale and an integer zero point inside its range. */
static int check_fq_state(const pith_node *n)
{
    pith_qspec s = pith_fq_spec(n);
    int32_t qmin, qmax;
    pith_qspec_limits(&s, &qmin, &qmax);
    float sc = n->params[0].data[0], z = n->params[1].data[0];
    if (!(sc > 0.0f) || !isfinite(sc))
        return pith_error(PITH_EFORMAT, "node '%s': scale %g is not a positive number", n->name, (double)sc);
    if (!(z >= (float)qmin && z <= (float)qmax) || z != floorf(z))
        return pith_error(PITH_EFORMAT, "node '%s': zero point %g is not an integer in [%d, %d]", n->name,
                          (double)z, (int)qmin, (int)qmax);
    return PITH_OK;
}

int pith_quant_restore(pith_graph *g)
{
    int rc = pith_graph_sort(g);
    for (int k = 0; k < g->n_order && !rc; k++) {
        const pith_node *n = &g->nodes[g->order[k]];
        if (n->a.wq)
            rc = pith_quant_attach(g, g->order[k]);
        else if (n->op == &pith_op_fake_quant)
            rc = check_fq_state(n);
    }
    return rc;
}

int pith_graph_is_quantized(const pith_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].a.wq || (g->nodes[i].op == &pith_op_fake_quant))
            return 1;
    return 0;
}

int pith_quant_enable(pith_graph *g, const char *layer, int weights, int acts)
{
    int rc = pith_graph_sort(g), found = 0;
    for (int k = 0; k < g->n_order && !rc; k++) {
        int idx = g->order[k];
        pith_node *n = &g->nodes[idx];
        if (layer && strcmp(n->name, layer) != 0)
            continue;
        if (!layer && (n->op == &pith_op_fake_quant)) {
            n->a.qmode = acts ? 1 : 0;
            found = 1;
            continue;
        }
        if (n->op != &pith_op_conv2d && n->op != &pith_op_linear)
            continue;
        found = 1;
        if (n->params[0].tf == &weight_tf)
            ((wq_ctx *)n->params[0].tf_ctx)->off = !weights;
        int ofq = pith_quant_output_fq(g, idx);
        if (layer && ofq >= 0)
            g->nodes[ofq].a.qmode = acts ? 1 : 0;
    }
    if (!rc && !found)
        rc = pith_error(PITH_EINVAL, "no layer named '%s'", layer ? layer : "");
    return rc ? rc : pith_quant_relink(g);
}

int pith_quant_relink(pith_graph *g)
{
    /* the bias quantizer needs the input's scale, which exists only while
     * the input quantizer is on */
    int rc = pith_graph_sort(g);
    for (int k = 0; k < g->n_order && !rc; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        if (n->n_params && n->params[0].tf == &weight_tf) {
            wq_ctx *c = n->params[0].tf_ctx;
            c->in_scale = input_scale(g, n);
            if (n->a.bias) {
                int want = c->in_scale && c->kind != PITH_WQ_KMEANS && c->spec.gran != PITH_QGRAN_GROUP;
                if (want && n->params[1].tf != &bias_tf)
                    rc = pith_param_set_transform(&n->params[1], &bias_tf, c);
                else if (!want && n->params[1].tf == &bias_tf)
                    rc = pith_param_set_transform(&n->params[1], NULL, NULL);
            }
        }
    }
    return rc;
}

int pith_quant_set_layer_bits(pith_graph *g, const char *layer, int wbits, int abits)
{
    int idx = pith_graph_find(g, layer);
    if (idx < 0 || (g->nodes[idx].op != &pith_op_conv2d && g->nodes[idx].op != &pith_op_linear))
        return pith_error(PITH_EINVAL, "no conv2d or linear layer named '%s'", layer);
    if ((wbits && !((wbits >= 2 && wbits <= 8) || wbits == 16)) || (abits && !((abits >= 2 && abits <= 8) || abits == 16)))
        return pith_error(PITH_EINVAL, "layer '%s': bits %d / %d (2 to 8, 16, or 0 for float)", layer, wbits, abits);
    int rc = pith_graph_sort(g);
    pith_node *n = &g->nodes[idx];
    if (!rc && n->params[0].tf == &weight_tf) {
        wq_ctx *c = n->params[0].tf_ctx;
        c->off = wbits == 0;
        if (wbits && c->kind == PITH_WQ_UNIFORM) {
            c->spec.bits = wbits;
            n->a.wbits = wbits;
            rc = pith_weight_qparams(&c->spec, PITH_OBS_MINMAX, n->params[0].data, c->rows, c->cols, c->scale, c->zp);
        }
    }
    int f = rc ? -1 : pith_quant_output_fq(g, idx);
    if (f >= 0) {
        pith_node *q = &g->nodes[f];
        q->a.qmode = abits ? 1 : 0;
        if (abits) {
            q->a.qbits = abits;
            pith_qspec s = pith_fq_spec(q);
            int32_t zp;
            rc = pith_qparams(&s, q->params[2].data[0], q->params[3].data[0], q->params[0].data, &zp);
            q->params[1].data[0] = (float)zp;
        }
    }
    return rc ? rc : pith_quant_relink(g);
}

void pith_quant_describe(const pith_node *n, char *buf, size_t len)
{
    buf[0] = 0;
    if (n->op == &pith_op_fake_quant) {
        snprintf(buf, len, "a%d %s%s%s%s%s", n->a.qbits, n->a.qsym ? "sym" : "asym",
                 n->a.qrelu == 1 ? " +relu" : n->a.qrelu == 2 ? " +relu6" : "", n->a.qlsq ? " lsq" : "",
                 n->a.qstoch ? " stochastic" : "", n->a.qmode ? "" : " (off)");
        return;
    }
    static const char *gran[] = {"tensor", "channel", "group"};
    switch (n->a.wq) {
    case PITH_WQ_UNIFORM:
        if (n->a.wgran == PITH_QGRAN_GROUP)
            snprintf(buf, len, "w%d %s g%d%s", n->a.wbits, n->a.wsym ? "sym" : "asym", n->a.wgroup, n->a.wlsq ? " lsq" : "");
        else
            snprintf(buf, len, "w%d %s %s%s%s%s", n->a.wbits, n->a.wsym ? "sym" : "asym",
                     gran[n->a.wgran >= 0 && n->a.wgran <= 2 ? n->a.wgran : 0], n->a.wlsq ? " lsq" : "",
                     n->a.wstoch ? " stochastic" : "", n->a.wbn ? " (BN-folded)" : "");
        break;
    case PITH_WQ_KMEANS: snprintf(buf, len, "kmeans %d-bit", n->a.wbits); break;
    case PITH_WQ_BINARY: snprintf(buf, len, "binary"); break;
    case PITH_WQ_TERNARY: snprintf(buf, len, "ternary"); break;
    default: break;
    }
}

int pith_quant_freeze_bn(pith_graph *g)
{
    int rc = pith_graph_sort(g), n_bn = 0;
    int *layers = malloc((size_t)(g->n_order + 1) * sizeof *layers);
    if (!layers)
        return pith_error(PITH_ENOMEM, "out of memory");
    /* detach the BN-aware quantizers, fold, attach the plain ones */
    for (int k = 0; k < g->n_order && !rc; k++) {
        pith_node *n = &g->nodes[g->order[k]];
        if (!n->a.wbn)
            continue;
        layers[n_bn++] = g->order[k];
        rc = pith_param_set_transform(&n->params[0], NULL, NULL);
        if (!rc && n->a.bias)
            rc = pith_param_set_transform(&n->params[1], NULL, NULL);
        n->a.wbn = 0;
    }
    if (!rc && n_bn) {
        int folded = pith_fold_batchnorm(g);
        rc = folded < 0 ? folded : 0;
    }
    for (int i = 0; i < n_bn && !rc; i++) {
        /* the output quantizer now follows the layer directly: requantize its accumulator */
        int f = pith_quant_output_fq(g, layers[i]), only = -1;
        if (f >= 0 && !g->nodes[f].a.qacc && pith_graph_consumers(g, layers[i], &only) == 1 &&
            only == f) {
            if (!pith_node_new_param(&g->nodes[f], "acc_scale", 1, &g->nodes[layers[i]].a.out, 0))
                rc = PITH_ENOMEM;
            else
                g->nodes[f].a.qacc = 1;
        }
        if (!rc)
            rc = pith_quant_attach(g, layers[i]);
    }
    free(layers);
    g->batch = 0; /* rewritten: compile again */
    return rc ? rc : pith_quant_relink(g);
}
