/* pithrt: pith's inference runtime. C99, no dependency beyond libc and libm.
 *
 * A model is a .pith file (docs/pith-format.md) loaded from a memory buffer
 * without copying its weights. The caller owns all memory: it asks how many
 * arena bytes a context needs, gives the runtime that much, and nothing is
 * allocated while the model runs.
 *
 *   pithrt_model m;
 *   if (pithrt_model_load(buf, len, &m) != PITHRT_OK) return puts(pithrt_model_error(&m));
 *   size_t bytes = pithrt_arena_bytes(&m, 1);
 *   void *arena = malloc(bytes);
 *   pithrt_ctx c;
 *   if (pithrt_ctx_init(&c, &m, arena, bytes, 1) != PITHRT_OK) return puts(pithrt_ctx_error(&c));
 *   float scores[10];
 *   if (pithrt_set_input_f32(&c, image, pithrt_input_size(&m)) != PITHRT_OK || pithrt_run(&c) != PITHRT_OK ||
 *       pithrt_output_f32(&c, scores, 10) != PITHRT_OK) return puts(pithrt_ctx_error(&c));
 *   pithrt_ctx_free(&c);
 *   free(arena);
 *   pithrt_model_free(&m);
 *
 * (tests/doc_examples.sh compiles this example and every ```c block of the
 * README and docs/, and runs them on a model.)
 *
 * Every failure is a negative status; the model or context keeps a message. */
#ifndef PITHRT_H
#define PITHRT_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    PITHRT_OK = 0,
    PITHRT_EFORMAT = -1, /* the file is not a valid .pith model */
    PITHRT_EVERSION = -2,
    PITHRT_EARG = -3,    /* a bad argument from the caller */
    PITHRT_ESPACE = -4,  /* the arena is too small */
    PITHRT_EIO = -5,
    PITHRT_ENOMEM = -6,
};

#define PITHRT_MSG_MAX 192
#define PITHRT_MAX_OPS 4096
#define PITHRT_MAX_TENSORS 8192

/* Data types of tensors (activations and constants). */
typedef enum {
    PITHRT_F32 = 1,
    PITHRT_S8 = 2,
    PITHRT_S32 = 3,
    PITHRT_W4 = 4, /* weight codes, two per byte, low nibble first, two's complement */
    PITHRT_W2 = 5, /* weight codes, four per byte, two's complement (ternary: -1, 0, 1) */
    PITHRT_W1 = 6, /* weight codes, eight per byte, bit 1 = +1, bit 0 = -1 (binary) */
    PITHRT_U8 = 7, /* lookup tables; codebook indices of up to 8 bits */
    PITHRT_U4 = 8, /* codebook indices, two per byte, low nibble first */
    PITHRT_U2 = 9, /* codebook indices, four per byte */
} pithrt_dtype;

typedef enum {
    PITHRT_OP_CONV2D = 1,
    PITHRT_OP_FC = 2,
    PITHRT_OP_MAXPOOL = 3,
    PITHRT_OP_AVGPOOL = 4,
    PITHRT_OP_GAVGPOOL = 5,
    PITHRT_OP_ADD = 6,
    PITHRT_OP_CONCAT = 7,
    PITHRT_OP_ACT = 8,      /* relu / relu6 / hardswish on f32 */
    PITHRT_OP_LUT = 9,      /* s8 -> s8 through a 256-entry table (any elementwise function) */
    PITHRT_OP_SOFTMAX = 10,
    PITHRT_OP_RESHAPE = 11, /* flatten: a view of its input, no copy */
    PITHRT_OP_QUANTIZE = 12,
    PITHRT_OP_DEQUANTIZE = 13,
    PITHRT_OP_BINARY = 14,  /* add / sub / mul / div with broadcasting, f32 or s8 (format version 2) */
    PITHRT_OP_SHUFFLE = 15, /* channel shuffle in `groups` groups (version 2) */
    PITHRT_OP_SLICE = 16,   /* channels [ph, ph + output channels) (version 2) */
    PITHRT_OP_RESIZE = 17,  /* f32 nearest / bilinear resampling; modes in the flags, scales in aux (version 2) */
    PITHRT_OP_CONV_TRANSPOSE = 19, /* f32 transposed convolution, weight [in][out / groups][kh][kw] (version 2) */
    PITHRT_OP_PAD = 18,     /* f32 H, W padding: ph, pw before, dh, dw after; mode in the flags; aux f32 [1] the
                               constant (version 2) */
} pithrt_op_type;

/* Activations. Layers, adds and quantize ops fuse relu, relu6 and hardswish;
 * the others exist only as act ops (format version 2). Hardsigmoid, clip,
 * leaky relu and prelu read their parameters from the op's aux constant. */
