#!/bin/sh
# The board's image input and the workbench's agree: pithrt-run --image on a
# PGM and --gray on its raw bytes print the top 5 that pith infer prints for
# the same file (both go through pithrt_set_input_image; the image is not the
# model's size, so the resize runs).
#   tests/board_image.sh PITH RUNTIME_BUILD_DIR MODEL.pith IMAGE.pgm
set -eu
PITH=$1 RT=$2 MODEL=$3 PGM=$4
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
"$PITH" infer "$MODEL" "$PGM" | sed -n 's/^ *\([1-5]\)\. *\([0-9]*\) .*/\1 \2/p' > "$D/workbench"
"$RT/pithrt-run" "$MODEL" --image "$PGM" | sed -n 's/^\([1-5]\)\. class \([0-9]*\) .*/\1 \2/p' > "$D/board"
# the raw bytes after the PGM header (P5, width, height, 255 on one line each)
size=$(sed -n 2p "$PGM" | tr ' ' x)
tail -c +$(( $(head -3 "$PGM" | wc -c) + 1 )) "$PGM" > "$D/raw"
"$RT/pithrt-run" "$MODEL" --gray "$D/raw" "$size" | sed -n 's/^\([1-5]\)\. class \([0-9]*\) .*/\1 \2/p' > "$D/raw.out"
[ "$(wc -l < "$D/workbench")" -eq 5 ] || { echo "board image: pith infer printed no top 5" >&2; exit 1; }
cmp -s "$D/workbench" "$D/board" && cmp -s "$D/workbench" "$D/raw.out" || {
    echo "board image: pith infer, pithrt-run --image and --gray disagree" >&2
    paste "$D/workbench" "$D/board" "$D/raw.out" >&2
    exit 1
}
echo "board image input: pithrt-run --image and --gray give pith infer's top 5 for $(basename "$PGM") ($size)"
