#!/bin/sh
# The NEON GEMM microkernels' inner loops on a Cortex-A76 (Raspberry Pi 5),
# by static analysis: each kernel is compiled for aarch64 exactly as the
# runtime ships it (plus -DPITHRT_MCA, which marks the loop with
# LLVM-MCA-BEGIN/END), and llvm-mca simulates 1000 iterations of the loop.
# MACs per cycle are compared with the core's peak: SDOT 2 x 16 = 32 int8
# MACs per cycle, FMLA 2 x 4 = 8 fp32 FMAs per cycle, SMLAL 1 x 4 = 4 (one
# integer multiply pipe). Targets: SDOT >= 70%, FMLA >= 80%.
#   sh bench/mca.sh [CPU]     (default cortex-a76; cortex-a53 and cortex-a55 also have models)
# Needs gcc-aarch64-linux-gnu and llvm (sh scripts/deps.sh arm).
set -eu
cd "$(dirname "$0")/.."
CPU=${1:-cortex-a76}
CC=${CROSS:-aarch64-linux-gnu-}gcc
OUT=${OUT:-build/mca}
ITER=1000
mkdir -p "$OUT"
for tool in "$CC" llvm-mca; do
    command -v "$tool" >/dev/null 2>&1 || { echo "mca.sh: $tool not found (sh scripts/deps.sh arm)" >&2; exit 1; }
done
printf '%-18s %-6s %12s %12s %12s %8s %7s\n' kernel instr "instr/iter" "cycles/iter" "MACs/cycle" peak "of peak"
# kernel, instruction, MACs per loop iteration, peak MACs per cycle
for spec in "gemm_s8_neon_dot SDOT 256 32" "gemm_f32_neon FMLA 64 8" "gemm_s8_neon SMLAL 64 4"; do
    set -- $spec
    # (GCC writes ".arch armv8-a" at the top even where a function enables
    # +dotprod, and LLVM's assembler would then reject SDOT: the line goes;
    # llvm-mca reads the markers as "#" comments at the start of a line)
    "$CC" -std=c99 -O2 -DPITHRT_MCA -S -o - "runtime/kernels/$1.c" |
        grep -v '^[[:space:]]*\.arch' | sed 's/^[[:space:]]*# LLVM-MCA/# LLVM-MCA/' >"$OUT/$1.s"
    llvm-mca -mtriple=aarch64-linux-gnu -mcpu="$CPU" -mattr=+dotprod -iterations=$ITER "$OUT/$1.s" \
        >"$OUT/$1.$CPU.txt" 2>&1 || { cat "$OUT/$1.$CPU.txt" >&2; exit 1; }
    awk -v k="$1" -v ins="$2" -v macs="$3" -v peak="$4" -v it=$ITER '
        /error:/ { bad = 1 }
        /Code Region/ { region = 1 }
        /^Instructions:/ { n = $2 }
        /^Total Cycles:/ { c = $3 }
        END {
            if (!c || bad || !region) { printf "%-18s llvm-mca failed (see its report)\n", k; exit 1 }
            cyc = c / it; r = macs / cyc
            printf "%-18s %-6s %12.1f %12.2f %12.2f %8d %6.1f%%\n", k, ins, n / it, cyc, r, peak, 100 * r / peak
        }' "$OUT/$1.$CPU.txt"
done
echo "(full llvm-mca reports: $OUT/*.$CPU.txt)"
