#!/bin/sh
# The C examples of the documentation compile and run: the usage example in
# runtime/pithrt.h's opening comment, and every ```c block of README.md and
# docs/*.md. Each is a fragment, compiled as the body of
#   int example(const void *buf, size_t len, const float *image)
# against the runtime alone (-std=c99 -Werror), then run on a .pith model.
#   tests/doc_examples.sh MODEL.pith [RUNTIME_BUILD_DIR]
set -eu
MODEL=$1
RT=${2:-build/runtime}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT

# the header's example: the comment lines indented by three spaces after " *"
sed -n '1,/\*\//p' "$ROOT/runtime/pithrt.h" | sed -n 's/^ \*   //p' > "$D/ex0.frag"
[ -s "$D/ex0.frag" ] || { echo "doc examples: no example found in runtime/pithrt.h" >&2; exit 1; }
i=1
for md in "$ROOT/README.md" "$ROOT"/docs/*.md; do
    awk -v out="$D/ex" -v n="$i" '
        /^```c$/ { f = out n ".frag"; inblock = 1; n++; next }
        /^```/ { inblock = 0; next }
        inblock { print > f }
        END { print n > "/dev/stderr" }' "$md" 2>"$D/n"
    i=$(cat "$D/n")
done

fail=0
for frag in "$D"/ex*.frag; do
    name=$(basename "$frag" .frag)
    { printf '#include <stdio.h>\n#include <stdlib.h>\n#include "pithrt.h"\n'
      printf 'static int example(const void *buf, size_t len, const float *image)\n{\n'
      cat "$frag"
      printf '    return 0;\n}\n'
      printf 'int main(int argc, char **argv)\n{\n    void *buf; size_t len; char msg[256];\n'
      printf '    if (argc < 2 || pithrt_file_read(argv[1], &buf, &len, msg, sizeof msg)) return 2;\n'
      printf '    float *image = calloc(1u << 22, sizeof *image);\n'
      printf '    int rc = image ? example(buf, len, image) : 2;\n    free(image);\n    free(buf);\n    return rc;\n}\n'
    } > "$D/$name.c"
    if ! cc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -I"$ROOT/runtime" -o "$D/$name" "$D/$name.c" \
        "$RT/libpithrt.a" -lm -pthread; then
        echo "doc examples: $name does not compile:"; cat -n "$frag"; fail=1; continue
    fi
    "$D/$name" "$MODEL" || { echo "doc examples: $name failed on $MODEL"; fail=1; }
done
n=$(ls "$D"/ex*.frag | wc -l)
[ $fail -eq 0 ] && echo "doc examples: $n compiled and ran (runtime/pithrt.h and the \`\`\`c blocks of README.md, docs/)"
exit $fail
