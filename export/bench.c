#include "bench.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* Under ASan and TSan the sanitizer's allocator serves malloc, and keeps its
 * own count (declared here: GCC installs no header for it). */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
/* Heap bytes in use: malloc'd blocks plus mmap'd ones (big files, arenas). */
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}
#endif

int pith_rt_open(const char *path, int threads, const char *isa, pith_rt *r)
{
    memset(r, 0, sizeof *r);
    size_t before = heap_in_use();
    char msg[256];
    if (pithrt_file_read(path, &r->file, &r->file_bytes, msg, sizeof msg))
        return pith_error(PITH_EIO, "%s", msg);
    if (pithrt_model_load_isa(r->file, r->file_bytes, isa, &r->m)) {
        int rc = pith_error(PITH_EFORMAT, "%s: %s", path, pithrt_model_error(&r->m));
        free(r->file);
        memset(r, 0, sizeof *r);
        return rc;
    }
    size_t bytes = pithrt_arena_bytes(&r->m, threads);
    r->arena = malloc(bytes);
    if (!r->arena || pithrt_ctx_init(&r->c, &r->m, r->arena, bytes, threads)) {
        int rc = pith_error(PITH_ENOMEM, "%s: %s", path, r->arena ? pithrt_ctx_error(&r->c) : "no memory for the arena");
        pithrt_model_free(&r->m);
        free(r->file);
        free(r->arena);
        memset(r, 0, sizeof *r);
        return rc;
    }
    size_t after = heap_in_use();
    r->heap_bytes = after > before ? after - before : 0;
    return PITH_OK;
}

void pith_rt_close(pith_rt *r)
{
    pithrt_ctx_free(&r->c);
    pithrt_model_free(&r->m);
    free(r->arena);
    free(r->file);
    memset(r, 0, sizeof *r);
}

static int64_t tensor_elems(const pithrt_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->dims[i];
    return n;
}

static int64_t activation_bytes(const pithrt_tensor *t)
{
    return tensor_elems(t) * (t->dtype == PITHRT_S8 ? 1 : 4);
}

void pith_energy_estimate(const pithrt_model *m, pith_energy *e)
{
    memset(e, 0, sizeof *e);
    for (int k = 0; k < m->n_ops; k++) {
        const pithrt_op *o = &m->ops[k];
        int64_t macs = pithrt_op_macs(m, k);
        if (macs && m->tensors[o->in[0]].dtype == PITHRT_S8)
            e->int8_macs += macs;
        else
            e->f32_macs += macs;
        /* a reshape is a view: nothing moves */
        if (o->type == PITHRT_OP_RESHAPE)
            continue;
        for (int i = 0; i < o->n_in && i < 4; i++) /* in[i] < 0: unused slot */
            if (o->in[i] >= 0 && !m->tensors[o->in[i]].is_const)
                e->sram_bytes += activation_bytes(&m->tensors[o->in[i]]);
        e->sram_bytes += activation_bytes(&m->tensors[o->out]);
    }
    /* the constants the ops read (not the golden vectors a file may carry) */
    unsigned char *seen = calloc((size_t)m->n_tensors, 1);
    for (int k = 0; seen && k < m->n_ops; k++) {
        const pithrt_op *o = &m->ops[k];
        int32_t refs[8] = {o->weight, o->bias, o->requant, o->aux, o->in[0], o->in[1], o->in[2], o->in[3]};
        for (int r = 0; r < 8; r++)
            if (refs[r] >= 0 && refs[r] < m->n_tensors && m->tensors[refs[r]].is_const && !seen[refs[r]]) {
                seen[refs[r]] = 1;
                e->dram_bytes += m->tensors[refs[r]].bytes;
            }
    }
    if (!seen)
        e->dram_bytes = m->blob_size;
    free(seen);
    e->mac_uj = (e->int8_macs * PITH_PJ_MAC_INT8 + e->f32_macs * PITH_PJ_MAC_F32) * 1e-6;
    e->dram_uj = e->dram_bytes * PITH_PJ_DRAM_BYTE * 1e-6;
    e->sram_uj = e->sram_bytes * PITH_PJ_SRAM_BYTE * 1e-6;
    e->total_uj = e->mac_uj + e->dram_uj + e->sram_uj;
}

int pith_bench_rt(pith_rt *r, int warmup, int runs, pith_bench_result *out)
{
    memset(out, 0, sizeof *out);
    size_t nin = pithrt_input_size(&r->m);
    double *t = malloc(sizeof *t * (size_t)(runs > 0 ? runs : 1));
    float *x = malloc(nin * sizeof *x);
    if (!t || !x) {
        free(t);
        free(x);
        return pith_error(PITH_ENOMEM, "out of memory for the benchmark");
    }
    uint32_t lcg = 12345;
    for (size_t i = 0; i < nin; i++) {
        lcg = lcg * 1103515245u + 12345u;
        x[i] = (float)(lcg / 2147483648.0 - 1.0);
    }
    int rc = pithrt_set_input_f32(&r->c, x, nin);
    free(x);
    if (!rc)
        rc = pithrt_bench(&r->c, warmup, runs, t);
    if (rc) {
        free(t);
        return pith_error(PITH_EINVAL, "benchmark: %s", pithrt_ctx_error(&r->c));
    }
    out->threads = r->c.threads;
    out->runs = runs;
    out->warmup = warmup;
    snprintf(out->isa, sizeof out->isa, "%s", pithrt_model_isa(&r->m));
    out->min_ms = 1e3 * t[0];
    out->median_ms = 1e3 * t[runs / 2];
    out->p90_ms = 1e3 * t[(runs * 9) / 10];
    out->fps = out->median_ms > 0 ? 1e3 / out->median_ms : 0;
    for (int k = 0; k < r->m.n_ops; k++)
        out->macs += pithrt_op_macs(&r->m, k);
    out->weight_bytes = r->m.blob_size;
    out->arena_bytes = r->c.arena_bytes;
    out->file_bytes = r->file_bytes;
    out->heap_bytes = r->heap_bytes;
    pith_energy_estimate(&r->m, &out->energy);
    free(t);
    return PITH_OK;
}
