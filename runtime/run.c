/* Contexts and execution: the arena holds every activation (at the planned
 * offsets), the fast path's shared and per-thread scratch and the profile;
 * run() walks the ops and calls each one's kernel (the fast path's when the
 * model has one for the op). Only ctx_init allocates: the thread pool. */
#include <math.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fast.h"
#include "internal.h"
#include "kernels/kernels.h"

static int fail(pithrt_ctx *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    return code;
}

static size_t align_up(size_t v) { return (v + PITHRT_ARENA_ALIGN - 1) / PITHRT_ARENA_ALIGN * PITHRT_ARENA_ALIGN; }

static size_t profile_bytes(const pithrt_model *m) { return align_up((size_t)m->n_ops * sizeof(pithrt_profile)); }

size_t pithrt_arena_bytes(const pithrt_model *m, int threads)
{
    if (threads < 1)
        threads = 1;
    /* + alignment slack: the caller's pointer need not be 64-byte aligned */
    return m->act_bytes + m->shared_bytes + (size_t)threads * m->scratch_bytes + profile_bytes(m) +
           PITHRT_ARENA_ALIGN;
}

const char *pithrt_ctx_error(const pithrt_ctx *c) { return c->msg; }

int pithrt_ctx_init(pithrt_ctx *c, const pithrt_model *m, void *arena, size_t bytes, int threads)
{
    memset(c, 0, sizeof *c);
    if (!m || !m->heap)
        return fail(c, PITHRT_EARG, "no model");
    if (threads < 1)
        return fail(c, PITHRT_EARG, "%d threads", threads);
    size_t need = pithrt_arena_bytes(m, threads);
    if (!arena || bytes < need)
        return fail(c, PITHRT_ESPACE, "the arena has %zu bytes; this model needs %zu for %d thread(s)", bytes, need,
                    threads);
    uintptr_t a = (uintptr_t)arena;
    c->arena = (uint8_t *)arena + (PITHRT_ARENA_ALIGN - a % PITHRT_ARENA_ALIGN) % PITHRT_ARENA_ALIGN;
    c->arena_bytes = bytes;
    c->m = m;
    c->threads = threads;
    c->profile = (pithrt_profile *)(void *)(c->arena + m->act_bytes + m->shared_bytes +
                                            (size_t)threads * m->scratch_bytes);
    memset(c->profile, 0, (size_t)m->n_ops * sizeof *c->profile);
    for (int k = 0; k < m->n_ops; k++)
        c->profile[k].macs = pithrt_op_macs(m, k);
    if (threads > 1) {
        c->pool = pithrt_pool_new(threads);
#ifndef PITHRT_NO_THREADS
        if (!c->pool)
            return fail(c, PITHRT_ENOMEM, "cannot start %d threads", threads);
#endif
    }
    return PITHRT_OK;
}

void pithrt_ctx_free(pithrt_ctx *c)
{
    pithrt_pool_free(c->pool);
    c->pool = NULL;
}

void pithrt_ctx_poison(pithrt_ctx *c, int on) { c->poison = on; }

/* The last op that reads tensor t (n_ops for the output, -1 if none). */
static int last_read(const pithrt_model *m, int t)
{
    if (t == m->output)
        return m->n_ops;
    int last = -1;
    for (int k = 0; k < m->n_ops; k++)
        for (int i = 0; i < m->ops[k].n_in; i++)
            if (m->ops[k].in[i] == t)
                last = k;
    return last;
}

static size_t act_bytes_of(const pithrt_model *m, int t)
{
    return pithrt_dtype_bytes(m->tensors[t].dtype, pithrt_tensor_elems(&m->tensors[t]));
}

