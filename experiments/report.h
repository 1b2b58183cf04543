/* The benchmark table researchers publish, from a results table: one row per
 * successful run (Hardware, Model, Input, Batch, Data type, Sparsity, Params,
 * MACs, Accuracy, FPS, Latency, Size, .pith, Peak memory, Energy (est.),
 * Cost, Comments), then the failed runs. Columns are found by their header
 * name, so tables written before a column existed still read (that cell is
 * n/a). */
#ifndef PITH_EXPERIMENTS_REPORT_H
#define PITH_EXPERIMENTS_REPORT_H

#include <stdio.h>

/* Markdown (as_json 0) or one JSON object (null for n/a) onto out. */
int exp_report(const char *results, int as_json, FILE *out);

#endif
