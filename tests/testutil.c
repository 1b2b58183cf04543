#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/dataset.h"
#include "../core/rng.h"

static char tmpdir[256];

const char *tu_tmpdir(void)
{
    /* one new directory per test process: pid, then a counter if it exists */
    for (int k = 0; !tmpdir[0] && k < 1000; k++) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/pith-test-%ld-%d", (long)getpid(), k);
        if (mkdir(tmpdir, 0700) != 0)
            tmpdir[0] = '\0';
    }
    if (!tmpdir[0])
        snprintf(tmpdir, sizeof tmpdir, "/tmp");
    return tmpdir;
}

const char *tu_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tu_tmpdir(), name);
    return buf[k];
}

void tu_fill(float *x, size_t n, float lo, float hi, uint64_t seed)
{
    pith_rng r;
    pith_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * pith_rng_uniform(&r);
}

int tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

void *tu_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[len] = '\0';
        *n = (size_t)len;
    }
    return buf;
}

int tu_have_fmnist(void)
{
    struct stat st;
    return stat(PITH_FMNIST_DIR "/train-images-idx3-ubyte.gz", &st) == 0;
}

const char *tu_write_text(const char *name, const char *text)
{
    const char *p = tu_path(name);
    assert_int_equal(tu_write_file(p, text, strlen(text)), 0);
    return p;
}
