/* pithrt-test's random one-layer models, built with the runtime's writer. */
#include "one_layer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pithrt.h"
#include "../writer.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

uint32_t pt_rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}
int pt_rint_in(int lo, int hi) { return lo + (int)(pt_rnd() % (uint32_t)(hi - lo + 1)); }
float pt_rfloat(float lo, float hi) { return lo + (hi - lo) * (float)(pt_rnd() & 0xFFFFFF) / 16777216.0f; }


void pt_describe(const layer *L, char *s, size_t n)
{
    if (L->other == 1)
        snprintf(s, n, "maxpool %s c%d %dx%d k%dx%d s%d,%d p%d,%d", L->s8 ? "s8" : "f32", L->c, L->h, L->w, L->kh,
                 L->kw, L->sh, L->sw, L->ph, L->pw);
    else if (L->other == 2)
        snprintf(s, n, "add s8 c%d %dx%d act %d zx %d q[%d,%d]", L->c, L->h, L->w, L->act, L->zx, L->qmin, L->qmax);
    else if (L->fc)
        snprintf(s, n, "fc %s %d->%d act %d wdtype %d", L->s8 ? "s8" : "f32", L->c * L->h * L->w, L->o, L->act,
                 L->wdtype);
    else
        snprintf(s, n, "conv %s c%d %dx%d o%d k%dx%d s%d,%d p%d,%d d%d,%d g%d act %d wdtype %d zx %d q[%d,%d]",
                 L->s8 ? "s8" : "f32", L->c, L->h, L->w, L->o, L->kh, L->kw, L->sh, L->sw, L->ph, L->pw, L->dh, L->dw,
                 L->groups, L->act, L->wdtype, L->zx, L->qmin, L->qmax);
}

/* The file of a built model (NULL on failure); frees the writer. */
uint8_t *pt_finish(pithrt_writer *b, int in, int out, size_t *len)
{
    pithrt_writer_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.input = in;
    meta.output = out;
    meta.golden_in = meta.golden_out = -1;
    uint8_t *buf = NULL;
    if (pithrt_writer_finish(b, &meta, &buf, len))
        buf = NULL;
    pithrt_writer_free(b);
    return buf;
}

