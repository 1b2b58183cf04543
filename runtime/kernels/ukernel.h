/* The fast path: what each instruction set provides. A convolution runs as
 * C[O][N] = A[O][K] * B[K][N] per group (A: weights, packed once at load; B:
 * the input unfolded by im2col, packed per column tile; N = output pixels,
 * CHW), by a register-blocked microkernel that computes one MR x NR tile of C.
 * Operands are packed as panels [K / ku][MR or NR][ku] of esize-byte
 * elements, so that the microkernel reads both sequentially.
 *
 * int8: the microkernel sums raw codes, acc = sum a * b'; b' is the code (SDOT,
 * SMLAL, VPMADDWD) or the code + 128 (VPDPBUSD multiplies unsigned by signed).
 * The zero points are folded into one per-channel constant computed at load:
 * bias - (zx + offset) * sum(w); im2col pads with the zero point, so a padded
 * tap contributes (zx - zx) * w = 0 as in the reference. */
#ifndef PITHRT_UKERNEL_H
#define PITHRT_UKERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "isa.h"
#include "kernels.h"

/* Marks a microkernel's inner loop for llvm-mca (bench/mca.sh builds with
 * -DPITHRT_MCA; otherwise nothing). */
#ifdef PITHRT_MCA
#define PITHRT_MCA_BEGIN(name) __asm__ volatile("# LLVM-MCA-BEGIN " name)
#define PITHRT_MCA_END() __asm__ volatile("# LLVM-MCA-END")
#else
#define PITHRT_MCA_BEGIN(name)
#define PITHRT_MCA_END()
#endif

/* One output channel's requantization, ready for the vector epilogues. */
typedef struct pithrt_rq_ch {
    int32_t bias;         /* bias - (zx + b_offset) * sum(w) */
    int32_t lo, hi;       /* relu / relu6 clamp of the accumulator (INT32_MIN/MAX without) */
    int32_t mult, left, right; /* pithrt_requantize's multiplier and shift, split in two */
    int32_t fold;         /* 1: no accumulator the kernels produce wraps when the bias is added (bounded
                           * by sum |w| times the largest input code), so the bias may be added after
                           * widening to 64 bits */
} pithrt_rq_ch;

/* Sixteen channels' requantization as vectors, lane c for channel c (even
 * and odd channels apart in the 64-bit fields): the rounding constant
 * 2^30 + 2^(30+e), the threshold under which a product takes 2^31 off
 * (2^(30+e), or INT64_MIN when e = 0) and the shift 31 + e, for channels
 * with no left shift and e <= 31 (requant_s8_avx512.c derives it); or, when
 * every channel allows it, the folded constants of pithrt_rq_fold. */
typedef struct pithrt_rq16 {
    int32_t bias[16], lo[16], hi[16], mult[16];
    int64_t c[2][8], thr[2][8], shift[2][8];
    int32_t fold; /* 1: lo, hi, c, thr are pithrt_rq_fold's (bias and zero point inside), for every lane */
    int32_t neg;  /* some lane's product can fall under -2^30 */
} pithrt_rq16;

/* A channel's requantization with the bias and the zero point folded into
 * the 64-bit rounding constant (requant_s8_avx512.c), for kernels that
 * requantize as the sums leave the registers: clamp the raw sum to
 * [lo, hi], then (x m + c - [x m + c < thr] 2^31) >> shift is the code. */
typedef struct pithrt_rq_fold {
    int32_t lo, hi, mult, shift;
    int64_t c, thr;
} pithrt_rq_fold;

typedef struct pithrt_rq_out {
    int32_t zero_point, qmin, qmax;
} pithrt_rq_out;

/* f32: C[mr][nr] = A_panel[k][mr] . B_panel[k][nr] (C's rows ldc apart), plus
 * C's own values when acc (a sum continued over the next block of k) */
typedef void (*pithrt_ukr_f32)(int k, const float *a, const float *b, float *c, size_t ldc, int acc);
/* f32 with the epilogue: y[r * ldy + j] = act(C[r][j] + bias[r]) for all mr
 * rows and j < n <= nr (bias may be NULL; act none, relu or relu6); B's k
 * rows of nr floats are ldb apart (nr: a packed panel) */
typedef void (*pithrt_ukr_f32_out)(int k, const float *a, const float *b, size_t ldb, float *y, size_t ldy,
                                   const float *bias, int act, int n);
