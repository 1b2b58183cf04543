/* Post-training calibration: run images through the float model (every
 * fake_quant node passing its input through) and give each node the range
 * its observer picks. Min/max and EMA need one pass; percentile, KL and MSE
 * a second one that fills a 2048-bin histogram over the first pass's range. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../core/progress.h"
#include "quant.h"
#include "quant_internal.h"

#define HIST_BINS 2048

typedef struct fq_stat {
    int node;
    float lo, hi;          /* running min / max */
    float ema_lo, ema_hi;  /* moving average of per-batch min / max */
    int seen;
    double *hist;
} fq_stat;

static int run_batches(pith_graph *g, const pith_dataset *ds, int n, fq_stat *st, int n_st, int pass,
                       pith_progress *pr, int *done, int total)
{
    const int bs = g->batch;
    int *idx = malloc((size_t)bs * sizeof *idx), *labels = malloc((size_t)bs * sizeof *labels);
    if (!idx || !labels) {
        free(idx);
        free(labels);
        return pith_error(PITH_ENOMEM, "calibration: out of memory");
    }
    int rc = PITH_OK;
    for (int start = 0; start < n && !rc; start += bs) {
        int m = n - start < bs ? n - start : bs;
        for (int i = 0; i < m; i++)
            idx[i] = start + i;
        pith_dataset_gather(ds, idx, m, NULL, 0, pith_graph_input(g), labels);
        rc = pith_graph_forward(g, m);
        for (int s = 0; s < n_st && !rc; s++) {
            const pith_node *nd = &g->nodes[st[s].node];
            size_t cnt = pith_shape_size(&nd->out) * (size_t)m;
            const float *y = nd->y;
            if (pass == 0) {
                float lo = FLT_MAX, hi = -FLT_MAX;
                for (size_t i = 0; i < cnt; i++) {
                    lo = fminf(lo, y[i]);
                    hi = fmaxf(hi, y[i]);
                }
                if (!isfinite(lo) || !isfinite(hi)) {
                    rc = pith_error(PITH_ENUM, "calibration: '%s' sees non-finite values", nd->name);
                    break;
                }
                if (!st[s].seen) {
                    st[s].lo = st[s].ema_lo = lo;
                    st[s].hi = st[s].ema_hi = hi;
                } else {
                    st[s].lo = fminf(st[s].lo, lo);
                    st[s].hi = fmaxf(st[s].hi, hi);
                    st[s].ema_lo += 0.01f * (lo - st[s].ema_lo);
                    st[s].ema_hi += 0.01f * (hi - st[s].ema_hi);
                }
                st[s].seen = 1;
            } else {
                float w = (st[s].hi - st[s].lo) / HIST_BINS;
                for (size_t i = 0; i < cnt; i++) {
                    int b = w > 0.0f ? (int)((y[i] - st[s].lo) / w) : 0;
                    st[s].hist[b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b] += 1.0;
                }
            }
        }
        *done += 1;
        pith_progress_update(pr, *done, (int64_t)*done * bs, pass ? "histograms" : "ranges");
    }
    (void)total;
    free(idx);
    free(labels);
    return rc;
}

int pith_quant_calibrate(pith_graph *g, const pith_dataset *ds, int n, pith_observer obs, float pct,
                         FILE *progress)
{
    if (!g->batch)
        return pith_error(PITH_ESTATE, "calibration: the graph is not compiled");
    if (n < 1 || n > ds->n)
        return pith_error(PITH_EINVAL, "calibration: %d images requested, %d available", n, ds->n);
    int rc = pith_graph_sort(g);
    if (rc)
        return rc;
    fq_stat *st = calloc((size_t)g->n_order, sizeof *st);
    if (!st)
        return pith_error(PITH_ENOMEM, "calibration: out of memory");
    int n_st = 0;
    for (int k = 0; k < g->n_order; k++)
        if (g->nodes[g->order[k]].op == &pith_op_fake_quant) {
            st[n_st++].node = g->order[k];
            g->nodes[g->order[k]].a.qmode = 0;
        }
    int two_pass = obs == PITH_OBS_PERCENTILE || obs == PITH_OBS_KL || obs == PITH_OBS_MSE;
    int was_training = g->training, steps = (n + g->batch - 1) / g->batch, done = 0;
    pith_graph_set_training(g, 0);
    pith_progress pr;
    pith_progress_begin(&pr, progress, "calibrate", (int64_t)steps * (two_pass ? 2 : 1));
    rc = pith_quant_enable(g, NULL, 0, 0); /* observers see the float model */
    if (!rc)
        rc = run_batches(g, ds, n, st, n_st, 0, &pr, &done, steps);
    for (int s = 0; s < n_st && !rc && two_pass; s++)
        if (!(st[s].hist = calloc(HIST_BINS, sizeof(double))))
            rc = pith_error(PITH_ENOMEM, "calibration: out of memory");
    if (!rc && two_pass)
        rc = run_batches(g, ds, n, st, n_st, 1, &pr, &done, steps);
    for (int s = 0; s < n_st && !rc; s++) {
        pith_node *nd = &g->nodes[st[s].node];
        pith_qspec spec = pith_fq_spec(nd);
        float lo = st[s].lo, hi = st[s].hi;
        if (obs == PITH_OBS_EMA) {
            lo = st[s].ema_lo;
            hi = st[s].ema_hi;
        } else if (two_pass) {
            rc = pith_observer_range(obs, st[s].hist, HIST_BINS, st[s].lo, st[s].hi, &spec, pct, &lo, &hi);
        }
        int32_t zp;
        if (!rc)
            rc = pith_qparams(&spec, lo, hi, pith_node_param(nd, "scale")->data, &zp);
        if (!rc) {
            pith_node_param(nd, "zero_point")->data[0] = (float)zp;
            pith_node_param(nd, "lo")->data[0] = lo;
            pith_node_param(nd, "hi")->data[0] = hi;
        }
    }
    if (!rc)
        rc = pith_quant_enable(g, NULL, 1, 1);
    char summary[96];
    snprintf(summary, sizeof summary, "%d images, %d quantizers, observer %s", n, n_st, pith_observer_name(obs));
    pith_progress_end(&pr, rc ? "failed" : summary);
    for (int s = 0; s < n_st; s++)
        free(st[s].hist);
    free(st);
    pith_graph_set_training(g, was_training);
    return rc;
}
