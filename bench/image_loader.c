/* The image loader's speed: N photo-sized JPEGs (500 x 375, made here with
 * libjpeg-turbo from smooth synthetic scenes with grain, quality 90) in class
 * folders, read, decoded, resized (shorter side 256) and centre-cropped to
 * 224 x 224 by the loader on T threads; against Pillow doing the same
 * (torchvision's eval transform) on T worker processes, timed in the same
 * window, alternating. Also the training-crop preparation (shorter side
 * only, for random-resized crops), and an epoch's gathers from that cache
 * (random-resized crop to 224, flip, normalise: what training waits on once
 * the cache is warm).
 *
 *   build/bench/image_loader [--images N] [--threads T] [--rounds R] [--no-peer]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "../core/error.h"
#include "../core/progress.h"
#include "../core/threads.h"
#include "../data/data.h"

static int make_jpegs(const char *dir, int n)
{
    tjhandle tj = tjInitCompress();
    const int w = 500, h = 375;
    uint8_t *px = malloc((size_t)w * h * 3);
    if (!tj || !px)
        return -1;
    uint64_t s = 12345;
    for (int i = 0; i < n; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/class%d", dir, i % 4);
        mkdir(p, 0777);
        double a = 0.01 + 0.002 * (i % 17), b = 0.013 + 0.003 * (i % 5);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) {
                    s = s * 6364136223846793005ull + 1442695040888963407ull;
                    double v = 128 + 70 * sin(a * x * (c + 1) + i) * cos(b * y + c) + (double)(s >> 60) - 8;
                    px[((size_t)y * w + x) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
        unsigned char *jpg = NULL;
        unsigned long len = 0;
        if (tjCompress2(tj, px, w, 0, h, TJPF_RGB, &jpg, &len, TJSAMP_420, 90, 0))
            return -1;
        snprintf(p, sizeof p, "%s/class%d/%05d.jpg", dir, i % 4, i);
        FILE *f = fopen(p, "wb");
        if (!f || fwrite(jpg, 1, len, f) != len) {
            if (f)
                fclose(f);
            return -1;
        }
        fclose(f);
        tjFree(jpg);
    }
    free(px);
    tjDestroy(tj);
    return 0;
}

/* an epoch's gathers from the cache: random-resized crops to 224, flips,
 * normalisation into float batches of 64 (what training waits on per epoch) */
static double gather_rate(const pith_dataset *ds)
{
    enum { BATCH = 64 };
    float *x = malloc(sizeof *x * BATCH * 3 * 224 * 224);
    int idx[BATCH], y[BATCH];
    pith_augment aug = {0, 1, 0.08f};
    double t0 = pith_now();
    for (int b = 0; b + BATCH <= ds->n; b += BATCH) {
        for (int i = 0; i < BATCH; i++)
            idx[i] = b + i;
        pith_dataset_gather(ds, idx, BATCH, &aug, (uint64_t)b, x, y);
    }
    double dt = pith_now() - t0;
    free(x);
    return (ds->n / BATCH * BATCH) / dt;
}

static double last_gather;

static double pith_rate(const char *dir, int train_crop)
{
    pith_data_opts o;
    pith_data_opts_default(&o);
    o.c = 3;
    o.h = o.w = 224;
    o.pre.resize = 256;
    o.train_crop = train_crop;
    pith_dataset ds;
    pith_data_report rep;
    double t0 = pith_now();
    if (pith_data_load(dir, "train", &o, &ds, &rep)) {
        fprintf(stderr, "image_loader: %s\n", pith_last_error());
        exit(1);
    }
    double dt = pith_now() - t0;
    int n = ds.n;
    if (train_crop)
        last_gather = gather_rate(&ds);
    pith_dataset_free(&ds);
    return n / dt;
}

static double peer_rate(const char *dir, int threads)
{
    char cmd[4600];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/pil_loader.py %s %d 256 224", dir, threads);
    FILE *p = popen(cmd, "r");
    double r = NAN;
    if (!p || fscanf(p, "%lf", &r) != 1)
        r = NAN;
    if (p)
        pclose(p);
    return r;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n = 400, threads = 2, rounds = 3, peer = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--images") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-peer"))
            peer = 0;
        else {
            fprintf(stderr, "usage: image_loader [--images N] [--threads T] [--rounds R] [--no-peer]\n");
            return 2;
        }
    }
    if (n < 4 || threads < 1 || rounds < 1 || rounds > 20)
        return 2;
    char dir[] = "/tmp/pith-bench-jpegs-XXXXXX"; /* mkdtemp(3)'s template: the six X become a unique name */
    if (!mkdtemp(dir) || make_jpegs(dir, n)) {
        fprintf(stderr, "image_loader: cannot write the JPEGs\n");
        return 1;
    }
    pith_set_threads(threads);
    printf("%d JPEGs of 500x375 (quality 90, 4:2:0) -> resize 256, centre crop 224, %d threads\n", n, threads);
    double a[20], b[20], c[20], g[20];
    for (int r = 0; r < rounds; r++) {
        a[r] = pith_rate(dir, 0);
        b[r] = peer ? peer_rate(dir, threads) : NAN;
        c[r] = pith_rate(dir, 1);
        g[r] = last_gather;
        printf("round %d: pith %.0f img/s, Pillow %.0f img/s, pith train-crop prep %.0f img/s, epoch gathers %.0f img/s\n",
               r + 1, a[r], b[r], c[r], g[r]);
        fflush(stdout);
    }
    qsort(a, (size_t)rounds, sizeof *a, cmp);
    qsort(b, (size_t)rounds, sizeof *b, cmp);
    qsort(c, (size_t)rounds, sizeof *c, cmp);
    qsort(g, (size_t)rounds, sizeof *g, cmp);
    double ma = a[rounds / 2], mb = b[rounds / 2], mc = c[rounds / 2], mg = g[rounds / 2];
    printf("median: pith %.0f img/s, Pillow (torchvision's transform, %d processes) %.0f img/s: %.2fx; "
           "pith train-crop prep %.0f img/s; an epoch's random-resized crops to 224 from the cache %.0f img/s\n",
           ma, threads, mb, ma / mb, mc, mg);
    char rm[4200];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm) != 0)
        fprintf(stderr, "image_loader: could not remove %s\n", dir);
    return 0;
}
