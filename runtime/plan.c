/* The memory planner: every activation gets an offset in one arena from its
 * lifetime (the ops between the one that writes it and the last that reads
 * it). Largest first, each at the lowest offset that no overlapping-lifetime
 * tensor occupies (TFLite Micro's and XNNPACK's greedy-by-size). A reshape
 * is a view of its input, and an elementwise op whose input dies there writes
 * over it (in place), so those share one storage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kernels/kernels.h"

typedef struct live {
    int root;
    int first, last;     /* op steps; the input is written at step -1 */
    size_t bytes;
    size_t offset;
} live;

static size_t align_up(size_t v) { return (v + PITHRT_ARENA_ALIGN - 1) / PITHRT_ARENA_ALIGN * PITHRT_ARENA_ALIGN; }

static int by_size(const void *a, const void *b)
{
    const live *x = *(live *const *)a, *y = *(live *const *)b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->first - y->first;
}

int pithrt_plan(pithrt_model *m)
{
    const int nt = m->n_tensors, no = m->n_ops;
    int *root = calloc((size_t)nt, sizeof(int)), *last_use = calloc((size_t)nt, sizeof(int));
    live *lv = calloc((size_t)nt, sizeof *lv);
    live **sorted = malloc(sizeof(live *) * nt);
    if (!root || !last_use || !lv || !sorted) {
        free(root);
        free(last_use);
        free(lv);
        free(sorted);
        snprintf(m->msg, sizeof m->msg, "no memory for the memory plan");
        return PITHRT_ENOMEM;
    }
    for (int t = 0; t < nt; t++) {
        root[t] = t;
        last_use[t] = -2;
    }
    for (int k = 0; k < no; k++)
        for (int i = 0; i < m->ops[k].n_in; i++)
            last_use[m->ops[k].in[i]] = k;
    last_use[m->output] = no; /* read after the run */
    /* aliases: reshape always; an in-place op when its input (and everything
     * sharing that storage) is read last here and has the output's size */
    for (int k = 0; k < no; k++) {
        const pithrt_op *o = &m->ops[k];
        int in = o->in[0], r = root[in];
        const pithrt_tensor *x = &m->tensors[in], *y = &m->tensors[o->out];
        size_t xb = pithrt_dtype_bytes(x->dtype, pithrt_tensor_elems(x));
        size_t yb = pithrt_dtype_bytes(y->dtype, pithrt_tensor_elems(y));
        int alias = o->type == PITHRT_OP_RESHAPE;
        if (!alias && pithrt_op_inplace(o) && xb == yb && r != root[m->input]) {
            int dies = 1;
            for (int t = 0; t < nt; t++)
                if (root[t] == r && last_use[t] > k)
                    dies = 0;
            alias = dies;
        }
        if (alias)
            root[o->out] = r;
    }
    /* lifetimes per storage */
    for (int t = 0; t < nt; t++) {
        lv[t].root = t;
        lv[t].first = no + 1;
        lv[t].last = -2;
    }
    for (int t = 0; t < nt; t++) {
        if (m->tensors[t].is_const)
            continue;
        live *l = &lv[root[t]];
        size_t b = pithrt_dtype_bytes(m->tensors[t].dtype, pithrt_tensor_elems(&m->tensors[t]));
        l->bytes = b > l->bytes ? b : l->bytes;
        if (last_use[t] > l->last)
            l->last = last_use[t];
    }
    lv[root[m->input]].first = -1;
    for (int k = 0; k < no; k++) {
        live *l = &lv[root[m->ops[k].out]];
        if (k < l->first)
            l->first = k;
        if (k > l->last)
            l->last = k; /* written and never read: lives during its op */
    }
    int n = 0;
    for (int t = 0; t < nt; t++)
        if (!m->tensors[t].is_const && root[t] == t && lv[t].bytes)
            sorted[n++] = &lv[t];
    qsort(sorted, (size_t)n, sizeof *sorted, by_size);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        live *a = sorted[i];
        size_t off = 0;
        /* first fit below every placed overlapping tensor, scanning upward */
        for (int again = 1; again;) {
            again = 0;
            for (int j = 0; j < i; j++) {
                live *b = sorted[j];
                if (b->last < a->first || a->last < b->first)
                    continue;
                if (off < b->offset + align_up(b->bytes) && b->offset < off + align_up(a->bytes)) {
                    off = b->offset + align_up(b->bytes);
                    again = 1;
                }
            }
        }
        a->offset = off;
        if (off + align_up(a->bytes) > total)
            total = off + align_up(a->bytes);
    }
    /* the lower bound: the most bytes live at once */
    size_t bound = 0;
    for (int k = -1; k <= no; k++) {
        size_t s = 0;
        for (int i = 0; i < n; i++)
            if (sorted[i]->first <= k && k <= sorted[i]->last)
                s += sorted[i]->bytes;
        bound = s > bound ? s : bound;
    }
    for (int t = 0; t < nt; t++)
        m->act_offset[t] = m->tensors[t].is_const ? 0 : (uint32_t)lv[root[t]].offset;
    m->act_bytes = total;
    m->lower_bound = bound;
    /* scratch: one weight row for the int8 layers (per thread) */
    size_t scratch = 0;
    for (int k = 0; k < no; k++) {
        const pithrt_op *o = &m->ops[k];
        if ((o->type == PITHRT_OP_CONV2D || o->type == PITHRT_OP_FC) && m->tensors[o->out].dtype == PITHRT_S8) {
            const pithrt_tensor *w = &m->tensors[o->weight], *x = &m->tensors[o->in[0]], *y = &m->tensors[o->out];
            size_t need = pithrt_tensor_elems(w) / (size_t)w->dims[0];
            if (o->type == PITHRT_OP_CONV2D)
                need = pithrt_conv2d_s8_scratch(x->dims[0], o->groups, o->kh, o->kw, y->dims[1], y->dims[2]);
            scratch = need > scratch ? need : scratch;
        }
        if ((o->type == PITHRT_OP_CONV2D || o->type == PITHRT_OP_FC) && m->tensors[o->out].dtype == PITHRT_F32 &&
            m->tensors[o->weight].dtype != PITHRT_F32) {
            const pithrt_tensor *w = &m->tensors[o->weight];
            size_t need = pithrt_tensor_elems(w) / (size_t)w->dims[0] * sizeof(float);
            scratch = need > scratch ? need : scratch;
        }
    }
    m->scratch_bytes = align_up(scratch);
    free(root);
    free(last_use);
    free(lv);
    free(sorted);
    return total > 0xFFFFFFFFu ? PITHRT_EFORMAT : PITHRT_OK;
}
