/* The measuring stages of a config: eval (the workbench's accuracy), export
 * (the model as it stands, to the runtime's file) and bench (that file on
 * this host's runtime: latency, memory, an energy estimate). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/error.h"
#include "../export/bench.h"
#include "json.h"
#include "stages.h"
#include "workbench.h"

int exp_stage_eval(exp_run_state *s, int i)
{
    const exp_stage *st = &s->cfg->stages[i];
    fprintf(s->log, "stage %d: eval on %d test images\n", i + 1, s->test.n);
    double top1 = 0, top5 = 0, loss = 0;
    int rc = pith_test_accuracy(s->g, &s->test, st->batch, &top1, &top5, &loss);
    if (rc)
        return rc;
    s->row->top1 = top1;
    s->row->top5 = top5;
    char path[2400];
    exp_stage_file(s, i, "eval.json", path, sizeof path);
    FILE *f = fopen(path, "w");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot create", path);
    json j;
    json_init(&j, f);
    json_obj(&j, NULL);
    json_num(&j, "top1", top1);
    json_num(&j, "top5", top5);
    json_num(&j, "loss", loss);
    json_int(&j, "images", s->test.n);
    json_end_obj(&j);
    json_finish(&j);
    if (fclose(f) != 0)
        return pith_error(PITH_EIO, "%s: cannot write", path);
    fprintf(s->log, "eval: top1 %.4f top5 %.4f loss %.4f\n", top1, top5, loss);
    return PITH_OK;
}

int exp_stage_export(exp_run_state *s, int i)
{
    const exp_stage *st = &s->cfg->stages[i];
    exp_stage_file(s, i, "export.pith", s->exported, sizeof s->exported);
    pith_export_report rep;
    pith_ckpt_meta m; /* the input's preprocessing and the class names */
    exp_stage_meta(s, i, &m);
    float *golden = NULL;
    if (st->golden && s->test.n > 0 && (golden = malloc(pith_shape_size(&s->g->input_shape) * sizeof *golden))) {
        int i0 = 0, y0;
        pith_dataset_gather(&s->test, &i0, 1, NULL, 0, golden, &y0);
    }
    /* a checkpoint's model: its metadata's normalisation and class names, and
     * no dataset's class names unless the config gives labelled data */
    const char *names_from = s->origin && !s->train.n && !s->test.n ? NULL : s->cfg->data_dir;
    int rc = s->origin ? exp_export(s->g, names_from, m.mean, m.std, &m, golden, s->exported, &rep)
                       : exp_export(s->g, s->cfg->data_dir, s->cfg->mean, s->cfg->std, &m, golden, s->exported, &rep);
    free(golden);
    if (rc) {
        s->exported[0] = '\0';
        return rc;
    }
    s->row->pith_bytes = (int64_t)rep.file_bytes;
    fprintf(s->log, "stage %d: export to %s: %d ops (%d int8 and %d fp32 layers), %zu bytes of weights, %zu in all%s\n",
            i + 1, s->exported, rep.ops, rep.int8_layers, rep.float_layers, rep.weight_bytes, rep.file_bytes,
            rep.golden ? ", golden vectors embedded" : "");
    return PITH_OK;
}

int exp_stage_bench(exp_run_state *s, int i)
{
    const exp_stage *st = &s->cfg->stages[i];
    if (!s->exported[0])
        return pith_error(PITH_EINVAL, "stage %d: bench: no exported model (the export stage before it did not run)",
                          i + 1);
    pith_rt r;
    int rc = pith_rt_open(s->exported, st->threads, st->isa[0] ? st->isa : NULL, &r);
    if (rc)
        return rc;
    pith_bench_result b;
    rc = pith_bench_rt(&r, st->warmup, st->runs, &b);
    pith_rt_close(&r);
    if (rc)
        return rc;
    exp_row *row = s->row;
    row->batch = 1;
    row->latency_ms = b.median_ms;
    row->fps = b.fps;
    row->peak_mem_kb = b.heap_bytes / 1024.0;
    row->energy_uj = b.energy.total_uj;
    snprintf(row->bench_on, sizeof row->bench_on, "%s kernels, %d thread%s, %d runs", b.isa, b.threads,
             b.threads == 1 ? "" : "s", b.runs);
    fprintf(s->log,
            "stage %d: bench %s: batch 1, %s; median %.4f ms (min %.4f, p90 %.4f), %.1f inferences/s; "
            "heap %zu bytes (file %zu, arena %zu); energy %.2f uJ (est.: MACs %.2f, DRAM %.2f, SRAM %.2f)\n",
            i + 1, s->exported, row->bench_on, b.median_ms, b.min_ms, b.p90_ms, b.fps, b.heap_bytes, b.file_bytes,
            b.arena_bytes, b.energy.total_uj, b.energy.mac_uj, b.energy.dram_uj, b.energy.sram_uj);
    char path[2400];
    exp_stage_file(s, i, "bench.json", path, sizeof path);
    FILE *f = fopen(path, "w");
    if (!f)
        return pith_error(PITH_EIO, "%s: cannot create", path);
    json j;
    json_init(&j, f);
    json_obj(&j, NULL);
    json_str(&j, "model", s->exported);
    json_str(&j, "isa", b.isa);
    json_int(&j, "threads", b.threads);
    json_int(&j, "runs", b.runs);
    json_int(&j, "warmup", b.warmup);
    json_num(&j, "min_ms", b.min_ms);
    json_num(&j, "median_ms", b.median_ms);
    json_num(&j, "p90_ms", b.p90_ms);
    json_num(&j, "fps", b.fps);
    json_int(&j, "macs", b.macs);
    json_int(&j, "weight_bytes", (int64_t)b.weight_bytes);
    json_int(&j, "arena_bytes", (int64_t)b.arena_bytes);
    json_int(&j, "file_bytes", (int64_t)b.file_bytes);
    json_int(&j, "heap_bytes", (int64_t)b.heap_bytes);
    json_obj(&j, "energy_estimate");
    json_int(&j, "int8_macs", b.energy.int8_macs);
    json_int(&j, "f32_macs", b.energy.f32_macs);
    json_int(&j, "dram_bytes", b.energy.dram_bytes);
    json_int(&j, "sram_bytes", b.energy.sram_bytes);
    json_num(&j, "mac_uj", b.energy.mac_uj);
    json_num(&j, "dram_uj", b.energy.dram_uj);
    json_num(&j, "sram_uj", b.energy.sram_uj);
    json_num(&j, "total_uj", b.energy.total_uj);
    json_end_obj(&j);
    json_end_obj(&j);
    json_finish(&j);
    if (fclose(f) != 0)
        return pith_error(PITH_EIO, "%s: cannot write", path);
    return PITH_OK;
}
