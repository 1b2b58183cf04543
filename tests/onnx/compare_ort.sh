#!/bin/sh
# Imported torchvision models against ONNX Runtime: the workbench graph and
# the fp32 .pith export (reference and fast kernels) within 1e-4 of ONNX
# Runtime's output, relative to its largest magnitude.
#   sh tests/onnx/compare_ort.sh BUILD_DIR [MODEL ...]
# Needs /usr/bin/python3 with torch and torchvision (sh scripts/deps.sh onnx)
# and onnxruntime-node (installed here into BUILD_DIR/ort with npm); says
# "skipped" and succeeds when they are missing.
set -eu
BUILD=${1:-build}
shift || true
HERE=$(cd "$(dirname "$0")" && pwd)
MODELS=${*:-resnet18 resnet50 mobilenet_v2 mobilenet_v3_small shufflenet_v2_x1_0 squeezenet1_1 efficientnet_b0 lraspp_mobilenet_v3_large}
if ! /usr/bin/python3 -c "import torch, torchvision" 2>/dev/null; then
    echo "compare_ort: skipped: /usr/bin/python3 has no torch/torchvision (sh scripts/deps.sh onnx installs them)"
    exit 0
fi
ORT_DIR=${ORT_DIR:-$BUILD/ort}
if [ ! -d "$ORT_DIR/node_modules/onnxruntime-node" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "compare_ort: skipped: npm is missing (sh scripts/deps.sh onnx installs it)"
        exit 0
    fi
    mkdir -p "$ORT_DIR"
    (cd "$ORT_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
        npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 >/dev/null 2>&1) || {
        echo "compare_ort: skipped: npm could not install onnxruntime-node@1.30.0"
        exit 0
    }
fi
ORT_DIR=$(cd "$ORT_DIR" && pwd)
export ORT_DIR
DIR=$BUILD/onnx-models
/usr/bin/python3 "$HERE/export_models.py" "$DIR" $MODELS 2>&1 | grep -v -i warn || true
fail=0
for m in $MODELS; do
    node "$HERE/ort_run.js" "$DIR/$m.onnx" "$DIR/$m.in.f32" 1,3,224,224 "$DIR/$m.ort.f32"
    "$BUILD/tools/onnx_check" "$DIR/$m.onnx" "$DIR/$m.in.f32" "$DIR/$m.ort.f32" || fail=1
done
[ $fail -eq 0 ] && echo "compare_ort: all models within 1e-4 of ONNX Runtime"
exit $fail
