/* conv_transpose: the transposed 2-D convolution of segmentation decoders
 * (ONNX ConvTranspose). Attributes as conv2d's (out, kernel, stride,
 * padding on both sides, dilation, groups, bias) plus the output padding
 * oh / ow of its output size: (H - 1) s - 2 p + d (k - 1) + 1 + output
 * padding. Weight [in][out / groups][kh][kw]. The forward is the runtime's
 * reference kernel itself; backward is the matching correlation. ONNX's
 * asymmetric padding (pads b before, e after) is ph = b and an output
 * padding of its own plus b - e, which may be negative. */
#include "op_util.h"

#include "../../runtime/kernels/kernels.h"

static int tout(int in, int k, int s, int p, int d, int extra) { return (in - 1) * s - 2 * p + d * (k - 1) + 1 + extra; }

static int ct_shape(const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    const pith_attrs *a = &nd->a;
    if (in[0].ndim != 3 || a->out < 1 || a->kh < 1 || a->kw < 1 || a->sh < 1 || a->sw < 1 || a->ph < -64 ||
        a->pw < -64 || a->ph > 64 || a->pw > 64 || a->dh < 1 || a->dw < 1 || a->groups < 1 || in[0].d[0] % a->groups ||
        a->out % a->groups || a->oh <= -128 || a->ow <= -128 || a->oh >= 128 || a->ow >= 128)
        return pith_error(PITH_EINVAL, "conv_transpose '%s': bad geometry or groups for a %s input", nd->name,
                          in[0].ndim == 3 ? "C x H x W" : "vector");
    int oh = tout(in[0].d[1], a->kh, a->sh, a->ph, a->dh, a->oh), ow = tout(in[0].d[2], a->kw, a->sw, a->pw, a->dw, a->ow);
    if (oh < 1 || ow < 1)
        return pith_error(PITH_ESHAPE, "conv_transpose '%s': the padding leaves no output", nd->name);
    if (nd->n_params) {
        int ws[4] = {in[0].d[0], a->out / a->groups, a->kh, a->kw};
        int rc = check_param_shape(nd, 0, 4, ws);
        if (!rc && a->bias)
            rc = check_param_shape(nd, 1, 1, &a->out);
        if (rc)
            return rc;
    }
    *out = (pith_shape){3, {a->out, oh, ow}};
    return PITH_OK;
}

static int ct_init(pith_node *nd, const pith_shape *in, pith_rng *rng)
{
    const pith_attrs *a = &nd->a;
    int ws[4] = {in[0].d[0], a->out / a->groups, a->kh, a->kw};
    pith_param *w = pith_node_new_param(nd, "weight", 4, ws, 1);
    if (!w)
        return PITH_ENOMEM;
    float bound = 1.0f / sqrtf((float)(ws[1] * ws[2] * ws[3]));
    pith_fill_uniform(w->data, w->size, bound, rng);
    if (a->bias) {
        pith_param *b = pith_node_new_param(nd, "bias", 1, &a->out, 1);
        if (!b)
            return PITH_ENOMEM;
        pith_fill_uniform(b->data, b->size, bound, rng);
    }
    return PITH_OK;
}

static pithrt_geom geom_of(const pith_attrs *a)
{
    pithrt_geom g = {a->kh, a->kw, a->sh, a->sw, a->ph, a->pw, a->dh, a->dw, a->groups};
    return g;
}

static void ct_forward(pith_node *nd, const pith_ctx *c)
{
    const pith_shape *s = &c->in[0];
    const pithrt_geom g = geom_of(&nd->a);
    const float *w = pith_param_value(&nd->params[0]), *b = nd->a.bias ? pith_param_value(&nd->params[1]) : NULL;
    const size_t in = pith_shape_size(s), out = pith_shape_size(&nd->out);
    for (int n = 0; n < c->batch; n++)
        pithrt_conv_transpose_f32_ref(c->x[0] + n * in, s->d[0], s->d[1], s->d[2], w, b, nd->y + n * out,
                                      nd->out.d[0], nd->out.d[1], nd->out.d[2], &g);
}

static void ct_backward(pith_node *nd, const pith_ctx *c)
{
    const pith_shape *s = &c->in[0];
    const pith_attrs *a = &nd->a;
    const int C = s->d[0], H = s->d[1], W = s->d[2], OC = nd->out.d[0], OH = nd->out.d[1], OW = nd->out.d[2];
    const int cg = C / a->groups, og = OC / a->groups;
    const size_t in = pith_shape_size(s), out = pith_shape_size(&nd->out);
    const float *w = pith_param_value(&nd->params[0]);
    float *gw = nd->params[0].grad, *gb = a->bias ? nd->params[1].grad : NULL;
    for (int n = 0; n < c->batch; n++) {
        const float *x = c->x[0] + n * in, *dy = nd->dy + n * out;
        float *dx = c->dx[0] ? c->dx[0] + n * in : NULL;
        if (gb)
            for (int o = 0; o < OC; o++)
                for (int q = 0; q < OH * OW; q++)
                    gb[o] += dy[(size_t)o * OH * OW + q];
        for (int ci = 0; ci < C; ci++) {
            const int grp = ci / cg;
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    const float v = x[((size_t)ci * H + i) * W + j];
                    float acc = 0.0f;
                    for (int k = 0; k < og; k++) {
                        const int co = grp * og + k;
                        const size_t wo = ((size_t)ci * og + k) * a->kh * a->kw;
                        for (int u = 0; u < a->kh; u++) {
                            int yy = i * a->sh - a->ph + u * a->dh;
                            if (yy < 0 || yy >= OH)
                                continue;
                            for (int t = 0; t < a->kw; t++) {
                                int xx = j * a->sw - a->pw + t * a->dw;
                                if (xx < 0 || xx >= OW)
                                    continue;
                                float g = dy[((size_t)co * OH + yy) * OW + xx];
                                acc += w[wo + u * a->kw + t] * g;
                                if (gw)
                                    gw[wo + u * a->kw + t] += v * g;
                            }
                        }
                    }
                    if (dx)
                        dx[((size_t)ci * H + i) * W + j] += acc;
                }
        }
    }
}

static int64_t ct_macs(const pith_node *nd, const pith_shape *in)
{
    return (int64_t)pith_shape_size(&in[0]) * (nd->a.out / nd->a.groups) * nd->a.kh * nd->a.kw;
}

const pith_op pith_op_conv_transpose = {
    .name = "conv_transpose", .min_in = 1, .max_in = 1,
    .shape = ct_shape, .init = ct_init, .forward = ct_forward, .backward = ct_backward, .macs = ct_macs,
};
