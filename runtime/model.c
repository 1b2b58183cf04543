/* Loading a .pith model: every offset, size, index, shape and parameter is
 * checked against the file and against each other before anything is used,
 * and a bad file gets a message naming what is wrong. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fast.h"
#include "format.h"
#include "internal.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"
#include "kernels/pool_dims.h"

static int fail(pithrt_model *m, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->msg, sizeof m->msg, fmt, ap);
    va_end(ap);
    return code;
}

static uint32_t u32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static int32_t i32(const uint8_t *p) { return (int32_t)u32(p); }
static float f32(const uint8_t *p)
{
    uint32_t v = u32(p);
    float f;
    memcpy(&f, &v, sizeof f);
    return f;
}

size_t pithrt_dtype_bytes(int dtype, size_t elems)
{
    switch (dtype) {
    case PITHRT_F32:
    case PITHRT_S32: return elems * 4;
    case PITHRT_S8:
    case PITHRT_U8: return elems;
    case PITHRT_W4: return (elems + 1) / 2;
    case PITHRT_W2: return (elems + 3) / 4;
    case PITHRT_W1: return (elems + 7) / 8;
    case PITHRT_U4: return (elems + 1) / 2;
    case PITHRT_U2: return (elems + 3) / 4;
    default: return 0;
    }
}

size_t pithrt_tensor_elems(const pithrt_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->dims[i];
    return n;
}

const char *pithrt_op_name(int type)
{
    static const char *names[] = {"?",      "conv2d", "fc",      "maxpool", "avgpool",  "gavgpool",   "add",
                                  "concat", "act",    "lut",     "softmax", "reshape", "quantize", "dequantize",
                                  "binary", "shuffle", "slice", "resize", "pad", "conv_transpose"};
    return type >= 1 && type <= PITHRT_OP_CONV_TRANSPOSE ? names[type] : "?";
}

int pithrt_op_inplace(const pithrt_op *op)
{
    return op->type == PITHRT_OP_ACT || op->type == PITHRT_OP_LUT || op->type == PITHRT_OP_ADD;
}

const char *pithrt_model_error(const pithrt_model *m) { return m->msg; }

void pithrt_model_free(pithrt_model *m)
{
    pithrt_fast_free(m);
    free(m->heap);
    m->heap = NULL;
}

static void read_tensor(const uint8_t *r, pithrt_tensor *t)
{
    t->dtype = r[PITHRT_T_DTYPE];
    t->is_const = r[PITHRT_T_CONST];
    t->ndim = r[PITHRT_T_NDIM];
    for (int i = 0; i < 4; i++)
        t->dims[i] = i32(r + PITHRT_T_DIMS + 4 * i);
    t->scale = f32(r + PITHRT_T_SCALE);
    t->zero_point = i32(r + PITHRT_T_ZERO);
    t->offset = u32(r + PITHRT_T_OFFSET);
    t->bytes = u32(r + PITHRT_T_BYTES);
    t->qmin = i32(r + PITHRT_T_QMIN);
    t->qmax = i32(r + PITHRT_T_QMAX);
    memcpy(t->name, r + PITHRT_T_NAME, PITHRT_T_NAME_BYTES);
    t->name[sizeof t->name - 1] = '\0';
}

static void read_op(const uint8_t *r, pithrt_op *o)
{
    o->type = (uint16_t)(r[PITHRT_O_TYPE] | r[PITHRT_O_TYPE + 1] << 8);
    o->act = r[PITHRT_O_ACT];
    o->flags = r[PITHRT_O_FLAGS];
    o->n_in = i32(r + PITHRT_O_N_IN);
    for (int i = 0; i < 4; i++)
        o->in[i] = i32(r + PITHRT_O_IN + 4 * i);
    o->out = i32(r + PITHRT_O_OUT);
    o->weight = i32(r + PITHRT_O_WEIGHT);
    o->bias = i32(r + PITHRT_O_BIAS);
    o->requant = i32(r + PITHRT_O_REQUANT);
    o->aux = i32(r + PITHRT_O_AUX);
    int32_t *geom[9] = {&o->kh, &o->kw, &o->sh, &o->sw, &o->ph, &o->pw, &o->dh, &o->dw, &o->groups};
    for (int i = 0; i < 9; i++)
        *geom[i] = i32(r + PITHRT_O_GEOM + 4 * i);
    memcpy(o->name, r + PITHRT_O_NAME, sizeof o->name);
    o->name[sizeof o->name - 1] = '\0';
}

static int check_tensor(pithrt_model *m, int k, const pithrt_tensor *t)
{
    if (t->dtype < PITHRT_F32 || t->dtype > PITHRT_U2)
        return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): unknown data type %d", k, t->name, t->dtype);
    if (t->is_const > 1)
        return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): constant flag %d", k, t->name, t->is_const);
    if (t->ndim < 1 || t->ndim > 4)
        return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): %d dimensions (1 to 4)", k, t->name, t->ndim);
    uint64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] < 1 || t->dims[i] > (1 << 24))
            return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): dimension %d is %d", k, t->name, i, t->dims[i]);
        n *= (uint64_t)t->dims[i];
        if (n > (1u << 28))
            return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): more than 2^28 elements", k, t->name);
    }
    if (t->is_const) {
        uint64_t want = pithrt_dtype_bytes(t->dtype, (size_t)n);
        if (t->bytes != want)
            return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): %u bytes where its type and shape need %llu", k,
                        t->name, t->bytes, (unsigned long long)want);
        if ((uint64_t)t->offset + t->bytes > m->blob_size)
            return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): bytes [%u, %llu) lie outside the %u-byte weight blob",
                        k, t->name, t->offset, (unsigned long long)t->offset + t->bytes, m->blob_size);
        if ((t->dtype == PITHRT_F32 || t->dtype == PITHRT_S32) && t->offset % 4)
            return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): offset %u is not 4-byte aligned", k, t->name, t->offset);
    } else {
        if (t->dtype != PITHRT_F32 && t->dtype != PITHRT_S8)
            return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): activations are f32 or s8", k, t->name);
        if (t->dtype == PITHRT_S8) {
            if (!(t->scale > 0.0f) || !isfinite(t->scale))
                return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): scale %g is not positive", k, t->name,
                            (double)t->scale);
            if (t->qmin < -128 || t->qmax > 127 || t->qmin >= t->qmax)
                return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): code range [%d, %d] is not inside int8", k,
                            t->name, t->qmin, t->qmax);
            if (t->zero_point < -128 || t->zero_point > 127)
                return fail(m, PITHRT_EFORMAT, "tensor %d ('%s'): zero point %d is outside int8", k, t->name,
                            t->zero_point);
        }
    }
    return PITHRT_OK;
}

/* A constant operand: present, constant, of type dtype (0: any weight codes) and n elements. */
static int check_const(pithrt_model *m, const pithrt_op *o, int idx, const char *what, int dtype, size_t n)
{
    if (idx < 0 || idx >= m->n_tensors)
        return fail(m, PITHRT_EFORMAT, "op '%s': %s tensor index %d is out of range", o->name, what, idx);
    const pithrt_tensor *t = &m->tensors[idx];
    if (!t->is_const)
        return fail(m, PITHRT_EFORMAT, "op '%s': %s tensor '%s' is not a constant", o->name, what, t->name);
    int ok = dtype == -1 ? t->dtype == PITHRT_F32 || t->dtype == PITHRT_U8 || t->dtype == PITHRT_U4 ||
                               t->dtype == PITHRT_U2
             : dtype   ? t->dtype == dtype
                       : t->dtype == PITHRT_S8 || t->dtype == PITHRT_W4 || t->dtype == PITHRT_W2 || t->dtype == PITHRT_W1;
    if (!ok)
        return fail(m, PITHRT_EFORMAT, "op '%s': %s tensor '%s' has type %d", o->name, what, t->name, t->dtype);
    if (pithrt_tensor_elems(t) != n)
        return fail(m, PITHRT_EFORMAT, "op '%s': %s tensor '%s' has %zu values, expected %zu", o->name, what, t->name,
                    pithrt_tensor_elems(t), n);
    return PITHRT_OK;
}

