/* Assembling a .pith file: tensors, ops, constants in a blob, metadata;
 * finish() lays them out (runtime/format.h) with both checksums. */
#ifndef PITH_EXPORT_BUILDER_H
#define PITH_EXPORT_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/pithrt.h"

typedef struct pith_builder {
    pithrt_tensor *tensors;
    char (*names)[64];
    int n_tensors, cap_tensors;
    pithrt_op *ops;
    int n_ops, cap_ops;
    uint8_t *blob;
    size_t blob_len, blob_cap;
} pith_builder;

typedef struct pith_builder_meta {
    int input, output;
    int norm_channels;
    float mean[4], std[4];
    const char *const *labels;
    int n_labels;
    int golden_in, golden_out;
} pith_builder_meta;

void pith_builder_init(pith_builder *b);
void pith_builder_free(pith_builder *b);
/* An activation tensor (t->is_const is ignored); returns its index or a negative status. */
int pith_builder_tensor(pith_builder *b, const pithrt_tensor *t, const char *name);
/* A constant of f32 / s32 / s8 / u8 values copied into the blob. */
int pith_builder_const(pith_builder *b, const char *name, int dtype, const int32_t *dims, int ndim,
                       const void *data);
/* Weight codes (each in the range of dtype) packed as dtype (S8, W4, W2, W1; codebook indices U8, U4, U2). */
int pith_builder_codes(pith_builder *b, const char *name, int dtype, const int32_t *dims, int ndim,
                       const int8_t *codes, size_t n);
/* An op record with no operands but input and output. */
pithrt_op pith_builder_op0(int type, const char *name, int in, int out);
int pith_builder_op(pith_builder *b, const pithrt_op *o);
int pith_builder_finish(pith_builder *b, const pith_builder_meta *m, uint8_t **buf, size_t *len);

#endif