/* After op k: poison what died there, unless a tensor alive after k shares those bytes. */
static void poison_dead(pithrt_ctx *c, int k)
{
    const pithrt_model *m = c->m;
    for (int t = 0; t < m->n_tensors; t++) {
        if (m->tensors[t].is_const || last_read(m, t) != k)
            continue;
        size_t a = m->act_offset[t], n = act_bytes_of(m, t), shared = 0;
        for (int u = 0; u < m->n_tensors && !shared; u++) {
            if (u == t || m->tensors[u].is_const || last_read(m, u) <= k)
                continue;
            int written = u == m->input;
            for (int j = 0; j <= k && !written; j++)
                written = m->ops[j].out == u;
            size_t b = m->act_offset[u], nb = act_bytes_of(m, u);
            shared = written && a < b + nb && b < a + n;
        }
        if (!shared)
            memset(c->arena + a, 0xA5, n);
    }
}

void pithrt_ctx_profile(pithrt_ctx *c, int on)
{
    c->profiling = on;
    if (on) {
        for (int k = 0; k < c->m->n_ops; k++)
            c->profile[k].seconds = 0.0;
        c->runs = 0;
    }
}

static void *act(const pithrt_ctx *c, int t) { return c->arena + c->m->act_offset[t]; }
static const void *cst(const pithrt_model *m, int t) { return t >= 0 ? m->blob + m->tensors[t].offset : NULL; }

static pithrt_qact qact(const pithrt_tensor *t)
{
    pithrt_qact q = {t->zero_point, t->qmin, t->qmax, t->scale};
    return q;
}

size_t pithrt_input_size(const pithrt_model *m) { return pithrt_tensor_elems(&m->tensors[m->input]); }
size_t pithrt_output_size(const pithrt_model *m) { return pithrt_tensor_elems(&m->tensors[m->output]); }

int pithrt_set_input_f32(pithrt_ctx *c, const float *x, size_t n)
{
    if (!c->m || n != pithrt_input_size(c->m))
        return fail(c, PITHRT_EARG, "input of %zu values; the model takes %zu", n, c->m ? pithrt_input_size(c->m) : 0);
    memcpy(act(c, c->m->input), x, n * sizeof *x);
    return PITHRT_OK;
}

int pithrt_set_input_u8(pithrt_ctx *c, const uint8_t *pixels, size_t n)
{
    const pithrt_model *m = c->m;
    if (!m || n != pithrt_input_size(m))
        return fail(c, PITHRT_EARG, "input of %zu pixels; the model takes %zu", n, m ? pithrt_input_size(m) : 0);
    const pithrt_tensor *t = &m->tensors[m->input];
    size_t plane = t->ndim == 3 ? (size_t)t->dims[1] * t->dims[2] : n;
    float *x = act(c, m->input);
    for (size_t i = 0; i < n; i++) {
        int ch = m->norm_channels ? (int)(i / plane) % m->norm_channels : 0;
        x[i] = m->norm_channels ? pithrt_pixel_value(pixels[i], m->pre.keep255, m->mean[ch], m->std[ch])
                                : pithrt_pixel_value(pixels[i], m->pre.keep255, 0.0f, 1.0f);
    }
    return PITHRT_OK;
}

/* the input's channels, height and width (1 x n for a vector input) */
static void input_chw(const pithrt_model *m, int *c, int *h, int *w)
{
    const pithrt_tensor *t = &m->tensors[m->input];
    *c = t->ndim == 3 ? t->dims[0] : 1;
    *h = t->ndim == 3 ? t->dims[1] : 1;
    *w = t->ndim == 3 ? t->dims[2] : (int)pithrt_tensor_elems(t);
}

size_t pithrt_input_image_scratch(const pithrt_model *m, int w, int h, int channels)
{
    int c, ih, iw;
    input_chw(m, &c, &ih, &iw);
    return pithrt_image_prepare_scratch(w, h, channels, &m->pre, iw, ih) + (size_t)iw * ih * 3 + 64;
}

