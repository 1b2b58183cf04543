#!/bin/sh
# A PyTorch model and photos side by side with PyTorch (tests/onnx/photos_torch.py):
# imported with torchvision's preprocessing (--resize 256, ImageNet's mean and
# std in the 0-1 convention), exported, and pith infer's top 5 of each photo
# against the logits of torchvision's own pipeline: the same classes in the
# same order (up to near-ties) and scores within 1e-4 of the largest logit.
#   sh tests/onnx/photos_torch.sh BUILD_DIR
set -eu
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
if ! /usr/bin/python3 -c "import torch, torchvision, PIL" 2>/dev/null; then
    echo "photos_torch: skipped: /usr/bin/python3 has no torch/torchvision (sh scripts/deps.sh onnx installs them)"
    exit 0
fi
D=$BUILD/onnx-photos
/usr/bin/python3 "$HERE/photos_torch.py" "$D" 2>&1 | grep -v -i warn || true
"$BUILD/pith" import "$D/model.onnx" --resize 256 --mean01 0.485,0.456,0.406 --std01 0.229,0.224,0.225 \
    --out "$D/m.h5" --quiet
"$BUILD/pith" export "$D/m.h5" --out "$D/m.pith" >/dev/null
"$BUILD/pith" infer "$D/m.pith" "$D"/photo*.jpg "$D"/photo*.png --json > "$D/pith.json"
/usr/bin/python3 - "$D" <<'PY'
import json, os, sys
d = sys.argv[1]
want = json.load(open(f"{d}/expected.json"))["logits"]
got = json.load(open(f"{d}/pith.json"))["images"]
bad = 0
for img in got:
    name = os.path.basename(img["image"])
    z = want[name]
    scale = max(abs(v) for v in z)
    order = sorted(range(len(z)), key=lambda i: -z[i])
    worst = 0.0
    for rank, t in enumerate(img["top5"]):
        # the score pith gives its class is torch's logit for it, and the
        # rank-th largest of torch's logits (a near-tie may swap two classes)
        worst = max(worst, abs(t["score"] - z[t["class"]]) / scale, abs(t["score"] - z[order[rank]]) / scale)
    ok = worst <= 1e-4
    bad += not ok
    print(f"photos_torch: {name}: top 5 {[t['class'] for t in img['top5']]} torch {order[:5]}, "
          f"largest difference {worst:.2e} of the largest logit {'ok' if ok else 'FAILED'}")
sys.exit(1 if bad or len(got) != len(want) else 0)
PY
# and the check would see a preprocessing other than torchvision's: the
# whole image resized to 224 (rknn's way) moves the logits far beyond 1e-4
"$BUILD/pith" import "$D/model.onnx" --resize 0 --mean01 0.485,0.456,0.406 --std01 0.229,0.224,0.225 \
    --out "$D/stretch.h5" --quiet
"$BUILD/pith" export "$D/stretch.h5" --out "$D/stretch.pith" >/dev/null
"$BUILD/pith" infer "$D/stretch.pith" "$D/photo0.jpg" --json > "$D/stretch.json"
/usr/bin/python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
z = json.load(open(f"{d}/expected.json"))["logits"]["photo0.jpg"]
t = json.load(open(f"{d}/stretch.json"))["images"][0]["top5"][0]
diff = abs(t["score"] - z[t["class"]]) / max(abs(v) for v in z)
print(f"photos_torch: photo0.jpg stretched instead of cropped differs by {diff:.2e} of the largest logit "
      f"({'as it must' if diff > 1e-3 else 'TOO LITTLE: the check cannot see preprocessing'})")
sys.exit(0 if diff > 1e-3 else 1)
PY
