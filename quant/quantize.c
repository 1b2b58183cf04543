#include "quantize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "../core/threads.h"

void quant_job_defaults(quant_job *j)
{
    memset(j, 0, sizeof *j);
    snprintf(j->method, sizeof j->method, "ptq");
    j->q = pith_quant_defaults();
    j->a_obs = PITH_OBS_MINMAX;
    j->pct = 99.99f;
    j->calib = 512;
    j->epochs = -1;
    j->freeze_bn = -1;
}

int quant_job_finish(quant_job *j)
{
    pith_wq_kind k = j->q.method;
    if (j->epochs < 0)
        j->epochs = !j->train ? 0 : k == PITH_WQ_KMEANS ? 2 : 3;
    if (j->epochs && !j->train)
        return pith_error(PITH_EINVAL, "--epochs: ptq does not fine-tune (use --method qat)");
    if (k == PITH_WQ_KMEANS && !j->mode_given)
        j->q.io = PITH_QIO_WEIGHT_ONLY; /* Deep Compression shares weights; activations stay float */
    if (k == PITH_WQ_KMEANS && j->q.w.bits > 8)
        return pith_error(PITH_EINVAL, "k-means takes 1 to 8 bits (a codebook of 2^bits centroids)");
    if ((k == PITH_WQ_BINARY || k == PITH_WQ_TERNARY) && j->q.w.bits != 8)
        return pith_error(PITH_EINVAL, "--wbits does not apply to %s weights", j->method);
    if (k == PITH_WQ_UNIFORM && j->q.w.bits < 2)
        return pith_error(PITH_EINVAL, "uniform weights take 2 to 8 or 16 bits (1 bit: --method binary)");
    if (j->freeze_bn >= 0) {
        if (!j->train || j->q.method != PITH_WQ_UNIFORM)
            return pith_error(PITH_EINVAL, "--freeze-bn applies to --method qat");
        j->q.fold_bn = 0; /* BN trains with batch statistics until it is frozen */
    }
    if (j->q.w.round == PITH_QROUND_STOCHASTIC && !j->train)
        return pith_error(PITH_EINVAL, "stochastic rounding is for fine-tuning: use --method qat");
    if (j->q.lsq && !j->train)
        return pith_error(PITH_EINVAL, "--lsq learns scales during fine-tuning: use --method qat");
    /* QAT tracks activation ranges by EMA unless it learns them */
    j->q.ema = j->train && !j->q.lsq;
    return PITH_OK;
}

/* "conv1 int8, conv2 ternary, fc1 ternary, fc2 int8 (first/last kept)" */
static void describe_layers(const pith_graph *g, const quant_job *j, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    int first = -1, last = -1;
    for (int k = 0; k < g->n_order; k++) {
        const pith_op *op = g->nodes[g->order[k]].op;
        if (op == &pith_op_conv2d || op == &pith_op_linear) {
            first = first < 0 ? g->order[k] : first;
            last = g->order[k];
        }
    }
    for (int k = 0; k < g->n_order && o + 64 < len; k++) {
        const pith_node *n = &g->nodes[g->order[k]];
        if ((n->op != &pith_op_conv2d) && (n->op != &pith_op_linear))
            continue;
        char what[32];
        if (n->a.wq == PITH_WQ_UNIFORM)
            snprintf(what, sizeof what, "int%d", n->a.wbits);
        else if (n->a.wq == PITH_WQ_KMEANS)
            snprintf(what, sizeof what, "kmeans%d", n->a.wbits);
        else
            snprintf(what, sizeof what, "%s", pith_wq_name((pith_wq_kind)n->a.wq));
        int kept = j->q.method != PITH_WQ_UNIFORM && n->a.wq == PITH_WQ_UNIFORM &&
                   (g->order[k] == first || g->order[k] == last);
        o += (size_t)snprintf(buf + o, len - o, "%s%s %s%s", o ? ", " : "", n->name, what,
                              kept ? (g->order[k] == first ? " (first layer kept at int8)" : " (last layer kept at int8)") : "");
    }
}

