/* Training speed of the fmnist-cnn recipe (SGD momentum 0.9, lr 0.05 cosine,
 * weight decay 5e-4, batch 64), pith against PyTorch, alternating so that
 * both see the same machine state. Prints images/s per round and the ratio.
 *
 *   build/bench/train_speed [--rounds N] [--threads N] [--epochs E] [--no-peer]
 *
 * The peer is ../shared/peers/torch_fmnist.py run as
 *   OPENBLAS_NUM_THREADS=1 /usr/bin/python3 torch_fmnist.py train --epochs 1
 *       --latency-runs 0 --repeats 1 --no-save
 * (its fastest setting; see ../shared/peers/README.md). Both run under the
 * environment this program was started with (OPENBLAS_CORETYPE included),
 * which is printed. pith's figure is the training loop only, like the peer's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dataset.h"
#include "../core/error.h"
#include "../core/threads.h"
#include "../core/train.h"
#include "../core/zoo.h"

static double pith_epoch(const pith_dataset *tr, int epochs)
{
    pith_graph *g;
    if (pith_zoo_build("fmnist-cnn", 1, 28, 28, 10, 1, &g))
        return -1;
    pith_train_config c = pith_train_defaults();
    c.epochs = epochs;
    pith_trainer *t;
    if (pith_trainer_create(&t, g, &c, tr, NULL)) {
        pith_graph_free(g);
        return -1;
    }
    double ips = 0;
    for (int e = 0; e < epochs; e++) {
        pith_epoch_record r;
        if (pith_trainer_epoch(t, &r))
            return -1;
        ips += r.img_per_s;
    }
    pith_trainer_free(t);
    pith_graph_free(g);
    return ips / epochs;
}

/* Runs the peer for one epoch; returns its img/s, or -1. */
static double torch_epoch(const char *peer)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=1 PEERS_OUT=/tmp/pith-bench-peer /usr/bin/python3 %s train "
             "--epochs 1 --latency-runs 0 --repeats 1 --no-save 2>/dev/null",
             peer);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    double ips = -1;
    while (fgets(line, sizeof line, p)) {
        /* "[run 1] epoch 1/1: 12.33 s, 4867 img/s, loss 0.3910" */
        char *q = strstr(line, " img/s");
        if (q && strstr(line, "epoch 1/1")) {
            while (q > line && q[-1] != ' ')
                q--;
            ips = atof(q);
        }
    }
    pclose(p);
    return ips;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int rounds = 3, threads = 2, epochs = 1, peer = 1;
    const char *peer_script = "../shared/peers/torch_fmnist.py";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--peer") && i + 1 < argc)
            peer_script = argv[++i];
        else if (!strcmp(argv[i], "--no-peer"))
            peer = 0;
        else {
            fprintf(stderr, "usage: %s [--rounds N] [--threads N] [--epochs E] [--peer SCRIPT] [--no-peer]\n",
                    argv[0]);
            return 2;
        }
    }
    if (rounds < 1 || rounds > 100 || epochs < 1 || threads < 1)
        return 2;
    pith_set_threads(threads);
    pith_dataset tr;
    if (pith_dataset_load_dir(PITH_FMNIST_DIR, "train", PITH_FMNIST_MEAN, PITH_FMNIST_STD, &tr)) {
        fprintf(stderr, "train_speed: %s\n", pith_last_error());
        return 1;
    }
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("fmnist-cnn training, batch 64, SGD momentum, %d thread(s); OPENBLAS_CORETYPE=%s\n",
           threads, ct ? ct : "(unset)");
    printf("%-6s %12s %14s %8s\n", "round", "pith img/s", "PyTorch img/s", "ratio");
    double rp[100], rt[100], rr[100];
    int n = 0;
    for (int r = 0; r < rounds; r++) {
        double a = pith_epoch(&tr, epochs);
        double b = peer ? torch_epoch(peer_script) : -1;
        if (a < 0) {
            fprintf(stderr, "train_speed: %s\n", pith_last_error());
            return 1;
        }
        if (peer && b <= 0) {
            fprintf(stderr, "train_speed: the PyTorch peer did not run (python3-torch installed? "
                            "run from the project root; --no-peer skips it)\n");
            peer = 0;
        }
        rp[n] = a;
        rt[n] = b;
        rr[n] = b > 0 ? a / b : 0;
        n++;
        if (b > 0)
            printf("%-6d %12.0f %14.0f %8.2f\n", r + 1, a, b, a / b);
        else
            printf("%-6d %12.0f %14s %8s\n", r + 1, a, "-", "-");
        fflush(stdout);
    }
    qsort(rp, (size_t)n, sizeof *rp, cmp);
    qsort(rt, (size_t)n, sizeof *rt, cmp);
    qsort(rr, (size_t)n, sizeof *rr, cmp);
    printf("median %12.0f %14.0f %8.2f   (ratio: median of the per-round ratios, range %.2f-%.2f)\n",
           rp[n / 2], peer ? rt[n / 2] : 0.0, peer ? rr[n / 2] : 0.0, rr[0], rr[n - 1]);
    pith_dataset_free(&tr);
    return 0;
}
