#!/bin/sh
# make demo: run experiments/fmnist-baseline.yaml (train fmnist-cnn for 5 epochs
# with the PyTorch peer's recipe, evaluate, export, bench on this host), show the test-set breakdown,
# quantize it (PTQ int8, then QAT w4a4 for 3 epochs), show the per-layer
# quantization error, export the int8 model to the runtime and evaluate it
# there (the board's arithmetic), the benchmark table and the charts. A second demo finds
# the run and the quantized models and does not compute them again.
set -eu
PITH=${1:-build/pith}
CONFIG=experiments/fmnist-baseline.yaml
start=$(date +%s)
# a results table from a pith before the bench columns: kept, under another name
if [ -f results/runs.tsv ] && ! head -1 results/runs.tsv | grep -q energy_uj_est; then
    old=results/runs-before-$(date +%Y%m%d%H%M%S).tsv
    mv results/runs.tsv "$old"
    echo "demo: results/runs.tsv has an older layout; moved to $old"
fi
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
CK=$DIR/stage1-train.h5
echo "== pith quantize $CK --method ptq --bits 8 --calib 512"
[ -f "$DIR/ptq8.h5" ] || "$PITH" quantize "$CK" --method ptq --bits 8 --calib 512 --out "$DIR/ptq8.h5"
echo
echo "== pith quantize $CK --method qat --wbits 4 --abits 4 --epochs 3"
[ -f "$DIR/qat44.h5" ] || "$PITH" quantize "$CK" --method qat --wbits 4 --abits 4 --epochs 3 --out "$DIR/qat44.h5"
echo
echo "== pith info $DIR/qat44.h5"
"$PITH" info "$DIR/qat44.h5"
echo
mkdir -p results/plots
echo "== pith analyze $DIR/ptq8.h5 --chart results/plots/quant_error.png"
"$PITH" analyze "$DIR/ptq8.h5" --quiet --chart results/plots/quant_error.png
echo
echo "== what quantization costs and buys (test top-1, weight bytes as stored)"
printf '%-22s %8s %12s\n' model top-1 weights
for m in "$CK" "$DIR/ptq8.h5" "$DIR/qat44.h5"; do
    t=$("$PITH" eval "$m" --json | sed -n 's/.*"top1":\([0-9.]*\).*/\1/p')
    b=$("$PITH" info "$m" --json | sed -n 's/.*"quantized_bytes":\([0-9]*\).*/\1/p')
    [ -n "$b" ] || b=$("$PITH" info "$m" --json | sed -n 's/.*"bytes":\([0-9]*\).*/\1/p')
    printf '%-22s %7.2f%% %9.1f KB\n' "$(basename "$m")" "$(awk "BEGIN{print 100*$t}")" "$(awk "BEGIN{print $b/1024}")"
done
echo
echo "== pith export $DIR/ptq8.h5 --out $DIR/ptq8.pith --with-golden"
"$PITH" export "$DIR/ptq8.h5" --out "$DIR/ptq8.pith" --with-golden
echo
echo "== the deployed int8 model: workbench (fake quantization) and runtime (integer kernels), 10,000 test images"
wb=$("$PITH" eval "$DIR/ptq8.h5" --json | sed -n 's/.*"top1":\([0-9.]*\).*/\1/p')
rt=$("$PITH" eval "$DIR/ptq8.pith" --json | sed -n 's/.*"top1":\([0-9.]*\).*/\1/p')
printf 'workbench %.2f%%   runtime %.2f%%\n' "$(awk "BEGIN{print 100*$wb}")" "$(awk "BEGIN{print 100*$rt}")"
"$PITH" bench "$DIR/ptq8.pith" --runs 200
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