/* s8: C[mr][nr] (int32) = sum over k / ku groups of A_panel . B_panel (+ C when acc) */
typedef void (*pithrt_ukr_s8)(int kgroups, const void *a, const void *b, int32_t *c, size_t ldc, int acc);
/* f32, pixels on the A side read in place: C[rows][nr] (ldc nr; rows = mr,
 * or 7) = sum over i < k of (pixel r's value at px[r] + off[i]) x (nr
 * channels' weights, w = [k][nr]) (+ C when acc) */
typedef void (*pithrt_ukr_f32_swap)(int k, int rows, const float *const *px, const int32_t *off, const float *w,
                                    float *c, int acc);
/* s8 with the requantization in registers: the mr rows' codes (rq[r]; neg:
 * some row's product can fall under -2^30, act: clamp the sums) straight to
 * y + r * ldy, the first n <= nr columns */
typedef void (*pithrt_ukr_s8_out)(int kgroups, const void *a, const void *b, int8_t *y, size_t ldy,
                                  const pithrt_rq_fold *rq, int neg, int act, int n);
/* f32_swap with the epilogue: y[ch * ldy + r] = act(C[r][ch] + bias[ch]) for
 * r < n <= rows, ch < cv (bias may be NULL; act none, relu or relu6): the
 * transposed tile stored straight into the channels' planes */
typedef void (*pithrt_ukr_f32_swap_out)(int k, int rows, const float *const *px, const int32_t *off, const float *w,
                                        const float *bias, int act, float *y, size_t ldy, int cv, int n);
/* s8 with B read in place: k-group i's nr x ku bytes at b + boff[i] (the
 * wide grid's input laid out by pad_c4: B is never packed) */
typedef void (*pithrt_ukr_s8_ind)(int kgroups, const void *a, const uint8_t *b, const int32_t *boff, int32_t *c,
                                  size_t ldc, int acc);
/* s8, pixels on the A side: C[rows][nr] (ldc nr; rows = mr, or 7) = sum
 * over k-groups i of (pixel r's ku bytes at px[r] + boff[i]) . (nr
 * channels' ku weights, w = [k / ku][nr][ku]) (+ C when acc). Transposed
 * output: the caller writes channel rows. */
typedef void (*pithrt_ukr_s8_swap)(int kgroups, int rows, const uint8_t *const *px, const int32_t *boff,
                                   const void *w, int32_t *c, int acc);
/* swapped products (int32 or float) c = [npp][mr][nr] as channel rows:
 * rows[ch * ld + pp * step + r] for ch < cv (step: the pixels per panel,
 * mr or 7; ld > npp * step) */
typedef void (*pithrt_swap_rows)(const int32_t *c, int npp, int step, int cv, int32_t *rows, size_t ld);
/* Four channels' planes for pithrt_ukr_s8_ind (pack_b_s8_x86.c) */
typedef void (*pithrt_pad_c4)(const int8_t *x, int h, int w, int ph, int pw, int st, int hp, int wp, int zx,
                                 uint8_t *dst);
/* Interleaves k rows of n codes (row r at base + offs[r]) into one B panel of
 * nr columns ([k/ku][nr][ku], esize bytes each; columns past n and rows past
 * k are zero). */
typedef void (*pithrt_pack_b_s8)(const int8_t *base, const int32_t *offs, int k, int n, void *panel);
/* y[r * ldy + i] = requantize(clamp(acc[r * lda + i] + ch->bias, ch->lo, ch->hi))
 * for i < n, r < rows: one channel's rows at once (a conv's output rows cut
 * out of the wide grid), so that the constants are set up once */
typedef void (*pithrt_requant_s8)(const int32_t *acc, size_t lda, int n, int rows, const pithrt_rq_ch *ch,
                                  pithrt_rq_out out, int8_t *y, size_t ldy);
/* Depthwise conv of one channel, as a sum of shifted copies: output t in
 * [0, n) is sum over taps of w[tap] * x[off[tap] + t]. The caller lays the
 * channel out so that this holds: for stride 1, one plane padded with 0 or the
 * zero point, rows of pw values, off = u * pw + v, and output row i is
 * t in [i * pw, i * pw + ow) (the other pw - ow values of each row are
 * dropped: a "wide grid", one vector loop however narrow the rows); for
 * stride 2, the four phase planes (even / odd rows x even / odd columns) of
 * the padded plane, so that every tap is again a shifted copy. n is a whole
 * number of vectors; reads run past the planes by at most a row and a vector
 * (the caller leaves that slack). int8: acc = sum w * x over the raw codes
 * (the zero point is folded into the channel's bias); fp32:
 * y = act(bias + sum w * x). */
