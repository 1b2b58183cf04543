/* Pad over H and W (constant, reflect, edge), and the pad node a Conv with
 * asymmetric padding gets in front of it. */
#include <string.h>

#include "../core/error.h"
#include "../runtime/kernels/pad_index.h"
#include "importer.h"

/* A pad node on computed value node `xn`: top, left, bottom, right. */
int ox_pad_node(ox_importer *im, int xn, int top, int left, int bottom, int right, int mode, float value,
                const char *suffix)
{
    pith_attrs a = {0};
    a.ph = top, a.pw = left, a.ph_end = bottom, a.pw_end = right;
    a.rmode = mode;
    a.alpha = value;
    return ox_add(im, "pad", suffix, &a, &xn, 1);
}

int ox_pad(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_input(im, n, 0);
    if (!x)
        return PITH_EFORMAT;
    if (x->rank != 4)
        return ox_fail(im, PITH_EFORMAT, "Pad of a rank-%d value (N x C x H x W only)", x->rank);
    static const char *modes[] = {"constant", "reflect", "edge"};
    const char *mname = ox_attr_string(n, "mode", "constant");
    int mode = -1;
    for (int k = 0; k < 3; k++)
        if (!strcmp(mname, modes[k]))
            mode = k;
    if (mode < 0)
        return ox_fail(im, PITH_EFORMAT, "mode '%s' is not supported (constant, reflect, edge)", mname);
    int64_t pads[8];
    float value = 0.0f;
    if (im->opset < 11) {
        int np = ox_attr_ints(im, n, "pads", pads, 8);
        if (np != 8)
            return ox_fail(im, PITH_EFORMAT, "pads must hold 8 values");
        value = ox_attr_float(n, "value", 0.0f);
    } else {
        ox_value *p = ox_input(im, n, 1);
        if (!p)
            return PITH_EFORMAT;
        if (!p->is_const || p->n != 8)
            return ox_fail(im, PITH_EFORMAT, "pads must fold to 8 constants");
        if (ox_has_input(n, 3))
            return ox_fail(im, PITH_EFORMAT, "the axes input is not supported");
        for (int k = 0; k < 8; k++)
            pads[k] = ox_geti(p, (size_t)k);
        if (ox_has_input(n, 2)) {
            ox_value *v = ox_input(im, n, 2);
            if (!v || !v->is_const || v->n != 1)
                return v ? ox_fail(im, PITH_EFORMAT, "constant_value must be a constant scalar") : PITH_EFORMAT;
            value = (float)ox_getf(v, 0);
        }
    }
    if (pads[0] || pads[1] || pads[4] || pads[5])
        return ox_fail(im, PITH_EFORMAT, "padding the batch or the channels is not supported (H and W only)");
    for (int k = 0; k < 8; k++)
        if (pads[k] < 0 || pads[k] > 1024)
            return ox_fail(im, PITH_EFORMAT, "pad %lld (0 to 1024; negative pads crop, which is not supported)",
                           (long long)pads[k]);
    x = ox_get(im, n->input[0]);
    if (mode == PITHRT_PAD_REFLECT && (pads[2] >= x->dims[2] || pads[6] >= x->dims[2] || pads[3] >= x->dims[3] ||
                                       pads[7] >= x->dims[3]))
        return ox_fail(im, PITH_EFORMAT, "reflect padding must be smaller than the plane");
    if (x->is_const) { /* folded: each output position from its source (pad_index.h) */
        ox_value cx = *x;
        int64_t od[4] = {cx.dims[0], cx.dims[1], cx.dims[2] + pads[2] + pads[6], cx.dims[3] + pads[3] + pads[7]};
        ox_value *y = ox_define_const(im, n->output[0], cx.is_int, 4, od);
        if (!y)
            return PITH_EFORMAT;
        size_t q = 0;
        for (int64_t b = 0; b < od[0] * od[1]; b++)
            for (int64_t i = 0; i < od[2]; i++)
                for (int64_t j = 0; j < od[3]; j++, q++) {
                    int si = pithrt_pad_src((int)(i - pads[2]), (int)cx.dims[2], mode);
                    int sj = pithrt_pad_src((int)(j - pads[3]), (int)cx.dims[3], mode);
                    size_t src = ((size_t)b * (size_t)cx.dims[2] + (size_t)si) * (size_t)cx.dims[3] + (size_t)sj;
                    if (cx.is_int)
                        y->i[q] = si < 0 || sj < 0 ? ox_f2i(value) : cx.i[src];
                    else
                        y->f[q] = si < 0 || sj < 0 ? value : cx.f[src];
                }
        if (im->info)
            im->info->folded++;
        return PITH_OK;
    }
    int idx = ox_pad_node(im, x->node, (int)pads[2], (int)pads[3], (int)pads[6], (int)pads[7], mode, value, "");
    return idx < 0 ? idx : ox_define_node(im, n->output[0], idx, 4);
}
