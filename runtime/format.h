/* The .pith file, byte by byte (little-endian; docs/pith-format.md explains
 * each field). Shared by the loader and by pith's exporter, which is the only
 * writer. Records have fixed sizes so that a table is an array and every
 * offset can be checked against the file length before anything is read. */
#ifndef PITHRT_FORMAT_H
#define PITHRT_FORMAT_H

#define PITHRT_MAGIC "PITH"
/* Version 2 adds the binary op and the sigmoid, silu and hardsigmoid
 * activations; version 3 the input's preprocessing record. A file is
 * written with the lowest version that holds what it uses, and this runtime
 * reads all three. */
#define PITHRT_VERSION 3u
#define PITHRT_VERSION_MIN 1u
#define PITHRT_ALIGN 64u

/* header: 64 bytes */
#define PITHRT_HDR_BYTES 64u
#define PITHRT_HDR_MAGIC 0        /* "PITH" */
#define PITHRT_HDR_VERSION 4      /* u32 */
#define PITHRT_HDR_SIZE 8         /* u32: header bytes (64) */
#define PITHRT_HDR_FILE_BYTES 12  /* u32: the whole file */
#define PITHRT_HDR_N_TENSORS 16   /* u32 */
#define PITHRT_HDR_TENSORS 20     /* u32: offset of the tensor table */
#define PITHRT_HDR_N_OPS 24       /* u32 */
#define PITHRT_HDR_OPS 28         /* u32: offset of the op table */
#define PITHRT_HDR_BLOB 32        /* u32: offset of the weight blob, 64-aligned */
#define PITHRT_HDR_BLOB_BYTES 36  /* u32 */
#define PITHRT_HDR_META 40        /* u32: offset of the metadata */
#define PITHRT_HDR_META_BYTES 44  /* u32 */
#define PITHRT_HDR_INPUT 48       /* i32: input tensor */
#define PITHRT_HDR_OUTPUT 52      /* i32: output tensor */
#define PITHRT_HDR_TABLES_CRC 56  /* u32: CRC-32 of bytes [64, blob offset) */
#define PITHRT_HDR_CRC 60         /* u32: CRC-32 of bytes [0, 60) */

/* tensor record: 64 bytes */
#define PITHRT_TENSOR_BYTES 64u
#define PITHRT_T_DTYPE 0     /* u8 pithrt_dtype */
#define PITHRT_T_CONST 1     /* u8: 1 constant (in the blob), 0 activation (in the arena) */
#define PITHRT_T_NDIM 2      /* u8: 1..4 */
#define PITHRT_T_DIMS 4      /* i32[4] */
#define PITHRT_T_SCALE 20    /* f32: s8 activations */
#define PITHRT_T_ZERO 24     /* i32 */
#define PITHRT_T_OFFSET 28   /* u32: constants, from the blob's start */
#define PITHRT_T_BYTES 32    /* u32 */
#define PITHRT_T_QMIN 36     /* i32: s8 activations: the code range (narrower than int8 for < 8 bits) */
#define PITHRT_T_QMAX 40     /* i32 */
#define PITHRT_T_NAME 44     /* char[20], NUL-padded (truncated) */
#define PITHRT_T_NAME_BYTES 20

/* op record: 112 bytes */
#define PITHRT_OP_BYTES 112u
#define PITHRT_O_TYPE 0      /* u16 pithrt_op_type */
#define PITHRT_O_ACT 2       /* u8 pithrt_act */
#define PITHRT_O_FLAGS 3     /* u8: binary: kind | PITHRT_BIN_CONST_FIRST; resize: mode | coord << 1 | rule << 3; else 0 */
#define PITHRT_O_N_IN 4      /* i32: 1..4 */
#define PITHRT_O_IN 8        /* i32[4] */
#define PITHRT_O_OUT 24      /* i32 */
#define PITHRT_O_WEIGHT 28   /* i32 constant tensor or -1 */
#define PITHRT_O_BIAS 32     /* i32: f32 (fp32 layers) or s32 (int8 layers) per output channel */
#define PITHRT_O_REQUANT 36  /* i32: s32 [channels][3]: multiplier, shift, relu6 clamp of the accumulator */
#define PITHRT_O_AUX 40      /* i32: u8 [256] table of a lut op */
#define PITHRT_O_GEOM 44     /* i32[9]: kh kw sh sw ph pw dh dw groups */
#define PITHRT_O_NAME 80     /* char[32], NUL-padded (truncated) */

/* metadata: 52 bytes + labels */
#define PITHRT_M_NORM_CH 0   /* u32: 0..4 */
#define PITHRT_M_MEAN 4      /* f32[4] */
#define PITHRT_M_STD 20      /* f32[4] */
#define PITHRT_M_N_LABELS 36 /* u32 */
#define PITHRT_M_LABEL_BYTES 40 /* u32 */
#define PITHRT_M_GOLDEN_IN 44   /* i32 constant tensor (f32 input) or -1 */
#define PITHRT_M_GOLDEN_OUT 48  /* i32 constant tensor (f32 output) or -1 */
#define PITHRT_M_LABELS 52   /* n_labels names, each ending in '\n' */
#define PITHRT_META_FIXED 52u
/* version 3: after the labels, how an image becomes the input (16 bytes) */
#define PITHRT_P_FLAGS 0     /* u32: PITHRT_PRE_* */
#define PITHRT_P_RESIZE 4    /* u32: shorter side resized to this, then centre-cropped; 0: resized to the input */
#define PITHRT_P_BYTES 16u   /* (8..16 reserved, 0) */
#define PITHRT_PRE_BGR 1u
#define PITHRT_PRE_KEEP255 2u
#define PITHRT_PRE_NEAREST 4u

#endif
