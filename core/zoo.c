#include "zoo.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

const pith_zoo_entry pith_zoo[] = {
    {"mlp", "LeNet-300-100: flatten, linear 300, 100, classes with ReLU"},
    {"lenet5", "LeNet-5 with ReLU and max pooling: conv5x5 6, conv5x5 16, linear 120, 84"},
    {"fmnist-cnn", "conv3x3 16+BN+ReLU, pool, conv3x3 32+BN+ReLU, pool, linear 128, linear"},
    {"vgg-small", "VGG-style 32-32-M-64-64-M-128-M with BN, linear 256 + dropout"},
    {"resnet8", "ResNet-8: stem + three basic blocks (16, 32, 64) with residual adds"},
    {"mobilenet-tiny", "stem + four depthwise-separable blocks with ReLU6, global pool"},
    {"fmnist-cnn-slim", "fmnist-cnn with half the channels (8, 16, linear 64): a distillation student"},
    {"resnet18", "torchvision's ResNet-18 (for 3x224x224, 1000 classes): deployment benchmarks"},
    {"mobilenet-v2", "torchvision's MobileNetV2 (for 3x224x224, 1000 classes): deployment benchmarks"},
    {NULL, NULL},
};

/* Small builders; each returns the new node index or a negative status. */
static int conv(pith_graph *g, int x, const char *name, int out, int k, int stride, int pad,
                int groups, int bias)
{
    pith_attrs a = {0};
    a.out = out;
    a.kh = a.kw = k;
    a.sh = a.sw = stride;
    a.ph = a.pw = pad;
    a.dh = a.dw = 1;
    a.groups = groups;
    a.bias = bias;
    return pith_graph_add(g, "conv2d", name, &a, &x, 1);
}

static int bn(pith_graph *g, int x, const char *name)
{
    pith_attrs a = {0};
    a.eps = 1e-5f;
    a.momentum = 0.1f;
    return pith_graph_add(g, "batchnorm", name, &a, &x, 1);
}

static int unary(pith_graph *g, int x, const char *op, const char *name)
{
    pith_attrs a = {0};
    return pith_graph_add(g, op, name, &a, &x, 1);
}

static int pool(pith_graph *g, int x, const char *op, const char *name, int k, int s)
{
    pith_attrs a = {0};
    a.kh = a.kw = k;
    a.sh = a.sw = s;
    return pith_graph_add(g, op, name, &a, &x, 1);
}

static int pool_pad(pith_graph *g, int x, const char *op, const char *name, int k, int s, int p)
{
    pith_attrs a = {0};
    a.kh = a.kw = k;
    a.sh = a.sw = s;
    a.ph = a.pw = p;
    return pith_graph_add(g, op, name, &a, &x, 1);
}

static int linear(pith_graph *g, int x, const char *name, int out)
{
    pith_attrs a = {0};
    a.out = out;
    a.bias = 1;
    return pith_graph_add(g, "linear", name, &a, &x, 1);
}

#define TRY(expr)               \
    do {                        \
        x = (expr);             \
        if (x < 0)              \
            return x;           \
    } while (0)

static int build_mlp(pith_graph *g, int classes)
{
    int x = 0;
    TRY(unary(g, x, "flatten", "flatten"));
    TRY(linear(g, x, "fc1", 300));
    TRY(unary(g, x, "relu", "relu1"));
    TRY(linear(g, x, "fc2", 100));
    TRY(unary(g, x, "relu", "relu2"));
    TRY(linear(g, x, "fc3", classes));
    return x;
}

static int build_lenet5(pith_graph *g, int classes)
{
    int x = 0;
    TRY(conv(g, x, "conv1", 6, 5, 1, 2, 1, 1));
    TRY(unary(g, x, "relu", "relu1"));
    TRY(pool(g, x, "maxpool", "pool1", 2, 2));
    TRY(conv(g, x, "conv2", 16, 5, 1, 0, 1, 1));
    TRY(unary(g, x, "relu", "relu2"));
    TRY(pool(g, x, "maxpool", "pool2", 2, 2));
    TRY(unary(g, x, "flatten", "flatten"));
    TRY(linear(g, x, "fc1", 120));
    TRY(unary(g, x, "relu", "relu3"));
    TRY(linear(g, x, "fc2", 84));
    TRY(unary(g, x, "relu", "relu4"));
    TRY(linear(g, x, "fc3", classes));
    return x;
}