int quant_run(pith_graph *g, pith_ckpt_meta *meta, const pith_train_config *base, quant_job *j,
              const pith_dataset *train, const pith_dataset *test, const pith_dataset *calib_set, FILE *progress,
              quant_result *r)
{
    memset(r, 0, sizeof *r);
    /* no test set (a detector, a segmenter, a model of another task):
     * calibration only, accuracies n/a */
    const int scored = test && test->n > 0;
    r->float_top1 = r->top1 = r->top5 = r->loss = NAN;
    int rc = scored ? pith_test_accuracy(g, test, 500, &r->float_top1, NULL, NULL) : PITH_OK;
    if (!rc && !scored && j->train && j->epochs > 0)
        rc = pith_error(PITH_EINVAL, "%s fine-tunes on labelled data: it needs a training and test set", j->method);
    r->float_bytes = pith_graph_bytes(g);
    for (int i = 0; i < g->n_nodes; i++) { /* pruning masks are not part of the float model's size */
        const pith_param *mk = pith_node_param(&g->nodes[i], "mask");
        r->float_bytes -= mk ? (int64_t)mk->size * 4 : 0;
    }
    pith_qlayer *layers = NULL;
    pith_quant_config qc = j->q;
    if (!rc && j->plan[0]) {
        layers = calloc(QUANT_MAX_PLAN, sizeof *layers);
        rc = layers ? quant_plan_load(j->plan, layers, QUANT_MAX_PLAN, &qc.n_plan)
                    : pith_error(PITH_ENOMEM, "out of memory");
        qc.plan = layers;
    }
    qc.cle_report = &r->cle;
    if (!rc)
        rc = pith_quant_apply(g, &qc);
    free(layers);
    if (!rc) /* unscored models are the large ones (a detector at 640): small calibration batches */
        rc = pith_graph_compile(g, scored ? 500 : 2);
    pith_dataset rest = {0}, calib = {0};
    if (!rc && j->q.io != PITH_QIO_WEIGHT_ONLY) {
        if (calib_set && j->calib >= calib_set->n) {
            j->calib = calib_set->n;
            rc = pith_quant_calibrate(g, calib_set, calib_set->n, j->a_obs, j->pct, progress);
        } else {
            const pith_dataset *from = calib_set ? calib_set : train;
            if (j->calib >= from->n)
                rc = pith_error(PITH_EINVAL, "--calib %d: the training set has %d images", j->calib, from->n);
            else
                rc = pith_dataset_split(from, j->calib, j->q.seed, &rest, &calib);
            if (!rc)
                rc = pith_quant_calibrate(g, &calib, calib.n, j->a_obs, j->pct, progress);
        }
    }
    pith_dataset_free(&rest);
    pith_dataset_free(&calib);
    if (!rc && j->train && j->epochs > 0) {
        /* k-means centroid gradients are sums over many weights: a smaller rate */
        float divisor = j->q.method == PITH_WQ_KMEANS ? 100.0f
                        : j->q.method == PITH_WQ_BINARY || j->q.method == PITH_WQ_TERNARY ? 5.0f : 10.0f;
        pith_train_config c = pith_finetune_config(base, j->epochs, j->lr, divisor);
        if (j->q.method == PITH_WQ_KMEANS)
            c.optim.weight_decay = 0; /* would pull the shared centroids toward zero */
        /* Jacob et al.: batchnorm with batch statistics for `split` epochs, then frozen
         * (folded with its running statistics) for the rest of the schedule */
        int has_bn = 0;
        for (int k = 0; k < g->n_order; k++)
            has_bn |= g->nodes[g->order[k]].a.wbn;
        int split = has_bn && j->freeze_bn >= 0 && j->freeze_bn < c.epochs ? j->freeze_bn : c.epochs;
        if (progress)
            fprintf(progress, "fine-tuning %s for %d epoch%s, lr %g%s\n", j->method, c.epochs, c.epochs == 1 ? "" : "s",
                    (double)c.lr, has_bn ? (split < c.epochs ? ", batchnorm frozen and folded after epoch" : ", batchnorm training") : "");
        if (progress && has_bn && split < c.epochs)
            fprintf(progress, "  (freeze after epoch %d)\n", split);
        pith_trainer *t = NULL;
        int64_t steps = 0;
        if (split > 0) {
            c.stop_after = split < c.epochs ? split : 0;
            rc = pith_trainer_create(&t, g, &c, train, test);
            if (!rc) {
                t->progress = progress;
                rc = pith_trainer_run(t);
                r->epochs = t->epoch;
                steps = t->step;
            }
            pith_trainer_free(t);
            t = NULL;
        }
        if (!rc && split < c.epochs) {
            rc = pith_quant_freeze_bn(g);
            c.stop_after = 0;
            if (!rc)
                rc = pith_trainer_create(&t, g, &c, train, test);
            if (!rc) {
                t->progress = progress;
                t->epoch = split;
                t->step = steps;
                rc = pith_trainer_run(t);
                r->epochs = t->epoch;
            }
            pith_trainer_free(t);
        }
        r->cfg = c;
    }
    if (!rc && scored)
        rc = pith_test_accuracy(g, test, 500, &r->top1, &r->top5, &r->loss);
    if (!rc) {
        r->bytes = pith_quant_weight_bytes(g);
        describe_layers(g, j, r->layers, sizeof r->layers);
        meta->top1 = r->top1;
        meta->top5 = r->top5;
        meta->test_loss = r->loss;
    }
    return rc;
}

