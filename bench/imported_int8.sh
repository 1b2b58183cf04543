#!/bin/sh
# Trained torchvision models through pith's integer path: PyTorch trains
# mobilenet_v3_small and shufflenet_v2_x0_5 on Fashion-MNIST (1 x 28 x 28,
# bench/torchvision_fmnist.py), pith imports the ONNX files, evaluates them,
# quantizes them (PTQ int8, then QAT w8a8 from the PTQ point's float model),
# exports each to .pith and runs every test image through the runtime and the
# workbench (pith eval --against): the gap must be 0 images.
#   sh bench/imported_int8.sh [OUT_DIR]        (default runs/imported)
# EPOCHS (PyTorch, 3), QAT_EPOCHS (1), QAT_LR (0.001), CALIB (512), THREADS (2)
# from the environment. Trained ONNX files already in OUT_DIR are reused.
set -eu
cd "$(dirname "$0")/.."
PITH=${PITH:-build/pith}
PY=/usr/bin/python3
OUT=${1:-runs/imported}
EPOCHS=${EPOCHS:-3}
QAT_EPOCHS=${QAT_EPOCHS:-1}
QAT_LR=${QAT_LR:-0.001}
CALIB=${CALIB:-512}
THREADS=${THREADS:-2}
MODELS=${MODELS:-"mobilenet_v3_small shufflenet_v2_x0_5"}
[ -x "$PITH" ] || make --no-print-directory "$PITH" >/dev/null
mkdir -p "$OUT"
num() { sed -n "s/.*\"$2\": *\([-0-9.e+]*\).*/\1/p" "$1" | head -n 1; }
# the "against" object's field
against() { sed -n "s/.*\"against\":{[^}]*\"$2\": *\([-0-9.e+]*\).*/\1/p" "$1"; }
pct() { awk -v v="$1" 'BEGIN { printf "%.2f", 100 * v }'; }
tsv="$OUT/imported_int8.tsv"
printf 'model\tparams\tmacs\ttorch_top1\tpith_float_top1\tptq_top1\tptq_runtime_top1\tptq_outputs_differ\tqat_top1\tqat_runtime_top1\tqat_outputs_differ\tpith_bytes\tisa\n' >"$tsv"
for m in $MODELS; do
    if [ ! -f "$OUT/$m.onnx" ] || [ ! -f "$OUT/$m.json" ]; then
        echo "== training $m in PyTorch ($EPOCHS epochs)" >&2
        "$PY" bench/torchvision_fmnist.py "$OUT" --epochs "$EPOCHS" --threads "$THREADS" "$m"
    fi
    echo "== $m: import, eval, PTQ, QAT, export, runtime against workbench" >&2
    # PyTorch's normalisation in the 0-255 convention: 0.2860 * 255, 0.3530 * 255
    "$PITH" import "$OUT/$m.onnx" --out "$OUT/$m.h5" --mean 72.93 --std 90.015 --json >"$OUT/$m.import.json"
    "$PITH" eval "$OUT/$m.h5" --threads "$THREADS" --json >"$OUT/$m.eval.json"
    "$PITH" quantize "$OUT/$m.h5" --method ptq --calib "$CALIB" --threads "$THREADS" --quiet --json \
        --out "$OUT/$m.ptq.h5" >"$OUT/$m.ptq.json"
    "$PITH" export "$OUT/$m.ptq.h5" --out "$OUT/$m.ptq.pith" --json >"$OUT/$m.ptq.export.json"
    "$PITH" eval "$OUT/$m.ptq.pith" --against "$OUT/$m.ptq.h5" --threads 1 --json >"$OUT/$m.ptq.rt.json"
    "$PITH" quantize "$OUT/$m.h5" --method qat --epochs "$QAT_EPOCHS" --lr "$QAT_LR" --calib "$CALIB" \
        --threads "$THREADS" --json --out "$OUT/$m.qat.h5" >"$OUT/$m.qat.json"
    "$PITH" export "$OUT/$m.qat.h5" --out "$OUT/$m.qat.pith" --json >"$OUT/$m.qat.export.json"
    "$PITH" eval "$OUT/$m.qat.pith" --against "$OUT/$m.qat.h5" --threads 1 --json >"$OUT/$m.qat.rt.json"
    isa=$("$PITH" bench "$OUT/$m.qat.pith" --runs 1 --warmup 0 --json | sed -n 's/.*"isa": *"\([a-z0-9_]*\)".*/\1/p')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" \
        "$(num "$OUT/$m.import.json" params)" "$(num "$OUT/$m.import.json" macs)" "$(num "$OUT/$m.json" top1)" \
        "$(num "$OUT/$m.eval.json" top1)" "$(num "$OUT/$m.ptq.json" top1)" "$(num "$OUT/$m.ptq.rt.json" top1)" \
        "$(against "$OUT/$m.ptq.rt.json" outputs_differ)" "$(num "$OUT/$m.qat.json" top1)" \
        "$(num "$OUT/$m.qat.rt.json" top1)" "$(against "$OUT/$m.qat.rt.json" outputs_differ)" \
        "$(num "$OUT/$m.qat.export.json" file_bytes)" "$isa" >>"$tsv"
done
echo "top-1 on the 10,000 Fashion-MNIST test images (1 x 28 x 28); runtime = the .pith file through pith's kernels"
printf '%-20s %8s %8s %8s %8s %8s %10s %8s %8s %10s %10s\n' model PyTorch "pith fp" PTQ "PTQ rt" "differ" QAT "QAT rt" differ "size KB" params
tail -n +2 "$tsv" | while IFS="$(printf '\t')" read -r m params macs t f p pr pd q qr qd bytes isa; do
    printf '%-20s %8s %8s %8s %8s %8s %10s %8s %8s %10.1f %10s\n' "$m" "$(pct "$t")" "$(pct "$f")" "$(pct "$p")" \
        "$(pct "$pr")" "$pd" "$(pct "$q")" "$(pct "$qr")" "$qd" "$(echo "$bytes" | awk '{ print $1 / 1024 }')" "$params"
done
echo "(differ: test images whose runtime output differs from the workbench's in any value; $tsv)"
