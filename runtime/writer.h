/* Writing a .pith file: tensors, ops, constants in a blob, metadata;
 * finish() lays them out (format.h) with both checksums. The format's writer
 * lives beside its reader so that the runtime's own tests can make models
 * without the workbench; export/ builds on it. Failures return a negative
 * PITHRT_ status and leave the reason in msg. */
#ifndef PITHRT_WRITER_H
#define PITHRT_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

#include "pithrt.h"

typedef struct pithrt_writer {
    pithrt_tensor *tensors;
    char (*names)[64];
    int n_tensors, cap_tensors;
    pithrt_op *ops;
    int n_ops, cap_ops;
    uint8_t *blob;
    size_t blob_len, blob_cap;
    char msg[PITHRT_MSG_MAX];
} pithrt_writer;

typedef struct pithrt_writer_meta {
    int input, output;
    int norm_channels;
    float mean[4], std[4];
    const char *const *labels;
    int n_labels;
    int golden_in, golden_out;
    pithrt_preprocess pre;  /* all zero: RGB, /255, resized to the input (no record, version <= 2) */
} pithrt_writer_meta;

void pithrt_writer_init(pithrt_writer *b);
void pithrt_writer_free(pithrt_writer *b);
/* An activation tensor (t->is_const is ignored); returns its index or a negative status. */
int pithrt_writer_tensor(pithrt_writer *b, const pithrt_tensor *t, const char *name);
/* A constant of f32 / s32 / s8 / u8 values copied into the blob. */
int pithrt_writer_const(pithrt_writer *b, const char *name, int dtype, const int32_t *dims, int ndim,
                       const void *data);
/* Weight codes (each in the range of dtype) packed as dtype (S8, W4, W2, W1; codebook indices U8, U4, U2). */
int pithrt_writer_codes(pithrt_writer *b, const char *name, int dtype, const int32_t *dims, int ndim,
                       const int8_t *codes, size_t n);
/* An op record with no operands but input and output. */
pithrt_op pithrt_writer_op0(int type, const char *name, int in, int out);
int pithrt_writer_op(pithrt_writer *b, const pithrt_op *o);
int pithrt_writer_finish(pithrt_writer *b, const pithrt_writer_meta *m, uint8_t **buf, size_t *len);

#endif
