/* The graph: a list of typed layer nodes with named parameters.
 *
 * Nodes are added with pith_graph_add(); each add checks the input shapes and
 * creates the node's parameters. pith_graph_compile() then fixes a topological
 * order, re-checks every shape (a pass may have rewritten nodes) and plans all
 * buffers for a maximum batch size in one arena, so the per-batch loop never
 * allocates. Forward runs the order; backward runs it in reverse, and every op
 * accumulates (`+=`) into the gradient of its inputs, so a value that fans out
 * to several consumers receives the sum of their gradients.
 *
 * Shapes are per sample: (features) or (channels, height, width); the batch is
 * the leading NCHW dimension of every buffer. */
#ifndef PITH_GRAPH_H
#define PITH_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define PITH_NAME_MAX 48
#define PITH_MAX_INPUTS 8
#define PITH_MAX_PARAMS 6

typedef struct pith_shape {
    int ndim;  /* 1 (features) or 3 (C, H, W) */
    int d[3];
} pith_shape;

size_t pith_shape_size(const pith_shape *s);
int pith_shape_equal(const pith_shape *a, const pith_shape *b);
/* "16x28x28" */
void pith_shape_format(const pith_shape *s, char *buf, size_t len);

/* Operator attributes. One flat struct so that serialisation and the info
 * table can walk them by name (see pith_attr_table); each op uses a subset. */
typedef struct pith_attrs {
    int out;        /* output channels / features */
    int kh, kw;     /* kernel */
    int sh, sw;     /* stride */
    int ph, pw;     /* padding */
    int dh, dw;     /* dilation */
    int groups;
    int bias;       /* 1: the layer has a bias */
    float eps;      /* batchnorm */
    float momentum; /* batchnorm running-statistics momentum (PyTorch convention) */
    float p;        /* dropout probability */
    float alpha, beta; /* hardsigmoid: clamp(alpha x + beta, 0, 1); clip: [alpha, beta]; leaky_relu: alpha */
    /* resize (ONNX Resize): output size, the scales its coordinate transform
     * divides by, and the modes (core/ops/resize.c) */
    int oh, ow;     /* (conv_transpose: the output padding) */
    float rsh, rsw;
    int rmode;      /* 0 nearest, 1 bilinear; pad: 0 constant (the value alpha), 1 reflect, 2 edge */
    int rcoord;     /* 0 half_pixel, 1 align_corners, 2 asymmetric, 3 pytorch_half_pixel */
    int rnearest;   /* 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil */
    /* maxpool / avgpool beyond PyTorch's defaults (ONNX's pools): bit 0 ceil
     * mode, bit 1 padding excluded from the mean (count_include_pad = 0),
     * bit 2 the end padding is ph_end / pw_end rather than ph / pw */
    int pool_ext;
    int ph_end, pw_end;
    int axis;       /* softmax: 0..2 of C x H x W (0 of a vector), 3 the whole sample */
    /* Weight quantization of a conv2d / linear (quant/ attaches the transform;
     * the integer codes' scales are the node's w_scale / w_zp parameters). */
    int wq;         /* 0 float, 1 uniform, 2 k-means codebook, 3 binary, 4 ternary */
    int wbits;
    int wsym;       /* symmetric (and narrow) */
    int wgran;      /* 0 per tensor, 1 per output channel, 2 per group */
    int wgroup;     /* values per group along the input axis */
    int wlsq;       /* 1: the scale is learned (LSQ) */
    int wstoch;     /* 1: stochastic rounding while training */
    int wbn;        /* 1: quantized folded with the batchnorm after it (QAT before BN freezing) */
    /* A fake_quant node's spec (activations: per tensor). */
    int qbits;
    int qsym;
    int qsigned;
    int qnarrow;
    int qmode;      /* 0 pass through (calibration / float), 1 fake-quantize */
    int qlsq;       /* 1: the scale is learned (LSQ) */
    int qema;       /* 1: training updates the range by EMA (momentum 0.01) */
    int qstoch;     /* 1: stochastic rounding while training */
    int qrelu;      /* 1 relu, 2 relu6 applied before quantizing (folded into the clamp) */
    int qio;        /* 1: the model's int8 input or output (the caller quantizes / reads codes) */
    int qacc;       /* 1: the input is a quantized layer's accumulator, requantized as the integer kernel does */
} pith_attrs;

typedef struct pith_attr_desc {
    const char *name;
    size_t offset;
    int is_float;
    int optional;   /* may be absent from older checkpoints (reads as 0) */
} pith_attr_desc;

/* NULL-terminated table of every attribute field. */
extern const pith_attr_desc pith_attr_table[];

typedef struct pith_param pith_param;

