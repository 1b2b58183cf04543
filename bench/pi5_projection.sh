#!/bin/sh
# Raspberry Pi 5 projection of .pith files: the aarch64 runtime (cross-built)
# runs each under qemu-aarch64 -cpu cortex-a76 with an instruction-counting
# plugin (../shared/tools/insncount/icount); instructions per inference are
# the difference of a 3-run and a 1-run count, divided by 2 (loading and
# packing cancel). A count is deterministic, immune to this host's noise,
# and the kernels are the board's (NEON with SDOT on the A76). Latency is
# projected at RATE instructions per second, default 4.4e9: what ncnn's
# published Pi 5 one-thread latencies imply for its own instruction counts
# (resnet18 fp32 133.5 M / 29.7 ms, resnet18 int8 159.7 M / 36.4 ms; see
# docs/measured.md). It is a projection, not a measurement: memory stalls and
# another code's IPC can move it either way.
#   sh bench/pi5_projection.sh MODEL.pith...        (CPU=cortex-a53 for the A53)
set -eu
cd "$(dirname "$0")/.."
ICOUNT=${ICOUNT:-../shared/tools/insncount/icount}
CPU=${CPU:-cortex-a76}
RATE=${RATE:-4.4e9}
ARM=build/aarch64-linux-gnu
[ -x "$ICOUNT" ] || { echo "pi5_projection: $ICOUNT not found" >&2; exit 2; }
[ -x "$ARM/pithrt-bench" ] || make --no-print-directory -C runtime CROSS=aarch64-linux-gnu- OUT="$(pwd)/$ARM" \
    "$(pwd)/$ARM/pithrt-bench" >/dev/null
count() { "$ICOUNT" -cpu "$CPU" "$ARM/pithrt-bench" "$1" --runs "$2" --warmup 0 --threads 1 2>/dev/null | awk '{ print $1 }'; }
printf '%-60s %14s %14s\n' model "M instr/inf" "projected ms"
for f in "$@"; do
    one=$(count "$f" 1)
    three=$(count "$f" 3)
    awk -v f="$f" -v a="$one" -v b="$three" -v r="$RATE" \
        'BEGIN { n = (b - a) / 2; printf "%-60s %14.1f %14.1f\n", f, n / 1e6, 1e3 * n / r }'
done
