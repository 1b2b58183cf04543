/* Quantizer state made elsewhere (an imported QDQ model's scales and zero
 * points) loaded into a graph pith_quant_apply has just quantized, in place
 * of calibration: each activation quantizer takes the state of the tensor it
 * quantizes, each layer's weight quantizer the file's weight scales. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/error.h"
#include "../core/ops/ops.h"
#include "quant.h"

static const pith_qstate *find_state(const pith_qstate *st, int n, const char *node, int weights)
{
    for (int k = 0; k < n; k++)
        if (st[k].weights == weights && !strcmp(st[k].node, node))
            return &st[k];
    return NULL;
}

/* The state of fake_quant f's tensor: on the node it reads, on a relu it
 * folded (which still reads that node), or on a view after it (flatten,
 * dropout: the file may quantize there). */
static const pith_qstate *fq_state(const pith_graph *g, const pith_node *f, int fi, const pith_qstate *st, int n)
{
    int src = f->in[0];
    const pith_qstate *s = find_state(st, n, g->nodes[src].name, 0);
    for (int i = 0; !s && f->a.qrelu && i < g->n_nodes; i++) {
        const pith_node *r = &g->nodes[i];
        if ((r->op == &pith_op_relu || r->op == &pith_op_relu6) && r->n_in == 1 && r->in[0] == src)
            s = find_state(st, n, r->name, 0);
    }
    for (int i = 0; !s && i < g->n_nodes; i++) {
        const pith_node *v = &g->nodes[i];
        if ((v->op == &pith_op_flatten || v->op == &pith_op_dropout) && v->n_in == 1 && v->in[0] == fi)
            s = find_state(st, n, v->name, 0);
    }
    return s;
}

int pith_quant_set_state(pith_graph *g, const pith_qstate *st, int n)
{
    int rc = pith_graph_sort(g);
    for (int k = 0; k < g->n_order && !rc; k++) {
        int i = g->order[k];
        pith_node *nd = &g->nodes[i];
        if (nd->op == &pith_op_fake_quant) {
            const pith_qstate *s = fq_state(g, nd, i, st, n);
            if (!s)
                return pith_error(PITH_EINVAL, "'%s': pith quantizes the output of '%s' here, and the model holds "
                                  "no quantization parameters for it", nd->name, g->nodes[nd->in[0]].name);
            pith_qspec spec = pith_fq_spec(nd);
            int32_t qmin, qmax;
            pith_qspec_limits(&spec, &qmin, &qmax);
            if (s->zero_point < qmin || s->zero_point > qmax || !(s->scale[0] > 0.0f))
                return pith_error(PITH_EINVAL, "'%s': zero point %d outside [%d, %d] or scale %g", nd->name,
                                  s->zero_point, qmin, qmax, (double)s->scale[0]);
            pith_node_param(nd, "scale")->data[0] = s->scale[0];
            pith_node_param(nd, "zero_point")->data[0] = (float)s->zero_point;
            pith_node_param(nd, "lo")->data[0] = (float)(qmin - s->zero_point) * s->scale[0];
            pith_node_param(nd, "hi")->data[0] = (float)(qmax - s->zero_point) * s->scale[0];
        } else if (nd->a.wq == PITH_WQ_UNIFORM) {
            const pith_qstate *s = find_state(st, n, nd->name, 1);
            if (!s)
                continue; /* float weights in the file: pith's own scales stand */
            pith_param *ws = pith_node_param(nd, "w_scale"), *wz = pith_node_param(nd, "w_zp");
            if (!ws || !wz || !nd->a.wsym || (s->n != 1 && (size_t)s->n != ws->size))
                return pith_error(PITH_EINVAL, "'%s': %d weight scales for a quantizer of %zu", nd->name, s->n,
                                  ws ? ws->size : 0);
            for (size_t c = 0; c < ws->size; c++) {
                ws->data[c] = s->scale[s->n == 1 ? 0 : c];
                wz->data[c] = 0.0f;
            }
        }
    }
    return rc ? rc : pith_quant_enable(g, NULL, 1, 1);
}