static const pithrt_tensor *T(const pithrt_model *m, int i) { return &m->tensors[i]; }

/* A binary op: f32 operands (the second may be the weight constant) whose
 * dims each equal the output's or are 1, of the output's rank. */
static int check_binary(pithrt_model *m, const pithrt_op *o)
{
    const pithrt_tensor *y = T(m, o->out);
    if (o->flags & ~(3u | PITHRT_BIN_CONST_FIRST))
        return fail(m, PITHRT_EFORMAT, "op '%s': binary flags %u", o->name, o->flags);
    if ((o->n_in == 2) != (o->weight < 0) || ((o->flags & PITHRT_BIN_CONST_FIRST) && o->n_in == 2))
        return fail(m, PITHRT_EFORMAT, "op '%s': a binary op takes two inputs, or one and a constant", o->name);
    if (o->n_in == 1) {
        if (o->weight >= m->n_tensors || !T(m, o->weight)->is_const || T(m, o->weight)->dtype != PITHRT_F32)
            return fail(m, PITHRT_EFORMAT, "op '%s': the constant operand must be an f32 constant", o->name);
    }
    const pithrt_tensor *b = o->n_in == 2 ? T(m, o->in[1]) : T(m, o->weight);
    const pithrt_tensor *ops[2] = {T(m, o->in[0]), b};
    /* f32, or int8: s8 activations (a constant operand stays f32) to an s8
     * output, with relu or relu6 folded into the quantization */
    const int s8 = y->dtype == PITHRT_S8;
    if (y->dtype != PITHRT_F32 && !s8)
        return fail(m, PITHRT_EFORMAT, "op '%s': binary ops work on f32 or s8", o->name);
    if (o->act > (s8 ? PITHRT_ACT_RELU6 : PITHRT_ACT_NONE))
        return fail(m, PITHRT_EFORMAT, "op '%s': activation %d on a %s binary op", o->name, o->act,
                    s8 ? "s8" : "f32");
    for (int k = 0; k < 2; k++) {
        int want = s8 && !(o->n_in == 1 && k == 1) ? PITHRT_S8 : PITHRT_F32;
        if (ops[k]->dtype != want || ops[k]->ndim != y->ndim || (y->ndim != 1 && y->ndim != 3))
            return fail(m, PITHRT_EFORMAT, "op '%s': operand %d is not %s of the output's rank (1 or 3)", o->name, k,
                        want == PITHRT_S8 ? "s8" : "f32");
        for (int d = 0; d < y->ndim; d++)
            if (ops[k]->dims[d] != y->dims[d] && ops[k]->dims[d] != 1)
                return fail(m, PITHRT_EFORMAT, "op '%s': operand %d's dimension %d is %d for an output of %d",
                            o->name, k, d, ops[k]->dims[d], y->dims[d]);
    }
    return PITHRT_OK;
}

