/* The reference kernels: plain C, one file per op and data type. They are
 * the specification of every op; a fast kernel must give the same bytes (int8)
 * or the same floats within 1e-5 relative (fp32). Activations are batch 1,
 * CHW. Kernels never allocate; the caller passes scratch when one is needed. */
#ifndef PITHRT_KERNELS_H
#define PITHRT_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "../pithrt.h"

/* The output columns j in [*lo, *hi] (empty when *hi < *lo) whose input
 * column j * s - p + off lies in [0, w). */
void pithrt_col_range(int ow, int w, int s, int p, int off, int *lo, int *hi);

typedef struct pithrt_geom {
    int kh, kw, sh, sw, ph, pw, dh, dw, groups;
} pithrt_geom;

/* output extent along one axis */
static inline int pithrt_out_dim(int in, int k, int s, int p, int d)
{
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* An s8 activation: codes, zero point and range. */
typedef struct pithrt_qact {
    int32_t zero_point, qmin, qmax;
    float scale;
} pithrt_qact;

/* Integer requantization of a layer's accumulators, per output channel. */
typedef struct pithrt_requant {
    const int32_t *p;        /* per channel: multiplier, shift, and the accumulator that means 6.0 (relu6) */
    int act;                 /* pithrt_act: relu and relu6 clamp the accumulator at 0 */
} pithrt_requant;

/* The activation folded into an accumulator of channel ch (relu, relu6), as
 * the workbench applies it to the real value before recovering the
 * accumulator (conv2d_s8_ref.c). */
int32_t pithrt_acc_act(int32_t acc, const pithrt_requant *rq, int ch);
/* Weight codes of one output channel (n values) into int8, from any packed type. */
void pithrt_weights_unpack_s8(const uint8_t *w, int dtype, size_t first, size_t n, int8_t *out);
/* Codebook indices (U8 / U4 / U2) of n weights into their float values. */
void pithrt_weights_decode_f32(const uint8_t *idx, int dtype, const float *codebook, size_t first, size_t n,
                               float *out);

void pithrt_conv2d_f32_ref(const float *x, int c, int h, int w, const float *wt, const float *bias, float *y, int o,
                           int oh, int ow, const pithrt_geom *g, int act);
/* wt: codes of type wdtype (PITHRT_S8/W4/W2/W1); scratch: pithrt_conv2d_s8_scratch() bytes, 4-aligned. */
size_t pithrt_conv2d_s8_scratch(int c, int groups, int kh, int kw, int oh, int ow);
void pithrt_conv2d_s8_ref(const int8_t *x, int c, int h, int w, pithrt_qact xq, const uint8_t *wt, int wdtype,
                          const int32_t *bias, int8_t *y, int o, int oh, int ow, pithrt_qact yq,
                          const pithrt_requant *rq, const pithrt_geom *g, int8_t *scratch);

void pithrt_fc_f32_ref(const float *x, int n, const float *wt, const float *bias, float *y, int o, int act);
void pithrt_fc_s8_ref(const int8_t *x, int n, pithrt_qact xq, const uint8_t *wt, int wdtype, const int32_t *bias,
                      int8_t *y, int o, pithrt_qact yq, const pithrt_requant *rq, int8_t *row);

/* Pools: max pads with -infinity (the workbench's convention), average counts
 * the padded zeros (count_include_pad, PyTorch's default). */
void pithrt_maxpool_f32_ref(const float *x, int c, int h, int w, float *y, int oh, int ow, const pithrt_geom *g);
void pithrt_maxpool_s8_ref(const int8_t *x, int c, int h, int w, int8_t *y, int oh, int ow, const pithrt_geom *g);
void pithrt_avgpool_f32_ref(const float *x, int c, int h, int w, float *y, int oh, int ow, const pithrt_geom *g);
void pithrt_avgpool_s8_ref(const int8_t *x, int c, int h, int w, pithrt_qact xq, int8_t *y, int oh, int ow,
                           pithrt_qact yq, const pithrt_geom *g, int act);
void pithrt_gavgpool_f32_ref(const float *x, int c, int hw, float *y);
/* average pooling with ONNX's geometry: end padding eh x ew, each window's
 * divisor its part inside the padded input, or inside the input when
 * exclude_pad (pool_dims.h) */
void pithrt_avgpool_ext_f32_ref(const float *x, int c, int h, int w, float *y, int oh, int ow, const pithrt_geom *g,
                                int eh, int ew, int exclude_pad);
/* the same with ONNX's geometry (end padding eh x ew, exclude_pad): pool_dims.h */
void pithrt_avgpool_ext_s8_ref(const int8_t *x, int c, int h, int w, pithrt_qact xq, int8_t *y, int oh, int ow,
                               pithrt_qact yq, const pithrt_geom *g, int eh, int ew, int exclude_pad, int act);
void pithrt_gavgpool_s8_ref(const int8_t *x, int c, int hw, pithrt_qact xq, int8_t *y, pithrt_qact yq, int act);

void pithrt_add_f32_ref(const float *a, const float *b, float *y, size_t n, int act);
void pithrt_add_s8_ref(const int8_t *a, pithrt_qact aq, const int8_t *b, pithrt_qact bq, int8_t *y, pithrt_qact yq,
                       size_t n, int act);

/* Channel concatenation; s8 inputs on another grid than the output are requantized. */
void pithrt_concat_f32_ref(const float *x, size_t n, float *y);
void pithrt_concat_s8_ref(const int8_t *x, pithrt_qact xq, size_t n, int8_t *y, pithrt_qact yq);

void pithrt_act_f32_ref(const float *x, float *y, size_t n, int act);
void pithrt_lut_s8_ref(const int8_t *x, const uint8_t *table, int8_t *y, size_t n);
void pithrt_softmax_f32_ref(const float *x, float *y, int n);
/* softmax along axis 0..2 of a C x H x W tensor (d: its dims) */
void pithrt_softmax_axis_f32_ref(const float *x, float *y, const int32_t *d, int axis);
/* channel c = i * (channels / groups) + j moves to j * groups + i */
void pithrt_channel_shuffle_ref(const void *x, void *y, int channels, size_t plane, int groups, size_t elem);
/* channels [start, start + count) of x */
void pithrt_slice_ref(const void *x, void *y, int start, int count, size_t plane, size_t elem);
/* resize of c planes h x w to oh x ow; flags = mode | coord << 1 | nearest rule << 3
 * (resize_coord.h), scales = the H and W scales of the coordinate transform */
void pithrt_resize_f32_ref(const float *x, int c, int h, int w, float *y, int oh, int ow, int flags,
                           const float *scales);
/* int8: nearest moves codes (yq = xq), bilinear requantizes to yq */
void pithrt_resize_s8_ref(const int8_t *x, pithrt_qact xq, int c, int h, int w, int8_t *y, pithrt_qact yq, int oh,
                          int ow, int flags, const float *scales);
/* The same two computed separably (resize_c.c); equal to the reference kernels bit for bit. */
void pithrt_resize_f32_c(const float *x, int c, int h, int w, float *y, int oh, int ow, int flags,
                         const float *scales);
void pithrt_resize_s8_c(const int8_t *x, pithrt_qact xq, int c, int h, int w, int8_t *y, pithrt_qact yq, int oh,
                        int ow, int flags, const float *scales);
/* transposed convolution (conv_transpose_f32_ref.c); weights [c][oc / groups][kh][kw] */
void pithrt_conv_transpose_f32_ref(const float *x, int c, int h, int w, const float *wt, const float *bias, float *y,
                                   int oc, int oh, int ow, const pithrt_geom *g);
/* int8: int8 weight codes, int32 bias, conv2d's requantization (conv_transpose_s8_ref.c) */
void pithrt_conv_transpose_s8_ref(const int8_t *x, int c, int h, int w, pithrt_qact xq, const int8_t *wt,
                                  const int32_t *bias, int8_t *y, int oc, int oh, int ow, pithrt_qact yq,
                                  const pithrt_requant *rq, const pithrt_geom *g);
/* c planes h x w of elem-byte values padded to oh x ow, top rows and left
 * columns first (pad_index.h modes; value: the constant mode's element) */
void pithrt_pad_ref(const void *x, size_t elem, int c, int h, int w, void *y, int oh, int ow, int top, int left,
                    int mode, const void *value);
/* The activations with parameters (hardsigmoid alpha, beta; clip lo, hi;
 * leaky relu alpha; prelu one slope per channel, or p[0] for all when
 * n_p == 1), over `channels` planes of `plane` values. */
void pithrt_act_param_f32_ref(const float *x, float *y, int channels, size_t plane, int act, const float *p, int n_p);
/* y = a (kind) b, numpy broadcasting: each operand's dims (3, padded with
 * leading 1s) equal y's or are 1 */
void pithrt_binary_f32_ref(int kind, const float *a, const int32_t *ad, const float *b, const int32_t *bd, float *y,
                           const int32_t *yd);
/* s[k]: operand d's stride along y's dimension k, 0 where it broadcasts */
void pithrt_broadcast_strides(const int32_t *d, const int32_t *yd, int32_t *s);
/* An operand of the int8 binary op: s8 codes of an activation, or an f32
 * constant */
typedef struct pithrt_operand {
    const void *data;
    int s8;
    pithrt_qact q;
    int32_t dims[3];
} pithrt_operand;
/* y = a (kind) b with broadcasting, each value dequantized, the result
 * quantized to yq after act (relu, relu6 or none) */
void pithrt_binary_s8_ref(int kind, const pithrt_operand *a, const pithrt_operand *b, int8_t *y, pithrt_qact yq,
                          const int32_t *yd, int act);
/* The same for output channels [c0, c1), a 256-entry table per channel where
 * one operand is constant over the plane (binary_s8_c.c); equal to the above. */
void pithrt_binary_s8_c(int kind, const pithrt_operand *a, const pithrt_operand *b, int8_t *y, pithrt_qact yq,
                        const int32_t *yd, int act, int32_t c0, int32_t c1);
void pithrt_quantize_f32_s8_ref(const float *x, int8_t *y, size_t n, pithrt_qact yq, int act);
void pithrt_dequantize_s8_f32_ref(const int8_t *x, pithrt_qact xq, float *y, size_t n);

/* inline, so that a loop applying one activation vectorizes */
static inline float pithrt_apply_act(float v, int act)
{
    switch (act) {
    case PITHRT_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case PITHRT_ACT_RELU6: return v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f;
    case PITHRT_ACT_HARDSWISH: return v <= -3.0f ? 0.0f : v >= 3.0f ? v : v * (v + 3.0f) / 6.0f;
    case PITHRT_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case PITHRT_ACT_SILU: return v / (1.0f + expf(-v));
    default: return v;
    }
}
/* The workbench's quantizer step: clamp(round_half_even(act(v) / scale) +
 * zero_point); inline, so that the loops of the fast kernels vectorize it. */
static inline int32_t pithrt_quantize_value(float v, pithrt_qact q, int act)
{
    float r = nearbyintf(pithrt_apply_act(v, act) / q.scale) + (float)q.zero_point;
    r = r < (float)q.qmin ? (float)q.qmin : r > (float)q.qmax ? (float)q.qmax : r;
    return (int32_t)r;
}

#endif