/* A transform attached to a parameter by a later pass (a quantizer, a mask,
 * a codebook). The op then computes with T(w) instead of w; after backward the
 * graph maps dL/dT(w) back to dL/dw in place (for fake quantization this is
 * the straight-through estimator). */
typedef struct pith_param_transform {
    const char *name;
    int (*forward)(void *ctx, const pith_param *p, float *out);
    void (*backward)(void *ctx, const pith_param *p, float *grad);
    void (*destroy)(void *ctx);
} pith_param_transform;

struct pith_param {
    char name[16];     /* "weight", "bias", "running_mean", ... */
    int ndim;
    int shape[4];
    size_t size;
    float *data;       /* the master value */
    float *grad;       /* NULL for buffers (running statistics) */
    int trainable;     /* 0 for buffers */
    int frozen;        /* trainable but excluded from updates */
    const pith_param_transform *tf;
    void *tf_ctx;
    float *eff;        /* T(data) when a transform is attached */
};

/* The value an op computes with. */
static inline const float *pith_param_value(const pith_param *p) { return p->tf ? p->eff : p->data; }

typedef struct pith_node pith_node;

/* What an op's forward/backward sees of the rest of the graph. */
typedef struct pith_ctx {
    int batch;                        /* samples in this call (<= compiled batch) */
    int training;
    int n_in;
    pith_shape in[PITH_MAX_INPUTS];
    const float *x[PITH_MAX_INPUTS];
    float *dx[PITH_MAX_INPUTS];       /* NULL when that input needs no gradient */
    /* 1: this op is the input's only consumer and dx[j] holds garbage, so the
     * op must write (=) instead of accumulate (+=). Only for ops that declare
     * overwrite_dx; it saves a memset and a read of every such buffer. */
    int dx_overwrite[PITH_MAX_INPUTS];
    uint64_t seed;                    /* per-call seed for stochastic ops */
} pith_ctx;

typedef struct pith_op {
    const char *name;
    int min_in, max_in;
    /* Checks the inputs and attributes, sets the output shape. */
    int (*shape)(const pith_node *n, const pith_shape *in, int n_in, pith_shape *out);
    /* Creates parameters (called once, after shape). NULL: no parameters. */
    int (*init)(pith_node *n, const pith_shape *in, pith_rng *rng);
    /* Bytes of per-node workspace (state saved for backward + scratch). */
    size_t (*workspace)(const pith_node *n, const pith_shape *in, int batch);
    /* Called once the workspace is placed (zero-filled), to record a plan in it. NULL: none. */
    void (*prepare)(pith_node *n, const pith_shape *in, int batch);
    void (*forward)(pith_node *n, const pith_ctx *c);
    void (*backward)(pith_node *n, const pith_ctx *c);
    int overwrite_dx;                 /* backward honours ctx.dx_overwrite */
    /* Multiply-accumulates per sample. NULL: 0. */
    int64_t (*macs)(const pith_node *n, const pith_shape *in);
    /* Elementwise ops of one input: the output for input x, the expression
     * forward computes (an int8 model's lookup table is built from it).
     * NULL for every other op. */
    float (*value)(const pith_node *n, float x);
} pith_op;

struct pith_node {
    char name[PITH_NAME_MAX];
    const pith_op *op;
    pith_attrs a;
    int n_in;
    int in[PITH_MAX_INPUTS];          /* node indices */
    int n_params;
    pith_param params[PITH_MAX_PARAMS];
    pith_shape out;                   /* per-sample output shape */
    /* planned by compile */
    float *y;                         /* batch x out */
    float *dy;                        /* batch x out, NULL when no gradient flows here */
    void *ws;
    size_t ws_bytes;
    int needs_grad;                   /* a gradient flows into this node's output */
    int dy_overwritten;               /* its only consumer overwrites dy: no zeroing needed */
    /* Fusion decided by compile: a batchnorm whose only consumer is a relu or
     * relu6 applies that activation itself (fused_act 1 or 2); the activation
     * node then shares its buffers and does nothing (fused_into >= 0). A
     * flatten that is its input's only consumer is a view the same way. */
    int fused_act;
    int fused_into;
    /* A fused batchnorm -> activation followed by a 2x2/2 maxpool (sole
     * consumer, windows tiling the plane) also computes the pool: it writes
     * the pool's output and reads the pool's gradient, and the pool node
     * (computed_by >= 0) does nothing. */
    int computed_by;
    float *pool_y, *pool_dy;
    double fwd_seconds, bwd_seconds;  /* accumulated when the graph's profiling is on */
};

