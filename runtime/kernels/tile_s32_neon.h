/* Store and load of a GEMM microkernel's 8 x 8 int32 tile on NEON: row r
 * of C is two q registers c<r>0 and c<r>1, rows ldc apart. */
#ifndef PITHRT_TILE_S32_NEON_H
#define PITHRT_TILE_S32_NEON_H

#define STORE(r)                                                                                                       \
    vst1q_s32(c + r * ldc, c##r##0);                                                                                   \
    vst1q_s32(c + r * ldc + 4, c##r##1);
#define LOAD(r)                                                                                                        \
    c##r##0 = vld1q_s32(c + r * ldc);                                                                                  \
    c##r##1 = vld1q_s32(c + r * ldc + 4);

#endif
