/* Per-layer quantization error (what rknn-toolkit's accuracy_analysis
 * reports, and the single / weight-only / activation-only splits).
 *
 * Two copies of the same quantized graph run side by side: `gq` quantized as
 * configured for the run, `gf` with every quantizer off (the float model).
 * Each layer is compared where the integer model holds its output: at the
 * fake_quant node after it (after its relu), or at the layer itself when its
 * output stays float. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../core/progress.h"
#include "quant.h"
#include "quant_internal.h"

typedef struct acc_err {
    double ff, ee, fq, qq, max_abs, euclid;
    int64_t sat, count, images;
} acc_err;

static void accumulate(acc_err *a, const float *f, const float *q, size_t per, int batch)
{
    for (int b = 0; b < batch; b++) {
        double ee = 0.0;
        const float *fb = f + (size_t)b * per, *qb = q + (size_t)b * per;
        for (size_t i = 0; i < per; i++) {
            double d = (double)fb[i] - (double)qb[i];
            a->ff += (double)fb[i] * fb[i];
            a->qq += (double)qb[i] * qb[i];
            a->fq += (double)fb[i] * qb[i];
            ee += d * d;
            a->max_abs = fmax(a->max_abs, fabs(d));
        }
        a->ee += ee;
        a->euclid += sqrt(ee);
    }
    a->count += (int64_t)per * batch;
    a->images += batch;
}

static void count_saturated(acc_err *a, const pith_node *fq, const float *x, size_t n)
{
    pith_qspec s = pith_fq_spec(fq);
    int32_t qmin, qmax;
    pith_qspec_limits(&s, &qmin, &qmax);
    float sc = fq->params[0].data[0], z = fq->params[1].data[0];
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (fq->a.qrelu && !(v > 0.0f))
            continue; /* relu's zeros, not saturation */
        if (fq->a.qrelu == 2 && v > 6.0f)
            v = 6.0f;
        float q = nearbyintf(v / sc) + z;
        a->sat += q < (float)qmin || q > (float)qmax;
    }
}

static void finish(const acc_err *a, pith_error_metrics *m)
{
    m->cosine = a->ff > 0 && a->qq > 0 ? a->fq / sqrt(a->ff * a->qq) : (a->ee == 0 ? 1.0 : 0.0);
    m->euclid = a->images ? a->euclid / (double)a->images : 0.0;
    m->sqnr_db = a->ee > 0 ? 10.0 * log10(a->ff / a->ee) : INFINITY;
    m->max_abs = a->max_abs;
    m->saturated = a->count ? (double)a->sat / (double)a->count : 0.0;
}

static int is_layer(const pith_node *n) { return (n->op == &pith_op_conv2d) || (n->op == &pith_op_linear); }

/* One pass over the images; errors at every layer's compare point. */
static int run(pith_graph *gq, pith_graph *gf, const pith_dataset *ds, int n, const int *point, int n_layers,
               const int *layer, pith_error_metrics *out, int with_sat)
{
    acc_err *a = calloc((size_t)n_layers, sizeof *a);
    int *idx = malloc((size_t)gq->batch * sizeof *idx), *labels = malloc((size_t)gq->batch * sizeof *labels);
    int rc = !a || !idx || !labels ? pith_error(PITH_ENOMEM, "analyze: out of memory") : PITH_OK;
    for (int start = 0; start < n && !rc; start += gq->batch) {
        int m = n - start < gq->batch ? n - start : gq->batch;
        for (int i = 0; i < m; i++)
            idx[i] = start + i;
        pith_dataset_gather(ds, idx, m, NULL, 0, pith_graph_input(gq), labels);
        memcpy(pith_graph_input(gf), pith_graph_input(gq), pith_shape_size(&gq->input_shape) * (size_t)m * sizeof(float));
        rc = pith_graph_forward(gq, m);
        if (!rc)
            rc = pith_graph_forward(gf, m);
        for (int l = 0; l < n_layers && !rc; l++) {
            const pith_node *nq = &gq->nodes[point[l]], *nf = &gf->nodes[point[l]];
            size_t per = pith_shape_size(&nq->out);
            accumulate(&a[l], nf->y, nq->y, per, m);
            if (with_sat && point[l] != layer[l] && nq->a.qmode)
                count_saturated(&a[l], nq, gq->nodes[nq->in[0]].y, per * (size_t)m);
        }
    }
    for (int l = 0; l < n_layers && !rc; l++)
        finish(&a[l], &out[l]);
    free(a);
    free(idx);
    free(labels);
    return rc;
}

