/* Resize, portable C, f32 and int8: the reference kernels' arithmetic
 * (resize_f32_ref.c, resize_s8_ref.c: the specification) computed
 * separably. An output pixel is ty.w0 * (tx.w0 * v00 + tx.w1 * v01) +
 * ty.w1 * (tx.w0 * v10 + tx.w1 * v11); the two brackets are the horizontal
 * blends of source rows ty.i0 and ty.i1, which every output row with the
 * same source rows shares. So per block of columns the column taps are
 * computed once, each source row's blend once per run of output rows that
 * use it, and each pixel is two products and a sum: the same floats in the
 * same order, so the same bits (tests/test_kernels.c checks it). int8 also
 * takes its 256 dequantized values from a table. */
#include "../pithrt.h"
#include "kernels.h"
#include "resize_coord.h"

#define COL_BLOCK 256

static void column_taps(int flags, float scale, int j0, int nj, int w, int ow, pithrt_resize_tap *tx)
{
    for (int j = 0; j < nj; j++)
        tx[j] = pithrt_resize_tap_of(flags & 1, (flags >> 1) & 3, (flags >> 3) & 3, scale, j0 + j, w, ow);
}

/* The separable loop over channels, column blocks and output rows; VALUE(r,
 * i) is source row r's element i as a float, EMIT(dst, v) stores output v. */
#define RESIZE_SEPARABLE(VALUE, EMIT)                                                                               \
    pithrt_resize_tap tx[COL_BLOCK];                                                                               \
    float row0[COL_BLOCK], row1[COL_BLOCK];                                                                        \
    for (int ch = 0; ch < c; ch++, x += (size_t)h * w, y += (size_t)oh * ow)                                       \
        for (int j0 = 0; j0 < ow; j0 += COL_BLOCK) {                                                               \
            const int nj = ow - j0 < COL_BLOCK ? ow - j0 : COL_BLOCK;                                              \
            column_taps(flags, scales[1], j0, nj, w, ow, tx);                                                      \
            int have0 = -1, have1 = -1;                                                                            \
            for (int i = 0; i < oh; i++) {                                                                         \
                const pithrt_resize_tap ty =                                                                       \
                    pithrt_resize_tap_of(flags & 1, (flags >> 1) & 3, (flags >> 3) & 3, scales[0], i, h, oh);      \
                if (ty.i0 != have0) {                                                                              \
                    const_row r = x + (size_t)ty.i0 * w;                                                           \
                    for (int j = 0; j < nj; j++)                                                                   \
                        row0[j] = tx[j].w0 * VALUE(r, tx[j].i0) + tx[j].w1 * VALUE(r, tx[j].i1);                   \
                    have0 = ty.i0;                                                                                 \
                }                                                                                                  \
                if (ty.i1 != have1) {                                                                              \
                    const_row r = x + (size_t)ty.i1 * w;                                                           \
                    for (int j = 0; j < nj; j++)                                                                   \
                        row1[j] = tx[j].w0 * VALUE(r, tx[j].i0) + tx[j].w1 * VALUE(r, tx[j].i1);                   \
                    have1 = ty.i1;                                                                                 \
                }                                                                                                  \
                for (int j = 0; j < nj; j++)                                                                       \
                    EMIT(y[(size_t)i * ow + j0 + j], ty.w0 * row0[j] + ty.w1 * row1[j]);                           \
            }                                                                                                      \
        }

void pithrt_resize_f32_c(const float *x, int c, int h, int w, float *y, int oh, int ow, int flags,
                         const float *scales)
{
    typedef const float *const_row;
#define F32_VALUE(r, i) (r)[i]
#define F32_EMIT(dst, v) (dst) = (v)
    RESIZE_SEPARABLE(F32_VALUE, F32_EMIT)
}

void pithrt_resize_s8_c(const int8_t *x, pithrt_qact xq, int c, int h, int w, int8_t *y, pithrt_qact yq, int oh,
                        int ow, int flags, const float *scales)
{
    if ((flags & 1) != PITHRT_RESIZE_LINEAR) { /* nearest moves codes */
        pithrt_resize_s8_ref(x, xq, c, h, w, y, yq, oh, ow, flags, scales);
        return;
    }
    float deq[256];
    for (int q = -128; q < 128; q++)
        deq[q + 128] = (float)(q - xq.zero_point) * xq.scale;
    typedef const int8_t *const_row;
#define S8_VALUE(r, i) deq[(r)[i] + 128]
#define S8_EMIT(dst, v) (dst) = (int8_t)pithrt_quantize_value((v), yq, PITHRT_ACT_NONE)
    RESIZE_SEPARABLE(S8_VALUE, S8_EMIT)
}