void quant_job_scheme(const quant_job *j, char *buf, size_t len)
{
    const pith_quant_config *q = &j->q;
    const char *gran = q->w.gran == PITH_QGRAN_TENSOR ? "per-tensor" : q->w.gran == PITH_QGRAN_CHANNEL ? "per-channel" : "per-group";
    if (q->method == PITH_WQ_UNIFORM)
        snprintf(buf, len, "w%d %s %s", q->w.bits, gran, q->w.symmetric ? "symmetric" : "asymmetric");
    else if (q->method == PITH_WQ_KMEANS)
        snprintf(buf, len, "k-means %d-bit codebook", q->w.bits);
    else
        snprintf(buf, len, "%s weights", pith_wq_name(q->method));
    size_t o = strlen(buf);
    if (q->io == PITH_QIO_WEIGHT_ONLY)
        snprintf(buf + o, len - o, ", float activations");
    else
        snprintf(buf + o, len - o, ", a%d %s (%s, %d calibration images)%s", q->a.bits,
                 q->a.symmetric ? "symmetric" : "asymmetric", pith_observer_name(j->a_obs), j->calib,
                 q->io == PITH_QIO_INT8 ? ", int8 input/output" : "");
}

void quant_result_print(FILE *f, const quant_job *j, const quant_result *r)
{
    char s[256];
    quant_job_scheme(j, s, sizeof s);
    fprintf(f, "method     %s: %s%s\n", j->method, s, j->q.lsq ? ", LSQ" : "");
    if (r->epochs)
        fprintf(f, "fine-tune  %d epoch%s, lr %g\n", r->epochs, r->epochs == 1 ? "" : "s", (double)r->cfg.lr);
    fprintf(f, "layers     %s\n", r->layers);
    if (j->q.cle) {
        fprintf(f, "CLE        %d layer pair%s equalized", r->cle.pairs, r->cle.pairs == 1 ? "" : "s");
        for (int k = 0; k < r->cle.n_skipped; k++)
            fprintf(f, "%s%s (%s after it does not commute with scaling)", k ? ", " : "; skipped: ",
                    r->cle.skipped[k].layer, r->cle.skipped[k].by);
        fprintf(f, "\n");
    }
    if (isnan(r->float_top1)) { /* --no-eval */
        fprintf(f, "float      top-1    n/a   weights %9.1f KB\n", r->float_bytes / 1024.0);
        fprintf(f, "quantized  top-1    n/a   weights %9.1f KB   (%.1fx smaller)\n", r->bytes / 1024.0,
                r->bytes ? (double)r->float_bytes / (double)r->bytes : 0.0);
        return;
    }
    fprintf(f, "float      top-1 %6.2f%%   weights %9.1f KB\n", 100 * r->float_top1, r->float_bytes / 1024.0);
    fprintf(f, "quantized  top-1 %6.2f%%   weights %9.1f KB   (%.1fx smaller)   drop %+.2f pt\n",
            100 * r->top1, r->bytes / 1024.0, r->bytes ? (double)r->float_bytes / (double)r->bytes : 0.0,
            100 * (r->float_top1 - r->top1));
}

void quant_job_label(const quant_job *j, char *buf, size_t len)
{
    const pith_quant_config *q = &j->q;
    char acts[16] = "";
    if (q->io != PITH_QIO_WEIGHT_ONLY)
        snprintf(acts, sizeof acts, "a%d", q->a.bits);
    switch (q->method) {
    case PITH_WQ_KMEANS: snprintf(buf, len, "kmeans%d%s%s", q->w.bits, acts[0] ? "-" : "", acts); break;
    case PITH_WQ_BINARY: snprintf(buf, len, "binary%s%s", acts[0] ? "-" : "", acts); break;
    case PITH_WQ_TERNARY: snprintf(buf, len, "ternary%s%s", acts[0] ? "-" : "", acts); break;
    default: snprintf(buf, len, "w%d%s", q->w.bits, acts[0] ? acts : "-weight-only"); break;
    }
}