int pithrt_set_input_image(pithrt_ctx *c, const uint8_t *px, int w, int h, int channels, void *scratch)
{
    const pithrt_model *m = c->m;
    int ic, ih, iw;
    input_chw(m, &ic, &ih, &iw);
    if (ic != 1 && ic != 3)
        return fail(c, PITHRT_EARG, "the model's input has %d channels; an image gives 1 or 3", ic);
    if ((channels != 1 && channels != 3) || w < 1 || h < 1)
        return fail(c, PITHRT_EARG, "an image of %dx%d with %d channels (1 or 3)", w, h, channels);
    uint8_t *img = scratch;
    void *rest = img + (((size_t)iw * ih * 3 + 63) & ~(size_t)63);
    if (pithrt_image_prepare(px, w, h, channels, &m->pre, img, iw, ih, ic, rest))
        return fail(c, PITHRT_EARG, "cannot resize a %dx%d image to %dx%d", w, h, iw, ih);
    float mean[4] = {0, 0, 0, 0}, sd[4] = {1, 1, 1, 1};
    for (int k = 0; k < ic && m->norm_channels; k++) {
        mean[k] = m->mean[k % m->norm_channels];
        sd[k] = m->std[k % m->norm_channels];
    }
    pithrt_image_normalize(img, iw, ih, ic, &m->pre, mean, sd, act(c, m->input));
    return PITHRT_OK;
}

int pithrt_set_input_s8(pithrt_ctx *c, const int8_t *q, size_t n)
{
    const pithrt_model *m = c->m;
    if (!m || n != pithrt_input_size(m))
        return fail(c, PITHRT_EARG, "input of %zu values; the model takes %zu", n, m ? pithrt_input_size(m) : 0);
    /* the model's first op quantizes its f32 input; codes are given as the
     * values they stand for, which that op maps back to the same codes */
    const pithrt_op *first = NULL;
    for (int k = 0; k < m->n_ops && !first; k++)
        if (m->ops[k].in[0] == m->input)
            first = &m->ops[k];
    if (!first || first->type != PITHRT_OP_QUANTIZE)
        return fail(c, PITHRT_EARG, "this model's input is float, not int8");
    pithrt_dequantize_s8_f32_ref(q, qact(&m->tensors[first->out]), act(c, m->input), n);
    return PITHRT_OK;
}

int pithrt_output_f32(pithrt_ctx *c, float *out, size_t n)
{
    const pithrt_model *m = c->m;
    const pithrt_tensor *t = &m->tensors[m->output];
    if (n != pithrt_tensor_elems(t))
        return fail(c, PITHRT_EARG, "output of %zu values asked; the model gives %zu", n, pithrt_tensor_elems(t));
    if (t->dtype == PITHRT_F32)
        memcpy(out, act(c, m->output), n * sizeof *out);
    else
        pithrt_dequantize_s8_f32_ref(act(c, m->output), qact(t), out, n);
    return PITHRT_OK;
}

const void *pithrt_output_raw(const pithrt_ctx *c, pithrt_dtype *dtype)
{
    *dtype = (pithrt_dtype)c->m->tensors[c->m->output].dtype;
    return c->arena + c->m->act_offset[c->m->output];
}