/* A .pith file holding one layer (after a quantize op when int8). */
uint8_t *pt_build(const layer *L, size_t *len)
{
    pithrt_writer b;
    pithrt_writer_init(&b);
    int oh = 1, ow = 1;
    if (!L->fc) {
        oh = (L->h + 2 * L->ph - L->dh * (L->kh - 1) - 1) / L->sh + 1;
        ow = (L->w + 2 * L->pw - L->dw * (L->kw - 1) - 1) / L->sw + 1;
    }
    pithrt_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = PITHRT_F32;
    t.ndim = 3;
    t.dims[0] = L->c;
    t.dims[1] = L->h;
    t.dims[2] = L->w;
    int in = pithrt_writer_tensor(&b, &t, "in"), x = in;
    if (L->s8) {
        t.dtype = PITHRT_S8;
        t.scale = 4.0f / (float)(L->qmax - L->qmin);
        t.zero_point = L->zx;
        t.qmin = L->qmin;
        t.qmax = L->qmax;
        x = pithrt_writer_tensor(&b, &t, "xq");
        pithrt_op q = pithrt_writer_op0(PITHRT_OP_QUANTIZE, "quantize", in, x);
        pithrt_writer_op(&b, &q);
    }
    if (L->other) {
        pithrt_op op = pithrt_writer_op0(L->other == 1 ? PITHRT_OP_MAXPOOL : PITHRT_OP_ADD, "other", x, -1);
        if (L->other == 2) { /* the input on a second grid, added to the first */
            t.scale *= 1.7f;
            t.zero_point = L->zy;
            op.in[1] = pithrt_writer_tensor(&b, &t, "xq2");
            op.n_in = 2;
            pithrt_op q2 = pithrt_writer_op0(PITHRT_OP_QUANTIZE, "quantize2", in, op.in[1]);
            pithrt_writer_op(&b, &q2);
            t.scale *= 1.3f;
            t.zero_point = (L->zx + L->zy) / 2;
            op.act = (uint8_t)L->act;
        } else {
            t.dims[1] = oh;
            t.dims[2] = ow;
            op.kh = L->kh, op.kw = L->kw, op.sh = L->sh, op.sw = L->sw, op.ph = L->ph, op.pw = L->pw;
            op.dh = op.dw = op.groups = 1;
        }
        op.out = pithrt_writer_tensor(&b, &t, "y");
        pithrt_writer_op(&b, &op);
        return pt_finish(&b, in, op.out, len);
    }
    const int cg = L->fc ? L->c : L->c / L->groups, per = L->fc ? L->c * L->h * L->w : cg * L->kh * L->kw;
    const size_t nw = (size_t)L->o * per;
    int32_t wd[4] = {L->o, L->fc ? per : cg, L->kh, L->kw};
    int wt, aux = -1;
    if (L->wdtype == PITHRT_F32) {
        float *w = malloc(nw * sizeof *w);
        for (size_t i = 0; i < nw; i++)
            w[i] = pt_rfloat(-0.5f, 0.5f);
        wt = pithrt_writer_const(&b, "w", PITHRT_F32, wd, L->fc ? 2 : 4, w);
        free(w);
    } else {
        int8_t *codes = malloc(nw);
        int lo = L->wdtype == PITHRT_S8 ? -128 : L->wdtype == PITHRT_W4 ? -8 : 0;
        int hi = L->wdtype == PITHRT_S8 ? 127 : L->wdtype == PITHRT_W4 ? 7 : 15;
        for (size_t i = 0; i < nw; i++)
            codes[i] = (int8_t)pt_rint_in(lo, hi);
        wt = pithrt_writer_codes(&b, "w", L->wdtype, wd, L->fc ? 2 : 4, codes, nw);
        free(codes);
        if (!L->s8) {
            float cb[16];
            for (int i = 0; i < 16; i++)
                cb[i] = pt_rfloat(-0.5f, 0.5f);
            int32_t cd[1] = {16};
            aux = pithrt_writer_const(&b, "codebook", PITHRT_F32, cd, 1, cb);
        }
    }
    int32_t bd[1] = {L->o};
    int bias, rq = -1;
    if (L->s8) {
        int32_t *bv = malloc((size_t)L->o * sizeof *bv), *r = malloc((size_t)L->o * 3 * sizeof *r);
        /* a layer in four has channels with left shifts (which keep it off the folded paths) */
        const int lefts = pt_rnd() % 4 == 0;
        for (int i = 0; i < L->o; i++) {
            bv[i] = pt_rint_in(-20000, 20000);
            r[3 * i] = (int32_t)(0x40000000u + (pt_rnd() & 0x3FFFFFFFu));
            r[3 * i + 1] = lefts && pt_rnd() % 2 ? pt_rint_in(0, 2) : pt_rint_in(-14, -4);
            r[3 * i + 2] = pt_rint_in(0, 40000);
        }
        bias = pithrt_writer_const(&b, "b", PITHRT_S32, bd, 1, bv);
        int32_t rd[2] = {L->o, 3};
        rq = pithrt_writer_const(&b, "rq", PITHRT_S32, rd, 2, r);
        free(bv);
        free(r);
    } else {
        float *bv = malloc((size_t)L->o * sizeof *bv);
        for (int i = 0; i < L->o; i++)
            bv[i] = pt_rfloat(-1.0f, 1.0f);
        bias = pithrt_writer_const(&b, "b", PITHRT_F32, bd, 1, bv);
        free(bv);
    }
    memset(&t, 0, sizeof t);
    t.dtype = L->s8 ? PITHRT_S8 : PITHRT_F32;
    t.ndim = L->fc ? 1 : 3;
    t.dims[0] = L->o;
    t.dims[1] = oh;
    t.dims[2] = ow;
    if (L->s8) {
        t.scale = 0.05f;
        t.zero_point = L->zy;
        t.qmin = L->qmin;
        t.qmax = L->qmax;
    }
    int y = pithrt_writer_tensor(&b, &t, "y");
    pithrt_op op = pithrt_writer_op0(L->fc ? PITHRT_OP_FC : PITHRT_OP_CONV2D, "layer", x, y);
    op.weight = wt;
    op.bias = bias;
    op.requant = rq;
    op.aux = aux;
    op.act = (uint8_t)L->act;
    if (!L->fc) {
        op.kh = L->kh, op.kw = L->kw, op.sh = L->sh, op.sw = L->sw, op.ph = L->ph, op.pw = L->pw;
        op.dh = L->dh, op.dw = L->dw, op.groups = L->groups;
    }
    pithrt_writer_op(&b, &op);
    return pt_finish(&b, in, y, len);
}

