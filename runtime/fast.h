/* The fast path of conv2d and fc (not part of the API): weights packed at
 * load for the chosen instruction set, and the drivers that tile, unfold
 * (im2col) and split the work over threads. */
#ifndef PITHRT_FAST_H
#define PITHRT_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/ukernel.h"
#include "pithrt.h"
#include "pool.h"

enum { PITHRT_FAST_NONE = 0, PITHRT_FAST_GEMM, PITHRT_FAST_DW, PITHRT_FAST_FC };

/* Where a convolution's B rows come from:
 * DIRECT  1x1, stride 1, no padding: the input planes themselves;
 * WIDE    stride 1 otherwise: the input copied once into padded planes, and
 *         the output computed on the wide grid (rows of pw columns, the last
 *         pw - ow dropped), so row (c, u, v) of B is that plane shifted by
 *         u * pw + v: no im2col at all;
 * IM2COL  strided: rows unfolded per column tile;
 * PAD     fp32 with f32_ukr_swap, any stride: the input padded once (a plane
 *         per channel), output pixels on the microkernel's A side reading
 *         it in place (offs[k] from each pixel's first tap): nothing packed. */
enum { PITHRT_B_DIRECT = 0, PITHRT_B_WIDE, PITHRT_B_IM2COL, PITHRT_B_PAD };

typedef struct pithrt_fast_op {
    int kind;
    int s8;
    int k, kp;           /* gemm: rows of B per group (cg*kh*kw) and that rounded up to ku */
    int nc;              /* gemm: B columns per tile (a multiple of nr) */
    int mode;            /* gemm: PITHRT_B_* */
    int c4;              /* gemm, wide grid, int8 with s8_ukr_ind: the padded input holds the codes
                          * of four channels side by side (pad_c4), B is read in place at offs[k
                          * group], and k runs over (channel / 4, u, v, channel % 4) */
    int kc;              /* gemm: k per block (kp when not blocked): a panel's block stays in L1 */
    int32_t *offs;       /* gemm: where B's row r starts, from the tile's first column */
    int swap;            /* gemm, c4: pixels on the microkernel's A side (s8_ukr_swap), output channels
                          * on its B side (weights packed nr channels wide): no wide-grid columns, for
                          * layers whose plane is small (fp32 1x1 likewise, on packed pixels) */
    int c16;             /* dw: sixteen channels at a time (dw_f32_c16 / dw_s8_c16; small planes), w
                          * packed [C / 16][kh kw][16] (int8: [C / 16][kh][quads][16][4], rq16 per group) */
    pithrt_rq16 *rq16;
    int smr;             /* swap: pixels per panel (mr, or 7 when that pads none and mr would) */
    int wino;            /* gemm: fp32 3x3 stride 1 as Winograd F(2x2, 3x3): 16 GEMMs (one per
                          * point of the 4x4 transformed tile) of [O][C] x [C][tiles] */
    int wrows;           /* Winograd: rows of 2x2 tiles per block (nc: the block's tiles, in whole panels) */
    int wswap;           /* Winograd: tiles on the microkernel's A side, channels on its B side */
    int mpanels;         /* gemm: panels of mr output channels per group */
    size_t a_group;      /* gemm: bytes of one group's packed weights */
    void *w;             /* gemm: packed A; dw / fc: weights as int8 or float, [O][K] */
    pithrt_rq_ch *rq;    /* s8: per output channel */
    pithrt_rq_fold *rqf; /* s8 1x1 with s8_ukr_out: the same folded, when every channel allows it */
    int rqf_neg, rqf_act; /* ... and whether some channel needs the correction, the clamp */
    size_t scratch;      /* per thread */
} pithrt_fast_op;

/* Packs every conv2d / fc for m->kernels; fills m->fast and raises
 * m->scratch_bytes (per thread) and m->shared_bytes (the wide grid's padded
 * input) to what the fast path needs. */
int pithrt_fast_prepare(pithrt_model *m);
void pithrt_fast_free(pithrt_model *m);
/* Runs op k through the fast path (conv2d, fc; max pooling, quantize and add
 * split over the threads); 0 if the op has none (run the reference). */
int pithrt_fast_run(const pithrt_model *m, int k, uint8_t *arena, uint8_t *shared, uint8_t *scratch,
                    size_t scratch_stride, pithrt_pool *pool);

#endif
