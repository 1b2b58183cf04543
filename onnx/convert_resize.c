/* Resize (opset 10+) and Upsample (opsets 7 to 9): nearest or bilinear over
 * H and W with ONNX's coordinate transforms, scales or sizes folded to
 * constants. */
#include <math.h>
#include <string.h>

#include "../core/error.h"
#include "../runtime/kernels/resize_coord.h"
#include "importer.h"

/* Beyond this an output plane is surely a corrupt scale, and int arithmetic
 * on its size would overflow. */
#define RESIZE_MAX 65536

/* *out = size (already floored) if it lies in [1, RESIZE_MAX]; NaN does not. */
static int scaled_size(double size, int *out)
{
    if (!(size >= 1.0 && size <= RESIZE_MAX))
        return 0;
    *out = (int)size;
    return 1;
}

static int word(ox_importer *im, const char *what, const char *v, const char *const *names, int n)
{
    for (int k = 0; k < n; k++)
        if (strcmp(v, names[k]) == 0)
            return k;
    return ox_fail(im, PITH_EFORMAT, "%s '%s' is not supported", what, v);
}

int ox_resize(ox_importer *im, const Onnx__NodeProto *n)
{
    ox_value *x = ox_computed(im, n, 0, 4);
    if (!x)
        return PITH_EFORMAT;
    int xn = x->node;
    int64_t h = x->dims[2], w = x->dims[3];
    pith_attrs a = {0};
    static const char *modes[] = {"nearest", "linear"};
    static const char *coords[] = {"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"};
    static const char *rules[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const int legacy = strcmp(n->op_type, "Upsample") == 0 || im->opset < 11;
    if (strcmp(n->op_type, "Upsample") == 0 && im->opset < 7)
        return ox_fail(im, PITH_EFORMAT, "Upsample before opset 7 (width_scale / height_scale) is not supported");
    if ((a.rmode = word(im, "mode", ox_attr_string(n, "mode", "nearest"), modes, 2)) < 0)
        return a.rmode;
    if (legacy) { /* before opset 11: x / scale, nearest taking the floor */
        a.rcoord = PITHRT_COORD_ASYMMETRIC;
        a.rnearest = PITHRT_NEAREST_FLOOR;
    } else {
        if ((a.rcoord = word(im, "coordinate_transformation_mode",
                             ox_attr_string(n, "coordinate_transformation_mode", "half_pixel"), coords, 4)) < 0)
            return a.rcoord;
        if ((a.rnearest = word(im, "nearest_mode", ox_attr_string(n, "nearest_mode", "round_prefer_floor"), rules,
                               4)) < 0)
            return a.rnearest;
        if (ox_attr_int(n, "exclude_outside", 0))
            return ox_fail(im, PITH_EFORMAT, "exclude_outside = 1 is not supported");
        if (ox_attr(n, "antialias") && ox_attr_int(n, "antialias", 0))
            return ox_fail(im, PITH_EFORMAT, "antialias = 1 is not supported");
        if (ox_attr(n, "axes"))
            return ox_fail(im, PITH_EFORMAT, "the axes attribute is not supported");
    }
    /* scales: input 1 (Upsample, opset-10 Resize) or 2; sizes: input 3 */
    int si = legacy ? 1 : 2;
    ox_value *sc = ox_has_input(n, si) ? ox_input(im, n, si) : NULL;
    ox_value *sz = !legacy && ox_has_input(n, 3) ? ox_input(im, n, 3) : NULL;
    if (legacy && strcmp(n->op_type, "Upsample") == 0 && im->opset < 9) {
        float s[4] = {1, 1, 1, 1};
        const Onnx__AttributeProto *at = ox_attr(n, "scales");
        if (!at || at->n_floats != 4)
            return ox_fail(im, PITH_EFORMAT, "scales must be 4 floats");
        memcpy(s, at->floats, sizeof s);
        a.rsh = s[2], a.rsw = s[3];
        if (s[0] != 1.0f || s[1] != 1.0f)
            return ox_fail(im, PITH_EFORMAT, "scaling the batch or channels is not supported");
        if (!scaled_size(floorf((float)h * a.rsh), &a.oh) || !scaled_size(floorf((float)w * a.rsw), &a.ow))
            return ox_fail(im, PITH_EFORMAT, "scales %g, %g give an output size outside [1, %d]", s[2], s[3], RESIZE_MAX);
    } else if (sz && sz->n) {
        if (!sz->is_const || sz->n != 4)
            return ox_fail(im, PITH_EFORMAT, "sizes must fold to 4 constants");
        if (ox_geti(sz, 0) != 1 || ox_geti(sz, 1) != x->dims[1])
            return ox_fail(im, PITH_EFORMAT, "resizing the batch or channels is not supported");
        if (ox_geti(sz, 2) < 1 || ox_geti(sz, 2) > RESIZE_MAX || ox_geti(sz, 3) < 1 || ox_geti(sz, 3) > RESIZE_MAX)
            return ox_fail(im, PITH_EFORMAT, "sizes %lld x %lld outside [1, %d]", (long long)ox_geti(sz, 2),
                           (long long)ox_geti(sz, 3), RESIZE_MAX);
        a.oh = (int)ox_geti(sz, 2);
        a.ow = (int)ox_geti(sz, 3);
        a.rsh = (float)a.oh / (float)h;
        a.rsw = (float)a.ow / (float)w;
    } else if (sc && sc->n) {
        if (!sc->is_const || sc->n != 4)
            return ox_fail(im, PITH_EFORMAT, "scales must fold to 4 constants");
        if (ox_getf(sc, 0) != 1.0 || ox_getf(sc, 1) != 1.0)
            return ox_fail(im, PITH_EFORMAT, "scaling the batch or channels is not supported");
        a.rsh = (float)ox_getf(sc, 2);
        a.rsw = (float)ox_getf(sc, 3);
        if (!scaled_size(floor((double)h * a.rsh), &a.oh) || !scaled_size(floor((double)w * a.rsw), &a.ow))
            return ox_fail(im, PITH_EFORMAT, "scales %g, %g give an output size outside [1, %d]", ox_getf(sc, 2),
                           ox_getf(sc, 3), RESIZE_MAX);
    } else {
        return ox_fail(im, PITH_EFORMAT, "neither scales nor sizes are given");
    }
    int idx = ox_add(im, "resize", "", &a, &xn, 1);
    return idx < 0 ? idx : ox_define_node(im, n->output[0], idx, 4);
}