int64_t pithrt_op_macs(const pithrt_model *m, int k)
{
    const pithrt_op *o = &m->ops[k];
    if (o->type != PITHRT_OP_CONV2D && o->type != PITHRT_OP_FC)
        return 0;
    return (int64_t)pithrt_tensor_elems(&m->tensors[o->weight]) *
           (o->type == PITHRT_OP_CONV2D ? (int64_t)m->tensors[o->out].dims[1] * m->tensors[o->out].dims[2] : 1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void pithrt_dims3(const pithrt_tensor *t, int32_t *d)
{
    if (t->ndim == 3) {
        d[0] = t->dims[0], d[1] = t->dims[1], d[2] = t->dims[2];
    } else {
        d[0] = 1, d[1] = 1, d[2] = t->dims[0];
    }
}

void pithrt_binary_s8_operands(const pithrt_model *m, const pithrt_op *o, const uint8_t *arena, pithrt_operand *first,
                               pithrt_operand *second, int32_t *yd)
{
    const pithrt_tensor *x = &m->tensors[o->in[0]], *bt = o->n_in == 2 ? &m->tensors[o->in[1]] : &m->tensors[o->weight];
    const void *b = o->n_in == 2 ? (const void *)(arena + m->act_offset[o->in[1]]) : cst(m, o->weight);
    int32_t ad[3], bd[3];
    pithrt_dims3(x, ad);
    pithrt_dims3(bt, bd);
    pithrt_dims3(&m->tensors[o->out], yd);
    pithrt_operand oa = {arena + m->act_offset[o->in[0]], 1, qact(x), {ad[0], ad[1], ad[2]}};
    pithrt_operand ob = {b, bt->dtype == PITHRT_S8, qact(bt), {bd[0], bd[1], bd[2]}};
    *first = o->flags & PITHRT_BIN_CONST_FIRST ? ob : oa;
    *second = o->flags & PITHRT_BIN_CONST_FIRST ? oa : ob;
}

static void run_op(pithrt_ctx *c, const pithrt_op *o, int8_t *scratch)
{
    const pithrt_model *m = c->m;
    if (pithrt_fast_run(m, (int)(o - m->ops), c->arena, c->arena + m->act_bytes, (uint8_t *)scratch, m->scratch_bytes,
                        c->pool))
        return;
    const pithrt_tensor *x = &m->tensors[o->in[0]], *y = &m->tensors[o->out];
    const int s8 = x->dtype == PITHRT_S8;
    void *yp = act(c, o->out);
    const void *xp = act(c, o->in[0]);
    pithrt_geom g = {o->kh, o->kw, o->sh, o->sw, o->ph, o->pw, o->dh, o->dw, o->groups};
    switch (o->type) {
    case PITHRT_OP_CONV2D:
    case PITHRT_OP_FC: {
        const int wdt = m->tensors[o->weight].dtype;
        if (!s8 && wdt != PITHRT_F32) {
            /* k-means codebook: decode one output channel's weights at a
             * time and run it as a one-channel layer over its group's inputs */
            const float *cb = cst(m, o->aux), *bias = cst(m, o->bias);
            float *row = (float *)(void *)scratch;
            const int oc = y->dims[0];
            if (o->type == PITHRT_OP_FC) {
                size_t n = pithrt_tensor_elems(x);
                for (int k = 0; k < oc; k++) {
                    pithrt_weights_decode_f32(cst(m, o->weight), wdt, cb, (size_t)k * n, n, row);
                    pithrt_fc_f32_ref(xp, (int)n, row, bias ? bias + k : NULL, (float *)yp + k, 1, o->act);
                }
                break;
            }
            const int cg = x->dims[0] / g.groups, og = oc / g.groups, per = cg * g.kh * g.kw;
            pithrt_geom one = g;
            one.groups = 1;
            for (int k = 0; k < oc; k++) {
                pithrt_weights_decode_f32(cst(m, o->weight), wdt, cb, (size_t)k * per, (size_t)per, row);
                const float *xg = (const float *)xp + (size_t)(k / og) * cg * x->dims[1] * x->dims[2];
                pithrt_conv2d_f32_ref(xg, cg, x->dims[1], x->dims[2], row, bias ? bias + k : NULL,
                                      (float *)yp + (size_t)k * y->dims[1] * y->dims[2], 1, y->dims[1], y->dims[2],
                                      &one, o->act);
            }
            break;
        }
        if (!s8) {
            if (o->type == PITHRT_OP_CONV2D)
                pithrt_conv2d_f32_ref(xp, x->dims[0], x->dims[1], x->dims[2], cst(m, o->weight), cst(m, o->bias), yp,
                                      y->dims[0], y->dims[1], y->dims[2], &g, o->act);
            else
                pithrt_fc_f32_ref(xp, (int)pithrt_tensor_elems(x), cst(m, o->weight), cst(m, o->bias), yp, y->dims[0],
                                  o->act);
            break;
        }
        pithrt_requant rq = {cst(m, o->requant), o->act};
        int wd = m->tensors[o->weight].dtype;
        if (o->type == PITHRT_OP_CONV2D)
            pithrt_conv2d_s8_ref(xp, x->dims[0], x->dims[1], x->dims[2], qact(x), cst(m, o->weight), wd,
                                 cst(m, o->bias), yp, y->dims[0], y->dims[1], y->dims[2], qact(y), &rq, &g, scratch);
        else
            pithrt_fc_s8_ref(xp, (int)pithrt_tensor_elems(x), qact(x), cst(m, o->weight), wd, cst(m, o->bias), yp,
                             y->dims[0], qact(y), &rq, scratch);
        break;
    }
    case PITHRT_OP_MAXPOOL:
        if (s8)
            pithrt_maxpool_s8_ref(xp, x->dims[0], x->dims[1], x->dims[2], yp, y->dims[1], y->dims[2], &g);
        else
            pithrt_maxpool_f32_ref(xp, x->dims[0], x->dims[1], x->dims[2], yp, y->dims[1], y->dims[2], &g);
        break;
    case PITHRT_OP_AVGPOOL:
        if (o->flags) {
            int32_t end[2] = {o->ph, o->pw};
            if (o->flags & PITHRT_POOL_END_PADS)
                memcpy(end, cst(m, o->aux), sizeof end);
            if (s8)
                pithrt_avgpool_ext_s8_ref(xp, x->dims[0], x->dims[1], x->dims[2], qact(x), yp, y->dims[1], y->dims[2],
                                          qact(y), &g, end[0], end[1], o->flags & PITHRT_POOL_EXCLUDE_PAD, o->act);
            else
                pithrt_avgpool_ext_f32_ref(xp, x->dims[0], x->dims[1], x->dims[2], yp, y->dims[1], y->dims[2], &g,
                                           end[0], end[1], o->flags & PITHRT_POOL_EXCLUDE_PAD);
        } else if (s8) {
            pithrt_avgpool_s8_ref(xp, x->dims[0], x->dims[1], x->dims[2], qact(x), yp, y->dims[1], y->dims[2], qact(y),
                                  &g, o->act);
        } else {
            pithrt_avgpool_f32_ref(xp, x->dims[0], x->dims[1], x->dims[2], yp, y->dims[1], y->dims[2], &g);
        }
        break;
    case PITHRT_OP_GAVGPOOL:
        if (s8)
            pithrt_gavgpool_s8_ref(xp, x->dims[0], x->dims[1] * x->dims[2], qact(x), yp, qact(y), o->act);
        else
            pithrt_gavgpool_f32_ref(xp, x->dims[0], x->dims[1] * x->dims[2], yp);
        break;
    case PITHRT_OP_ADD: {
        const pithrt_tensor *b = &m->tensors[o->in[1]];
        size_t n = pithrt_tensor_elems(y);
        if (s8)
            pithrt_add_s8_ref(xp, qact(x), act(c, o->in[1]), qact(b), yp, qact(y), n, o->act);
        else
            pithrt_add_f32_ref(xp, act(c, o->in[1]), yp, n, o->act);
        break;
    }
    case PITHRT_OP_CONCAT: {
        size_t at = 0;
        for (int i = 0; i < o->n_in; i++) {
            const pithrt_tensor *t = &m->tensors[o->in[i]];
            size_t n = pithrt_tensor_elems(t);
            if (s8)
                pithrt_concat_s8_ref(act(c, o->in[i]), qact(t), n, (int8_t *)yp + at, qact(y));
            else
                pithrt_concat_f32_ref(act(c, o->in[i]), n, (float *)yp + at);
            at += n;
        }
        break;
    }
    case PITHRT_OP_ACT:
        if (o->act >= PITHRT_ACT_HARDSIGMOID) {
            const pithrt_tensor *pt = &m->tensors[o->aux];
            const int ch = y->ndim == 3 ? y->dims[0] : (int)pithrt_tensor_elems(y);
            pithrt_act_param_f32_ref(xp, yp, ch, pithrt_tensor_elems(y) / (size_t)ch, o->act, cst(m, o->aux),
                                     (int)pithrt_tensor_elems(pt));
        } else {
            pithrt_act_f32_ref(xp, yp, pithrt_tensor_elems(y), o->act);
        }
        break;
    case PITHRT_OP_RESIZE: {
        float sc[2];
        memcpy(sc, cst(m, o->aux), sizeof sc);
        if (s8)
            pithrt_resize_s8_ref(xp, qact(x), x->dims[0], x->dims[1], x->dims[2], yp, qact(y), y->dims[1], y->dims[2],
                                 o->flags, sc);
        else
            pithrt_resize_f32_ref(xp, x->dims[0], x->dims[1], x->dims[2], yp, y->dims[1], y->dims[2], o->flags, sc);
        break;
    }
    case PITHRT_OP_CONV_TRANSPOSE:
        if (s8) {
            pithrt_requant rq = {cst(m, o->requant), o->act};
            pithrt_conv_transpose_s8_ref(xp, x->dims[0], x->dims[1], x->dims[2], qact(x), cst(m, o->weight),
                                         cst(m, o->bias), yp, y->dims[0], y->dims[1], y->dims[2], qact(y), &rq, &g);
        } else {
            pithrt_conv_transpose_f32_ref(xp, x->dims[0], x->dims[1], x->dims[2], cst(m, o->weight), cst(m, o->bias),
                                          yp, y->dims[0], y->dims[1], y->dims[2], &g);
        }
        break;
    case PITHRT_OP_PAD: {
        float v = 0.0f;
        if (o->aux >= 0)
            memcpy(&v, cst(m, o->aux), sizeof v);
        /* int8: the loader checked that the value is 0, the input's zero point */
        int8_t code = s8 ? (int8_t)x->zero_point : 0;
        pithrt_pad_ref(xp, s8 ? 1 : sizeof(float), x->dims[0], x->dims[1], x->dims[2], yp, y->dims[1], y->dims[2],
                       o->ph, o->pw, o->flags, s8 ? (const void *)&code : (const void *)&v);
        break;
    }
    case PITHRT_OP_SHUFFLE:
        pithrt_channel_shuffle_ref(xp, yp, x->dims[0], (size_t)x->dims[1] * x->dims[2], o->groups, s8 ? 1 : 4);
        break;
    case PITHRT_OP_SLICE:
        pithrt_slice_ref(xp, yp, o->ph, y->dims[0], x->ndim == 3 ? (size_t)x->dims[1] * x->dims[2] : 1, s8 ? 1 : 4);
        break;
    case PITHRT_OP_BINARY: {
        const pithrt_tensor *bt = o->n_in == 2 ? &m->tensors[o->in[1]] : &m->tensors[o->weight];
        const void *a = xp, *b = o->n_in == 2 ? act(c, o->in[1]) : cst(m, o->weight);
        int32_t ad[3], bd[3], yd[3];
        pithrt_dims3(x, ad);
        pithrt_dims3(bt, bd);
        pithrt_dims3(y, yd);
        if (y->dtype == PITHRT_S8) {
            pithrt_operand first, second;
            pithrt_binary_s8_operands(m, o, c->arena, &first, &second, yd);
            pithrt_binary_s8_ref(o->flags & 3, &first, &second, yp, qact(y), yd, o->act);
        } else if (o->flags & PITHRT_BIN_CONST_FIRST) {
            pithrt_binary_f32_ref(o->flags & 3, b, bd, a, ad, yp, yd);
        } else {
            pithrt_binary_f32_ref(o->flags & 3, a, ad, b, bd, yp, yd);
        }
        break;
    }
    case PITHRT_OP_LUT:
        if (o->flags & PITHRT_LUT_PER_CHANNEL) {
            const size_t plane = pithrt_tensor_elems(y) / (size_t)y->dims[0];
            for (int ch = 0; ch < y->dims[0]; ch++)
                pithrt_lut_s8_ref((const int8_t *)xp + ch * plane, (const uint8_t *)cst(m, o->aux) + 256 * ch,
                                  (int8_t *)yp + ch * plane, plane);
        } else {
            pithrt_lut_s8_ref(xp, cst(m, o->aux), yp, pithrt_tensor_elems(y));
        }
        break;
    case PITHRT_OP_SOFTMAX:
        if (o->ph) { /* version 2: along axis ph - 1 of C x H x W */
            int32_t d[3];
            pithrt_dims3(y, d);
            pithrt_softmax_axis_f32_ref(xp, yp, d, o->ph - 1);
        } else {
            pithrt_softmax_f32_ref(xp, yp, (int)pithrt_tensor_elems(y));
        }
        break;
    case PITHRT_OP_RESHAPE:
        break; /* a view: the planner gave it its input's storage */
    case PITHRT_OP_QUANTIZE:
        pithrt_quantize_f32_s8_ref(xp, yp, pithrt_tensor_elems(y), qact(y), o->act);
        break;
    case PITHRT_OP_DEQUANTIZE:
        pithrt_dequantize_s8_f32_ref(xp, qact(x), yp, pithrt_tensor_elems(y));
        break;
    }
}

void pithrt_ctx_observe(pithrt_ctx *c, pithrt_observer fn, void *user)
{
    c->observe = fn;
    c->observe_user = user;
}

int pithrt_run(pithrt_ctx *c)
{
    const pithrt_model *m = c->m;
    if (!m)
        return fail(c, PITHRT_EARG, "the context has no model");
    int8_t *scratch = (int8_t *)(c->arena + m->act_bytes + m->shared_bytes);
    for (int k = 0; k < m->n_ops; k++) {
        const pithrt_op *o = &m->ops[m->order[k]];
        if (c->profiling) {
            double t0 = now();
            run_op(c, o, scratch);
            c->profile[m->order[k]].seconds += now() - t0;
        } else {
            run_op(c, o, scratch);
        }
        if (c->observe) {
            const pithrt_tensor *y = &m->tensors[o->out];
            c->observe(c->observe_user, m->order[k], act(c, o->out),
                       pithrt_dtype_bytes(y->dtype, pithrt_tensor_elems(y)));
        }
        if (c->poison)
            poison_dead(c, m->order[k]);
    }
    c->runs++;
    return PITHRT_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int pithrt_bench(pithrt_ctx *c, int warmup, int runs, double *seconds)
{
    if (runs < 1 || warmup < 0)
        return fail(c, PITHRT_EARG, "%d runs after %d warm-up runs", runs, warmup);
    const pithrt_model *m = c->m;
    const size_t in_bytes = pithrt_dtype_bytes(m->tensors[m->input].dtype, pithrt_tensor_elems(&m->tensors[m->input]));
    uint8_t *in = act(c, m->input), *saved = malloc(in_bytes ? in_bytes : 1);
    if (!saved)
        return fail(c, PITHRT_ENOMEM, "no memory for a copy of the input (%zu bytes)", in_bytes);
    memcpy(saved, in, in_bytes);
    for (int i = 0; i < warmup; i++) {
        memcpy(in, saved, in_bytes);
        pithrt_run(c);
    }
    if (c->profiling)
        pithrt_ctx_profile(c, 1); /* the profile counts the timed runs only */
    for (int i = 0; i < runs; i++) {
        memcpy(in, saved, in_bytes);
        double t0 = now();
        pithrt_run(c);
        seconds[i] = now() - t0;
    }
    memcpy(in, saved, in_bytes);
    free(saved);
    qsort(seconds, (size_t)runs, sizeof *seconds, cmp_double);
    return PITHRT_OK;
}