typedef enum {
    PITHRT_ACT_NONE = 0,
    PITHRT_ACT_RELU = 1,
    PITHRT_ACT_RELU6 = 2,
    PITHRT_ACT_HARDSWISH = 3,
    PITHRT_ACT_SIGMOID = 4,
    PITHRT_ACT_SILU = 5,
    PITHRT_ACT_HARDSIGMOID = 6,
    PITHRT_ACT_CLIP = 7,        /* aux f32 [2]: the bounds */
    PITHRT_ACT_LEAKY_RELU = 8,  /* aux f32 [2]: alpha, unused */
    PITHRT_ACT_PRELU = 9,       /* aux f32 [channels] or [1]: the slopes */
} pithrt_act;

/* A binary op's kind (the op's flags, bits 0-1); flag bit 2: the constant
 * operand (the op's weight, when it has one input) comes first. */
typedef enum { PITHRT_BIN_ADD = 0, PITHRT_BIN_SUB = 1, PITHRT_BIN_MUL = 2, PITHRT_BIN_DIV = 3 } pithrt_binary;
#define PITHRT_BIN_CONST_FIRST 4

/* A pool's flags (version 2; an int8 max pool takes all but EXCLUDE_PAD): ONNX's geometry beyond PyTorch's defaults.
 * With PITHRT_POOL_END_PADS the op's aux is an s32 [2] constant: the padding
 * after H and W (otherwise ph and pw, as before). */
enum { PITHRT_POOL_CEIL = 1, PITHRT_POOL_EXCLUDE_PAD = 2, PITHRT_POOL_END_PADS = 4 };

/* A table lookup's flag (version 2): one table per channel (aux u8 [C][256];
 * a vector's channels are its elements), e.g. a batchnorm no layer absorbs. */
#define PITHRT_LUT_PER_CHANNEL 1

/* A tensor as the file describes it (see format.h for the bytes). */
typedef struct pithrt_tensor {
    uint8_t dtype, is_const, ndim;
    int32_t dims[4];
    float scale;            /* s8 activations: real = (q - zero_point) * scale */
    int32_t zero_point;
    int32_t qmin, qmax;     /* s8 activations: the code range */
    uint32_t offset, bytes; /* constants: in the weight blob */
    char name[20];
} pithrt_tensor;

typedef struct pithrt_op {
    uint16_t type;
    uint8_t act;
    uint8_t flags;
    int32_t in[4];          /* tensor indices, -1: none */
    int32_t out;
    int32_t weight, bias;   /* constant tensors, -1: none */
    int32_t requant;        /* s32 [channels][3]: multiplier, shift, relu6 clamp of the accumulator */
    int32_t aux;            /* u8 [256]: a lut op's table; f32 [k]: an fp32 layer's weight codebook */
    int32_t kh, kw, sh, sw, ph, pw, dh, dw, groups;
    int32_t n_in;
    char name[32];
} pithrt_op;

typedef struct pithrt_model {
    const uint8_t *data;    /* the file, not copied */
    size_t size;
    uint32_t version;
    int n_ops, n_tensors;
    const pithrt_op *ops;   /* decoded copies of the tables live in the caller-free arrays below */
    const pithrt_tensor *tensors;
    int input, output;      /* tensor indices */
    const uint8_t *blob;
    uint32_t blob_size;
    /* metadata */
    int norm_channels;
    float mean[4], std[4];  /* input normalisation: x = (pixel * scale - mean) / std, scale 1/255 (or 1: pre.keep255) */
    pithrt_preprocess pre;  /* how an image becomes the input (image.h); all zero in files before version 3 */
    int n_labels;
    const char *labels;     /* n_labels names separated by '\n', not NUL-terminated */
    uint32_t labels_bytes;
    int32_t golden_in, golden_out; /* constant tensors, -1: none */
    /* planned by the loader */
    uint32_t *act_offset;   /* per tensor: its place in the arena (activations) */
    size_t act_bytes;       /* activation part of the arena */
    size_t lower_bound;     /* largest sum of simultaneously live activations */
    size_t scratch_bytes;   /* per thread */
    size_t shared_bytes;    /* scratch all threads of an op share (a padded input) */
    int *order;             /* ops in execution order (file order, checked) */
    void *heap;             /* the tables and plan */
    /* the fast path, chosen and packed by the loader */
    int isa;                /* pithrt_isa: 0 = the reference kernels */
    const struct pithrt_kernels *kernels;
    struct pithrt_fast_op *fast; /* per op: packed weights and constants */
    char msg[PITHRT_MSG_MAX];
} pithrt_model;

/* Loads and checks a model; the buffer must stay alive and unchanged while
 * the model is used. The loader allocates one block for the decoded tables and
 * the plan (freed by pithrt_model_free). On failure m->msg says why. */
int pithrt_model_load(const void *buf, size_t len, pithrt_model *m);
/* The same with the kernels of one instruction set, by name ("ref", "avx2",
 * "avx512", "neon", "neondot"; NULL: pithrt_model_load's choice, which is the
 * build's PITHRT_ISA_FORCE, else the environment's PITHRT_ISA, else the
 * fastest this CPU runs). Fails if this CPU cannot run the set. Weights of
 * conv2d and fc are repacked for the set's kernels (a second copy). */
