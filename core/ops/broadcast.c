/* The broadcasting loop shared by broadcast_add, sub, mul and div.
 *
 * Shapes are padded to three dimensions (a vector of n is 1 x 1 x n); an
 * operand's stride is 0 along a dimension it broadcasts. Forward runs over
 * the batch x C x H output rows in parallel. Backward reduces each operand's
 * gradient over the dimensions it was broadcast along, so it runs one whole
 * sample per piece: pieces never write the same gradient element. */
#include "broadcast.h"

#include "../../runtime/kernels/binary_apply.h"

typedef struct bcast_geom {
    int d[3];              /* output dims */
    int sa[3], sb[3];      /* element strides of a and b (0: broadcast) */
    size_t na, nb, ny;     /* per-sample sizes */
} bcast_geom;

static void dims3(const pith_shape *s, int d[3])
{
    if (s->ndim == 3) {
        d[0] = s->d[0], d[1] = s->d[1], d[2] = s->d[2];
    } else {
        d[0] = 1, d[1] = 1, d[2] = s->d[0];
    }
}

static void geom(const pith_shape *a, const pith_shape *b, bcast_geom *g)
{
    int da[3], db[3];
    dims3(a, da);
    dims3(b, db);
    int ra = 1, rb = 1;
    for (int i = 2; i >= 0; i--) {
        g->d[i] = da[i] > db[i] ? da[i] : db[i];
        g->sa[i] = da[i] == 1 ? 0 : ra;
        g->sb[i] = db[i] == 1 ? 0 : rb;
        ra *= da[i];
        rb *= db[i];
    }
    g->na = (size_t)ra, g->nb = (size_t)rb;
    g->ny = (size_t)g->d[0] * g->d[1] * g->d[2];
}

int bcast_shape(const char *op, const pith_node *nd, const pith_shape *in, int n_in, pith_shape *out)
{
    (void)n_in;
    char sa[48], sb[48];
    pith_shape_format(&in[0], sa, sizeof sa);
    pith_shape_format(&in[1], sb, sizeof sb);
    if (in[0].ndim != in[1].ndim)
        return pith_error(PITH_ESHAPE, "%s '%s': inputs %s and %s differ in rank", op, nd->name, sa, sb);
    *out = in[0];
    for (int i = 0; i < in[0].ndim; i++) {
        int x = in[0].d[i], y = in[1].d[i];
        if (x != y && x != 1 && y != 1)
            return pith_error(PITH_ESHAPE, "%s '%s': inputs %s and %s do not broadcast", op, nd->name, sa, sb);
        out->d[i] = x > y ? x : y;
    }
    return PITH_OK;
}

/* bcast_kind's order is pithrt_binary's: the runtime's expressions */
static inline float apply(bcast_kind k, float a, float b) { return pithrt_binary_apply((int)k, a, b); }

typedef struct bcast_call {
    bcast_kind k;
    bcast_geom g;
    const float *a, *b, *dy;
    float *y, *da, *db;
    int ow_a, ow_b;
} bcast_call;

/* one output row (sample, c, h) per index */
static void forward_rows(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const bcast_call *p = arg;
    const bcast_geom *g = &p->g;
    for (size_t r = lo; r < hi; r++) {
        size_t s = r / ((size_t)g->d[0] * g->d[1]);
        int c = (int)(r / g->d[1] % g->d[0]), h = (int)(r % g->d[1]);
        const float *a = p->a + s * g->na + (size_t)c * g->sa[0] + (size_t)h * g->sa[1];
        const float *b = p->b + s * g->nb + (size_t)c * g->sb[0] + (size_t)h * g->sb[1];
        float *y = p->y + r * g->d[2];
        const int sa = g->sa[2], sb = g->sb[2];
        for (int w = 0; w < g->d[2]; w++)
            y[w] = apply(p->k, a[w * sa], b[w * sb]);
    }
}

void bcast_forward(bcast_kind k, pith_node *nd, const pith_ctx *c)
{
    bcast_call p = {.k = k, .a = c->x[0], .b = c->x[1], .y = nd->y};
    geom(&c->in[0], &c->in[1], &p.g);
    size_t rows = (size_t)c->batch * p.g.d[0] * p.g.d[1];
    pith_parallel_for(rows, p.g.d[2] >= PITH_GRAIN ? 1 : PITH_GRAIN / p.g.d[2], forward_rows, &p);
}

/* one sample per index */
static void backward_samples(void *arg, size_t lo, size_t hi, int thread)
{
    (void)thread;
    const bcast_call *p = arg;
    const bcast_geom *g = &p->g;
    for (size_t s = lo; s < hi; s++) {
        const float *a = p->a + s * g->na, *b = p->b + s * g->nb, *dy = p->dy + s * g->ny;
        float *da = p->da ? p->da + s * g->na : NULL, *db = p->db ? p->db + s * g->nb : NULL;
        if (da && p->ow_a)
            memset(da, 0, g->na * sizeof(float));
        if (db && p->ow_b)
            memset(db, 0, g->nb * sizeof(float));
        size_t o = 0;
        for (int c = 0; c < g->d[0]; c++)
            for (int h = 0; h < g->d[1]; h++)
                for (int w = 0; w < g->d[2]; w++, o++) {
                    size_t ia = (size_t)c * g->sa[0] + (size_t)h * g->sa[1] + (size_t)w * g->sa[2];
                    size_t ib = (size_t)c * g->sb[0] + (size_t)h * g->sb[1] + (size_t)w * g->sb[2];
                    float d = dy[o], x = a[ia], z = b[ib];
                    switch (p->k) {
                    case BCAST_ADD:
                        if (da) da[ia] += d;
                        if (db) db[ib] += d;
                        break;
                    case BCAST_SUB:
                        if (da) da[ia] += d;
                        if (db) db[ib] -= d;
                        break;
                    case BCAST_MUL:
                        if (da) da[ia] += d * z;
                        if (db) db[ib] += d * x;
                        break;
                    case BCAST_DIV:
                        if (da) da[ia] += d / z;
                        if (db) db[ib] -= d * x / (z * z);
                        break;
                    }
                }
    }
}

void bcast_backward(bcast_kind k, pith_node *nd, const pith_ctx *c)
{
    if (!c->dx[0] && !c->dx[1])
        return;
    bcast_call p = {.k = k, .a = c->x[0], .b = c->x[1], .dy = nd->dy, .da = c->dx[0], .db = c->dx[1],
                    .ow_a = c->dx_overwrite[0], .ow_b = c->dx_overwrite[1]};
    geom(&c->in[0], &c->in[1], &p.g);
    pith_parallel_for((size_t)c->batch, 1, backward_samples, &p);
}
