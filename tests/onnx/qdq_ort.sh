#!/bin/sh
# Already-quantized ONNX (QDQ) through pith against ONNX Runtime on the same
# file: tests/onnx/export_qdq.py quantizes torchvision resnet18 and
# mobilenet_v2 with PyTorch's eager PTQ and exports QuantizeLinear /
# DequantizeLinear pairs; `pith import` takes the pairs' scales and zero
# points as its quantizer state, `pith export` writes the int8 .pith; N
# pseudo-random inputs run through the runtime (tests/onnx_qdq.c) and through
# ONNX Runtime executing the QDQ graph as written (graph optimisations off:
# the ONNX semantics, dequantize -> float op -> quantize). Top-1 must agree on
# >= 99% of the inputs and every logit within 2 output steps. The same
# comparison with ONNX Runtime's default session (its fused int8 kernels,
# which round differently from its own unfused graph) is printed too.
#   sh tests/onnx/qdq_ort.sh BUILD_DIR [N]     (N: 1000)
set -eu
BUILD=${1:-build}
N=${2:-1000}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/need_ort.sh"
need_ort qdq_ort "torch torchvision onnx"
DIR=$BUILD/qdq-models
/usr/bin/python3 "$HERE/export_qdq.py" "$DIR" 2>&1 | grep -v -i "warn\|_C\._jit" || true
fail=0
for m in resnet18 mobilenet_v2; do
    "$BUILD/pith" import "$DIR/${m}_int8_qdq.onnx" --out "$DIR/$m.h5" --quiet
    "$BUILD/pith" export "$DIR/$m.h5" --out "$DIR/$m.pith" >/dev/null
    ORT_OPT=disabled node "$HERE/ort_many.js" "$DIR/${m}_int8_qdq.onnx" "$N" 7 3,224,224 "$DIR/$m.ort.f32"
    printf 'QDQ graph as written:   '
    "$BUILD/tools/onnx_qdq" "$DIR/$m.pith" "$DIR/$m.ort.f32" "$N" 7 || fail=1
    node "$HERE/ort_many.js" "$DIR/${m}_int8_qdq.onnx" "$N" 7 3,224,224 "$DIR/$m.ortopt.f32"
    printf 'ORT default (fused):    '
    "$BUILD/tools/onnx_qdq" "$DIR/$m.pith" "$DIR/$m.ortopt.f32" "$N" 7 || true
done
[ $fail -eq 0 ] && echo "qdq_ort: pith's int8 runtime agrees with ONNX Runtime on the QDQ models"
exit $fail