/* The same network as ../shared/peers/torch_fmnist.py, with the same names. */
static int build_fmnist_cnn(pith_graph *g, int classes)
{
    int x = 0;
    TRY(conv(g, x, "conv1", 16, 3, 1, 1, 1, 0));
    TRY(bn(g, x, "bn1"));
    TRY(unary(g, x, "relu", "relu1"));
    TRY(pool(g, x, "maxpool", "pool1", 2, 2));
    TRY(conv(g, x, "conv2", 32, 3, 1, 1, 1, 0));
    TRY(bn(g, x, "bn2"));
    TRY(unary(g, x, "relu", "relu2"));
    TRY(pool(g, x, "maxpool", "pool2", 2, 2));
    TRY(unary(g, x, "flatten", "flatten"));
    TRY(linear(g, x, "fc1", 128));
    TRY(unary(g, x, "relu", "relu3"));
    TRY(linear(g, x, "fc2", classes));
    return x;
}

/* Half of fmnist-cnn everywhere: the student for distillation. */
static int build_fmnist_cnn_slim(pith_graph *g, int classes)
{
    int x = 0;
    TRY(conv(g, x, "conv1", 8, 3, 1, 1, 1, 0));
    TRY(bn(g, x, "bn1"));
    TRY(unary(g, x, "relu", "relu1"));
    TRY(pool(g, x, "maxpool", "pool1", 2, 2));
    TRY(conv(g, x, "conv2", 16, 3, 1, 1, 1, 0));
    TRY(bn(g, x, "bn2"));
    TRY(unary(g, x, "relu", "relu2"));
    TRY(pool(g, x, "maxpool", "pool2", 2, 2));
    TRY(unary(g, x, "flatten", "flatten"));
    TRY(linear(g, x, "fc1", 64));
    TRY(unary(g, x, "relu", "relu3"));
    TRY(linear(g, x, "fc2", classes));
    return x;
}

static int build_vgg_small(pith_graph *g, int classes)
{
    static const int plan[] = {32, 32, 0, 64, 64, 0, 128, 0};
    int x = 0, ci = 0, pi = 0;
    char name[32];
    for (size_t i = 0; i < sizeof plan / sizeof *plan; i++) {
        if (plan[i] == 0) {
            snprintf(name, sizeof name, "pool%d", ++pi);
            TRY(pool(g, x, "maxpool", name, 2, 2));
            continue;
        }
        ci++;
        snprintf(name, sizeof name, "conv%d", ci);
        TRY(conv(g, x, name, plan[i], 3, 1, 1, 1, 0));
        snprintf(name, sizeof name, "bn%d", ci);
        TRY(bn(g, x, name));
        snprintf(name, sizeof name, "relu%d", ci);
        TRY(unary(g, x, "relu", name));
    }
    TRY(unary(g, x, "flatten", "flatten"));
    TRY(linear(g, x, "fc1", 256));
    TRY(unary(g, x, "relu", "relu_fc1"));
    pith_attrs d = {0};
    d.p = 0.5f;
    TRY(pith_graph_add(g, "dropout", "drop1", &d, &x, 1));
    TRY(linear(g, x, "fc2", classes));
    return x;
}

/* conv-bn-relu-conv-bn + shortcut (1x1 conv + bn when the shape changes), relu. */
static int basic_block(pith_graph *g, int in, const char *pre, int in_ch, int out_ch, int stride)
{
    char n[PITH_NAME_MAX];
    int x = in;
    snprintf(n, sizeof n, "%s.conv1", pre);
    TRY(conv(g, x, n, out_ch, 3, stride, 1, 1, 0));
    snprintf(n, sizeof n, "%s.bn1", pre);
    TRY(bn(g, x, n));
    snprintf(n, sizeof n, "%s.relu1", pre);
    TRY(unary(g, x, "relu", n));
    snprintf(n, sizeof n, "%s.conv2", pre);
    TRY(conv(g, x, n, out_ch, 3, 1, 1, 1, 0));
    snprintf(n, sizeof n, "%s.bn2", pre);
    TRY(bn(g, x, n));
    int main_path = x, shortcut = in;
    if (stride != 1 || in_ch != out_ch) {
        snprintf(n, sizeof n, "%s.down.conv", pre);
        TRY(conv(g, in, n, out_ch, 1, stride, 0, 1, 0));
        snprintf(n, sizeof n, "%s.down.bn", pre);
        TRY(bn(g, x, n));
        shortcut = x;
    }
    int ins[2] = {main_path, shortcut};
    snprintf(n, sizeof n, "%s.add", pre);
    TRY(pith_graph_add(g, "add", n, NULL, ins, 2));
    snprintf(n, sizeof n, "%s.relu2", pre);
    TRY(unary(g, x, "relu", n));
    return x;
}

