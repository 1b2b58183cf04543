/* QAT speed: one quantization-aware training epoch of fmnist-cnn over one
 * float training epoch of the same model, alternating so both see the same
 * machine state. The QAT model is what `pith quantize --method qat` trains:
 * batchnorm folded, fake-quant on every activation (EMA ranges), weights
 * re-quantized at every step. The target is a ratio of at most 1.3; PyTorch's
 * QAT epoch is about 2x its float epoch (../shared/peers/torch_fmnist.py).
 *
 *   build/bench/qat_speed [--rounds N] [--threads N] [--bits W,A] [--lsq]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dataset.h"
#include "../core/error.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../core/zoo.h"
#include "../quant/quant.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds for one training epoch (the loop only), float or QAT. */
static double epoch_seconds(const pith_dataset *tr, int qat, int wbits, int abits, int lsq)
{
    pith_graph *g;
    if (pith_zoo_build("fmnist-cnn", 1, 28, 28, 10, 1, &g))
        return -1;
    int rc = 0;
    if (qat) {
        pith_quant_config c = pith_quant_defaults();
        c.w.bits = wbits;
        c.a.bits = abits;
        c.w_obs = wbits < 8 ? PITH_OBS_MSE : PITH_OBS_MINMAX;
        c.lsq = lsq;
        c.ema = !lsq;
        rc = pith_quant_apply(g, &c);
        if (!rc)
            rc = pith_graph_compile(g, 64);
        if (!rc)
            rc = pith_quant_calibrate(g, tr, 512, PITH_OBS_MINMAX, 0, NULL);
    }
    pith_train_config c = pith_train_defaults();
    c.epochs = 1;
    c.lr = 0.005f;
    pith_trainer *t = NULL;
    if (!rc)
        rc = pith_trainer_create(&t, g, &c, tr, NULL);
    pith_epoch_record r;
    if (!rc)
        rc = pith_trainer_epoch(t, &r);
    pith_trainer_free(t);
    pith_graph_free(g);
    return rc ? -1 : r.seconds;
}

int main(int argc, char **argv)
{
    int rounds = 5, threads = 2, wbits = 4, abits = 4, lsq = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--bits") && i + 1 < argc && sscanf(argv[i + 1], "%d,%d", &wbits, &abits) == 2)
            i++;
        else if (!strcmp(argv[i], "--lsq"))
            lsq = 1;
        else {
            fprintf(stderr, "usage: %s [--rounds N] [--threads N] [--bits W,A] [--lsq]\n", argv[0]);
            return 2;
        }
    }
    if (rounds < 1 || rounds > 100 || threads < 1)
        return 2;
    pith_set_threads(threads);
    if (pith_quant_register())
        return 1;
    pith_dataset tr;
    if (pith_dataset_load_dir(PITH_FMNIST_DIR, "train", PITH_FMNIST_MEAN, PITH_FMNIST_STD, &tr)) {
        fprintf(stderr, "qat_speed: %s\n", pith_last_error());
        return 1;
    }
    printf("fmnist-cnn, one epoch of 60000 images, batch 64, %d thread(s); QAT w%da%d%s\n", threads, wbits, abits,
           lsq ? " with LSQ" : " with EMA ranges");
    printf("%-6s %10s %10s %8s\n", "round", "float s", "QAT s", "ratio");
    double rf[100], rq[100], rr[100];
    int n = 0;
    for (int r = 0; r < rounds; r++) {
        double f = epoch_seconds(&tr, 0, 0, 0, 0), q = epoch_seconds(&tr, 1, wbits, abits, lsq);
        if (f <= 0 || q <= 0) {
            fprintf(stderr, "qat_speed: %s\n", pith_last_error());
            return 1;
        }
        rf[n] = f;
        rq[n] = q;
        rr[n] = q / f;
        printf("%-6d %10.2f %10.2f %8.2f\n", r + 1, f, q, q / f);
        fflush(stdout);
        n++;
    }
    qsort(rf, (size_t)n, sizeof *rf, cmp);
    qsort(rq, (size_t)n, sizeof *rq, cmp);
    qsort(rr, (size_t)n, sizeof *rr, cmp);
    printf("median %10.2f %10.2f %8.2f   (ratio: median of the per-round ratios, range %.2f-%.2f; target <= 1.3)\n",
           rf[n / 2], rq[n / 2], rr[n / 2], rr[0], rr[n - 1]);
    pith_dataset_free(&tr);
    return 0;
}
