#!/bin/sh
# PTQ ablation of fmnist-cnn, like Distiller's: weight granularity (per tensor /
# per channel) x weight symmetry (symmetric / asymmetric) x activation observer
# (minmax, ema, percentile, kl, mse) at w8a8 and w4a8, from one float
# checkpoint. Writes results/quant-ablation.tsv, prints a Markdown table and
# draws results/plots/quant_ablation.png.
#   sh experiments/quant-ablation.sh [FLOAT.h5]   (default: trains runs/base.h5 first)
set -eu
PITH=${PITH:-build/pith}
BASE=${1:-runs/base.h5}
OUT=results/quant-ablation.tsv
mkdir -p results/plots runs
if [ ! -f "$BASE" ]; then
    echo "training the float model $BASE (5 epochs)" >&2
    "$PITH" train --model fmnist-cnn --epochs 5 --out "$BASE" --quiet
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
printf 'bits\tgranularity\tweights\tobserver\tfloat_top1\ttop1\tdrop_pt\tbytes\n' > "$OUT"
n=0
for bits in 8 4; do
  for gran in tensor channel; do
    for wsym in sym asym; do
      for obs in minmax ema percentile kl mse; do
        n=$((n + 1))
        set -- --method ptq --wbits "$bits" --abits 8 --observer "$obs" --calib 512 --quiet --json
        [ "$gran" = tensor ] && set -- "$@" --per-tensor
        [ "$wsym" = asym ] && set -- "$@" --wasym
        "$PITH" quantize "$BASE" "$@" --out "$TMP/q.h5" > "$TMP/q.json"
        # one JSON object: pick the fields with sed (no jq needed)
        f=$(sed -n 's/.*"float_top1": *\([0-9.eE+-]*\).*/\1/p' "$TMP/q.json")
        t=$(sed -n 's/.*"top1": *\([0-9.eE+-]*\).*/\1/p' "$TMP/q.json" | tail -1)
        b=$(sed -n 's/.*"bytes": *\([0-9]*\).*/\1/p' "$TMP/q.json" | tail -1)
        awk -v bits="$bits" -v g="$gran" -v w="$wsym" -v o="$obs" -v f="$f" -v t="$t" -v b="$b" \
            'BEGIN { printf "w%sa8\t%s\t%s\t%s\t%.4f\t%.4f\t%.2f\t%s\n", bits, g, w, o, f, t, 100 * (f - t), b }' >> "$OUT"
        echo "ablation $n/40: w${bits}a8 $gran $wsym $obs: $(tail -1 "$OUT" | cut -f6)" >&2
      done
    done
  done
done
# Markdown: one row per weight setting, one column per observer (top-1 %)
awk -F'\t' 'NR > 1 {
    key = $1 " " $2 " " $3; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
    acc[key, $4] = sprintf("%.2f", 100 * $6); fl = $5 }
END {
    printf "float fmnist-cnn: %.2f%% top-1; PTQ with 512 calibration images, activations int8 asymmetric per tensor\n\n", 100 * fl
    printf "| weights | granularity | symmetry | minmax | ema | percentile | kl | mse |\n|---|---|---|---|---|---|---|---|\n"
    for (i = 1; i <= n; i++) { split(order[i], k, " ")
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", k[1], k[2], k[3],
            acc[order[i], "minmax"], acc[order[i], "ema"], acc[order[i], "percentile"], acc[order[i], "kl"], acc[order[i], "mse"] }
}' "$OUT"
gnuplot -e "datafile='$OUT'; outfile='results/plots/quant_ablation.png'" plots/quant_ablation.gp
echo "chart: results/plots/quant_ablation.png" >&2
