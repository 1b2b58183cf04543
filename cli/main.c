/* pith — model-compression workbench. */
#include <stdio.h>
#include <string.h>

#include "../quant/quant.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: pith COMMAND [options]\n"
               "\n"
               "commands:\n"
               "  train     train a zoo model on Fashion-MNIST (or any IDX set), or resume one\n"
               "  eval      test accuracy of a checkpoint: top-1, top-5, per class, confusion matrix\n"
               "  import    an ONNX model (a PyTorch export) as a trainable checkpoint\n"
               "  info      layer table of a checkpoint or zoo model: shapes, params, MACs, bytes\n"
               "  run       run an experiment config (YAML): stages, run directory, results table\n"
               "  sweep     run a grid of points of a config (--param, --seeds), in parallel or on Slurm\n"
               "  export    a checkpoint to a .pith file for the runtime (int8 or fp32)\n"
               "  bench     latency and memory of a .pith file on this machine\n"
               "  infer     classify one image with a .pith file\n"
               "  report    the benchmark table (Markdown) from results/runs.tsv\n"
               "  quantize  PTQ, QAT, k-means, binary / ternary weights, mixed precision\n"
               "  analyze   per-layer quantization error; --propose writes a mixed-precision plan\n"
               "  prune     structured channel pruning (physically smaller), with fine-tuning\n"
               "  sensitivity  accuracy when one layer at a time is pruned, across ratios (+ chart)\n"
               "  lowrank   SVD factorization of linear / conv layers, with fine-tuning\n"
               "  distill   train a student from a teacher checkpoint (knowledge distillation)\n"
               "\n"
               "pith COMMAND --help describes a command's options. Commands that report\n"
               "metrics take --json and then print exactly one JSON object on stdout.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (pith_quant_register())
        return EXIT_FAIL;
    const char *c = argv[1];
    if (!strcmp(c, "-h") || !strcmp(c, "--help") || !strcmp(c, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(c, "train"))
        return cmd_train(argc - 1, argv + 1);
    if (!strcmp(c, "eval"))
        return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(c, "import"))
        return cmd_import(argc - 1, argv + 1);
    if (!strcmp(c, "info"))
        return cmd_info(argc - 1, argv + 1);
    if (!strcmp(c, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(c, "sweep"))
        return cmd_sweep(argc - 1, argv + 1);
    if (!strcmp(c, "quantize"))
        return cmd_quantize(argc - 1, argv + 1);
    if (!strcmp(c, "sensitivity"))
        return cmd_sensitivity(argc - 1, argv + 1);
    if (!strcmp(c, "distill"))
        return cmd_distill(argc - 1, argv + 1);
    if (!strcmp(c, "lowrank"))
        return cmd_lowrank(argc - 1, argv + 1);
    if (!strcmp(c, "prune"))
        return cmd_prune(argc - 1, argv + 1);
    if (!strcmp(c, "analyze"))
        return cmd_analyze(argc - 1, argv + 1);
    if (!strcmp(c, "export"))
        return cmd_export(argc - 1, argv + 1);
    if (!strcmp(c, "bench"))
        return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(c, "infer"))
        return cmd_infer(argc - 1, argv + 1);
    if (!strcmp(c, "report"))
        return cmd_report(argc - 1, argv + 1);
    fprintf(stderr, "pith: unknown command '%s'\n", c);
    usage(stderr);
    return EXIT_USAGE;
}
