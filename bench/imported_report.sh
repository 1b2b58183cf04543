#!/bin/sh
# The benchmark table's rows of imported models, fp32 and int8, one thread,
# through pith run and pith report: YOLOv8n at 3x640x640 (the detection rows
# "yolov8_n fp32" / "yolov8_n int8"), lraspp_mobilenet_v3_large at 3x512x512
# (segmentation) and resnet18 at 3x224x224. PyTorch builds each (random
# weights: no trained checkpoints are reachable offline; latency, size and
# memory do not depend on the values), exports ONNX, pith imports it, and
# experiments/imported-fp32.yaml / imported-int8.yaml export, quantize and
# bench it. Accuracy is n/a (no labelled data for these tasks here).
#   sh bench/imported_report.sh [OUT_DIR]        (default runs/imported-report)
# RUNS (20 timed runs per model), CALIB (a list or folder of images; default
# the fixture list) from the environment. ONNX files already in OUT_DIR are
# reused; a run already in the table is skipped by pith run.
set -eu
cd "$(dirname "$0")/.."
PITH=${PITH:-build/pith}
PY=/usr/bin/python3
OUT=${1:-runs/imported-report}
RUNS=${RUNS:-20}
CALIB=${CALIB:-build/fixtures/images/calib.txt}
[ -x "$PITH" ] || make --no-print-directory "$PITH" >/dev/null
[ -f "$CALIB" ] || [ -d "$CALIB" ] || make --no-print-directory build/fixtures/images/.done >/dev/null
mkdir -p "$OUT"

onnx() { # NAME SIZE: the PyTorch model exported at SIZE x SIZE
    f="$OUT/$1-$2.onnx"
    [ -f "$f" ] && return 0
    echo "== exporting $1 at $2 x $2 (PyTorch, random weights)" >&2
    if [ "$1" = yolov8n ]; then
        "$PY" bench/models/yolov8n.py "$f" --size "$2" >&2
    else
        "$PY" - "$1" "$2" "$f" <<'PY' >&2
import sys, torch
sys.path.insert(0, "tests/onnx")
from export_models import build, OPSET
name, size, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
m = build(name).eval()
torch.onnx.export(m, torch.zeros(1, 3, size, size), path + ".tmp", opset_version=OPSET[name],
                  input_names=["input"], output_names=["output"])
import os; os.replace(path + ".tmp", path)
PY
    fi
}

# name in the table, model, input size, import options (the preprocessing each expects)
set -- \
    "yolov8_n yolov8n 640 " \
    "lraspp_mobilenet_v3_large lraspp_mobilenet_v3_large 512 --mean01 0.485,0.456,0.406 --std01 0.229,0.224,0.225" \
    "resnet18 resnet18 224 --mean01 0.485,0.456,0.406 --std01 0.229,0.224,0.225 --resize 256"
for spec in "$@"; do
    # shellcheck disable=SC2086
    set -- $spec
    name=$1 model=$2 size=$3
    shift 3
    onnx "$model" "$size"
    ck="$OUT/$model-$size.h5"
    [ -f "$ck" ] || "$PITH" import "$OUT/$model-$size.onnx" --out "$ck" --quiet "$@"
    for fmt in fp32 int8; do
        echo "== $name $fmt" >&2
        calib=""
        [ $fmt = fp32 ] || calib="--set dataset.calib=$CALIB"
        "$PITH" run "experiments/imported-$fmt.yaml" --runs "$OUT/runs" --results "$OUT/runs.tsv" --threads 2 \
            --set "model.checkpoint=$ck" --set "model.name=$name" --set "bench.runs=$RUNS" \
            $calib
    done
done
"$PITH" report "$OUT/runs.tsv" > "$OUT/report.md"
cat "$OUT/report.md"