typedef void (*pithrt_dw_f32)(const float *x, const int32_t *off, const float *w, int taps, float bias, int act,
                              float *y, int n);
typedef void (*pithrt_dw_s8)(const int8_t *x, const int32_t *off, const int8_t *w, int taps, int32_t *acc, int n);
/* Depthwise conv of one channel x (h x w codes, zero point zx), padding
 * ph / pw, stride st (1 or 2), a window row of up to four taps per 4-byte
 * dot product: wq = [kh][quads][4] (quads = kw / 4 rounded up, zeros past
 * kw); plane: scratch for the padded input, (h + 2 ph) * (w + 2 pw) + 192
 * bytes; output (i, j) to acc[i * lda + j], lda returned (at most
 * max(w + 2 pw, ow rounded up to 16); acc holds oh * lda + 32). Only for
 * sets with a 4-byte unsigned x signed dot product: the bias then carries
 * -(zx + 128) * sum(w). */
typedef int (*pithrt_dw_s8_quads)(const int8_t *x, int h, int w, int zx, int ph, int pw, int st, const int8_t *wq,
                                  int kh, int kw, int oh, int ow, uint8_t *plane, int32_t *acc);
/* Depthwise conv of one channel x (h x w), padding ph / pw, stride st (1 or
 * 2), weights wt[kh][kw], straight into its output rows y (oh x ow): y =
 * act(bias + sum w x), the taps summed in (u, v) order (taps on padding
 * add 0, or are left out); plane: scratch for the padded input,
 * (h + 2 ph) * (w + 2 pw) + 64 floats. */
typedef void (*pithrt_dw_f32_rows)(const float *x, int h, int w, int ph, int pw, int st, const float *wt, int kh,
                                   int kw, float bias, int act, int oh, int ow, float *plane, float *y);
/* Depthwise conv of c <= 16 channels at once (planes h x w, x and y planes
 * back to back), for small planes: wq = [kh * kw][16] weights of the group's
 * channels (zeros past c), bias[c] or NULL; buf: scratch of
 * (h + 2 ph) * (w + 2 pw) * 16 floats. The same sums as pithrt_dw_f32_rows. */
typedef void (*pithrt_dw_f32_c16)(const float *x, int c, int h, int w, int ph, int pw, int st, const float *wq,
                                  const float *bias, int kh, int kw, int act, int oh, int ow, float *buf, float *y);
/* Depthwise conv of c <= 16 int8 channels at once (dwconv_s8_avx512_vnni_c16.c):
 * wq = [kh][quads][16][4] (zeros past kw and c), rq: the group's
 * requantization; buf: scratch of (h + 2 ph) * (w + 2 pw) * 80 + 64 bytes;
 * y: the c output planes, requantized. */
typedef void (*pithrt_dw_s8_c16)(const int8_t *x, int c, int h, int w, int zx, int ph, int pw, int st,
                                 const int8_t *wq, const pithrt_rq16 *rq, pithrt_rq_out out, int kh, int kw, int oh,
                                 int ow, uint8_t *buf, int8_t *y);
/* pithrt_quantize_f32_s8_ref and pithrt_add_s8_ref, operation for operation
 * (so bit-exact: the same float divisions and round-half-even); acts other
 * than none / relu / relu6 go to the reference. */
typedef void (*pithrt_quantize_s8)(const float *x, int8_t *y, size_t n, pithrt_qact yq, int act);
typedef void (*pithrt_add_s8)(const int8_t *a, pithrt_qact aq, const int8_t *b, pithrt_qact bq, int8_t *y,
                              pithrt_qact yq, size_t n, int act);
/* fp32 epilogue of a tile row: y = act(c + b) for n values */
typedef void (*pithrt_bias_act_f32)(const float *c, int n, float b, int act, float *y);
/* the fp32 residual add, y = act(a + b) (f32_body.h) */
typedef void (*pithrt_add_f32)(const float *a, const float *b, float *y, size_t n, int act);
/* pithrt_pack_b_s8's float counterpart: k rows of n floats into one panel
 * [k][nr], the columns past n zero */
typedef void (*pithrt_pack_b_f32)(const float *base, const int32_t *offs, int k, int n, float *panel);
/* max pooling of c planes (pool_max_body.h) */
typedef void (*pithrt_maxpool_s8)(const int8_t *x, int c, int h, int w, int8_t *y, int oh, int ow,
                                  const pithrt_geom *g);
typedef void (*pithrt_maxpool_f32)(const float *x, int c, int h, int w, float *y, int oh, int ow,
                                   const pithrt_geom *g);