static int build_resnet8(pith_graph *g, int classes)
{
    int x = 0;
    TRY(conv(g, x, "conv1", 16, 3, 1, 1, 1, 0));
    TRY(bn(g, x, "bn1"));
    TRY(unary(g, x, "relu", "relu1"));
    TRY(basic_block(g, x, "layer1", 16, 16, 1));
    TRY(basic_block(g, x, "layer2", 16, 32, 2));
    TRY(basic_block(g, x, "layer3", 32, 64, 2));
    TRY(unary(g, x, "global_avgpool", "gap"));
    TRY(unary(g, x, "flatten", "flatten"));
    TRY(linear(g, x, "fc", classes));
    return x;
}

/* conv NAME (no bias) + batchnorm NAME_bn + activation NAME_ACT (act NULL: none) */
static int conv_bn_act(pith_graph *g, int x, const char *name, int out, int k, int stride, int groups, const char *act)
{
    char n[PITH_NAME_MAX];
    TRY(conv(g, x, name, out, k, stride, k / 2, groups, 0));
    snprintf(n, sizeof n, "%.*s_bn", PITH_NAME_MAX - 4, name);
    TRY(bn(g, x, n));
    if (act) {
        snprintf(n, sizeof n, "%.*s_%s", PITH_NAME_MAX - 8, name, act);
        TRY(unary(g, x, act, n));
    }
    return x;
}

/* depthwise 3x3 + BN + ReLU6, pointwise 1x1 + BN + ReLU6 */
static int dw_separable(pith_graph *g, int in, const char *pre, int in_ch, int out_ch, int stride)
{
    char n[PITH_NAME_MAX];
    int x = in;
    snprintf(n, sizeof n, "%s.dw", pre);
    TRY(conv_bn_act(g, x, n, in_ch, 3, stride, in_ch, "relu6"));
    snprintf(n, sizeof n, "%s.pw", pre);
    TRY(conv_bn_act(g, x, n, out_ch, 1, 1, 1, "relu6"));
    return x;
}

static int build_mobilenet_tiny(pith_graph *g, int classes)
{
    int x = 0;
    TRY(conv(g, x, "conv1", 16, 3, 1, 1, 1, 0));
    TRY(bn(g, x, "bn1"));
    TRY(unary(g, x, "relu6", "relu1"));
    TRY(dw_separable(g, x, "block1", 16, 32, 2));
    TRY(dw_separable(g, x, "block2", 32, 64, 2));
    TRY(dw_separable(g, x, "block3", 64, 64, 1));
    TRY(dw_separable(g, x, "block4", 64, 128, 2));
    TRY(unary(g, x, "global_avgpool", "gap"));
    TRY(unary(g, x, "flatten", "flatten"));
    TRY(linear(g, x, "fc", classes));
    return x;
}

/* torchvision.models.resnet18: layer names follow torchvision's. */
static int build_resnet18(pith_graph *g, int classes)
{
    int x = 0;
    TRY(conv(g, x, "conv1", 64, 7, 2, 3, 1, 0));
    TRY(bn(g, x, "bn1"));
    TRY(unary(g, x, "relu", "relu"));
    TRY(pool_pad(g, x, "maxpool", "maxpool", 3, 2, 1));
    const int ch[4] = {64, 128, 256, 512};
    int in_ch = 64;
    for (int l = 0; l < 4; l++)
        for (int b = 0; b < 2; b++) {
            char pre[32];
            snprintf(pre, sizeof pre, "layer%d.%d", l + 1, b);
            TRY(basic_block(g, x, pre, in_ch, ch[l], l > 0 && b == 0 ? 2 : 1));
            in_ch = ch[l];
        }
    TRY(unary(g, x, "global_avgpool", "avgpool"));
    TRY(unary(g, x, "flatten", "flatten"));
    TRY(linear(g, x, "fc", classes));
    return x;
}

