/* The source index of a padded position, for ONNX Pad's modes: constant
 * (-1: the pad value), reflect (mirrored without repeating the edge) and
 * edge (the nearest edge). Shared by the workbench's pad op and the
 * runtime's kernel (C99). */
#ifndef PITHRT_PAD_INDEX_H
#define PITHRT_PAD_INDEX_H

enum { PITHRT_PAD_CONSTANT = 0, PITHRT_PAD_REFLECT = 1, PITHRT_PAD_EDGE = 2 };

static inline int pithrt_pad_src(int i, int n, int mode)
{
    if (i >= 0 && i < n)
        return i;
    if (mode == PITHRT_PAD_CONSTANT)
        return -1;
    if (mode == PITHRT_PAD_EDGE || n == 1)
        return i < 0 ? 0 : n - 1;
    return i < 0 ? -i : 2 * (n - 1) - i; /* reflect: the loader keeps pads below n */
}

#endif
