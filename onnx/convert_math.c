/* Add, Sub, Mul, Div with numpy broadcasting. Two constants fold at import
 * (shape arithmetic); a computed value and a constant become a constant node
 * and a broadcasting op; two computed values of one shape added are pith's
 * add (the residual connection the runtime fuses). */
#include <string.h>

#include "../core/error.h"
#include "importer.h"

typedef enum { MATH_ADD, MATH_SUB, MATH_MUL, MATH_DIV } math_kind;

static double apply(math_kind k, double a, double b)
{
    switch (k) {
    case MATH_ADD: return a + b;
    case MATH_SUB: return a - b;
    case MATH_MUL: return a * b;
    default: return a / b;
    }
}

/* numpy broadcasting of two shapes into out (rank = the larger); -1 if they do not broadcast */
int ox_broadcast_shape(const ox_value *a, const ox_value *b, int64_t *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int k = 0; k < r; k++) {
        int ia = k - (r - a->rank), ib = k - (r - b->rank);
        int64_t x = ia >= 0 ? a->dims[ia] : 1, y = ib >= 0 ? b->dims[ib] : 1;
        if (x != y && x != 1 && y != 1)
            return -1;
        out[k] = x == 1 ? y : x;
    }
    return r;
}

/* the flat index into v of output position idx (out dims od, rank r) */
static size_t source_index(const ox_value *v, const int64_t *pos, int r)
{
    size_t off = 0;
    for (int k = 0; k < v->rank; k++) {
        int64_t p = pos[k + r - v->rank];
        off = off * (size_t)v->dims[k] + (size_t)(v->dims[k] == 1 ? 0 : p);
    }
    return off;
}

static int fold(ox_importer *im, const Onnx__NodeProto *n, math_kind k, const ox_value *a, const ox_value *b)
{
    int64_t od[OX_MAX_RANK];
    int r = ox_broadcast_shape(a, b, od);
    if (r < 0)
        return ox_fail(im, PITH_ESHAPE, "constants '%s' and '%s' do not broadcast", a->name, b->name);
    int is_int = a->is_int && b->is_int;
    ox_value ca = *a, cb = *b; /* the table may move */
    ox_value *y = ox_define_const(im, n->output[0], is_int, r, od);
    if (!y)
        return PITH_EFORMAT;
    int64_t pos[OX_MAX_RANK] = {0};
    for (size_t q = 0; q < y->n; q++) {
        const size_t sa = source_index(&ca, pos, r), sb = source_index(&cb, pos, r);
        if (is_int) {
            int64_t ia = ox_geti(&ca, sa), ib = ox_geti(&cb, sb);
            if (k == MATH_DIV && ib == 0)
                return ox_fail(im, PITH_EFORMAT, "integer division by zero while folding");
            int64_t iy = 0;
            int over = k == MATH_ADD ? __builtin_add_overflow(ia, ib, &iy)
                     : k == MATH_SUB ? __builtin_sub_overflow(ia, ib, &iy)
                     : k == MATH_MUL ? __builtin_mul_overflow(ia, ib, &iy)
                     : (ia == INT64_MIN && ib == -1) || (iy = ia / ib, 0);
            if (over)
                return ox_fail(im, PITH_EFORMAT, "integer overflow while folding (%lld and %lld)", (long long)ia,
                               (long long)ib);
            y->i[q] = iy;
        } else {
            y->f[q] = (float)apply(k, ox_getf(&ca, sa), ox_getf(&cb, sb));
        }
        ox_next_index(pos, od, r);
    }
    if (im->info)
        im->info->folded++;
    return PITH_OK;
}

static int math(ox_importer *im, const Onnx__NodeProto *n, math_kind k)
{
    static const char *ops[] = {"broadcast_add", "sub", "mul", "div"};
    ox_value *a = ox_input(im, n, 0), *b = a ? ox_input(im, n, 1) : NULL;
    if (!b)
        return PITH_EFORMAT;
    if (ox_attr(n, "broadcast") || ox_attr(n, "axis"))
        return ox_fail(im, PITH_EFORMAT, "the broadcast / axis attributes of opsets before 7 are not supported");
    if (a->is_const && b->is_const)
        return fold(im, n, k, a, b);
    int rank = a->is_const ? b->rank : a->rank;
    int in[2];
    int64_t od[OX_MAX_RANK];
    if (ox_broadcast_shape(a, b, od) != rank)
        return ox_fail(im, PITH_ESHAPE, "operands '%s' and '%s' broadcast to a rank above the computed value's",
                       a->name, b->name);
    for (int q = 0; q < 2; q++) {
        ox_value *v = q ? b : a;
        if (!v->is_const) {
            if (v->rank != rank)
                return ox_fail(im, PITH_ESHAPE, "computed operands of ranks %d and %d", a->rank, b->rank);
            in[q] = v->node;
        }
    }
    for (int q = 0; q < 2; q++) {
        ox_value *v = q ? ox_get(im, n->input[1]) : ox_get(im, n->input[0]);
        if (v->is_const && (in[q] = ox_const_node(im, v, rank, q ? ".b" : ".a")) < 0)
            return in[q];
    }
    const pith_graph *g = im->g;
    int same = pith_shape_equal(&g->nodes[in[0]].out, &g->nodes[in[1]].out);
    const char *op = k == MATH_ADD && same && !a->is_const && !b->is_const ? "add" : ops[k];
    int idx = ox_add(im, op, "", &(pith_attrs){0}, in, 2);
    return idx < 0 ? idx : ox_define_node(im, n->output[0], idx, rank);
}

int ox_add_op(ox_importer *im, const Onnx__NodeProto *n) { return math(im, n, MATH_ADD); }
int ox_sub(ox_importer *im, const Onnx__NodeProto *n) { return math(im, n, MATH_SUB); }
int ox_mul(ox_importer *im, const Onnx__NodeProto *n) { return math(im, n, MATH_MUL); }
int ox_div(ox_importer *im, const Onnx__NodeProto *n) { return math(im, n, MATH_DIV); }
