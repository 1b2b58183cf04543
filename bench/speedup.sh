#!/bin/sh
# The fast kernels against the reference kernels, same model, same run:
# `pith bench --isa ref` and `pith bench` (the fastest set this CPU has)
# alternate for ROUNDS rounds; medians and their ratio.
#   sh bench/speedup.sh [MODEL ...]     (default: fmnist-cnn; zoo names, int8 and fp32)
# ROUNDS (3), RUNS (200), THREADS (1) from the environment.
set -eu
cd "$(dirname "$0")/.."
PITH=${PITH:-build/pith}
ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-200}
THREADS=${THREADS:-1}
[ -x "$PITH" ] || make --no-print-directory "$PITH" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-16s %-5s %-8s %12s %12s %8s\n' model type fast-set "ref (ms)" "fast (ms)" speedup
for model in ${*:-fmnist-cnn}; do
    for prec in int8 fp32; do
        f="$tmp/$model-$prec.pith"
        "$PITH" export --model "$model" --out "$f" $([ $prec = int8 ] && echo --int8) >/dev/null
        : >"$tmp/ref"
        : >"$tmp/fast"
        for r in $(seq "$ROUNDS"); do
            "$PITH" bench "$f" --isa ref --runs "$RUNS" --threads "$THREADS" --json |
                sed 's/.*"median_ms": *\([0-9.e+-]*\).*/\1/' >>"$tmp/ref"
            "$PITH" bench "$f" --runs "$RUNS" --threads "$THREADS" --json >"$tmp/out.json"
            sed 's/.*"median_ms": *\([0-9.e+-]*\).*/\1/' "$tmp/out.json" >>"$tmp/fast"
        done
        isa=$(sed 's/.*"isa": *"\([a-z0-9]*\)".*/\1/' "$tmp/out.json")
        a=$(median <"$tmp/ref")
        b=$(median <"$tmp/fast")
        printf '%-16s %-5s %-8s %12.4f %12.4f %7.1fx\n' "$model" "$prec" "$isa" "$a" "$b" "$(echo "$a $b" | awk '{ print $1 / $2 }')"
    done
done
