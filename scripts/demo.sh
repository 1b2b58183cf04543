#!/bin/sh
# make demo: train fmnist-cnn on Fashion-MNIST for 5 epochs (the PyTorch peer's
# recipe), evaluate it, and print a summary.
set -eu
PITH=${1:-build/pith}
OUT=runs/demo/fmnist-cnn.h5
mkdir -p runs/demo
start=$(date +%s)
echo "== pith train --model fmnist-cnn --epochs 5 --seed 1 --out $OUT"
"$PITH" train --model fmnist-cnn --epochs 5 --seed 1 --out "$OUT"
echo
echo "== pith eval $OUT"
"$PITH" eval "$OUT"
echo
echo "== pith info $OUT"
"$PITH" info "$OUT"
end=$(date +%s)
top1=$("$PITH" eval "$OUT" --json | sed -n 's/.*"top1":\([0-9.]*\).*/\1/p')
echo
echo "demo: fmnist-cnn, 5 epochs, test top-1 $(awk "BEGIN{printf \"%.2f\", 100*$top1}")% (PyTorch peer: 91.9%), $((end - start)) s in all; checkpoint $OUT"
