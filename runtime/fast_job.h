/* Inside the fast path's run time (fast_run.c, fast_conv.c): one op's work
 * as its tasks see it, and the convolution tasks the dispatcher hands out. */
#ifndef PITHRT_FAST_JOB_H
#define PITHRT_FAST_JOB_H

#include "fast.h"
#include "internal.h"

static inline const void *pithrt_cst(const pithrt_model *m, int t)
{
    return t >= 0 ? m->blob + m->tensors[t].offset : NULL;
}

typedef struct pithrt_job {
    const pithrt_model *m;
    const pithrt_op *o;
    const pithrt_fast_op *f;
    const pithrt_kernels *K;
    const void *x;
    void *y;
    int c, h, w, oh, ow, n, cg, og, tiles, mchunks;
    int cols;            /* B's columns: n, or oh * pw on the wide grid */
    int groups;          /* independent GEMMs: the conv's groups, or Winograd's 16 */
    int act;             /* the epilogue's activation (none for Winograd's products) */
    const float *bias;   /* fp32 epilogue's bias (none for Winograd's products) */
    int th, tw;          /* Winograd: 2 x 2 output tiles down and across */
    int wp, hp;          /* wide grid: the (phase) planes' width and height */
    size_t chan;         /* wide grid: elements of one channel's planes */
    uint8_t *shared;     /* the padded input (wide grid) */
    uint8_t *scratch;
    size_t stride;
    pithrt_rq_out out;
} pithrt_job;

/* pithrt_parallel tasks of a convolution (fast_conv.c): a column tile (and
 * a chunk of output channels) each; swap: the s8 / fp32 swapped-operand
 * GEMM of a small-width layer; wino: a block of Winograd F(2x2, 3x3) rows. */
void pithrt_gemm_task(void *arg, int task, int thread);
void pithrt_swap_s8_task(void *arg, int task, int thread);
void pithrt_swap_f32_task(void *arg, int task, int thread);
void pithrt_wino_task(void *arg, int task, int thread);

#endif
