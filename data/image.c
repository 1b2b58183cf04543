/* Image files: the dispatch on magic bytes, PPM/PGM, reading files. */
#include "image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/error.h"
#include "../runtime/image.h"

void pith_image_free(pith_image *im)
{
    free(im->px);
    memset(im, 0, sizeof *im);
}

int pith_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int pith_file_read(const char *path, size_t max, uint8_t **buf, size_t *n)
{
    *buf = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return pith_error(PITH_EIO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        fclose(f);
        return pith_error(PITH_EFORMAT, "%s: %lld bytes, more than the %zu accepted", path, (long long)st.st_size,
                          max);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *b = malloc(len + 1);
    if (!b) {
        fclose(f);
        return pith_error(PITH_ENOMEM, "%s: out of memory for %zu bytes", path, len);
    }
    size_t got = len ? fread(b, 1, len, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (got != len || bad) {
        free(b);
        return pith_error(PITH_EIO, "%s: read %zu of %zu bytes", path, got, len);
    }
    *buf = b;
    *n = len;
    return PITH_OK;
}

static int is_jpeg(const uint8_t *b, size_t n) { return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }
static int is_png(const uint8_t *b, size_t n) { return n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0; }
static int is_pnm(const uint8_t *b, size_t n) { return n >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6'); }

static int pnm(const char *name, const uint8_t *buf, size_t n, int probe_only, pith_image *out)
{
    char err[160];
    const uint8_t *px;
    uint8_t *owned;
    int w, h, c;
    if (pithrt_pnm_parse(buf, n, &w, &h, &c, &px, &owned, err, sizeof err))
        return pith_error(PITH_EFORMAT, "%s: %s", name, err);
    out->w = w;
    out->h = h;
    out->c = c;
    if (!probe_only) {
        size_t bytes = (size_t)w * h * c;
        if (!owned && !(owned = malloc(bytes)))
            return pith_error(PITH_ENOMEM, "%s: out of memory for %dx%d pixels", name, w, h);
        if (px != owned)
            memcpy(owned, px, bytes);
        out->px = owned;
    } else {
        free(owned);
    }
    return PITH_OK;
}

static int decode(const char *name, const uint8_t *buf, size_t n, int probe_only, pith_image *out)
{
    memset(out, 0, sizeof *out);
    if (is_jpeg(buf, n))
        return pith_jpeg_decode(name, buf, n, probe_only, out);
    if (is_png(buf, n))
        return pith_png_decode(name, buf, n, probe_only, out);
    if (is_pnm(buf, n))
        return pnm(name, buf, n, probe_only, out);
    return pith_error(PITH_EFORMAT, "%s: not an image (%s; JPEG, PNG, PPM and PGM are read)", name,
                      n == 0 ? "empty file" : "unknown first bytes");
}

int pith_image_decode(const char *name, const uint8_t *buf, size_t n, pith_image *out)
{
    return decode(name, buf, n, 0, out);
}

int pith_image_probe(const char *name, const uint8_t *buf, size_t n, int *w, int *h, int *c)
{
    pith_image im;
    int rc = decode(name, buf, n, 1, &im);
    *w = im.w;
    *h = im.h;
    *c = im.c;
    return rc;
}

int pith_image_read(const char *path, pith_image *out)
{
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t n;
    int rc = pith_file_read(path, PITH_IMAGE_MAX_FILE, &buf, &n);
    if (rc)
        return rc;
    rc = pith_image_decode(path, buf, n, out);
    free(buf);
    return rc;
}
