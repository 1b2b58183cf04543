/* ONNX Resize's coordinate arithmetic, shared by the workbench's resize op
 * and the runtime's kernel so that both pick the same source pixels and
 * weights (C99, no dependencies). */
#ifndef PITHRT_RESIZE_COORD_H
#define PITHRT_RESIZE_COORD_H

#include <math.h>

enum { PITHRT_RESIZE_NEAREST = 0, PITHRT_RESIZE_LINEAR = 1 };
enum { PITHRT_COORD_HALF_PIXEL = 0, PITHRT_COORD_ALIGN_CORNERS = 1, PITHRT_COORD_ASYMMETRIC = 2,
       PITHRT_COORD_PYTORCH_HALF_PIXEL = 3 };
enum { PITHRT_NEAREST_ROUND_PREFER_FLOOR = 0, PITHRT_NEAREST_ROUND_PREFER_CEIL = 1, PITHRT_NEAREST_FLOOR = 2,
       PITHRT_NEAREST_CEIL = 3 };

/* The input coordinate of output index x along an axis of in -> out
 * samples whose scale (out / in unless the model gave one) is `scale`.
 * align_corners divides by ONNX's "length_resized", in x scale unrounded
 * (2.4 when 4 samples are scaled by 0.6 to 2). */
static inline float pithrt_resize_src(int coord, int x, int in, int out, float scale)
{
    switch (coord) {
    case PITHRT_COORD_ALIGN_CORNERS: {
        float len = (float)in * scale;
        return out == 1 || len <= 1.0f ? 0.0f : (float)x * (float)(in - 1) / (len - 1.0f);
    }
    case PITHRT_COORD_ASYMMETRIC: return (float)x / scale;
    case PITHRT_COORD_PYTORCH_HALF_PIXEL: return out > 1 ? ((float)x + 0.5f) / scale - 0.5f : 0.0f;
    default: return ((float)x + 0.5f) / scale - 0.5f;
    }
}

/* Linear: the two neighbours (clamped to the edge) and the weight of the second. */
static inline void pithrt_resize_linear(float s, int in, int *i0, int *i1, float *w1)
{
    if (s < 0.0f)
        s = 0.0f;
    if (s > (float)(in - 1))
        s = (float)(in - 1);
    int f = (int)floorf(s);
    *i0 = f;
    *i1 = f + 1 < in ? f + 1 : in - 1;
    *w1 = s - (float)f;
}

/* Nearest: the source index under the rounding rule, clamped. */
static inline int pithrt_resize_nearest(float s, int in, int rule)
{
    float r;
    switch (rule) {
    case PITHRT_NEAREST_ROUND_PREFER_CEIL: r = floorf(s + 0.5f); break;
    case PITHRT_NEAREST_FLOOR: r = floorf(s); break;
    case PITHRT_NEAREST_CEIL: r = ceilf(s); break;
    default: r = s == floorf(s) + 0.5f ? floorf(s) : floorf(s + 0.5f); break;
    }
    int i = (int)r;
    return i < 0 ? 0 : i >= in ? in - 1 : i;
}

/* The taps of output index x along one axis: up to two sources and their
 * weights (nearest: one source of weight 1). */
typedef struct pithrt_resize_tap {
    int i0, i1;
    float w0, w1;
} pithrt_resize_tap;

static inline pithrt_resize_tap pithrt_resize_tap_of(int mode, int coord, int rule, float scale, int x, int in,
                                                     int out)
{
    float s = pithrt_resize_src(coord, x, in, out, scale);
    pithrt_resize_tap t;
    if (mode == PITHRT_RESIZE_LINEAR) {
        pithrt_resize_linear(s, in, &t.i0, &t.i1, &t.w1);
        t.w0 = 1.0f - t.w1;
    } else {
        t.i0 = t.i1 = pithrt_resize_nearest(s, in, rule);
        t.w0 = 1.0f, t.w1 = 0.0f;
    }
    return t;
}

/* One output pixel from its four source values (v01: row ty.i0, column
 * tx.i1): the expression the workbench and the runtime's f32 and int8
 * kernels all evaluate. */
static inline float pithrt_resize_blend(pithrt_resize_tap ty, pithrt_resize_tap tx, float v00, float v01, float v10,
                                        float v11)
{
    return ty.w0 * (tx.w0 * v00 + tx.w1 * v01) + ty.w1 * (tx.w0 * v10 + tx.w1 * v11);
}

/* The same from rows r0 and r1 of f32 values. */
static inline float pithrt_resize_pixel(const float *r0, const float *r1, pithrt_resize_tap ty, pithrt_resize_tap tx)
{
    return pithrt_resize_blend(ty, tx, r0[tx.i0], r0[tx.i1], r1[tx.i0], r1[tx.i1]);
}

#endif
