#!/bin/sh
# The distillation row of the README: a vgg-small teacher (20 epochs, crop +
# flip), then fmnist-cnn-slim trained for EPOCHS epochs with it (T 2, alpha
# 0.5) and on labels alone, seeds 1-3, two runs at a time; prints each top-1
# and the mean gain.
#   sh experiments/kd-seeds.sh [EPOCHS]      (default 20)
set -eu
EPOCHS=${1:-20}
PITH=${PITH:-build/pith}
OUT=${OUT:-runs/kd}
mkdir -p "$OUT"
T="$OUT/teacher-vgg20.h5"
[ -f "$T" ] || "$PITH" train --model vgg-small --epochs 20 --crop-pad 2 --hflip --seed 7 --out "$T" --quiet
top1() { sed -n 's/.*"top1":\([0-9.]*\).*/\1/p' "$1"; }
for s in 1 2 3; do
    "$PITH" distill --teacher "$T" --student fmnist-cnn-slim --T 2 --alpha 0.5 --epochs "$EPOCHS" --seed $s \
        --threads 1 --out "$OUT/kd-s$s.h5" --json > "$OUT/kd-s$s.json" &
    "$PITH" distill --teacher "$T" --student fmnist-cnn-slim --labels-only --epochs "$EPOCHS" --seed $s \
        --threads 1 --out "$OUT/labels-s$s.h5" --json > "$OUT/labels-s$s.json" &
    wait
done
for s in 1 2 3; do
    echo "seed $s: labels only $(top1 "$OUT/labels-s$s.json"), distilled $(top1 "$OUT/kd-s$s.json")"
done
awk -v a="$(for s in 1 2 3; do top1 "$OUT/kd-s$s.json"; done)" -v b="$(for s in 1 2 3; do top1 "$OUT/labels-s$s.json"; done)" \
    'BEGIN { n = split(a, x, "\n"); split(b, y, "\n"); for (i = 1; i <= n; i++) d += x[i] - y[i];
             printf "mean gain %.2f pt over %d seeds\n", 100 * d / n, n }'
