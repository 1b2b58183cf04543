/* The ONNX op types pith imports, and the converter of each. ONNX names its
 * ops by string; this table is the one place the importer compares them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importer.h"

int ox_conv(ox_importer *, const Onnx__NodeProto *);
int ox_gemm(ox_importer *, const Onnx__NodeProto *);
int ox_matmul(ox_importer *, const Onnx__NodeProto *);
int ox_batchnorm(ox_importer *, const Onnx__NodeProto *);
int ox_relu(ox_importer *, const Onnx__NodeProto *);
int ox_clip(ox_importer *, const Onnx__NodeProto *);
int ox_sigmoid(ox_importer *, const Onnx__NodeProto *);
int ox_hardsigmoid(ox_importer *, const Onnx__NodeProto *);
int ox_hardswish(ox_importer *, const Onnx__NodeProto *);
int ox_add_op(ox_importer *, const Onnx__NodeProto *);
int ox_sub(ox_importer *, const Onnx__NodeProto *);
int ox_mul(ox_importer *, const Onnx__NodeProto *);
int ox_div(ox_importer *, const Onnx__NodeProto *);
int ox_maxpool(ox_importer *, const Onnx__NodeProto *);
int ox_avgpool(ox_importer *, const Onnx__NodeProto *);
int ox_global_avgpool(ox_importer *, const Onnx__NodeProto *);
int ox_identity(ox_importer *, const Onnx__NodeProto *);
int ox_constant(ox_importer *, const Onnx__NodeProto *);
int ox_shape(ox_importer *, const Onnx__NodeProto *);
int ox_gather(ox_importer *, const Onnx__NodeProto *);
int ox_unsqueeze(ox_importer *, const Onnx__NodeProto *);
int ox_squeeze(ox_importer *, const Onnx__NodeProto *);
int ox_reshape(ox_importer *, const Onnx__NodeProto *);
int ox_flatten(ox_importer *, const Onnx__NodeProto *);
int ox_concat(ox_importer *, const Onnx__NodeProto *);
int ox_cast(ox_importer *, const Onnx__NodeProto *);
int ox_constant_of_shape(ox_importer *, const Onnx__NodeProto *);
int ox_transpose(ox_importer *, const Onnx__NodeProto *);
int ox_split(ox_importer *, const Onnx__NodeProto *);
int ox_slice(ox_importer *, const Onnx__NodeProto *);
int ox_reduce_mean(ox_importer *, const Onnx__NodeProto *);
int ox_resize(ox_importer *, const Onnx__NodeProto *);
int ox_leaky_relu(ox_importer *, const Onnx__NodeProto *);
int ox_prelu(ox_importer *, const Onnx__NodeProto *);
int ox_softmax(ox_importer *, const Onnx__NodeProto *);
int ox_global_maxpool(ox_importer *, const Onnx__NodeProto *);
int ox_pad(ox_importer *, const Onnx__NodeProto *);
int ox_conv_transpose(ox_importer *, const Onnx__NodeProto *);
int ox_quantize_linear(ox_importer *, const Onnx__NodeProto *);
int ox_dequantize_linear(ox_importer *, const Onnx__NodeProto *);

/* sorted by type (strcmp order) for bsearch */
static const ox_op ops[] = {
    {"Add", ox_add_op},
    {"AveragePool", ox_avgpool},
    {"BatchNormalization", ox_batchnorm},
    {"Cast", ox_cast},
    {"Clip", ox_clip},
    {"Concat", ox_concat},
    {"Constant", ox_constant},
    {"ConstantOfShape", ox_constant_of_shape},
    {"Conv", ox_conv},
    {"ConvTranspose", ox_conv_transpose},
    {"DequantizeLinear", ox_dequantize_linear},
    {"Div", ox_div},
    {"Dropout", ox_identity},
    {"Flatten", ox_flatten},
    {"Gather", ox_gather},
    {"Gemm", ox_gemm},
    {"GlobalAveragePool", ox_global_avgpool},
    {"GlobalMaxPool", ox_global_maxpool},
    {"HardSigmoid", ox_hardsigmoid},
    {"HardSwish", ox_hardswish},
    {"Identity", ox_identity},
    {"LeakyRelu", ox_leaky_relu},
    {"MatMul", ox_matmul},
    {"MaxPool", ox_maxpool},
    {"Mul", ox_mul},
    {"PRelu", ox_prelu},
    {"Pad", ox_pad},
    {"QuantizeLinear", ox_quantize_linear},
    {"ReduceMean", ox_reduce_mean},
    {"Relu", ox_relu},
    {"Reshape", ox_reshape},
    {"Resize", ox_resize},
    {"Shape", ox_shape},
    {"Sigmoid", ox_sigmoid},
    {"Slice", ox_slice},
    {"Softmax", ox_softmax},
    {"Split", ox_split},
    {"Squeeze", ox_squeeze},
    {"Sub", ox_sub},
    {"Transpose", ox_transpose},
    {"Unsqueeze", ox_unsqueeze},
    {"Upsample", ox_resize},
};

static int cmp(const void *key, const void *e) { return strcmp(key, ((const ox_op *)e)->type); }

const ox_op *ox_find_op(const char *type)
{
    return bsearch(type, ops, sizeof ops / sizeof ops[0], sizeof ops[0], cmp);
}

int pith_onnx_op_count(void) { return (int)(sizeof ops / sizeof ops[0]); }

const char *pith_onnx_op_type(int k) { return k >= 0 && k < pith_onnx_op_count() ? ops[k].type : NULL; }

const char *ox_supported_ops(void)
{
    static __thread char buf[1024];
    if (!buf[0])
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            size_t l = strlen(buf);
            snprintf(buf + l, sizeof buf - l, "%s%s", k ? ", " : "", ops[k].type);
        }
    return buf;
}