typedef float (*pithrt_dot_f32)(const float *a, const float *b, int n);
typedef int32_t (*pithrt_dot_s8)(const int8_t *a, const int8_t *b, int n);

typedef struct pithrt_kernels {
    pithrt_isa isa;
    int f32_mr, f32_nr;
    pithrt_ukr_f32 f32_ukr;
    pithrt_ukr_f32_out f32_ukr_out; /* NULL: f32_ukr, then f32_bias_act */
    pithrt_ukr_f32 f32_ukr7;        /* the first 7 of mr rows (swapped panels of 7 pixels); may be NULL */
    pithrt_ukr_f32_swap f32_ukr_swap; /* NULL: convolutions other than 1x1 pack B per tile */
    pithrt_ukr_f32_swap_out f32_ukr_swap_out;
    pithrt_pack_b_f32 f32_pack_b;
    pithrt_bias_act_f32 f32_bias_act;
    int s8_mr, s8_nr, s8_ku, s8_esize, s8_b_offset; /* b_offset: 128 when B is stored as code + 128 */
    pithrt_ukr_s8 s8_ukr;
    pithrt_pack_b_s8 s8_pack_b;
    pithrt_ukr_s8_ind s8_ukr_ind; /* NULL: wide-grid convs pack B per tile */
    pithrt_ukr_s8_out s8_ukr_out; /* NULL: s8_ukr, then requant */
    pithrt_pad_c4 s8_pad_c4;
    pithrt_ukr_s8_swap s8_ukr_swap; /* NULL: no pixels-on-A variant */
    pithrt_swap_rows swap_rows;     /* NULL: no swapped GEMMs (int8 or fp32) */
    pithrt_requant_s8 requant;
    pithrt_dw_f32 dw_f32;
    pithrt_dw_s8 dw_s8;
    pithrt_dw_s8_quads dw_s8_quads; /* NULL: dw_s8 on the shifted-copy layout */
    pithrt_dw_f32_rows dw_f32_rows; /* NULL: dw_f32 on the shifted-copy layout */
    pithrt_dw_f32_c16 dw_f32_c16;   /* NULL: small planes one channel at a time too */
    pithrt_dw_s8_c16 dw_s8_c16;     /* NULL: likewise for int8 */
    pithrt_dot_f32 dot_f32;
    pithrt_dot_s8 dot_s8;
    pithrt_quantize_s8 quantize_s8;
    pithrt_add_s8 add_s8;
    pithrt_add_f32 add_f32;
    pithrt_maxpool_s8 maxpool_s8;
    pithrt_maxpool_f32 maxpool_f32;
} pithrt_kernels;

/* NULL for PITHRT_ISA_REF and for sets this build lacks. */
const pithrt_kernels *pithrt_kernels_for(pithrt_isa isa);

/* Portable pieces every set may use. */
void pithrt_pack_b_s8_c(const int8_t *base, const int32_t *offs, int k, int n, void *panel, int nr, int ku, int esize,
                        int b_offset);
/* The folded constants of a channel for outputs of zero point zp; 0 (q
 * untouched) unless it allows them: accumulators that cannot wrap (ch->fold),
 * no left shift, a right shift of 1 to 23, a non-negative multiplier. */
int pithrt_rq_fold_of(const pithrt_rq_ch *ch, int32_t zp, pithrt_rq_fold *q);
void pithrt_requant_s8_c(const int32_t *acc, size_t lda, int n, int rows, const pithrt_rq_ch *ch, pithrt_rq_out out,
                         int8_t *y, size_t ldy);
void pithrt_dw_s8_c(const int8_t *x, const int32_t *off, const int8_t *w, int taps, int32_t *acc, int n);
void pithrt_dw_f32_c(const float *x, const int32_t *off, const float *w, int taps, float bias, int act, float *y,
                     int n);

/* Max pooling, the reference's result (pool_max_c.c), for windows at most
 * PITHRT_MAXPOOL_SPAN columns wide. */
#define PITHRT_MAXPOOL_SPAN 1024
void pithrt_maxpool_s8_c(const int8_t *x, int c, int h, int w, int8_t *y, int oh, int ow, const pithrt_geom *g);
void pithrt_maxpool_f32_c(const float *x, int c, int h, int w, float *y, int oh, int ow, const pithrt_geom *g);

/* The kernel tables, one per file set (NULL-free only where the build has them). */
extern const pithrt_kernels pithrt_kernels_avx2, pithrt_kernels_avx512, pithrt_kernels_neon,
    pithrt_kernels_neon_dot;

#endif
