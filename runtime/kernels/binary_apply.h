/* The one expression of each binary op (pithrt_binary kinds), shared by the
 * runtime's f32 and int8 kernels and the workbench's broadcast ops, so that
 * all three compute the same float for the same operands (C99, no
 * dependencies). */
#ifndef PITHRT_BINARY_APPLY_H
#define PITHRT_BINARY_APPLY_H

static inline float pithrt_binary_apply(int kind, float a, float b)
{
    switch (kind) {
    case 0: return a + b; /* PITHRT_BIN_ADD */
    case 1: return a - b; /* PITHRT_BIN_SUB */
    case 2: return a * b; /* PITHRT_BIN_MUL */
    default: return a / b;
    }
}

#endif
