#!/bin/sh
# Renders the trade-off charts from a results table (make plots).
#   sh plots/render.sh [RESULTS.tsv] [OUTDIR] [RUNS_DIR]
# Writes OUTDIR/{acc_vs_bytes,acc_vs_macs,acc_vs_latency,knob,curves}.{png,svg}.
# awk extracts columns by header name (successful runs only); gnuplot draws.
set -eu
RESULTS=${1:-results/runs.tsv}
OUT=${2:-results/plots}
RUNS=${3:-runs}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$RESULTS" ] || { echo "plots: no results table at $RESULTS (run an experiment first)" >&2; exit 1; }
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# One data file per chart. Series ("method") = model + stage chain.
awk -F'\t' -v tmp="$TMP" '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
$col["status"] != "ok" || $col["top1"] == "NA" { next }
{
    method = $col["model"] " " $col["stages"]; gsub(/ /, "_", method)
    acc = 100 * $col["top1"]
    print method, $col["model_bytes"] / 1024, $col["macs"], acc > (tmp "/points.dat")
    if ($col["latency_ms"] != "NA") print method, $col["latency_ms"], acc > (tmp "/latency.dat")
    # the swept knob: the first key of knobs that is not the seed; the
    # other knobs (e.g. the pruning criterion) name the series
    n = split($col["knobs"], kv, ";"); key = ""; val = ""; series = $col["experiment"]
    for (i = 1; i <= n; i++) {
        split(kv[i], p, "=")
        if (p[1] == "seed" || p[1] == "") continue
        if (key == "") { key = p[1]; val = p[2] } else { q = p[1]; sub(/.*\./, "", q); series = series "_" q "=" p[2] }
    }
    if (key != "") {
        g = series SUBSEP key SUBSEP val
        s[g] += acc; ss[g] += acc * acc; c[g]++; keys[key] = 1
    }
}
END {
    for (g in c) {
        split(g, part, SUBSEP); m = s[g] / c[g]; v = ss[g] / c[g] - m * m; if (v < 0) v = 0
        print part[1], part[3], m, sqrt(v), c[g] > (tmp "/knob_raw.dat")
    }
    for (k in keys) printf "%s%s", (nk++ ? "," : ""), k > (tmp "/knob_key.txt")
}' "$RESULTS"

touch "$TMP/points.dat" "$TMP/latency.dat" "$TMP/knob_raw.dat" "$TMP/knob_key.txt"
sort -k1,1 -k2g "$TMP/knob_raw.dat" > "$TMP/knob.dat"

# Training curves of the newest run that has a log with epochs.
LOG=$(ls -t "$RUNS"/*/*/log.txt 2>/dev/null | while read -r f; do grep -q '^epoch ' "$f" && { echo "$f"; break; }; done || true)
: > "$TMP/curves.dat"
[ -n "$LOG" ] && awk '/^epoch / { sub(":", "", $2); print $2, $6, $8, $10, $12 }' "$LOG" > "$TMP/curves.dat"
CURVES_TITLE=${LOG:-no run with epochs found}

for term in png svg; do
    if [ "$term" = png ]; then T="pngcairo size 800,600 font 'sans,10'"; else T="svg size 800,600 font 'sans,10'"; fi
    for chart in acc_vs_bytes acc_vs_macs acc_vs_latency knob curves; do
        # a single point gives "empty range" warnings; anything else is shown
        if ! gnuplot -e "set terminal $T; set output '$OUT/$chart.$term'; data='$TMP'; knobkey='$(cat "$TMP/knob_key.txt")'; curvestitle='$CURVES_TITLE'" \
            "$HERE/common.gp" "$HERE/$chart.gp" 2> "$TMP/gnuplot.err"; then
            cat "$TMP/gnuplot.err" >&2
            exit 1
        fi
        grep -v '^Warning: empty [xy]2\{0,1\} range' "$TMP/gnuplot.err" >&2 || true
    done
done
echo "plots: $OUT/{acc_vs_bytes,acc_vs_macs,acc_vs_latency,knob,curves}.{png,svg}"
