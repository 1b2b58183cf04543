/* Observers: from what was seen of a tensor to the range [lo, hi] its
 * quantizer covers. Weights are seen whole (min/max, or the MSE-optimal clip
 * per channel); activations are summarised during calibration by a
 * histogram of 2048 bins over their observed range, from which min/max,
 * percentile, KL-divergence (TensorRT's entropy calibration) and MSE pick
 * the clip. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "quant.h"
#include "quant_internal.h"

const char *pith_observer_name(pith_observer o)
{
    static const char *names[] = {"minmax", "ema", "percentile", "kl", "mse"};
    return o >= PITH_OBS_MINMAX && o <= PITH_OBS_MSE ? names[o] : "?";
}

int pith_observer_parse(const char *s, pith_observer *o)
{
    for (int i = PITH_OBS_MINMAX; i <= PITH_OBS_MSE; i++)
        if (strcmp(s, pith_observer_name((pith_observer)i)) == 0) {
            *o = (pith_observer)i;
            return PITH_OK;
        }
    return pith_error(PITH_EINVAL, "unknown observer '%s' (minmax, ema, percentile, kl, mse)", s);
}

/* Squared error of fake-quantizing x[0..n) with the spec's scale for [lo, hi]. */
static double fq_error(const pith_qspec *spec, const float *x, size_t n, float lo, float hi)
{
    float s;
    int32_t z, qmin, qmax;
    pith_qspec_limits(spec, &qmin, &qmax);
    if (pith_qparams(spec, lo, hi, &s, &z))
        return INFINITY;
    double e = 0.0;
    for (size_t i = 0; i < n; i++) {
        float q = nearbyintf(x[i] / s) + (float)z;
        q = q < (float)qmin ? (float)qmin : q > (float)qmax ? (float)qmax : q;
        double d = (double)x[i] - (double)((q - (float)z) * s);
        e += d * d;
    }
    return e;
}

