#include "writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "internal.h"

#define CONST_ALIGN 16u

/* Keeps the message in the writer (the runtime has no global error state). */
static int fail(pithrt_writer *b, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->msg, sizeof b->msg, fmt, ap);
    va_end(ap);
    return status;
}

void pithrt_writer_init(pithrt_writer *b) { memset(b, 0, sizeof *b); }

void pithrt_writer_free(pithrt_writer *b)
{
    free(b->tensors);
    free(b->names);
    free(b->ops);
    free(b->blob);
    memset(b, 0, sizeof *b);
}

static int grow_tensors(pithrt_writer *b)
{
    if (b->n_tensors < b->cap_tensors)
        return PITHRT_OK;
    int cap = b->cap_tensors ? 2 * b->cap_tensors : 64;
    pithrt_tensor *t = realloc(b->tensors, sizeof *t * (size_t)cap);
    if (t)
        b->tensors = t;
    char(*n)[64] = t ? realloc(b->names, sizeof *n * (size_t)cap) : NULL;
    if (!n)
        return fail(b, PITHRT_ENOMEM, "out of memory");
    b->names = n;
    b->cap_tensors = cap;
    return PITHRT_OK;
}

int pithrt_writer_tensor(pithrt_writer *b, const pithrt_tensor *t, const char *name)
{
    if (b->n_tensors >= PITHRT_MAX_TENSORS)
        return fail(b, PITHRT_EARG, "more than %d tensors", PITHRT_MAX_TENSORS);
    int rc = grow_tensors(b);
    if (rc)
        return rc;
    pithrt_tensor *d = &b->tensors[b->n_tensors];
    *d = *t;
    d->is_const = 0;
    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(b->names[b->n_tensors], sizeof b->names[0], "%s", name);
    return b->n_tensors++;
}

static int add_blob(pithrt_writer *b, const char *name, int dtype, const int32_t *dims, int ndim, const void *data,
                    size_t bytes)
{
    size_t off = (b->blob_len + CONST_ALIGN - 1) / CONST_ALIGN * CONST_ALIGN;
    if (off + bytes > 0xFFFFFFF0u)
        return fail(b, PITHRT_EARG, "the weights exceed 4 GiB");
    if (off + bytes > b->blob_cap) {
        size_t cap = b->blob_cap ? b->blob_cap : 4096;
        while (cap < off + bytes)
            cap *= 2;
        uint8_t *p = realloc(b->blob, cap);
        if (!p)
            return fail(b, PITHRT_ENOMEM, "out of memory");
        b->blob = p;
        b->blob_cap = cap;
    }
    memset(b->blob + b->blob_len, 0, off - b->blob_len);
    if (data)
        memcpy(b->blob + off, data, bytes);
    b->blob_len = off + bytes;
    pithrt_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = (uint8_t)dtype;
    t.ndim = (uint8_t)ndim;
    for (int i = 0; i < ndim && i < 4; i++)
        t.dims[i] = dims[i];
    int idx = pithrt_writer_tensor(b, &t, name);
    if (idx >= 0) {
        b->tensors[idx].is_const = 1;
        b->tensors[idx].offset = (uint32_t)off;
        b->tensors[idx].bytes = (uint32_t)bytes;
    }
    return idx;
}

static size_t elems(const int32_t *dims, int ndim)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)dims[i];
    return n;
}

int pithrt_writer_const(pithrt_writer *b, const char *name, int dtype, const int32_t *dims, int ndim,
                       const void *data)
{
    return add_blob(b, name, dtype, dims, ndim, data, pithrt_dtype_bytes(dtype, elems(dims, ndim)));
}

int pithrt_writer_codes(pithrt_writer *b, const char *name, int dtype, const int32_t *dims, int ndim,
                       const int8_t *codes, size_t n)
{
    size_t bytes = pithrt_dtype_bytes(dtype, n);
    uint8_t *p = calloc(bytes ? bytes : 1, 1);
    if (!p)
        return fail(b, PITHRT_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)(uint8_t)codes[i];
        switch (dtype) {
        case PITHRT_W4: p[i >> 1] |= (uint8_t)((v & 15u) << ((i & 1) * 4)); break;
        case PITHRT_W2: p[i >> 2] |= (uint8_t)((v & 3u) << ((i & 3) * 2)); break;
        case PITHRT_W1: p[i >> 3] |= (uint8_t)((codes[i] > 0 ? 1u : 0u) << (i & 7)); break;
        case PITHRT_U4: p[i >> 1] |= (uint8_t)((v & 15u) << ((i & 1) * 4)); break;
        case PITHRT_U2: p[i >> 2] |= (uint8_t)((v & 3u) << ((i & 3) * 2)); break;
        default: p[i] = (uint8_t)v;
        }
    }
    int idx = add_blob(b, name, dtype, dims, ndim, p, bytes);
    free(p);
    return idx;
}

