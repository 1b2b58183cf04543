/* Small models and data for the quantization tests (test_qpass, test_qmodel). */
#ifndef PITH_TESTS_QUANT_FIXTURES_H
#define PITH_TESTS_QUANT_FIXTURES_H

#include <stdlib.h>

#include "../core/dataset.h"
#include "../core/graph.h"
#include "testutil.h"

static inline pith_shape feat(int n) { return (pith_shape){1, {n, 0, 0}}; }
static inline pith_shape chw(int c, int h, int w) { return (pith_shape){3, {c, h, w}}; }

/* A dataset of n random samples of shape c x h x w (labels 0). */
static inline pith_dataset random_data(int n, int c, int h, int w, uint64_t seed)
{
    pith_dataset ds = {0};
    ds.n = n;
    ds.c = c;
    ds.h = h;
    ds.w = w;
    ds.classes = 2;
    ds.x = malloc((size_t)n * c * h * w * sizeof(float));
    ds.y = calloc((size_t)n, sizeof(int));
    tu_fill(ds.x, (size_t)n * c * h * w, -1.0f, 1.0f, seed);
    return ds;
}

static inline int add_fq(pith_graph *g, int in, int bits, int sym, int lsq)
{
    pith_attrs a = {0};
    a.qbits = bits;
    a.qsym = sym;
    a.qsigned = sym;
    a.qlsq = lsq;
    a.qmode = 1;
    int inputs[1] = {in};
    return pith_graph_add(g, "fake_quant", "fq", &a, inputs, 1);
}

static inline pith_graph *linear_model(int in, int out, int bias, uint64_t seed)
{
    pith_graph *g;
    if (pith_graph_create(&g, feat(in), seed))
        return NULL;
    pith_attrs a = {0};
    a.out = out;
    a.bias = bias;
    int inputs[1] = {0};
    if (pith_graph_add(g, "linear", "fc", &a, inputs, 1) < 0)
        return NULL;
    return g;
}

#endif
