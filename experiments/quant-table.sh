#!/bin/sh
# The quantization table of the README: every method of `pith quantize` on
# fmnist-cnn from one float checkpoint, with the issue's accuracy-drop bars.
#   sh experiments/quant-table.sh [FLOAT.h5]   (default: trains runs/base.h5 first)
# Prints a Markdown table; the quantized checkpoints stay in runs/quant/.
set -eu
PITH=${PITH:-build/pith}
BASE=${1:-runs/base.h5}
mkdir -p runs/quant
if [ ! -f "$BASE" ]; then
    echo "training the float model $BASE (5 epochs)" >&2
    "$PITH" train --model fmnist-cnn --epochs 5 --out "$BASE" --quiet
fi
field() { sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p" | tail -1; }
row() { # name, bar, out, options...
    name=$1 bar=$2 out=runs/quant/$3.h5
    shift 3
    start=$(date +%s)
    "$PITH" quantize "$BASE" "$@" --quiet --json --out "$out" > runs/quant/last.json
    secs=$(($(date +%s) - start))
    f=$(field float_top1 < runs/quant/last.json)
    t=$(field top1 < runs/quant/last.json)
    fb=$(field float_bytes < runs/quant/last.json)
    b=$(field bytes < runs/quant/last.json)
    awk -v n="$name" -v bar="$bar" -v f="$f" -v t="$t" -v fb="$fb" -v b="$b" -v s="$secs" 'BEGIN {
        d = 100 * (f - t)
        printf "| %s | %.2f%% | %.2f | %s | %s | %.1f | %.1fx | %d s |\n", n, 100 * t, d, bar,
            (bar == "-" ? "-" : (d <= bar ? "yes" : "NO")), b / 1024, fb / b, s }'
}
f=$("$PITH" eval "$BASE" --json | field top1)
echo "float fmnist-cnn ($BASE): test top-1 $(awk -v f="$f" 'BEGIN{printf "%.2f", 100*f}')%"
echo
echo "| method | top-1 | drop (pt) | bar (pt) | met | weights (KB) | smaller | time |"
echo "|---|---|---|---|---|---|---|---|"
row "PTQ int8 (w8 per-channel sym, a8 asym, minmax, 512 images)" 0.3 ptq8 --method ptq --bits 8 --calib 512
row "PTQ int8, int8 input/output" - ptq8io --method ptq --bits 8 --mode int8-io
row "weight-only int8 (dynamic range)" - wo8 --method ptq --bits 8 --mode weight-only
for obs in minmax ema percentile kl mse; do
    row "PTQ w4a8, observer $obs (weights: MSE clip)" 1.5 ptq48-$obs --method ptq --wbits 4 --abits 8 --observer $obs
done
row "QAT w4a4, 3 epochs (EMA ranges)" 1.0 qat44 --method qat --wbits 4 --abits 4 --epochs 3
row "QAT w4a4, 3 epochs, LSQ, MSE init" 1.0 qat44-lsq --method qat --wbits 4 --abits 4 --epochs 3 --lsq --observer mse
row "QAT w4a4, 3 epochs, BN trained 1 epoch then frozen (\`--freeze-bn 1\`)" 1.0 qat44-bn --method qat --wbits 4 --abits 4 --epochs 3 --freeze-bn 1
row "ternary weights (TWN), a8, QAT 3 epochs" 2.0 ternary --method ternary --epochs 3
row "binary weights (BWN), a8, QAT 3 epochs" 3.0 binary --method binary --epochs 3
row "k-means 4-bit + 2 epochs centroid fine-tune" 0.5 km4 --method kmeans --wbits 4 --epochs 2
row "k-means 2-bit + 2 epochs centroid fine-tune" 2.0 km2 --method kmeans --wbits 2 --epochs 2
