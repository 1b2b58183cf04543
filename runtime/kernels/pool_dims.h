/* A pooling window's output size, as ONNX and PyTorch define it: padding
 * `pb` before and `pe` after, floor or ceil division, and in ceil mode no
 * window that would start inside the end padding. Shared by the workbench's
 * pools and the runtime's loader (C99, no dependencies). */
#ifndef PITHRT_POOL_DIMS_H
#define PITHRT_POOL_DIMS_H

static inline int pithrt_pool_out_dim(int in, int k, int s, int pb, int pe, int ceil_mode)
{
    int span = in + pb + pe - k;
    if (span < 0 || s < 1)
        return 0;
    int out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= in + pb)
        out--;
    return out;
}

/* The divisor of window (i0 = first row, j0 = first column, in input
 * coordinates): every position inside the padded input (count_include_pad),
 * or only the input's own. */
static inline int pithrt_pool_count(int i0, int j0, int kh, int kw, int h, int w, int ph_end, int pw_end,
                                    int ph, int pw, int exclude_pad)
{
    int lo_h = exclude_pad ? 0 : -ph, hi_h = exclude_pad ? h : h + ph_end;
    int lo_w = exclude_pad ? 0 : -pw, hi_w = exclude_pad ? w : w + pw_end;
    int a = i0 < lo_h ? lo_h : i0, b = i0 + kh > hi_h ? hi_h : i0 + kh;
    int c = j0 < lo_w ? lo_w : j0, d = j0 + kw > hi_w ? hi_w : j0 + kw;
    int n = (b - a) * (d - c);
    return n > 0 ? n : 1;
}

#endif
