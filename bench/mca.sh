#!/bin/sh
# The NEON GEMM microkernels' inner loops on a Cortex-A76 (Raspberry Pi 5),
# by static analysis. Each kernel is compiled for aarch64 exactly as the
# runtime ships it (plus -DPITHRT_MCA, which marks the loop with
# LLVM-MCA-BEGIN/END) and llvm-mca simulates 1000 iterations of the loop.
# MACs per cycle are compared with the A76's peak: SDOT 2 x 16 = 32 int8 MACs
# per cycle, FMLA 2 x 4 = 8 fp32 FMAs per cycle, SMLAL 1 x 4 = 4 (one integer
# multiply pipe). Targets: SDOT >= 70%, FMLA >= 80%.
#
# LLVM (up to 16, Debian 12's newest) has no scheduling model of the A76:
# -mcpu=cortex-a76 borrows the Cortex-A57's, whose 64-bit FP pipes take two
# cycles per 128-bit FMLA (half the A76's rate) and which does not know SDOT.
# So the loops are also run on the Neoverse N2 model, the nearest one with the
# A76's vector back end (two 128-bit pipes, FMLA and SDOT on both, integer
# multiplies on one); the report says which model each line used.
#   sh bench/mca.sh [CPU ...]     (default: cortex-a76 neoverse-n2)
# Needs gcc-aarch64-linux-gnu and llvm-16 (sh scripts/deps.sh arm).
set -eu
cd "$(dirname "$0")/.."
CPUS=${*:-cortex-a76 neoverse-n2}
CC=${CROSS:-aarch64-linux-gnu-}gcc
MCA=$(command -v llvm-mca-16 || command -v llvm-mca || true)
OUT=${OUT:-build/mca}
ITER=1000
mkdir -p "$OUT"
command -v "$CC" >/dev/null 2>&1 || { echo "mca.sh: $CC not found (sh scripts/deps.sh arm)" >&2; exit 1; }
[ -n "$MCA" ] || { echo "mca.sh: llvm-mca not found (sh scripts/deps.sh arm)" >&2; exit 1; }
echo "$($MCA --version | grep -i "llvm version" | sed "s/^ *//"), $CC $($CC -dumpversion) -O3 (as the runtime builds)"
printf '%-22s %-12s %-18s %6s %8s %8s %6s %8s\n' kernel "-mcpu" "model used" instr cyc/iter MACs/cyc peak "of peak"
for spec in "gemm_s8_neon_dot SDOT 256 32" "gemm_f32_neon FMLA 64 8" "gemm_s8_neon SMLAL 64 4"; do
    set -- $spec
    # (GCC writes ".arch armv8-a" at the top even where a function enables
    # +dotprod, and LLVM's assembler would then reject SDOT: the line goes;
    # llvm-mca reads the markers as "#" comments at the start of a line)
    "$CC" -std=c99 -O3 -DPITHRT_MCA -S -o - "runtime/kernels/$1.c" |
        grep -v '^[[:space:]]*\.arch' | sed 's/^[[:space:]]*# LLVM-MCA/# LLVM-MCA/' >"$OUT/$1.s"
    for cpu in $CPUS; do
        rep="$OUT/$1.$cpu.txt"
        "$MCA" -mtriple=aarch64-linux-gnu -mcpu="$cpu" -mattr=+dotprod -iterations=$ITER "$OUT/$1.s" >"$rep" 2>&1 ||
            { cat "$rep" >&2; exit 1; }
        # one line per marked loop (a file may hold several: the in-place variant beside the kernel)
        awk -v cpu="$cpu" -v macs="$3" -v peak="$4" -v it=$ITER '
            function emit() {
                if (!region) return
                if (!c) { printf "%-22s %-12s llvm-mca failed (see %s)\n", region, cpu, FILENAME; failed = 1; return }
                name = model == "A57" ? "Cortex-A57 (!)" : model == "N2" ? "Neoverse N2" : model
                cyc = c / it; r = macs / cyc
                printf "%-22s %-12s %-18s %6.0f %8.2f %8.2f %6d %7.1f%%\n", region, cpu, name, n / it, cyc, r, peak, 100 * r / peak
                c = 0
            }
            /error:/ { failed = 1 }
            /Code Region - / { emit(); region = $NF }
            /^Instructions:/ { n = $2 }
            /^Total Cycles:/ { c = $3 }
            /^\[[0-9.]+\] +- / && !model { model = $3; sub(/Unit.*/, "", model) }
            END { emit(); if (failed || !region) exit 1 }' "$rep" || { echo "mca.sh: llvm-mca failed (see $rep)" >&2; exit 1; }
    done
done
echo "(instr: instructions per loop iteration; full reports in $OUT/)"
