/* pith report: the benchmark table from a results table (the engine is
 * experiments/report.h; this is its command line). */
#include <stdio.h>
#include <string.h>

#include "../experiments/report.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: pith report [RESULTS.tsv] [--json]   (default results/runs.tsv)\n"
               "\n"
               "Prints one Markdown row per successful run: Hardware | Model | Input | Batch |\n"
               "Data type | Sparsity | Params | MACs | Accuracy | FPS | Latency (ms) | Size (KB) |\n"
               ".pith (KB) | Peak memory (KB) | Energy (est., uJ) | Cost | Comments. What a run did\n"
               "not measure is n/a (batch, FPS, latency, .pith, peak memory and energy come from\n"
               "its export and bench stages; cost from the config's hardware block). Failed runs\n"
               "are listed below. --json prints one JSON object instead: the same cells per run\n"
               "(null for n/a) and the failed runs.\n");
}

int cmd_report(int argc, char **argv)
{
    const char *cmd = "report";
    const char *path = "results/runs.tsv";
    int as_json = 0, n_paths = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            as_json = 1;
        } else if (argv[i][0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        } else if (n_paths++) {
            return cli_usage_error(cmd, "expected at most one results table");
        } else {
            path = argv[i];
        }
    }
    int rc = exp_report(path, as_json, stdout);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}