pithrt_op pithrt_writer_op0(int type, const char *name, int in, int out)
{
    pithrt_op o;
    memset(&o, 0, sizeof o);
    o.type = (uint16_t)type;
    o.n_in = 1;
    o.in[0] = in;
    o.in[1] = o.in[2] = o.in[3] = -1;
    o.out = out;
    o.weight = o.bias = o.requant = o.aux = -1;
    o.kh = o.kw = o.sh = o.sw = o.dh = o.dw = o.groups = 1;
    snprintf(o.name, sizeof o.name, "%s", name);
    return o;
}

int pithrt_writer_op(pithrt_writer *b, const pithrt_op *o)
{
    if (b->n_ops >= PITHRT_MAX_OPS)
        return fail(b, PITHRT_EARG, "more than %d ops", PITHRT_MAX_OPS);
    if (b->n_ops == b->cap_ops) {
        int cap = b->cap_ops ? 2 * b->cap_ops : 64;
        pithrt_op *p = realloc(b->ops, sizeof *p * (size_t)cap);
        if (!p)
            return fail(b, PITHRT_ENOMEM, "out of memory");
        b->ops = p;
        b->cap_ops = cap;
    }
    b->ops[b->n_ops++] = *o;
    return PITHRT_OK;
}

static void w32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static void wf(uint8_t *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, sizeof v);
    w32(p, v);
}