int pithrt_model_load_isa(const void *buf, size_t len, const char *isa, pithrt_model *m);
/* The instruction set a model runs with ("ref", "avx2", ...). */
const char *pithrt_model_isa(const pithrt_model *m);
/* Reads a whole file into a malloc'd buffer (*buf, free it after the model). */
int pithrt_file_read(const char *path, void **buf, size_t *len, char *msg, size_t msg_len);
void pithrt_model_free(pithrt_model *m);
const char *pithrt_model_error(const pithrt_model *m);

/* Arena bytes a context needs for `threads` threads. */
size_t pithrt_arena_bytes(const pithrt_model *m, int threads);

typedef struct pithrt_profile {
    double seconds;         /* accumulated over runs */
    int64_t macs;
} pithrt_profile;

/* Called after op `op` of a run with its output tensor's bytes (valid
 * until the next op: the arena reuses them). */
typedef void (*pithrt_observer)(void *user, int op, const void *data, size_t bytes);

typedef struct pithrt_ctx {
    const pithrt_model *m;
    uint8_t *arena;
    size_t arena_bytes;
    int threads;
    int profiling;
    int poison;              /* debug: overwrite every tensor's bytes once it is dead */
    pithrt_profile *profile; /* per op, in the arena */
    int runs;
    struct pithrt_pool *pool; /* threads - 1 workers; NULL with one thread */
    pithrt_observer observe; /* debug: called after every op (pithrt_ctx_observe) */
    void *observe_user;
    char msg[PITHRT_MSG_MAX];
} pithrt_ctx;

/* A context on the caller's arena (pithrt_arena_bytes(m, threads) bytes).
 * threads > 1 starts threads - 1 workers (pithrt_ctx_free stops them); a
 * run splits conv2d, fc, depthwise and elementwise work over them. */
int pithrt_ctx_init(pithrt_ctx *c, const pithrt_model *m, void *arena, size_t bytes, int threads);
const char *pithrt_ctx_error(const pithrt_ctx *c);
/* Stops the context's worker threads (the arena stays the caller's). */
void pithrt_ctx_free(pithrt_ctx *c);
/* Per-op timing (costs two clock reads per op). */
void pithrt_ctx_profile(pithrt_ctx *c, int on);
/* Debug: after each op, fill the bytes of every tensor that no later op reads
 * (and that no live tensor shares) with 0xA5, so that a plan placing two live
 * tensors on the same bytes changes the output. Slow (tensors x ops per op). */
void pithrt_ctx_poison(pithrt_ctx *c, int on);
/* Debug: fn(user, op, output bytes) after every op of a run (NULL: none);
 * a layer-by-layer comparison of two runs, or of two instruction sets. */
void pithrt_ctx_observe(pithrt_ctx *c, pithrt_observer fn, void *user);

/* Input elements (C*H*W). */
size_t pithrt_input_size(const pithrt_model *m);
size_t pithrt_output_size(const pithrt_model *m);
/* Float input, already normalised; quantized by the runtime when the model's
 * input is int8. */
int pithrt_set_input_f32(pithrt_ctx *c, const float *x, size_t n);
/* Raw 8-bit pixels, C x H x W planes in the model's channel order, already
 * the input's size: normalised with the model's scale, mean and std. */
int pithrt_set_input_u8(pithrt_ctx *c, const uint8_t *pixels, size_t n);
/* An image of any size (w x h x channels interleaved, 1 gray or 3 RGB: a
 * decoded photo, a PPM/PGM file's pixels, a camera frame) through the
 * model's own preprocessing: resized and cropped, converted to its channels
 * and channel order, normalised. scratch: pithrt_input_image_scratch bytes. */
size_t pithrt_input_image_scratch(const pithrt_model *m, int w, int h, int channels);
int pithrt_set_input_image(pithrt_ctx *c, const uint8_t *px, int w, int h, int channels, void *scratch);
/* int8 codes for a model with int8 input. */
int pithrt_set_input_s8(pithrt_ctx *c, const int8_t *q, size_t n);
int pithrt_run(pithrt_ctx *c);
/* The output as floats (dequantized when int8) into out[n]. */
int pithrt_output_f32(pithrt_ctx *c, float *out, size_t n);
/* The raw output tensor and its type. */
const void *pithrt_output_raw(const pithrt_ctx *c, pithrt_dtype *dtype);
/* The label of class k, copied into buf ("" when the model has none). */
void pithrt_label(const pithrt_model *m, int k, char *buf, size_t len);

/* warmup runs, then `runs` timed runs; seconds[runs] comes back sorted.
 * Every run sees the input set before the call: the arena reuses the
 * input's bytes once it is read, so it is put back before each run
 * (untimed). */
int pithrt_bench(pithrt_ctx *c, int warmup, int runs, double *seconds);

const char *pithrt_op_name(int type);
int64_t pithrt_op_macs(const pithrt_model *m, int op);

#ifdef __cplusplus
}
#endif
#endif