/* MobileNetV2's inverted residual: 1x1 expand (t > 1), 3x3 depthwise, 1x1
 * linear projection, and the input added back when the shape allows. */
static int inverted_residual(pith_graph *g, int in, const char *pre, int in_ch, int out_ch, int stride, int t)
{
    char n[PITH_NAME_MAX];
    int x = in, hidden = in_ch * t;
    if (t != 1) {
        snprintf(n, sizeof n, "%s.expand", pre);
        TRY(conv_bn_act(g, x, n, hidden, 1, 1, 1, "relu6"));
    }
    snprintf(n, sizeof n, "%s.dw", pre);
    TRY(conv_bn_act(g, x, n, hidden, 3, stride, hidden, "relu6"));
    snprintf(n, sizeof n, "%s.project", pre);
    TRY(conv_bn_act(g, x, n, out_ch, 1, 1, 1, NULL));
    if (stride == 1 && in_ch == out_ch) {
        int ins[2] = {x, in};
        snprintf(n, sizeof n, "%s.add", pre);
        TRY(pith_graph_add(g, "add", n, NULL, ins, 2));
    }
    return x;
}

/* torchvision.models.mobilenet_v2 (width 1.0). */
static int build_mobilenet_v2(pith_graph *g, int classes)
{
    static const int cfg[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                  {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int x = 0, in_ch = 32, k = 1;
    TRY(conv_bn_act(g, x, "features.0", 32, 3, 2, 1, "relu6"));
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < cfg[i][2]; j++, k++) {
            char pre[32];
            snprintf(pre, sizeof pre, "features.%d", k);
            TRY(inverted_residual(g, x, pre, in_ch, cfg[i][1], j == 0 ? cfg[i][3] : 1, cfg[i][0]));
            in_ch = cfg[i][1];
        }
    TRY(conv_bn_act(g, x, "features.18", 1280, 1, 1, 1, "relu6"));
    TRY(unary(g, x, "global_avgpool", "avgpool"));
    TRY(unary(g, x, "flatten", "flatten"));
    pith_attrs d = {0};
    d.p = 0.2f;
    TRY(pith_graph_add(g, "dropout", "dropout", &d, &x, 1));
    TRY(linear(g, x, "classifier", classes));
    return x;
}

int pith_zoo_build(const char *name, int c, int h, int w, int classes, uint64_t seed,
                   pith_graph **out)
{
    *out = NULL;
    if (classes < 1)
        return pith_error(PITH_EINVAL, "model '%s': %d classes", name, classes);
    int (*build)(pith_graph *, int) = NULL;
    if (strcmp(name, "mlp") == 0)
        build = build_mlp;
    else if (strcmp(name, "lenet5") == 0)
        build = build_lenet5;
    else if (strcmp(name, "fmnist-cnn") == 0)
        build = build_fmnist_cnn;
    else if (strcmp(name, "vgg-small") == 0)
        build = build_vgg_small;
    else if (strcmp(name, "resnet8") == 0)
        build = build_resnet8;
    else if (strcmp(name, "mobilenet-tiny") == 0)
        build = build_mobilenet_tiny;
    else if (strcmp(name, "fmnist-cnn-slim") == 0)
        build = build_fmnist_cnn_slim;
    else if (strcmp(name, "resnet18") == 0)
        build = build_resnet18;
    else if (strcmp(name, "mobilenet-v2") == 0)
        build = build_mobilenet_v2;
    if (!build) {
        char list[256] = "";
        for (int i = 0; pith_zoo[i].name; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, pith_zoo[i].name, sizeof list - strlen(list) - 1);
        }
        return pith_error(PITH_EINVAL, "unknown model '%s' (the zoo has: %s)", name, list);
    }
    pith_shape in = {3, {c, h, w}};
    pith_graph *g;
    int rc = pith_graph_create(&g, in, seed);
    if (rc)
        return rc;
    rc = build(g, classes);
    if (rc < 0) {
        pith_graph_free(g);
        return rc;
    }
    *out = g;
    return PITH_OK;
}