/* Shape and operand checks, one op type at a time. */
static int check_op(pithrt_model *m, const pithrt_op *o)
{
    static const int min_in[] = {0, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    static const int max_in[] = {0, 1, 1, 1, 1, 1, 2, 4, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1};
    const int v2 = m->version >= 2;
    if (o->type < 1 || o->type > (v2 ? PITHRT_OP_CONV_TRANSPOSE : PITHRT_OP_DEQUANTIZE))
        return fail(m, PITHRT_EFORMAT, "op '%s': unknown op type %d (format version %u)", o->name, o->type,
                    m->version);
    if (o->n_in < min_in[o->type] || o->n_in > max_in[o->type])
        return fail(m, PITHRT_EFORMAT, "op '%s' (%s): %d inputs", o->name, pithrt_op_name(o->type), o->n_in);
    if (o->act > (o->type == PITHRT_OP_ACT && v2 ? PITHRT_ACT_PRELU : PITHRT_ACT_HARDSWISH))
        return fail(m, PITHRT_EFORMAT, "op '%s': activation %d is not one a %s op takes (format version %u)",
                    o->name, o->act, pithrt_op_name(o->type), m->version);
    const int pool = o->type == PITHRT_OP_MAXPOOL || o->type == PITHRT_OP_AVGPOOL;
    if (o->flags && o->type != PITHRT_OP_BINARY && o->type != PITHRT_OP_RESIZE && o->type != PITHRT_OP_PAD &&
        !(pool && v2 && o->flags <= 7) && !(o->type == PITHRT_OP_LUT && v2 && o->flags == PITHRT_LUT_PER_CHANNEL))
        return fail(m, PITHRT_EFORMAT, "op '%s': flags %u on a %s op", o->name, o->flags, pithrt_op_name(o->type));
    const pithrt_tensor *x = T(m, o->in[0]), *y = T(m, o->out);
    const int s8 = y->dtype == PITHRT_S8;
    for (int i = 1; i < o->n_in; i++)
        if (T(m, o->in[i])->dtype != x->dtype)
            return fail(m, PITHRT_EFORMAT, "op '%s': inputs of different types", o->name);
    int same_type = o->type != PITHRT_OP_QUANTIZE && o->type != PITHRT_OP_DEQUANTIZE;
    if (same_type && x->dtype != y->dtype)
        return fail(m, PITHRT_EFORMAT, "op '%s': input and output types differ", o->name);
    int rc;
    switch (o->type) {
    case PITHRT_OP_CONV2D:
    case PITHRT_OP_MAXPOOL:
    case PITHRT_OP_AVGPOOL: {
        if (x->ndim != 3 || y->ndim != 3)
            return fail(m, PITHRT_EFORMAT, "op '%s': input and output must be C x H x W", o->name);
        if (o->kh < 1 || o->kw < 1 || o->sh < 1 || o->sw < 1 || o->ph < 0 || o->pw < 0 || o->dh < 1 || o->dw < 1 ||
            o->kh > 64 || o->kw > 64 || o->sh > 64 || o->sw > 64 || o->ph > 64 || o->pw > 64 || o->dh > 64 ||
            o->dw > 64)
            return fail(m, PITHRT_EFORMAT, "op '%s': kernel %dx%d stride %dx%d padding %dx%d dilation %dx%d", o->name,
                        o->kh, o->kw, o->sh, o->sw, o->ph, o->pw, o->dh, o->dw);
        int oh = pithrt_out_dim(x->dims[1], o->kh, o->sh, o->ph, o->dh);
        int ow = pithrt_out_dim(x->dims[2], o->kw, o->sw, o->pw, o->dw);
        if (o->flags) { /* ONNX's pool geometry: ceil mode, end padding, the mean without padding */
            int32_t end[2] = {o->ph, o->pw};
            if (x->dtype != PITHRT_F32 && o->type == PITHRT_OP_MAXPOOL && (o->flags & PITHRT_POOL_EXCLUDE_PAD))
                return fail(m, PITHRT_EFORMAT, "op '%s': pool flags %u: a max pool has no divisor to exclude the "
                            "padding from", o->name, o->flags);
            if (o->flags & PITHRT_POOL_END_PADS) {
                if ((rc = check_const(m, o, o->aux, "end padding", PITHRT_S32, 2)))
                    return rc;
                memcpy(end, m->blob + T(m, o->aux)->offset, sizeof end);
                if (end[0] < 0 || end[1] < 0 || end[0] > 64 || end[1] > 64)
                    return fail(m, PITHRT_EFORMAT, "op '%s': end padding %d x %d", o->name, end[0], end[1]);
            }
            oh = pithrt_pool_out_dim(x->dims[1], o->kh, o->sh, o->ph, end[0], o->flags & PITHRT_POOL_CEIL);
            ow = pithrt_pool_out_dim(x->dims[2], o->kw, o->sw, o->pw, end[1], o->flags & PITHRT_POOL_CEIL);
        }
        int oc = o->type == PITHRT_OP_CONV2D ? T(m, o->out)->dims[0] : x->dims[0];
        if (oh < 1 || ow < 1 || y->dims[0] != oc || y->dims[1] != oh || y->dims[2] != ow)
            return fail(m, PITHRT_EFORMAT, "op '%s': output %dx%dx%d, the geometry gives %dx%dx%d", o->name,
                        y->dims[0], y->dims[1], y->dims[2], oc, oh, ow);
        if (o->type != PITHRT_OP_CONV2D)
            return PITHRT_OK;
        int g = o->groups;
        if (g < 1 || x->dims[0] % g || y->dims[0] % g)
            return fail(m, PITHRT_EFORMAT, "op '%s': %d groups do not divide %d input and %d output channels",
                        o->name, g, x->dims[0], y->dims[0]);
        size_t wn = (size_t)y->dims[0] * (x->dims[0] / g) * o->kh * o->kw;
        if ((rc = check_const(m, o, o->weight, "weight", s8 ? 0 : -1, wn)))
            return rc;
        break;
    }
    case PITHRT_OP_FC: {
        size_t n = pithrt_tensor_elems(x);
        if (y->ndim != 1)
            return fail(m, PITHRT_EFORMAT, "op '%s': the output must be one-dimensional", o->name);
        if ((rc = check_const(m, o, o->weight, "weight", s8 ? 0 : -1, n * (size_t)y->dims[0])))
            return rc;
        break;
    }
    case PITHRT_OP_GAVGPOOL:
        if (x->ndim != 3 || y->ndim != 3 || y->dims[0] != x->dims[0] || y->dims[1] != 1 || y->dims[2] != 1)
            return fail(m, PITHRT_EFORMAT, "op '%s': global pooling maps C x H x W to C x 1 x 1", o->name);
        return PITHRT_OK;
    case PITHRT_OP_ADD:
        if (pithrt_tensor_elems(T(m, o->in[1])) != pithrt_tensor_elems(x) ||
            pithrt_tensor_elems(y) != pithrt_tensor_elems(x))
            return fail(m, PITHRT_EFORMAT, "op '%s': the operands of add differ in size", o->name);
        return PITHRT_OK;
    case PITHRT_OP_CONCAT: {
        int ch = 0;
        for (int i = 0; i < o->n_in; i++) {
            const pithrt_tensor *t = T(m, o->in[i]);
            /* channels of C x H x W, or (version 2) features of vectors */
            int vec = v2 && t->ndim == 1 && y->ndim == 1;
            if (!vec && (t->ndim != 3 || y->ndim != 3 || t->dims[1] != y->dims[1] || t->dims[2] != y->dims[2]))
                return fail(m, PITHRT_EFORMAT, "op '%s': concatenated inputs must share H x W", o->name);
            ch += t->dims[0];
        }
        if (ch != y->dims[0])
            return fail(m, PITHRT_EFORMAT, "op '%s': %d input channels for %d output channels", o->name, ch,
                        y->dims[0]);
        return PITHRT_OK;
    }
    case PITHRT_OP_LUT:
        if (x->dtype != PITHRT_S8)
            return fail(m, PITHRT_EFORMAT, "op '%s': a table lookup maps int8 to int8", o->name);
        if ((rc = check_const(m, o, o->aux, "table", PITHRT_U8, o->flags ? 256 * (size_t)x->dims[0] : 256)))
            return rc;
        /* fall through */
    case PITHRT_OP_ACT:
    case PITHRT_OP_RESHAPE:
    case PITHRT_OP_SOFTMAX:
        if (pithrt_tensor_elems(y) != pithrt_tensor_elems(x))
            return fail(m, PITHRT_EFORMAT, "op '%s': %zu elements in, %zu out", o->name, pithrt_tensor_elems(x),
                        pithrt_tensor_elems(y));
        if (o->type == PITHRT_OP_RESHAPE && x->dtype == PITHRT_S8 &&
            (x->scale != y->scale || x->zero_point != y->zero_point))
            return fail(m, PITHRT_EFORMAT, "op '%s': a reshape keeps its input's quantization", o->name);
        if ((o->type == PITHRT_OP_ACT || o->type == PITHRT_OP_SOFTMAX) && x->dtype != PITHRT_F32)
            return fail(m, PITHRT_EFORMAT, "op '%s': %s works on f32", o->name, pithrt_op_name(o->type));
        if (o->type == PITHRT_OP_SOFTMAX && o->ph && (!v2 || o->ph > 3 || x->ndim != y->ndim || (y->ndim != 3 && y->ndim != 1)))
            return fail(m, PITHRT_EFORMAT, "op '%s': softmax axis %d (format version %u)", o->name, o->ph - 1,
                        m->version);
        if (o->type == PITHRT_OP_ACT && o->act >= PITHRT_ACT_HARDSIGMOID) {
            /* prelu: a slope per channel (per feature of a vector) or one */
            const int ch = y->ndim == 3 ? y->dims[0] : (int)pithrt_tensor_elems(y);
            size_t want = 2;
            if (o->act == PITHRT_ACT_PRELU)
                want = o->aux >= 0 && o->aux < m->n_tensors && pithrt_tensor_elems(T(m, o->aux)) == 1 ? 1 : (size_t)ch;
            if ((rc = check_const(m, o, o->aux, "activation parameters", PITHRT_F32, want)))
                return rc;
            float ab[2] = {0, 0};
            memcpy(ab, m->blob + T(m, o->aux)->offset, want < 2 ? sizeof(float) : sizeof ab);
            int ok = o->act == PITHRT_ACT_PRELU || (isfinite(ab[0]) && isfinite(ab[1]));
            if (o->act == PITHRT_ACT_HARDSIGMOID)
                ok = ok && ab[0] > 0.0f;
            if (o->act == PITHRT_ACT_CLIP)
                ok = ab[0] <= ab[1]; /* infinite bounds allowed */
            if (!ok)
                return fail(m, PITHRT_EFORMAT, "op '%s': activation %d with parameters %g, %g", o->name, o->act,
                            (double)ab[0], (double)ab[1]);
        }
        return PITHRT_OK;
    case PITHRT_OP_BINARY:
        return check_binary(m, o);
    case PITHRT_OP_RESIZE: {
        if ((x->dtype != PITHRT_F32 && x->dtype != PITHRT_S8) || y->dtype != x->dtype || x->ndim != 3 ||
            y->ndim != 3 || y->dims[0] != x->dims[0])
            return fail(m, PITHRT_EFORMAT, "op '%s': resize maps f32 or s8 C x H x W to C x H' x W'", o->name);
        if (x->dtype == PITHRT_S8 && !(o->flags & 1) &&
            (x->scale != y->scale || x->zero_point != y->zero_point || x->qmin != y->qmin || x->qmax != y->qmax))
            return fail(m, PITHRT_EFORMAT, "op '%s': an s8 nearest resize moves codes: its output's grid is its input's",
                        o->name);
        if (o->flags >> 5)
            return fail(m, PITHRT_EFORMAT, "op '%s': resize flags %u", o->name, o->flags);
        if ((rc = check_const(m, o, o->aux, "resize scales", PITHRT_F32, 2)))
            return rc;
        float sc[2];
        memcpy(sc, m->blob + T(m, o->aux)->offset, sizeof sc);
        if (!(sc[0] > 0.0f) || !(sc[1] > 0.0f) || !isfinite(sc[0]) || !isfinite(sc[1]))
            return fail(m, PITHRT_EFORMAT, "op '%s': resize scales %g x %g", o->name, (double)sc[0], (double)sc[1]);
        return PITHRT_OK;
    }
    case PITHRT_OP_CONV_TRANSPOSE: {
        if ((x->dtype != PITHRT_F32 && x->dtype != PITHRT_S8) || y->dtype != x->dtype || x->ndim != 3 ||
            y->ndim != 3)
            return fail(m, PITHRT_EFORMAT, "op '%s': conv_transpose maps f32 or s8 C x H x W", o->name);
        if (o->kh < 1 || o->kw < 1 || o->sh < 1 || o->sw < 1 || o->ph < -64 || o->pw < -64 || o->dh < 1 || o->dw < 1 ||
            o->kh > 64 || o->kw > 64 || o->sh > 64 || o->sw > 64 || o->ph > 64 || o->pw > 64 || o->dh > 64 ||
            o->dw > 64 || o->groups < 1 || x->dims[0] % o->groups || y->dims[0] % o->groups)
            return fail(m, PITHRT_EFORMAT, "op '%s': conv_transpose geometry", o->name);
        /* the output size within 128 of (H - 1) s - 2 p + d (k - 1) + 1: output
         * padding, and ONNX's asymmetric padding (the end's difference) */
        int bh = (x->dims[1] - 1) * o->sh - 2 * o->ph + o->dh * (o->kh - 1) + 1;
        int bw = (x->dims[2] - 1) * o->sw - 2 * o->pw + o->dw * (o->kw - 1) + 1;
        if (y->dims[1] <= bh - 128 || y->dims[1] >= bh + 128 || y->dims[2] <= bw - 128 || y->dims[2] >= bw + 128)
            return fail(m, PITHRT_EFORMAT, "op '%s': output %dx%d for a %dx%d input", o->name, y->dims[1], y->dims[2],
                        x->dims[1], x->dims[2]);
        size_t wn = (size_t)x->dims[0] * (y->dims[0] / o->groups) * o->kh * o->kw;
        if ((rc = check_const(m, o, o->weight, "weight", s8 ? PITHRT_S8 : PITHRT_F32, wn)))
            return rc;
        if (s8)
            break; /* int8: the bias and requantization checks of conv2d and fc below */
        if (o->act)
            return fail(m, PITHRT_EFORMAT, "op '%s': an f32 conv_transpose takes no activation", o->name);
        if (o->bias >= 0 && (rc = check_const(m, o, o->bias, "bias", PITHRT_F32, (size_t)y->dims[0])))
            return rc;
        return PITHRT_OK;
    }
    case PITHRT_OP_PAD: {
        if ((x->dtype != PITHRT_F32 && x->dtype != PITHRT_S8) || y->dtype != x->dtype || x->ndim != 3 ||
            y->ndim != 3 || o->flags > 2)
            return fail(m, PITHRT_EFORMAT, "op '%s': pad maps f32 or s8 C x H x W, modes 0 to 2", o->name);
        if (s8 && (x->scale != y->scale || x->zero_point != y->zero_point || x->qmin != y->qmin ||
                   x->qmax != y->qmax || x->zero_point < x->qmin || x->zero_point > x->qmax))
            return fail(m, PITHRT_EFORMAT, "op '%s': an s8 pad moves codes: its output's grid is its input's, "
                        "with the zero point in range", o->name);
        if (o->ph < 0 || o->pw < 0 || o->dh < 0 || o->dw < 0 || o->ph > 1024 || o->pw > 1024 || o->dh > 1024 ||
            o->dw > 1024 || y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1] + o->ph + o->dh ||
            y->dims[2] != x->dims[2] + o->pw + o->dw)
            return fail(m, PITHRT_EFORMAT, "op '%s': pads %d,%d,%d,%d do not take %dx%dx%d to %dx%dx%d", o->name, o->ph,
                        o->pw, o->dh, o->dw, x->dims[0], x->dims[1], x->dims[2], y->dims[0], y->dims[1], y->dims[2]);
        if (o->flags == 1 && (o->ph >= x->dims[1] || o->dh >= x->dims[1] || o->pw >= x->dims[2] || o->dw >= x->dims[2]))
            return fail(m, PITHRT_EFORMAT, "op '%s': reflect padding must be smaller than the plane", o->name);
        if (o->aux >= 0 && (rc = check_const(m, o, o->aux, "pad value", PITHRT_F32, 1)))
            return rc;
        if (s8 && o->flags == 0 && o->aux >= 0) {
            float v;
            memcpy(&v, m->blob + T(m, o->aux)->offset, sizeof v);
            if (v != 0.0f)
                return fail(m, PITHRT_EFORMAT, "op '%s': an s8 constant pad pads with 0, not %g", o->name, (double)v);
        }
        return PITHRT_OK;
    }
    case PITHRT_OP_SHUFFLE:
    case PITHRT_OP_SLICE: {
        if (x->ndim != y->ndim || (x->ndim != 1 && x->ndim != 3) || (o->type == PITHRT_OP_SHUFFLE && x->ndim != 3))
            return fail(m, PITHRT_EFORMAT, "op '%s': input and output must be C x H x W%s", o->name,
                        o->type == PITHRT_OP_SLICE ? " or vectors" : "");
        for (int d = 1; d < x->ndim; d++)
            if (x->dims[d] != y->dims[d])
                return fail(m, PITHRT_EFORMAT, "op '%s': input and output differ beyond channels", o->name);
        if (s8 && (x->scale != y->scale || x->zero_point != y->zero_point))
            return fail(m, PITHRT_EFORMAT, "op '%s': moving int8 codes keeps their quantization", o->name);
        if (o->type == PITHRT_OP_SHUFFLE && (o->groups < 1 || x->dims[0] % o->groups || y->dims[0] != x->dims[0]))
            return fail(m, PITHRT_EFORMAT, "op '%s': %d groups for %d channels", o->name, o->groups, x->dims[0]);
        if (o->type == PITHRT_OP_SLICE && (o->ph < 0 || o->ph > x->dims[0] - y->dims[0]))
            return fail(m, PITHRT_EFORMAT, "op '%s': channels [%d, %d) of %d", o->name, o->ph, o->ph + y->dims[0],
                        x->dims[0]);
        return PITHRT_OK;
    }
    case PITHRT_OP_QUANTIZE:
    case PITHRT_OP_DEQUANTIZE: {
        int q = o->type == PITHRT_OP_QUANTIZE;
        if (x->dtype != (q ? PITHRT_F32 : PITHRT_S8) || y->dtype != (q ? PITHRT_S8 : PITHRT_F32))
            return fail(m, PITHRT_EFORMAT, "op '%s': %s maps %s", o->name, pithrt_op_name(o->type),
                        q ? "f32 to s8" : "s8 to f32");
        if (pithrt_tensor_elems(y) != pithrt_tensor_elems(x))
            return fail(m, PITHRT_EFORMAT, "op '%s': element counts differ", o->name);
        return PITHRT_OK;
    }
    }
    /* conv2d, fc and int8 conv_transpose: codebook, bias and requantization constants */
    int wdt = T(m, o->weight)->dtype;
    if (!s8 && wdt != PITHRT_F32) {
        /* codebook indices: every index must name an entry */
        if (o->aux < 0 || o->aux >= m->n_tensors || !T(m, o->aux)->is_const || T(m, o->aux)->dtype != PITHRT_F32)
            return fail(m, PITHRT_EFORMAT, "op '%s': codebook indices without an f32 codebook", o->name);
        size_t k = pithrt_tensor_elems(T(m, o->aux)), n = pithrt_tensor_elems(T(m, o->weight));
        const uint8_t *w = m->blob + T(m, o->weight)->offset;
        for (size_t i = 0; i < n; i++) {
            unsigned idx = wdt == PITHRT_U8 ? w[i] : wdt == PITHRT_U4 ? (w[i >> 1] >> ((i & 1) * 4)) & 15u
                                                                      : (w[i >> 2] >> ((i & 3) * 2)) & 3u;
            if (idx >= k)
                return fail(m, PITHRT_EFORMAT, "op '%s': weight %zu is codebook entry %u of %zu", o->name, i, idx, k);
        }
    }
    int oc = y->dims[0];
    if (o->bias >= 0 && (rc = check_const(m, o, o->bias, "bias", s8 ? PITHRT_S32 : PITHRT_F32, (size_t)oc)))
        return rc;
    if (s8) {
        if (x->dtype != PITHRT_S8)
            return fail(m, PITHRT_EFORMAT, "op '%s': an int8 layer needs an int8 input", o->name);
        if ((rc = check_const(m, o, o->requant, "requantization", PITHRT_S32, (size_t)oc * 3)))
            return rc;
        const int32_t *rq = (const int32_t *)(const void *)(m->blob + T(m, o->requant)->offset);
        for (int k = 0; k < oc; k++)
            if (rq[3 * k] < (1 << 30) || rq[3 * k + 1] < -62 || rq[3 * k + 1] > 30)
                return fail(m, PITHRT_EFORMAT, "op '%s': channel %d's multiplier %d / shift %d is not normalised",
                            o->name, k, rq[3 * k], rq[3 * k + 1]);
        if (o->act == PITHRT_ACT_HARDSWISH)
            return fail(m, PITHRT_EFORMAT, "op '%s': hardswish is not fused into int8 layers", o->name);
    }
    return PITHRT_OK;
}