int pith_quant_analyze(pith_graph *gq, pith_graph *gf, const pith_dataset *ds, int n, pith_layer_error *out,
                       int max, int *n_out, FILE *progress)
{
    if (!gq->batch || !gf->batch || gq->batch != gf->batch || gq->n_nodes != gf->n_nodes)
        return pith_error(PITH_EINVAL, "analyze: two compiled copies of the same graph are needed");
    if (n < 1 || n > ds->n)
        return pith_error(PITH_EINVAL, "analyze: %d images requested, %d available", n, ds->n);
    int rc = pith_graph_sort(gq);
    int n_layers = 0, *layer = malloc((size_t)gq->n_order * sizeof *layer),
        *point = malloc((size_t)gq->n_order * sizeof *point);
    pith_error_metrics *tmp = calloc((size_t)gq->n_order, sizeof *tmp);
    if (!layer || !point || !tmp)
        rc = pith_error(PITH_ENOMEM, "analyze: out of memory");
    for (int k = 0; k < gq->n_order && !rc; k++) {
        int i = gq->order[k];
        if (!is_layer(&gq->nodes[i]))
            continue;
        if (n_layers >= max) {
            rc = pith_error(PITH_EINVAL, "analyze: more than %d layers", max);
            break;
        }
        int f = pith_quant_output_fq(gq, i);
        layer[n_layers] = i;
        point[n_layers] = f >= 0 ? f : i;
        memset(&out[n_layers], 0, sizeof out[n_layers]);
        snprintf(out[n_layers].name, sizeof out[n_layers].name, "%s", gq->nodes[i].name);
        n_layers++;
    }
    /* remember which quantizers the run has, to restore them */
    int *mode = calloc((size_t)gq->n_nodes, sizeof *mode);
    if (!rc && !mode)
        rc = pith_error(PITH_ENOMEM, "analyze: out of memory");
    for (int i = 0; i < gq->n_nodes && mode; i++)
        mode[i] = gq->nodes[i].a.qmode;
    int steps = 3 + n_layers, step = 0;
    pith_progress pr;
    pith_progress_begin(&pr, progress, "analyze", steps);
    int was_q = gq->training, was_f = gf->training;
    pith_graph_set_training(gq, 0);
    pith_graph_set_training(gf, 0);
    if (!rc)
        rc = pith_quant_enable(gf, NULL, 0, 0);
    /* entire: the whole network quantized */
    if (!rc)
        rc = run(gq, gf, ds, n, point, n_layers, layer, tmp, 1);
    for (int l = 0; l < n_layers && !rc; l++)
        out[l].entire = tmp[l];
    step++;
    pith_progress_update(&pr, step, (int64_t)step * n, "entire");
    /* weight-only and activation-only */
    if (!rc)
        rc = pith_quant_enable(gq, NULL, 1, 0);
    if (!rc)
        rc = run(gq, gf, ds, n, point, n_layers, layer, tmp, 0);
    for (int l = 0; l < n_layers && !rc; l++)
        out[l].weights_only = tmp[l];
    step++;
    pith_progress_update(&pr, step, (int64_t)step * n, "weights only");
    if (!rc)
        rc = pith_quant_enable(gq, NULL, 0, 0);
    for (int i = 0; i < gq->n_nodes && !rc; i++)
        gq->nodes[i].a.qmode = mode[i];
    if (!rc)
        rc = pith_quant_relink(gq);
    if (!rc)
        rc = run(gq, gf, ds, n, point, n_layers, layer, tmp, 0);
    for (int l = 0; l < n_layers && !rc; l++)
        out[l].acts_only = tmp[l];
    step++;
    pith_progress_update(&pr, step, (int64_t)step * n, "activations only");
    /* single: one layer quantized (weights and output), fed the float model's values */
    for (int l = 0; l < n_layers && !rc; l++) {
        rc = pith_quant_enable(gq, NULL, 0, 0);
        if (!rc) {
            gq->nodes[point[l]].a.qmode = mode[point[l]];
            rc = pith_quant_enable(gq, gq->nodes[layer[l]].name, 1, mode[point[l]]);
        }
        if (!rc)
            rc = run(gq, gf, ds, n, point, n_layers, layer, tmp, 0);
        if (!rc)
            out[l].single = tmp[l];
        step++;
    pith_progress_update(&pr, step, (int64_t)step * n, "single layers");
    }
    /* back to the run as loaded */
    if (mode) {
        int r2 = pith_quant_enable(gq, NULL, 1, 0);
        for (int i = 0; i < gq->n_nodes; i++)
            gq->nodes[i].a.qmode = mode[i];
        if (!r2)
            r2 = pith_quant_relink(gq);
        rc = rc ? rc : r2;
    }
    pith_progress_end(&pr, rc ? "failed" : "done");
    pith_graph_set_training(gq, was_q);
    pith_graph_set_training(gf, was_f);
    *n_out = n_layers;
    free(mode);
    free(layer);
    free(point);
    free(tmp);
    return rc;
}
