/* Lowering a graph to the runtime's ops (see export.h for what becomes what). */
#include "export.h"

#include "lower.h"

static int run_once(pith_graph *g, const float *x)
{
    int rc = pith_graph_compile(g, 1);
    if (rc)
        return rc;
    pith_graph_set_training(g, 0);
    size_t n = pith_shape_size(&g->input_shape);
    float *in = pith_graph_input(g);
    if (x)
        memcpy(in, x, n * sizeof *in);
    else
        memset(in, 0, n * sizeof *in);
    return pith_graph_forward(g, 1);
}

int pith_export(pith_graph *g, const pith_export_opts *opt, uint8_t **buf, size_t *len, pith_export_report *rep)
{
    *buf = NULL;
    *len = 0;
    memset(rep, 0, sizeof *rep);
    int rc = run_once(g, opt ? opt->golden_in : NULL);
    if (rc)
        return rc;
    pithrt_writer b;
    pithrt_writer_init(&b);
    lower L = {g, &b, calloc((size_t)g->n_nodes, sizeof(value)), calloc((size_t)g->n_nodes, 1), 0, 0};
    if (!L.val || !L.done) {
        rc = pith_error(PITH_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < g->n_nodes; i++)
        L.val[i].t = L.val[i].f32 = -1;
    pithrt_tensor it;
    memset(&it, 0, sizeof it);
    it.dtype = PITHRT_F32;
    it.ndim = (uint8_t)ex_dims_of(&g->input_shape, it.dims);
    L.val[0].t = pithrt_writer_tensor(&b, &it, "input");
    int input = L.val[0].t;
    for (int k = 0; k < g->n_order && !rc; k++) {
        int i = g->order[k];
        if (i == 0 || L.done[i])
            continue;
        pith_node *n = &g->nodes[i];
        int handled = 0;
        if ((n->op == &pith_op_conv2d) || (n->op == &pith_op_linear)) {
            rc = ex_lower_layer_s8(&L, i, &handled);
            if (!rc && !handled)
                rc = ex_lower_layer_f32(&L, i);
        } else {
            if (n->op == &pith_op_conv_transpose)
                rc = ex_lower_layer_s8(&L, i, &handled);
            if (!rc && !handled)
                rc = ex_lower_imported(&L, i, &handled);
            if (!rc && !handled)
                rc = ex_lower_other(&L, i);
        }
    }
    if (!rc && L.val[g->output].t < 0)
        rc = pith_error(PITH_ESTATE, "export: the output node was not lowered");
    if (!rc) {
        pithrt_writer_meta m;
        memset(&m, 0, sizeof m);
        m.input = input;
        m.output = L.val[g->output].t;
        if (opt) {
            m.norm_channels = opt->norm_channels;
            memcpy(m.mean, opt->mean, sizeof m.mean);
            memcpy(m.std, opt->std, sizeof m.std);
            m.labels = opt->labels;
            m.n_labels = opt->n_labels;
            m.pre = opt->pre;
        }
        m.golden_in = m.golden_out = -1;
        if (opt && opt->golden_in) {
            int32_t d[1] = {(int32_t)pith_shape_size(&g->input_shape)};
            int32_t e[1] = {(int32_t)pith_shape_size(&g->nodes[g->output].out)};
            m.golden_in = pithrt_writer_const(&b, "golden.input", PITHRT_F32, d, 1, opt->golden_in);
            m.golden_out = pithrt_writer_const(&b, "golden.output", PITHRT_F32, e, 1, pith_graph_output(g));
            rep->golden = 1;
            if (m.golden_in < 0 || m.golden_out < 0)
                rc = m.golden_in < 0 ? m.golden_in : m.golden_out;
        }
        if (!rc)
            rc = pithrt_writer_finish(&b, &m, buf, len);
    }
    if (!rc) {
        rep->ops = b.n_ops;
        rep->tensors = b.n_tensors;
        rep->int8_layers = L.int8_layers;
        rep->float_layers = L.float_layers;
        rep->weight_bytes = b.blob_len;
        rep->file_bytes = *len;
    }
out:
    /* the writer's failures carry runtime statuses and keep their own message */
    if (rc < 0 && b.msg[0])
        rc = pith_error(rc == PITHRT_ENOMEM ? PITH_ENOMEM : PITH_EINVAL, "export: %s", b.msg);
    free(L.val);
    free(L.done);
    pithrt_writer_free(&b);
    return rc;
}

int pith_export_file(pith_graph *g, const pith_export_opts *o, const char *path, pith_export_report *rep)
{
    uint8_t *buf;
    size_t len;
    int rc = pith_export(g, o, &buf, &len, rep);
    if (rc)
        return rc;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(buf, 1, len, f) == len;
    ok = f && fclose(f) == 0 && ok;
    free(buf);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return pith_error(PITH_EIO, "%s: cannot write", path);
    }
    return PITH_OK;
}