static int load(const void *buf, size_t len, pithrt_model *m);

int pithrt_model_load(const void *buf, size_t len, pithrt_model *m) { return pithrt_model_load_isa(buf, len, NULL, m); }

int pithrt_model_load_isa(const void *buf, size_t len, const char *isa, pithrt_model *m)
{
    int set = isa ? pithrt_isa_parse(isa) : (int)pithrt_isa_default();
    if (set < 0 || !pithrt_isa_supported((pithrt_isa)set)) {
        memset(m, 0, sizeof *m);
        return fail(m, PITHRT_EARG, "instruction set '%s': %s", isa,
                    set < 0 ? "unknown (ref, avx2, avx512, neon, neondot)" : "this CPU or build lacks it");
    }
    int rc = load(buf, len, m);
    if (rc)
        return rc;
    m->isa = set;
    m->kernels = pithrt_kernels_for((pithrt_isa)set);
    rc = pithrt_fast_prepare(m);
    if (rc) {
        pithrt_model_free(m);
        return fail(m, rc, "no memory for the packed weights");
    }
    return PITHRT_OK;
}

const char *pithrt_model_isa(const pithrt_model *m) { return pithrt_isa_name((pithrt_isa)m->isa); }

static int load(const void *buf, size_t len, pithrt_model *m)
{
    memset(m, 0, sizeof *m);
    const uint8_t *p = buf;
    m->data = p;
    m->size = len;
    if (!buf || len < PITHRT_HDR_BYTES)
        return fail(m, PITHRT_EFORMAT, "%zu bytes: too short for a .pith header (64 bytes)", len);
    if (memcmp(p, PITHRT_MAGIC, 4))
        return fail(m, PITHRT_EFORMAT, "not a .pith file (magic %02x %02x %02x %02x)", p[0], p[1], p[2], p[3]);
    m->version = u32(p + PITHRT_HDR_VERSION);
    if (m->version < PITHRT_VERSION_MIN || m->version > PITHRT_VERSION)
        return fail(m, PITHRT_EVERSION, "format version %u; this runtime reads versions %u to %u", m->version,
                    PITHRT_VERSION_MIN, PITHRT_VERSION);
    /* libFuzzer convention: a fuzzing build skips the checksums so that
     * mutations reach the checks behind them */
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (u32(p + PITHRT_HDR_CRC) != pithrt_crc32(p, PITHRT_HDR_CRC))
        return fail(m, PITHRT_EFORMAT, "header checksum mismatch (the file is corrupt)");
#endif
    if (u32(p + PITHRT_HDR_SIZE) != PITHRT_HDR_BYTES)
        return fail(m, PITHRT_EFORMAT, "header size %u (expected 64)", u32(p + PITHRT_HDR_SIZE));
    if (u32(p + PITHRT_HDR_FILE_BYTES) != len)
        return fail(m, PITHRT_EFORMAT, "the header says %u bytes, the buffer has %zu (truncated?)",
                    u32(p + PITHRT_HDR_FILE_BYTES), len);
    uint32_t nt = u32(p + PITHRT_HDR_N_TENSORS), no = u32(p + PITHRT_HDR_N_OPS);
    uint32_t toff = u32(p + PITHRT_HDR_TENSORS), ooff = u32(p + PITHRT_HDR_OPS);
    uint32_t boff = u32(p + PITHRT_HDR_BLOB), bbytes = u32(p + PITHRT_HDR_BLOB_BYTES);
    uint32_t moff = u32(p + PITHRT_HDR_META), mbytes = u32(p + PITHRT_HDR_META_BYTES);
    if (nt < 1 || nt > PITHRT_MAX_TENSORS || no < 1 || no > PITHRT_MAX_OPS)
        return fail(m, PITHRT_EFORMAT, "%u tensors and %u ops (1..%d and 1..%d)", nt, no, PITHRT_MAX_TENSORS,
                    PITHRT_MAX_OPS);
    struct { const char *what; uint64_t off, bytes; } span[4] = {
        {"tensor table", toff, (uint64_t)nt * PITHRT_TENSOR_BYTES},
        {"op table", ooff, (uint64_t)no * PITHRT_OP_BYTES},
        {"metadata", moff, mbytes},
        {"weight blob", boff, bbytes},
    };
    for (int i = 0; i < 4; i++)
        if (span[i].off < PITHRT_HDR_BYTES || span[i].off + span[i].bytes > len)
            return fail(m, PITHRT_EFORMAT, "%s at [%llu, %llu) is outside the file (%zu bytes)", span[i].what,
                        (unsigned long long)span[i].off, (unsigned long long)(span[i].off + span[i].bytes), len);
    for (int i = 0; i < 3; i++)
        if (span[i].off + span[i].bytes > boff)
            return fail(m, PITHRT_EFORMAT, "the %s overlaps the weight blob", span[i].what);
    if (boff % PITHRT_ALIGN)
        return fail(m, PITHRT_EFORMAT, "weight blob offset %u is not 64-byte aligned", boff);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (u32(p + PITHRT_HDR_TABLES_CRC) != pithrt_crc32(p + PITHRT_HDR_BYTES, boff - PITHRT_HDR_BYTES))
        return fail(m, PITHRT_EFORMAT, "table checksum mismatch (the file is corrupt)");
#endif
    if (((uintptr_t)(p + boff)) % 4)
        return fail(m, PITHRT_EARG, "the model buffer must be 4-byte aligned");
    if (mbytes < PITHRT_META_FIXED)
        return fail(m, PITHRT_EFORMAT, "metadata of %u bytes (at least %u)", mbytes, PITHRT_META_FIXED);

    /* one block: tensors, ops, arena offsets, order */
    size_t bytes = nt * sizeof(pithrt_tensor) + no * sizeof(pithrt_op) + nt * sizeof(uint32_t) + no * sizeof(int);
    m->heap = calloc(1, bytes);
    if (!m->heap)
        return fail(m, PITHRT_ENOMEM, "no memory for the model's tables (%zu bytes)", bytes);
    pithrt_tensor *tensors = m->heap;
    pithrt_op *ops = (pithrt_op *)(tensors + nt);
    m->act_offset = (uint32_t *)(ops + no);
    m->order = (int *)(m->act_offset + nt);
    m->tensors = tensors;
    m->ops = ops;
    m->n_tensors = (int)nt;
    m->n_ops = (int)no;
    m->blob = p + boff;
    m->blob_size = bbytes;
    int rc = PITHRT_OK;
    for (uint32_t k = 0; k < nt && !rc; k++) {
        read_tensor(p + toff + (size_t)k * PITHRT_TENSOR_BYTES, &tensors[k]);
        rc = check_tensor(m, (int)k, &tensors[k]);
    }
    /* metadata */
    const uint8_t *mp = p + moff;
    m->norm_channels = (int)u32(mp + PITHRT_M_NORM_CH);
    if (!rc && m->norm_channels > 4)
        rc = fail(m, PITHRT_EFORMAT, "normalisation for %d channels (at most 4)", m->norm_channels);
    for (int i = 0; i < 4 && !rc; i++) {
        m->mean[i] = f32(mp + PITHRT_M_MEAN + 4 * i);
        m->std[i] = f32(mp + PITHRT_M_STD + 4 * i);
        if (i < m->norm_channels && (!isfinite(m->mean[i]) || !(m->std[i] > 0.0f) || !isfinite(m->std[i])))
            rc = fail(m, PITHRT_EFORMAT, "normalisation of channel %d: mean %g, std %g", i, (double)m->mean[i],
                      (double)m->std[i]);
    }
    m->n_labels = (int)u32(mp + PITHRT_M_N_LABELS);
    m->labels_bytes = u32(mp + PITHRT_M_LABEL_BYTES);
    m->labels = (const char *)mp + PITHRT_M_LABELS;
    if (!rc && (uint64_t)m->labels_bytes + PITHRT_META_FIXED > mbytes)
        rc = fail(m, PITHRT_EFORMAT, "labels of %u bytes do not fit the %u-byte metadata", m->labels_bytes, mbytes);
    if (!rc) {
        int lines = 0;
        for (uint32_t i = 0; i < m->labels_bytes; i++)
            lines += m->labels[i] == '\n';
        if (lines != m->n_labels || (m->labels_bytes && m->labels[m->labels_bytes - 1] != '\n'))
            rc = fail(m, PITHRT_EFORMAT, "%d labels announced, %d found", m->n_labels, lines);
    }
    memset(&m->pre, 0, sizeof m->pre);
    if (!rc && m->version >= 3) {
        const uint8_t *pp = mp + PITHRT_META_FIXED + m->labels_bytes;
        if ((uint64_t)PITHRT_META_FIXED + m->labels_bytes + PITHRT_P_BYTES > mbytes)
            rc = fail(m, PITHRT_EFORMAT, "no room for the preprocessing record in the %u-byte metadata", mbytes);
        uint32_t flags = rc ? 0 : u32(pp + PITHRT_P_FLAGS), resize = rc ? 0 : u32(pp + PITHRT_P_RESIZE);
        if (!rc && (flags & ~(PITHRT_PRE_BGR | PITHRT_PRE_KEEP255 | PITHRT_PRE_NEAREST)))
            rc = fail(m, PITHRT_EFORMAT, "preprocessing flags 0x%x (unknown bits)", flags);
        if (!rc && resize > 65535)
            rc = fail(m, PITHRT_EFORMAT, "preprocessing: resize to %u pixels", resize);
        m->pre.bgr = !!(flags & PITHRT_PRE_BGR);
        m->pre.keep255 = !!(flags & PITHRT_PRE_KEEP255);
        m->pre.nearest = !!(flags & PITHRT_PRE_NEAREST);
        m->pre.resize = (int)resize;
    }
    m->input = i32(p + PITHRT_HDR_INPUT);
    m->output = i32(p + PITHRT_HDR_OUTPUT);
    if (!rc && (m->input < 0 || m->input >= (int)nt || m->output < 0 || m->output >= (int)nt))
        rc = fail(m, PITHRT_EFORMAT, "input tensor %d / output tensor %d out of range", m->input, m->output);
    if (!rc && (tensors[m->input].is_const || tensors[m->input].dtype != PITHRT_F32))
        rc = fail(m, PITHRT_EFORMAT, "the input tensor must be an f32 activation");
    if (!rc && tensors[m->output].is_const)
        rc = fail(m, PITHRT_EFORMAT, "the output tensor is a constant");

    /* ops: operands in range, each activation written once, before it is read */
    unsigned char *written = rc ? NULL : calloc(nt, 1);
    if (!rc && !written)
        rc = fail(m, PITHRT_ENOMEM, "no memory");
    if (written)
        written[m->input] = 1;
    for (uint32_t k = 0; k < no && !rc; k++) {
        pithrt_op *o = &ops[k];
        read_op(p + ooff + (size_t)k * PITHRT_OP_BYTES, o);
        m->order[k] = (int)k;
        if (o->n_in < 1 || o->n_in > 4) {
            rc = fail(m, PITHRT_EFORMAT, "op %u ('%s'): %d inputs", k, o->name, o->n_in);
            break;
        }
        for (int i = 0; i < o->n_in && !rc; i++) {
            int t = o->in[i];
            if (t < 0 || t >= (int)nt || tensors[t].is_const)
                rc = fail(m, PITHRT_EFORMAT, "op %u ('%s'): input %d is tensor %d, not an activation", k, o->name, i, t);
            else if (!written[t])
                rc = fail(m, PITHRT_EFORMAT, "op %u ('%s'): reads tensor '%s' before any op writes it", k, o->name,
                          tensors[t].name);
        }
        if (!rc && (o->out < 0 || o->out >= (int)nt || tensors[o->out].is_const))
            rc = fail(m, PITHRT_EFORMAT, "op %u ('%s'): output tensor %d is not an activation", k, o->name, o->out);
        else if (!rc && written[o->out])
            rc = fail(m, PITHRT_EFORMAT, "op %u ('%s'): tensor '%s' is written twice", k, o->name,
                      tensors[o->out].name);
        if (!rc)
            rc = check_op(m, o);
        if (!rc)
            written[o->out] = 1;
    }
    if (!rc && !written[m->output])
        rc = fail(m, PITHRT_EFORMAT, "no op writes the output tensor");
    free(written);
    m->golden_in = i32(mp + PITHRT_M_GOLDEN_IN);
    m->golden_out = i32(mp + PITHRT_M_GOLDEN_OUT);
    if (!rc && (m->golden_in >= 0 || m->golden_out >= 0)) {
        int gi = m->golden_in, go = m->golden_out;
        if (gi < 0 || go < 0 || gi >= (int)nt || go >= (int)nt || !tensors[gi].is_const || !tensors[go].is_const ||
            tensors[gi].dtype != PITHRT_F32 || tensors[go].dtype != PITHRT_F32 ||
            pithrt_tensor_elems(&tensors[gi]) != pithrt_tensor_elems(&tensors[m->input]) ||
            pithrt_tensor_elems(&tensors[go]) != pithrt_tensor_elems(&tensors[m->output]))
            rc = fail(m, PITHRT_EFORMAT, "golden vectors %d / %d do not match the input and output", gi, go);
    }
    if (!rc)
        rc = pithrt_plan(m);
    if (rc) {
        pithrt_model_free(m);
        return rc;
    }
    m->msg[0] = '\0';
    return PITHRT_OK;
}