int pithrt_writer_finish(pithrt_writer *b, const pithrt_writer_meta *m, uint8_t **buf, size_t *len)
{
    size_t label_bytes = 0;
    for (int i = 0; i < m->n_labels; i++)
        label_bytes += strlen(m->labels[i]) + 1;
    size_t toff = PITHRT_HDR_BYTES, ooff = toff + (size_t)b->n_tensors * PITHRT_TENSOR_BYTES;
    const int has_pre = m->pre.bgr || m->pre.keep255 || m->pre.resize || m->pre.nearest;
    if (m->pre.resize < 0 || m->pre.resize > 65535)
        return fail(b, PITHRT_EARG, "resize to %d pixels", m->pre.resize);
    size_t moff = ooff + (size_t)b->n_ops * PITHRT_OP_BYTES,
           mbytes = PITHRT_META_FIXED + label_bytes + (has_pre ? PITHRT_P_BYTES : 0);
    size_t boff = (moff + mbytes + PITHRT_ALIGN - 1) / PITHRT_ALIGN * PITHRT_ALIGN, total = boff + b->blob_len;
    if (total > 0xFFFFFFFFu)
        return fail(b, PITHRT_EARG, "the model exceeds 4 GiB");
    uint8_t *p = calloc(total, 1);
    if (!p)
        return fail(b, PITHRT_ENOMEM, "out of memory");
    /* version 1 unless the model uses what version 2 added, so that older
     * runtimes keep reading the models they could */
    uint32_t version = PITHRT_VERSION_MIN;
    for (int i = 0; i < b->n_ops; i++)
        if (b->ops[i].type >= PITHRT_OP_BINARY || b->ops[i].act > PITHRT_ACT_HARDSWISH || b->ops[i].flags ||
            (b->ops[i].type == PITHRT_OP_SOFTMAX && b->ops[i].ph) ||
            (b->ops[i].type == PITHRT_OP_CONCAT && b->tensors[b->ops[i].out].ndim == 1))
            version = 2;
    if (has_pre)
        version = 3;
    memcpy(p, PITHRT_MAGIC, 4);
    w32(p + PITHRT_HDR_VERSION, version);
    w32(p + PITHRT_HDR_SIZE, PITHRT_HDR_BYTES);
    w32(p + PITHRT_HDR_FILE_BYTES, (uint32_t)total);
    w32(p + PITHRT_HDR_N_TENSORS, (uint32_t)b->n_tensors);
    w32(p + PITHRT_HDR_TENSORS, (uint32_t)toff);
    w32(p + PITHRT_HDR_N_OPS, (uint32_t)b->n_ops);
    w32(p + PITHRT_HDR_OPS, (uint32_t)ooff);
    w32(p + PITHRT_HDR_BLOB, (uint32_t)boff);
    w32(p + PITHRT_HDR_BLOB_BYTES, (uint32_t)b->blob_len);
    w32(p + PITHRT_HDR_META, (uint32_t)moff);
    w32(p + PITHRT_HDR_META_BYTES, (uint32_t)mbytes);
    w32(p + PITHRT_HDR_INPUT, (uint32_t)m->input);
    w32(p + PITHRT_HDR_OUTPUT, (uint32_t)m->output);
    for (int k = 0; k < b->n_tensors; k++) {
        const pithrt_tensor *t = &b->tensors[k];
        uint8_t *r = p + toff + (size_t)k * PITHRT_TENSOR_BYTES;
        r[PITHRT_T_DTYPE] = t->dtype;
        r[PITHRT_T_CONST] = t->is_const;
        r[PITHRT_T_NDIM] = t->ndim;
        for (int i = 0; i < 4; i++)
            w32(r + PITHRT_T_DIMS + 4 * i, (uint32_t)(i < t->ndim ? t->dims[i] : 0));
        wf(r + PITHRT_T_SCALE, t->scale);
        w32(r + PITHRT_T_ZERO, (uint32_t)t->zero_point);
        w32(r + PITHRT_T_OFFSET, t->offset);
        w32(r + PITHRT_T_BYTES, t->bytes);
        w32(r + PITHRT_T_QMIN, (uint32_t)t->qmin);
        w32(r + PITHRT_T_QMAX, (uint32_t)t->qmax);
        memcpy(r + PITHRT_T_NAME, t->name, strnlen(t->name, PITHRT_T_NAME_BYTES - 1));
    }
    for (int k = 0; k < b->n_ops; k++) {
        const pithrt_op *o = &b->ops[k];
        uint8_t *r = p + ooff + (size_t)k * PITHRT_OP_BYTES;
        r[PITHRT_O_TYPE] = (uint8_t)o->type;
        r[PITHRT_O_TYPE + 1] = (uint8_t)(o->type >> 8);
        r[PITHRT_O_ACT] = o->act;
        r[PITHRT_O_FLAGS] = o->flags;
        w32(r + PITHRT_O_N_IN, (uint32_t)o->n_in);
        for (int i = 0; i < 4; i++)
            w32(r + PITHRT_O_IN + 4 * i, (uint32_t)o->in[i]);
        const int32_t v[] = {o->out, o->weight, o->bias, o->requant, o->aux, o->kh, o->kw,
                             o->sh,  o->sw,     o->ph,   o->pw,      o->dh,  o->dw, o->groups};
        for (int i = 0; i < 14; i++)
            w32(r + PITHRT_O_OUT + 4 * i, (uint32_t)v[i]);
        memcpy(r + PITHRT_O_NAME, o->name, strnlen(o->name, sizeof o->name - 1));
    }
    uint8_t *mp = p + moff;
    w32(mp + PITHRT_M_NORM_CH, (uint32_t)m->norm_channels);
    for (int i = 0; i < 4; i++) {
        wf(mp + PITHRT_M_MEAN + 4 * i, m->mean[i]);
        wf(mp + PITHRT_M_STD + 4 * i, m->std[i]);
    }
    w32(mp + PITHRT_M_N_LABELS, (uint32_t)m->n_labels);
    w32(mp + PITHRT_M_LABEL_BYTES, (uint32_t)label_bytes);
    w32(mp + PITHRT_M_GOLDEN_IN, (uint32_t)m->golden_in);
    w32(mp + PITHRT_M_GOLDEN_OUT, (uint32_t)m->golden_out);
    char *lp = (char *)mp + PITHRT_M_LABELS;
    for (int i = 0; i < m->n_labels; i++) {
        size_t n = strlen(m->labels[i]);
        memcpy(lp, m->labels[i], n);
        lp[n] = '\n';
        lp += n + 1;
    }
    if (has_pre) {
        w32((uint8_t *)lp + PITHRT_P_FLAGS, (m->pre.bgr ? PITHRT_PRE_BGR : 0) | (m->pre.keep255 ? PITHRT_PRE_KEEP255 : 0) |
                                                (m->pre.nearest ? PITHRT_PRE_NEAREST : 0));
        w32((uint8_t *)lp + PITHRT_P_RESIZE, (uint32_t)m->pre.resize);
    }
    if (b->blob_len) /* a model without constants has no blob (memcpy from NULL is undefined) */
        memcpy(p + boff, b->blob, b->blob_len);
    w32(p + PITHRT_HDR_TABLES_CRC, pithrt_crc32(p + PITHRT_HDR_BYTES, boff - PITHRT_HDR_BYTES));
    w32(p + PITHRT_HDR_CRC, pithrt_crc32(p, PITHRT_HDR_CRC));
    *buf = p;
    *len = total;
    return PITHRT_OK;
}
