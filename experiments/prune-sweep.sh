#!/bin/sh
# The pruning sweep of the README: fmnist-cnn trained 5 epochs, structured
# pruning at ratios 0-0.9 by five criteria, 3 epochs of fine-tuning, 3 seeds
# (150 runs; each seed's base model is trained once, then reused through the
# stage cache). About 25 minutes on 2 cores. Then the chart: accuracy against
# the ratio, one line per criterion, mean and standard deviation over seeds.
#   sh experiments/prune-sweep.sh [RESULTS.tsv]
set -eu
RESULTS=${1:-results/runs.tsv}
PITH=${PITH:-build/pith}
$PITH sweep experiments/fmnist-prune.yaml --results "$RESULTS" \
    --param prune.ratio=0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9 \
    --param prune.criterion=l1,l2,bn_gamma,taylor,random --seeds 3 --jobs 2
mkdir -p results
# this sweep's rows only (ratio;criterion;seed knobs)
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; print; next }
    $c["experiment"] == "fmnist-prune" && $c["knobs"] ~ /^prune.ratio=[0-9.]*;prune.criterion=[a-z_0-9]*;seed=[0-9]*$/' \
    "$RESULTS" > results/prune-sweep.tsv
sh plots/render.sh results/prune-sweep.tsv results/plots/prune-sweep
echo "chart: results/plots/prune-sweep/knob.png"
