#include "idx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"

/* Reads exactly n bytes; returns bytes read, or -1 on a decompression error. */
static long read_full(gzFile f, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        unsigned chunk = (n - got) > (1u << 30) ? (1u << 30) : (unsigned)(n - got);
        int r = gzread(f, (char *)buf + got, chunk);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}

int pith_idx_read(const char *path, pith_idx *out)
{
    memset(out, 0, sizeof *out);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot open", path);
    uint8_t head[4];
    long r = read_full(f, head, 4);
    int rc = PITH_OK;
    if (r != 4) {
        rc = pith_error(PITH_EFORMAT, "%s: truncated header (%ld of 4 bytes)", path, r < 0 ? 0 : r);
        goto done;
    }
    if (head[0] != 0 || head[1] != 0) {
        rc = pith_error(PITH_EFORMAT,
                        "%s: wrong magic number 0x%02x%02x%02x%02x (an IDX file starts with two zero "
                        "bytes)",
                        path, head[0], head[1], head[2], head[3]);
        goto done;
    }
    if (head[2] != 0x08) {
        rc = pith_error(PITH_EFORMAT, "%s: data type 0x%02x not supported (expected 0x08, unsigned byte)",
                        path, head[2]);
        goto done;
    }
    if (head[3] < 1 || head[3] > PITH_IDX_MAX_DIMS) {
        rc = pith_error(PITH_EFORMAT, "%s: %d dimensions (expected 1 to %d)", path, head[3],
                        PITH_IDX_MAX_DIMS);
        goto done;
    }
    out->ndim = head[3];
    uint8_t dimbuf[4 * PITH_IDX_MAX_DIMS];
    r = read_full(f, dimbuf, 4u * (size_t)out->ndim);
    if (r != 4L * out->ndim) {
        rc = pith_error(PITH_EFORMAT, "%s: truncated header (dimension sizes missing)", path);
        goto done;
    }
    size_t count = 1;
    for (int i = 0; i < out->ndim; i++) {
        const uint8_t *b = dimbuf + 4 * i;
        out->dims[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (out->dims[i] == 0 || out->dims[i] > PITH_IDX_MAX_BYTES ||
            count > PITH_IDX_MAX_BYTES / out->dims[i]) {
            rc = pith_error(PITH_EFORMAT, "%s: dimension %d is %u, giving an implausible size (limit %zu bytes)",
                            path, i, out->dims[i], (size_t)PITH_IDX_MAX_BYTES);
            goto done;
        }
        count *= out->dims[i];
    }
    out->count = count;
    out->data = malloc(count);
    if (!out->data) {
        rc = pith_error(PITH_ENOMEM, "%s: out of memory for %zu bytes", path, count);
        goto done;
    }
    r = read_full(f, out->data, count);
    if (r < 0) {
        int zerr;
        const char *msg = gzerror(f, &zerr);
        rc = pith_error(PITH_EFORMAT, "%s: corrupt compressed data (%s)", path, msg);
        goto done;
    }
    if ((size_t)r != count) {
        rc = pith_error(PITH_EFORMAT, "%s: truncated: header promises %zu data bytes, file has %ld",
                        path, count, r);
        goto done;
    }
    uint8_t extra;
    r = read_full(f, &extra, 1);
    if (r != 0) {
        rc = pith_error(PITH_EFORMAT, "%s: %s after the %zu data bytes the header promises", path,
                        r < 0 ? "corrupt data" : "extra bytes", count);
        goto done;
    }
done:
    gzclose(f);
    if (rc)
        pith_idx_free(out);
    return rc;
}

void pith_idx_free(pith_idx *x)
{
    free(x->data);
    memset(x, 0, sizeof *x);
}

int pith_idx_write(const char *path, const uint8_t *data, int ndim, const uint32_t *dims, int gz)
{
    if (ndim < 1 || ndim > PITH_IDX_MAX_DIMS)
        return pith_error(PITH_EINVAL, "%s: cannot write %d dimensions", path, ndim);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return pith_error(PITH_EINVAL, "%s: path too long", path);
    gzFile f = gzopen(tmp, gz ? "wb6" : "wbT");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot create", tmp);
    uint8_t head[4 + 4 * PITH_IDX_MAX_DIMS] = {0, 0, 0x08, (uint8_t)ndim};
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        head[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        head[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        head[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        head[7 + 4 * i] = (uint8_t)dims[i];
        count *= dims[i];
    }
    int ok = gzwrite(f, head, 4 + 4 * (unsigned)ndim) == (int)(4 + 4 * ndim);
    for (size_t off = 0; ok && off < count;) {
        unsigned chunk = count - off > (1u << 30) ? (1u << 30) : (unsigned)(count - off);
        ok = gzwrite(f, data + off, chunk) == (int)chunk;
        off += chunk;
    }
    if (gzclose(f) != Z_OK)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return pith_error(PITH_EIO, "%s: write failed", path);
    }
    return PITH_OK;
}
