#!/usr/bin/python3
"""pith's runtime against ONNX Runtime on the same architectures, batch 1.

  /usr/bin/python3 bench/ort_compare.py [--rounds 3] [--runs 5] [--threads 1,2] [--models resnet18,mobilenet-v2]
  /usr/bin/python3 bench/ort_compare.py --imported [--threads 1] [--models resnet18,...,yolov8n]

For each model (torchvision's resnet18 and mobilenet_v2, random weights) in
fp32 and int8, and each thread count, it alternates `pith bench` on pith's
export and `ort_bench.js` on torchvision's ONNX export, --rounds times, so
that both see the same machine state, and prints the median latencies and
their ratio (pith / ONNX Runtime; below 1 means pith is faster). Both take
5 warm-up runs and max(--runs, 20) timed runs.

Needs: build/pith; ../shared/peers (torch_zoo.py has written
/tmp/peers/{resnet18,mobilenet_v2}.onnx and *_int8_qdq.onnx) and
onnxruntime-node in $ORT_DIR (default /tmp/peers/ort); see ../shared/peers/README.md.
The .pith files are made here with `pith export --model NAME [--int8]`.

--imported: the same on imported models, fp32: torchvision's (random
weights, tests/onnx/export_models.py) and YOLOv8n at 640 (bench/models/
yolov8n.py). Each ONNX file goes through `pith import` (timed) and `pith
export`; ONNX Runtime runs the very same .onnx file. onnxruntime-node from
$ORT_DIR (default build/ort, where make test-onnx installs it).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(ROOT, "..", "shared", "peers")
ONNX = {"resnet18": "resnet18", "mobilenet-v2": "mobilenet_v2"}


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stderr[-2000:]))
    return r.stdout


IMPORTED = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_0", "squeezenet1_1",
            "efficientnet_b0", "lraspp_mobilenet_v3_large", "yolov8n"]


def imported(a):
    import time
    os.environ.setdefault("ORT_DIR", os.path.join(ROOT, "build", "ort"))
    d = os.path.join(ROOT, "build", "onnx-models")
    models = IMPORTED if a.models == "resnet18,mobilenet-v2" else a.models.split(",")
    threads = [int(t) for t in a.threads.split(",")]
    rows = []
    for model in models:
        onnx = os.path.join(d, model + ".onnx")
        if model == "yolov8n":
            if not os.path.exists(onnx):
                run(["/usr/bin/python3", os.path.join(HERE, "models", "yolov8n.py"), onnx])
        else:
            run(["/usr/bin/python3", os.path.join(ROOT, "tests", "onnx", "export_models.py"), d, model])
        ck, pf = os.path.join(d, model + ".h5"), os.path.join(d, model + ".pith")
        t0 = time.perf_counter()
        info = json.loads(run([a.pith, "import", onnx, "--out", ck, "--json"]))
        import_s = time.perf_counter() - t0
        run([a.pith, "export", ck, "--out", pf])
        for t in threads:
            ours, theirs = [], []
            for r in range(a.rounds):
                out = json.loads(run([a.pith, "bench", pf, "--threads", str(t), "--runs", str(a.runs), "--warmup", "2",
                                      "--json"]))
                ours.append(out["median_ms"])
                jf = os.path.join(d, "ort.json")
                run(["node", os.path.join(PEERS, "ort_bench.js"), onnx, "--threads", str(t), "--runs", str(a.runs),
                     "--repeats", "1", "--warmup", "2", "--json", jf])
                with open(jf) as f:
                    theirs.append(json.load(f)["threads"][str(t)]["median_ms"])
                print("  %s %d thread(s), round %d: pith %.1f ms, ONNX Runtime %.1f ms" % (model, t, r + 1, ours[-1],
                                                                                          theirs[-1]), flush=True)
            po, pt = statistics.median(ours), statistics.median(theirs)
            rows.append({"model": model, "threads": t, "pith_ms": po, "ort_ms": pt, "ratio": po / pt,
                         "import_s": import_s, "params": info["params"], "macs": info["macs"],
                         "kernels": out.get("isa", "")})
    print("\n| model | params | G MACs | import (s) | threads | pith (ms) | ONNX Runtime (ms) | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %.2f M | %.3f | %.2f | %d | %.1f | %.1f | %.2f |" % (
            r["model"], r["params"] / 1e6, r["macs"] / 1e9, r["import_s"], r["threads"], r["pith_ms"], r["ort_ms"],
            r["ratio"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--models", default="resnet18,mobilenet-v2")
    p.add_argument("--pith", default=os.path.join(ROOT, "build", "pith"))
    p.add_argument("--json", default=None)
    p.add_argument("--imported", action="store_true")
    a = p.parse_args()
    if a.imported:
        return imported(a)
    tmp = tempfile.mkdtemp(prefix="pith-ort-")
    threads = [int(t) for t in a.threads.split(",")]
    rows = []
    for model in a.models.split(","):
        for prec in ("fp32", "int8"):
            pith_file = os.path.join(tmp, "%s-%s.pith" % (model, prec))
            run([a.pith, "export", "--model", model, "--out", pith_file] + (["--int8"] if prec == "int8" else []))
            onnx = "/tmp/peers/%s%s.onnx" % (ONNX[model], "_int8_qdq" if prec == "int8" else "")
            if not os.path.exists(onnx):
                print("skipping %s %s: %s is missing (run torch_zoo.py export / int8)" % (model, prec, onnx))
                continue
            for t in threads:
                ours, theirs = [], []
                for r in range(a.rounds):
                    out = json.loads(run([a.pith, "bench", pith_file, "--threads", str(t), "--runs", str(max(a.runs, 20)),
                                          "--warmup", "5", "--json"]))
                    ours.append(out["median_ms"])
                    jf = os.path.join(tmp, "ort.json")
                    run(["node", os.path.join(PEERS, "ort_bench.js"), onnx, "--threads", str(t), "--runs",
                         str(max(a.runs, 20)), "--repeats", "1", "--warmup", "5", "--json", jf])
                    with open(jf) as f:
                        theirs.append(json.load(f)["threads"][str(t)]["median_ms"])
                    print("  %s %s %d thread(s), round %d: pith %.1f ms, ONNX Runtime %.1f ms" %
                          (model, prec, t, r + 1, ours[-1], theirs[-1]), flush=True)
                po, pt = statistics.median(ours), statistics.median(theirs)
                rows.append({"model": model, "precision": prec, "threads": t, "pith_ms": po, "ort_ms": pt,
                             "ratio": po / pt, "arena_bytes": out["arena_bytes"],
                             "weight_bytes": out["weight_bytes"]})
    print("\n| model | precision | threads | pith (ms) | ONNX Runtime (ms) | ratio |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %d | %.1f | %.1f | %.2f |" % (r["model"], r["precision"], r["threads"], r["pith_ms"],
                                                      r["ort_ms"], r["ratio"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
