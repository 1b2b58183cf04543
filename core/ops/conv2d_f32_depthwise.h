/* Direct depthwise convolution (groups == input channels), float32.
 * Each output channel oc reads input channel oc / mult. Layouts are NCHW;
 * weights [C*mult, 1, kh, kw]. */
#ifndef PITH_CONV2D_F32_DEPTHWISE_H
#define PITH_CONV2D_F32_DEPTHWISE_H

typedef struct pith_dw_geom {
    int n, c, h, w;      /* input */
    int mult, oh, ow;    /* channel multiplier, output size */
    int kh, kw, sh, sw, ph, pw, dh, dw;
} pith_dw_geom;

void pith_conv2d_f32_depthwise_forward(const pith_dw_geom *g, const float *x, const float *w,
                                       const float *b, float *y);
/* dw += ..., db += ... (db may be NULL), dx += ... (dx may be NULL). */
void pith_conv2d_f32_depthwise_backward(const pith_dw_geom *g, const float *x, const float *w,
                                        const float *dy, float *dx, float *dw, float *db);

#endif