void pt_random_layer(layer *L, int i)
{
    memset(L, 0, sizeof *L);
    L->s8 = i % 2;
    L->act = pt_rint_in(0, L->s8 ? 2 : 3);
    L->wdtype = L->s8 ? (pt_rnd() % 4 ? PITHRT_S8 : PITHRT_W4) : (pt_rnd() % 4 ? PITHRT_F32 : PITHRT_U4);
    L->qmin = -128;
    L->qmax = 127;
    if (pt_rnd() % 5 == 0) { /* a 4-bit code range */
        L->qmin = -8;
        L->qmax = 7;
    }
    L->zx = pt_rint_in(L->qmin, L->qmax);
    L->zy = pt_rint_in(L->qmin, L->qmax);
    int kind = i / 2 % 7;
    if (kind == 5 || kind == 6) { /* max pool; int8 add */
        L->other = kind == 5 ? 1 : 2;
        L->s8 = kind == 6 ? 1 : L->s8;
        L->c = pt_rint_in(1, 20);
        L->h = pt_rint_in(1, 30);
        L->w = pt_rint_in(1, 40);
        L->kh = pt_rint_in(1, 3);
        L->kw = pt_rint_in(1, 3);
        L->sh = pt_rint_in(1, 3);
        L->sw = pt_rint_in(1, 3);
        L->ph = pt_rint_in(0, L->kh / 2);
        L->pw = pt_rint_in(0, L->kw / 2);
        if (kind == 5 && pt_rnd() % 3 == 0) { /* ResNet's stem pooling, rows over vectors */
            L->kh = L->kw = 3;
            L->sh = L->sw = 2;
            L->ph = L->pw = pt_rint_in(0, 1);
            L->w = pt_rint_in(30, 300);
        }
        L->dh = L->dw = 1;
        while (L->h + 2 * L->ph < L->kh)
            L->h++;
        while (L->w + 2 * L->pw < L->kw)
            L->w++;
        return;
    }
    if (kind == 4) { /* fully connected */
        L->fc = 1;
        L->c = pt_rint_in(1, 40);
        L->h = pt_rint_in(1, 5);
        L->w = pt_rint_in(1, 5);
        L->o = pt_rint_in(1, 150);
        return;
    }
    L->h = pt_rint_in(1, 19);
    L->w = pt_rint_in(1, 40);
    if (kind == 3) { /* depthwise, as in MobileNet */
        L->c = L->o = L->groups = pt_rint_in(1, 24);
        L->kh = L->kw = pt_rnd() % 2 ? 3 : 5;
        L->sh = L->sw = pt_rint_in(1, 2);
        L->ph = pt_rint_in(0, L->kh / 2 + 1);
        L->pw = pt_rnd() % 2 ? L->ph : pt_rint_in(0, L->kh / 2 + 1);
        if (pt_rnd() % 4 == 0) /* rows over a vector of bytes */
            L->w = pt_rint_in(60, 150);
        L->dh = L->dw = 1;
    } else if (kind == 2) { /* 1x1 */
        L->c = pt_rint_in(1, 70);
        L->o = pt_rint_in(1, 70);
        L->kh = L->kw = L->sh = L->sw = L->dh = L->dw = L->groups = 1;
        if (pt_rnd() % 3 == 0)
            L->sh = L->sw = 2;
    } else { /* anything */
        L->groups = pt_rnd() % 4 == 0 ? pt_rint_in(2, 4) : 1;
        L->c = L->groups * pt_rint_in(1, 12);
        L->o = L->groups * pt_rint_in(1, 24);
        L->kh = pt_rint_in(1, 5);
        L->kw = pt_rint_in(1, 5);
        L->sh = pt_rint_in(1, 3);
        L->sw = pt_rint_in(1, 3);
        L->ph = pt_rint_in(0, 2);
        L->pw = pt_rint_in(0, 2);
        L->dh = pt_rnd() % 5 ? 1 : 2;
        L->dw = pt_rnd() % 5 ? 1 : 2;
    }
    /* the output must have at least one pixel */
    while (L->h + 2 * L->ph < L->dh * (L->kh - 1) + 1)
        L->h++;
    while (L->w + 2 * L->pw < L->dw * (L->kw - 1) + 1)
        L->w++;
}

void pt_seed(uint64_t seed) { rng_state = seed ? seed : 0x9E3779B97F4A7C15ull; }