int pithrt_file_read(const char *path, void **buf, size_t *len, char *msg, size_t msg_len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msg_len, "%s: cannot open", path);
        return PITHRT_EIO;
    }
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || n > 0x7fffffffL || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        snprintf(msg, msg_len, "%s: cannot read its size (or larger than 2 GiB)", path);
        return PITHRT_EIO;
    }
    void *p = malloc(n ? (size_t)n : 1);
    if (!p) {
        fclose(f);
        snprintf(msg, msg_len, "%s: no memory for %ld bytes", path, n);
        return PITHRT_ENOMEM;
    }
    size_t got = fread(p, 1, (size_t)n, f);
    int bad = ferror(f) || got != (size_t)n;
    fclose(f);
    if (bad) {
        free(p);
        snprintf(msg, msg_len, "%s: read error", path);
        return PITHRT_EIO;
    }
    *buf = p;
    *len = (size_t)n;
    return PITHRT_OK;
}

void pithrt_label(const pithrt_model *m, int k, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = '\0';
    const char *s = m->labels, *end = m->labels + m->labels_bytes;
    for (int i = 0; i < k && s < end; i++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl)
            return;
        s = nl + 1;
    }
    if (k < 0 || k >= m->n_labels || s >= end)
        return;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t n = (size_t)((nl ? nl : end) - s);
    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}
