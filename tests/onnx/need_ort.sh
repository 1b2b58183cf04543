# Sourced by the checks against ONNX Runtime (qdq_ort.sh, export_ort.sh):
#   need_ort NAME "PYTHON MODULES"
# skips the check (exit 0, saying why) when /usr/bin/python3 lacks the modules
# or onnxruntime-node is not in $ORT_DIR (default $BUILD/ort, where
# compare_ort.sh installs it); otherwise exports ORT_DIR as an absolute path.
need_ort() {
    if ! /usr/bin/python3 -c "import $(echo "$2" | tr ' ' ',')" 2>/dev/null; then
        echo "$1: skipped: /usr/bin/python3 lacks one of $2 (sh scripts/deps.sh onnx installs them)"
        exit 0
    fi
    ORT_DIR=${ORT_DIR:-$BUILD/ort}
    if [ ! -d "$ORT_DIR/node_modules/onnxruntime-node" ]; then
        echo "$1: skipped: no onnxruntime-node in $ORT_DIR (compare_ort.sh installs it)"
        exit 0
    fi
    ORT_DIR=$(cd "$ORT_DIR" && pwd)
    export ORT_DIR
}
