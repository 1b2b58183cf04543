#!/bin/sh
# Structured pruning of the imported torchvision models (compare_ort.sh's
# exports, 3 x 224 x 224): 30% of every prunable group's channels removed by
# L1 norm, through residual adds, squeeze-and-excitation multiplies, channel
# splits and concats, transposed and depthwise convolutions; the pruned graph
# runs, keeps its output shape and computes the same output through the
# runtime (tests/onnx_prune.c). Frozen groups are listed with why.
#   sh tests/onnx/prune_torchvision.sh BUILD_DIR [MODEL ...]
set -eu
BUILD=${1:-build}
shift || true
MODELS=${*:-resnet18 resnet50 mobilenet_v2 mobilenet_v3_small shufflenet_v2_x1_0 squeezenet1_1 efficientnet_b0 lraspp_mobilenet_v3_large}
DIR=$BUILD/onnx-models
fail=0
for m in $MODELS; do
    if [ ! -f "$DIR/$m.onnx" ]; then
        echo "prune_torchvision: $m skipped: $DIR/$m.onnx is missing (compare_ort.sh exports it)"
        continue
    fi
    "$BUILD/tools/onnx_prune" "$DIR/$m.onnx" --ratio 0.3 || fail=1
done
[ $fail -eq 0 ] && echo "prune_torchvision: every model pruned 30%, runs, same output shape, runtime agrees"
exit $fail
