#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static double objective(pith_graph *g, int batch, const double *r, size_t n, int *rc)
{
    *rc = pith_graph_forward(g, batch);
    const float *y = pith_graph_output(g);
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += r[i] * (double)y[i];
    return s;
}

/* Compares d objective / d v[idx] with analytic[idx] for sampled idx. */
static int check_tensor(pith_graph *g, int batch, const double *r, size_t n_out, float *v,
                        const float *analytic, size_t size, const char *what, double h, double atol,
                        double rtol, int max_n, pith_gradcheck_result *res)
{
    size_t stride = size > (size_t)max_n ? size / (size_t)max_n : 1;
    int rc = 0;
    for (size_t i = 0; i < size; i += stride) {
        float orig = v[i];
        v[i] = orig + (float)h;
        double fp = objective(g, batch, r, n_out, &rc);
        v[i] = orig - (float)h;
        double fm = objective(g, batch, r, n_out, &rc);
        v[i] = orig;
        double f0 = objective(g, batch, r, n_out, &rc);
        if (rc)
            return rc;
        /* the step actually taken, after rounding to float */
        double hp = (double)(orig + (float)h) - orig, hm = orig - (double)(orig - (float)h);
        double num = (fp - fm) / (hp + hm);
        double fwd = (fp - f0) / hp, bwd = (f0 - fm) / hm;
        double scale = atol + rtol * fabs(num);
        if (fabs(fwd - bwd) > 4.0 * scale + 0.05 * (fabs(fwd) + fabs(bwd))) {
            res->skipped++;
            continue;
        }
        double err = fabs((double)analytic[i] - num) / scale;
        res->checked++;
        if (err > 1.0)
            res->failed++;
        if (err > res->max_err) {
            res->max_err = err;
            snprintf(res->worst, sizeof res->worst, "%s[%zu]: analytic %.6g, numeric %.6g", what, i,
                     (double)analytic[i], num);
        }
    }
    return PITH_OK;
}

int pith_gradcheck(pith_graph *g, int batch, double h, double atol, double rtol,
                   int max_per_tensor, uint64_t seed, pith_gradcheck_result *res)
{
    memset(res, 0, sizeof *res);
    if (!g->batch || !g->input_grad)
        return pith_error(PITH_ESTATE, "gradcheck: compile the graph with input_grad set");
    const size_t n_out = pith_shape_size(pith_graph_output_shape(g)) * (size_t)batch;
    const size_t n_in = pith_shape_size(&g->input_shape) * (size_t)batch;
    double *r = malloc(n_out * sizeof *r);
    float *gin = malloc(n_in * sizeof *gin);
    size_t total = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_params; j++)
            if (g->nodes[i].params[j].trainable)
                total += g->nodes[i].params[j].size;
    float *gp = malloc((total + 1) * sizeof *gp);
    if (!r || !gin || !gp) {
        free(r);
        free(gin);
        free(gp);
        return pith_error(PITH_ENOMEM, "gradcheck: out of memory");
    }
    pith_rng rng;
    pith_rng_seed(&rng, seed);
    for (size_t i = 0; i < n_out; i++)
        r[i] = 2.0 * pith_rng_uniform(&rng) - 1.0;

    /* analytic gradients */
    int rc = pith_graph_forward(g, batch);
    if (!rc) {
        float *dy = pith_graph_output_grad(g);
        for (size_t i = 0; i < n_out; i++)
            dy[i] = (float)r[i];
        pith_graph_zero_grad(g);
        rc = pith_graph_backward(g, batch);
    }
    if (!rc) {
        memcpy(gin, pith_graph_input_grad(g), n_in * sizeof *gin);
        size_t o = 0;
        for (int i = 0; i < g->n_nodes; i++)
            for (int j = 0; j < g->nodes[i].n_params; j++) {
                pith_param *p = &g->nodes[i].params[j];
                if (p->trainable) {
                    memcpy(gp + o, p->grad, p->size * sizeof *gp);
                    o += p->size;
                }
            }
    }
    if (!rc)
        rc = check_tensor(g, batch, r, n_out, pith_graph_input(g), gin, n_in, "input", h, atol, rtol,
                          max_per_tensor, res);
    size_t o = 0;
    for (int i = 0; i < g->n_nodes && !rc; i++)
        for (int j = 0; j < g->nodes[i].n_params && !rc; j++) {
            pith_param *p = &g->nodes[i].params[j];
            if (!p->trainable)
                continue;
            char what[96];
            snprintf(what, sizeof what, "%s.%s", g->nodes[i].name, p->name);
            rc = check_tensor(g, batch, r, n_out, p->data, gp + o, p->size, what, h, atol, rtol,
                              max_per_tensor, res);
            o += p->size;
        }
    free(r);
    free(gin);
    free(gp);
    return rc;
}