int pith_weight_qparams(const pith_qspec *s, pith_observer obs, const float *w, int rows, int cols,
                        float *scale, float *zero_point)
{
    int units = pith_wq_scale_count(s, rows, cols);
    int per_row = s->gran == PITH_QGRAN_GROUP ? units / rows : 1;
    for (int u = 0; u < units; u++) {
        size_t start, len;
        if (s->gran == PITH_QGRAN_TENSOR) {
            start = 0;
            len = (size_t)rows * cols;
        } else if (s->gran == PITH_QGRAN_CHANNEL) {
            start = (size_t)u * cols;
            len = (size_t)cols;
        } else {
            int r = u / per_row, gi = u % per_row, j0 = gi * s->group;
            start = (size_t)r * cols + j0;
            len = (size_t)(cols - j0 < s->group ? cols - j0 : s->group);
        }
        float lo = FLT_MAX, hi = -FLT_MAX;
        for (size_t i = 0; i < len; i++) { /* comparisons, not fminf: they vectorise */
            float v = w[start + i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        if (obs == PITH_OBS_MSE) {
            /* clip fractions 1.00, 0.99, ..., 0.20 of the range; the first best wins */
            float best_f = 1.0f;
            double best = INFINITY;
            for (int k = 0; k <= 80; k++) {
                float f = 1.0f - 0.01f * (float)k;
                double e = fq_error(s, w + start, len, lo * f, hi * f);
                if (e < best) {
                    best = e;
                    best_f = f;
                }
            }
            lo *= best_f;
            hi *= best_f;
        }
        int32_t z;
        int rc = pith_qparams(s, lo, hi, &scale[u], &z);
        if (rc)
            return rc;
        zero_point[u] = (float)z;
    }
    return PITH_OK;
}

/* ---- activations: from a histogram ---- */

static void percentile_range(const double *h, int bins, float hmin, float width, float pct, float *lo,
                             float *hi)
{
    double total = 0.0;
    for (int i = 0; i < bins; i++)
        total += h[i];
    double tail = total * (1.0 - (double)pct / 100.0), acc = 0.0;
    int a = 0, b = bins - 1;
    for (; a < bins - 1; a++) {
        if (acc + h[a] > tail)
            break;
        acc += h[a];
    }
    acc = 0.0;
    for (; b > 0; b--) {
        if (acc + h[b] > tail)
            break;
        acc += h[b];
    }
    *lo = hmin + width * (float)a;
    *hi = hmin + width * (float)(b + 1);
}

static double kl_divergence(const double *p, const double *q, int n)
{
    double sp = 0.0, sq = 0.0, kl = 0.0;
    for (int i = 0; i < n; i++) {
        sp += p[i];
        sq += q[i];
    }
    if (sp <= 0.0 || sq <= 0.0)
        return INFINITY;
    for (int i = 0; i < n; i++) {
        if (p[i] <= 0.0)
            continue;
        if (q[i] <= 0.0)
            return INFINITY;
        kl += p[i] / sp * log((p[i] / sp) / (q[i] / sq));
    }
    return kl;
}

/* TensorRT's entropy calibration on a one-sided histogram h[0..bins) over
 * [0, bins * width): the threshold i (in bins, >= levels) whose clipped
 * distribution P (outliers folded into the last bin) is closest in KL to
 * its quantization Q onto `levels` levels. Returns the threshold in bins. */
static int kl_threshold(const double *h, int bins, int levels)
{
    if (bins <= levels)
        return bins;
    double *p = malloc((size_t)bins * sizeof *p), *q = malloc((size_t)bins * sizeof *q);
    if (!p || !q) {
        free(p);
        free(q);
        return bins;
    }
    double best = INFINITY;
    int best_i = bins;
    for (int i = levels; i <= bins; i++) {
        memcpy(p, h, (size_t)i * sizeof *p);
        for (int j = i; j < bins; j++)
            p[i - 1] += h[j];
        /* merge h[0..i) into `levels` chunks, then spread each chunk's mass
         * evenly over its non-empty bins */
        for (int c = 0; c < levels; c++) {
            int j0 = (int)((long)c * i / levels), j1 = (int)((long)(c + 1) * i / levels);
            double mass = 0.0;
            int nz = 0;
            for (int j = j0; j < j1; j++) {
                mass += h[j];
                nz += h[j] > 0.0;
            }
            for (int j = j0; j < j1; j++)
                q[j] = h[j] > 0.0 ? mass / nz : 0.0;
        }
        double kl = kl_divergence(p, q, i);
        if (kl < best) {
            best = kl;
            best_i = i;
        }
    }
    free(p);
    free(q);
    return best_i;
}

static double hist_mse(const double *h, int bins, float hmin, float width, const pith_qspec *spec, float lo,
                       float hi)
{
    float s;
    int32_t z, qmin, qmax;
    pith_qspec_limits(spec, &qmin, &qmax);
    if (pith_qparams(spec, lo, hi, &s, &z))
        return INFINITY;
    double e = 0.0;
    for (int i = 0; i < bins; i++) {
        if (h[i] <= 0.0)
            continue;
        float x = hmin + width * ((float)i + 0.5f);
        float q = nearbyintf(x / s) + (float)z;
        q = q < (float)qmin ? (float)qmin : q > (float)qmax ? (float)qmax : q;
        double d = (double)x - (double)((q - (float)z) * s);
        e += h[i] * d * d;
    }
    return e;
}

int pith_observer_range(pith_observer obs, const double *hist, int bins, float hmin, float hmax,
                        const pith_qspec *spec, float pct, float *lo, float *hi)
{
    if (bins < 1 || !(hmax >= hmin))
        return pith_error(PITH_EINVAL, "observer: empty histogram");
    float width = (hmax - hmin) / (float)bins;
    *lo = hmin;
    *hi = hmax;
    if (width <= 0.0f || obs == PITH_OBS_MINMAX || obs == PITH_OBS_EMA)
        return PITH_OK;
    if (obs == PITH_OBS_PERCENTILE) {
        if (!(pct > 0.0f && pct <= 100.0f))
            return pith_error(PITH_EINVAL, "percentile %g is outside (0, 100]", (double)pct);
        percentile_range(hist, bins, hmin, width, pct, lo, hi);
        return PITH_OK;
    }
    int32_t qmin, qmax;
    pith_qspec_limits(spec, &qmin, &qmax);
    if (obs == PITH_OBS_KL) {
        /* One-sided, as TensorRT: an asymmetric quantizer covers [hmin, t]
         * (hmin maps to the zero point), a symmetric one [-t, t] over |x|.
         * The first bin holds the values the grid represents exactly (the
         * relu zeros, the image background) and its spike would dominate
         * P, so it takes its neighbour's count, as TensorRT does. */
        int sym = spec->symmetric && hmin < 0.0f;
        float base = sym ? 0.0f : hmin, aw = sym ? fmaxf(-hmin, hmax) / (float)bins : width;
        double *h = calloc((size_t)bins, sizeof *h);
        if (!h)
            return pith_error(PITH_ENOMEM, "out of memory");
        for (int i = 0; i < bins; i++) {
            float x = sym ? fabsf(hmin + width * ((float)i + 0.5f)) : hmin + width * ((float)i + 0.5f);
            int j = (int)((x - base) / aw);
            h[j < 0 ? 0 : j < bins ? j : bins - 1] += hist[i];
        }
        if (bins > 1)
            h[0] = h[1];
        int levels = sym ? (qmax - qmin + 1) / 2 : qmax - qmin + 1;
        int t = kl_threshold(h, bins, levels);
        free(h);
        if (sym) {
            *lo = fmaxf(hmin, -aw * (float)t);
            *hi = fminf(hmax, aw * (float)t);
        } else {
            *hi = fminf(hmax, base + aw * (float)t);
        }
        return PITH_OK;
    }
    /* MSE: shrink the range toward zero in 1% steps, keep the best */
    double best = INFINITY;
    for (int k = 0; k < 100; k++) {
        float f = 1.0f - 0.01f * (float)k;
        double e = hist_mse(hist, bins, hmin, width, spec, hmin * f, hmax * f);
        if (e < best) {
            best = e;
            *lo = hmin * f;
            *hi = hmax * f;
        }
    }
    return PITH_OK;
}
