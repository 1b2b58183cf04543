#!/bin/sh
# The same grid as sweep-lr.sh, as a Slurm job array (one task per point).
#   sh experiments/sweep-slurm.sh && sbatch runs/slurm-lr/sweep.sbatch
set -eu
PITH=${PITH:-build/pith}
"$PITH" sweep experiments/fmnist-baseline.yaml \
    --param train.lr=0.01,0.05,0.1 --seeds 3 --set train.epochs=2 --emit-slurm runs/slurm-lr "$@"
