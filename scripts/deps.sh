#!/bin/sh
# Installs the Debian packages pith needs, if any are missing.
#   sh scripts/deps.sh          build, test and demo dependencies
#   sh scripts/deps.sh bench    also the PyTorch peer (python3-torch) for bench/
#   sh scripts/deps.sh onnx     also PyTorch, torchvision, onnx and Node.js (make test-onnx's model exports
#                               and ONNX Runtime)
#   sh scripts/deps.sh slurm    also Slurm and munge (make test-slurm: a one-node cluster on localhost)
#   sh scripts/deps.sh arm      also the aarch64 cross compiler, QEMU and llvm-mca (make test-arm, bench/mca.sh)
# Uses sudo only when not running as root. Does nothing when all are present.
set -eu

PKGS="gcc make pkg-config libopenblas-openmp-dev liblapacke-dev libhdf5-dev libyaml-dev zlib1g-dev libcmocka-dev \
hdf5-tools gnuplot-nox dataset-fashion-mnist clang libclang-rt-14-dev \
libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata libturbojpeg0-dev libpng-dev \
python3 python3-numpy python3-pil python3-sklearn"
if [ "${1:-}" = arm ]; then
    PKGS="$PKGS gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user llvm-16"
fi
if [ "${1:-}" = slurm ]; then
    PKGS="$PKGS slurm-wlm munge"
fi
if [ "${1:-}" = bench ] || [ "${1:-}" = onnx ]; then
    PKGS="$PKGS python3 python3-torch python3-numpy python3-torchvision python3-onnx"
    # Node.js from elsewhere (NodeSource's nodejs ships its own npm and
    # conflicts with Debian's npm): take Debian's only for what is missing
    command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
    command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: missing packages:$missing; run as root or install sudo" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
