#!/bin/sh
# Learning-rate sweep of the fmnist-cnn baseline: 3 rates x 3 seeds, 2 points at
# a time, 2 epochs each. Re-running resumes: finished points are skipped.
# Then: make plots (the accuracy-vs-lr chart is results/plots/knob.png).
set -eu
PITH=${PITH:-build/pith}
"$PITH" sweep experiments/fmnist-baseline.yaml \
    --param train.lr=0.01,0.05,0.1 --seeds 3 --jobs 2 --set train.epochs=2 "$@"