typedef struct pith_graph {
    pith_node *nodes;
    int n_nodes, cap;
    int output;                       /* node index of the output */
    pith_shape input_shape;
    int *order;                       /* topological order of compiled nodes */
    int n_order;
    int batch;                        /* compiled maximum batch, 0 = not compiled */
    int training;
    uint64_t seed;                    /* base seed for stochastic ops */
    uint64_t step;                    /* forward-call counter mixed into that seed */
    void *arena;
    size_t arena_bytes;
    pith_rng init_rng;                /* parameter initialisation */
    int profile;                      /* 1: time every node's forward and backward */
    int input_grad;                   /* 1: compute the gradient of the input too (checks) */
    int fuse_off;                     /* 1: do not fuse ops when compiling (tests, profiling) */
} pith_graph;

/* Creates a graph whose node 0 is the input of per-sample shape `input`. */
int pith_graph_create(pith_graph **g, pith_shape input, uint64_t seed);
void pith_graph_free(pith_graph *g);

/* Adds a node; returns its index (>= 0) or a negative status. The new node
 * becomes the output. */
int pith_graph_add(pith_graph *g, const char *op_name, const char *name, const pith_attrs *a,
                   const int *inputs, int n_in);
/* Inserts a node between `target` and all of its consumers (a pass adding a
 * fake-quant node after an activation, say). Returns the new node's index. */
int pith_graph_insert_after(pith_graph *g, int target, const char *op_name, const char *name,
                            const pith_attrs *a);
/* The output shapes of node n's inputs, into in[n->n_in]. */
void pith_node_in_shapes(const pith_graph *g, const pith_node *n, pith_shape *in);
int pith_graph_find(const pith_graph *g, const char *name);
/* How many inputs of the sorted nodes read `node` (a node reading it twice
 * counts twice); *only is the last reader found. g must be sorted. */
int pith_graph_consumers(const pith_graph *g, int node, int *only);
pith_param *pith_node_param(pith_node *n, const char *name);

/* Attaches a transform to a parameter (NULL tf detaches). Takes ownership of ctx. */
int pith_param_set_transform(pith_param *p, const pith_param_transform *tf, void *ctx);

/* Topological order of the nodes the output depends on (g->order), without
 * planning buffers. */
int pith_graph_sort(pith_graph *g);
/* Plans the graph for batches of up to `batch` samples. Call again after any rewrite. */
int pith_graph_compile(pith_graph *g, int batch);
void pith_graph_set_training(pith_graph *g, int training);

/* Input buffer of the compiled graph (batch x input_shape floats). */
float *pith_graph_input(pith_graph *g);
/* Gradient of the input after backward; NULL unless g->input_grad was set before compiling. */
const float *pith_graph_input_grad(const pith_graph *g);
/* Output of the last forward and its gradient buffer. */
const float *pith_graph_output(const pith_graph *g);
float *pith_graph_output_grad(pith_graph *g);
const pith_shape *pith_graph_output_shape(const pith_graph *g);

int pith_graph_forward(pith_graph *g, int batch);
/* Zeroes every parameter gradient. */
void pith_graph_zero_grad(pith_graph *g);
/* Backward from the output gradient (pith_graph_output_grad), which the loss
 * has written. Parameter gradients accumulate. */
int pith_graph_backward(pith_graph *g, int batch);

/* Per-node timing: on/off, and reset of the accumulated times. */
void pith_graph_profile(pith_graph *g, int on);

/* Totals over the graph. */
int64_t pith_graph_params(const pith_graph *g, int trainable_only);
int64_t pith_graph_macs(const pith_graph *g);
/* Bytes of all parameters and buffers as float32. */
int64_t pith_graph_bytes(const pith_graph *g);
int64_t pith_node_param_count(const pith_node *n, int trainable_only);
int64_t pith_node_macs(const pith_graph *g, const pith_node *n);

/* Op registry: the core ops, plus ops that other modules register (quant's
 * fake_quant) before building or loading graphs that use them. */
const pith_op *pith_op_find(const char *name);
const pith_op *const *pith_op_all(void);
/* Registers an op by name; registering the same op twice is a no-op. */
int pith_op_register(const pith_op *op);

/* For ops: creates a zero-filled parameter on node n. */
pith_param *pith_node_new_param(pith_node *n, const char *name, int ndim, const int *shape,
                                int trainable);
/* For passes that change a layer's size: gives p new contents of the given
 * shape (takes ownership of data, which holds shape's element count), drops
 * its transform and gives it a fresh zeroed gradient if it is trainable. */
int pith_param_replace(pith_param *p, int ndim, const int *shape, float *data);
/* For ops: fills with U(-bound, bound) from rng. */
void pith_fill_uniform(float *x, size_t n, float bound, pith_rng *rng);

#endif
