#!/bin/sh
# make demo: run experiments/fmnist-baseline.yaml (train fmnist-cnn for 5 epochs
# with the PyTorch peer's recipe, then evaluate), show the test-set breakdown,
# the benchmark table and the charts. A second demo finds the run in the
# results table and does not train again.
set -eu
PITH=${1:-build/pith}
CONFIG=experiments/fmnist-baseline.yaml
start=$(date +%s)
echo "== pith run $CONFIG"
"$PITH" run "$CONFIG"
DIR=$("$PITH" run "$CONFIG" --check --json | sed -n 's/.*"dir":"\([^"]*\)".*/\1/p')
echo
echo "== pith eval $DIR/stage1-train.h5"
"$PITH" eval "$DIR/stage1-train.h5"
echo
echo "== pith info $DIR/stage1-train.h5"
"$PITH" info "$DIR/stage1-train.h5"
echo
echo "== pith report results/runs.tsv"
"$PITH" report results/runs.tsv
echo
echo "== charts"
sh plots/render.sh results/runs.tsv results/plots runs
end=$(date +%s)
top1=$("$PITH" eval "$DIR/stage1-train.h5" --json | sed -n 's/.*"top1":\([0-9.]*\).*/\1/p')
echo
echo "demo: fmnist-cnn, 5 epochs, test top-1 $(awk "BEGIN{printf \"%.2f\", 100*$top1}")% (PyTorch peer: 91.9%), $((end - start)) s in all"
echo "      run directory $DIR; results/runs.tsv; charts in results/plots/"
