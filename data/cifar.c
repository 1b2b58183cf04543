/* CIFAR-10 and CIFAR-100 binary batches. A record is the label byte(s)
 * (CIFAR-10: the class; CIFAR-100: coarse, then fine, the one used) and
 * 3072 bytes: the red, green and blue 32 x 32 planes, row by row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "data.h"
#include "image.h"

#define PLANES 3072

/* class names: one per line in the meta file (blank lines dropped) */
static int read_names(const char *path, int classes, char **names)
{
    *names = NULL;
    if (!pith_is_file(path))
        return PITH_OK;
    uint8_t *buf;
    size_t n;
    int rc = pith_file_read(path, 1 << 20, &buf, &n);
    if (rc)
        return rc;
    buf[n] = 0;
    char *out = malloc(n + 2), *o = out;
    int count = 0;
    if (!out) {
        free(buf);
        return pith_error(PITH_ENOMEM, "out of memory for class names");
    }
    for (char *s = (char *)buf, *e; *s; s = e) {
        e = s + strcspn(s, "\r\n");
        size_t len = (size_t)(e - s);
        if (len) {
            memcpy(o, s, len);
            o += len;
            *o++ = '\n';
            count++;
        }
        e += strspn(e, "\r\n");
    }
    *o = 0;
    free(buf);
    if (count != classes) {
        free(out);
        return pith_error(PITH_EFORMAT, "%s: %d class names, %d expected", path, count, classes);
    }
    *names = out;
    return PITH_OK;
}

long pith_cifar_records(size_t n, int cifar100)
{
    const size_t rec = (size_t)(cifar100 ? 2 : 1) + PLANES;
    return n == 0 || n % rec ? -1 : (long)(n / rec);
}

int pith_cifar_parse(const char *name, const uint8_t *buf, size_t n, int cifar100, uint8_t *planes, int *labels,
                     size_t *at)
{
    const int label_bytes = cifar100 ? 2 : 1, classes = cifar100 ? 100 : 10;
    const long records = pith_cifar_records(n, cifar100);
    if (records < 0)
        return pith_error(PITH_EFORMAT, "%s: %zu bytes is not a whole number of %d-byte CIFAR-%d records", name, n,
                          label_bytes + PLANES, classes);
    for (long r = 0; r < records; r++) {
        const uint8_t *s = buf + (size_t)r * (size_t)(label_bytes + PLANES);
        const int label = s[label_bytes - 1];
        if (label >= classes)
            return pith_error(PITH_EFORMAT, "%s: record %ld has label %d (CIFAR-%d has 0..%d)", name, r, label,
                              classes, classes - 1);
        labels[*at] = label;
        memcpy(planes + *at * PLANES, s + label_bytes, PLANES);
        ++*at;
    }
    return PITH_OK;
}

int pith_cifar_read(const char *dir, const char *split, uint8_t **planes, int **labels, int *n, int *classes,
                    char **names)
{
    *planes = NULL;
    *labels = NULL;
    *n = 0;
    *names = NULL;
    const int train = strcmp(split, "train") == 0;
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, train ? "train.bin" : "test.bin");
    const int c100 = pith_is_file(p);
    const int rec = (c100 ? 2 : 1) + PLANES;
    *classes = c100 ? 100 : 10;
    const char *files[5];
    char paths[5][4096];
    int nf = 0;
    if (c100) {
        snprintf(paths[0], sizeof paths[0], "%s", p);
        nf = 1;
    } else if (train) {
        for (int i = 0; i < 5; i++)
            snprintf(paths[i], sizeof paths[i], "%s/data_batch_%d.bin", dir, i + 1);
        nf = 5;
    } else {
        snprintf(paths[0], sizeof paths[0], "%s/test_batch.bin", dir);
        nf = 1;
    }
    for (int i = 0; i < nf; i++)
        files[i] = paths[i];
    uint8_t *bufs[5] = {0};
    size_t lens[5] = {0}, total = 0;
    int rc = 0;
    for (int i = 0; i < nf && !rc; i++) {
        rc = pith_file_read(files[i], (size_t)1 << 30, &bufs[i], &lens[i]);
        size_t none = 0;
        if (!rc && pith_cifar_records(lens[i], c100) < 0) /* the parser's message for it */
            rc = pith_cifar_parse(files[i], bufs[i], lens[i], c100, NULL, NULL, &none);
        total += lens[i] / (size_t)rec;
    }
    if (!rc) {
        *planes = malloc(total * PLANES + 1);
        *labels = malloc(total * sizeof(int) + 1);
        if (!*planes || !*labels)
            rc = pith_error(PITH_ENOMEM, "out of memory for %zu CIFAR images", total);
    }
    size_t k = 0;
    for (int i = 0; i < nf && !rc; i++)
        rc = pith_cifar_parse(files[i], bufs[i], lens[i], c100, *planes, *labels, &k);
    for (int i = 0; i < nf; i++)
        free(bufs[i]);
    if (!rc) {
        snprintf(p, sizeof p, "%s/%s", dir, c100 ? "fine_label_names.txt" : "batches.meta.txt");
        rc = read_names(p, *classes, names);
    }
    if (rc) {
        free(*planes);
        free(*labels);
        *planes = NULL;
        *labels = NULL;
        return rc;
    }
    *n = (int)total;
    return PITH_OK;
}
