#!/usr/bin/python3
"""Speed on a busy machine: pith's runtime and training, and ONNX Runtime, with
0..N other CPU-bound processes running.

  /usr/bin/python3 bench/contention.py [--busy 0,1,2,3] [--threads 1,2] [--runs 100]
                                       [--model mobilenet-v2] [--int8] [--isa SET] [--train-images 6400]
                                       [--no-ort] [--no-train] [--json FILE] [--chart FILE.png]

For each number of busy processes (`sh -c 'while :; do :; done'`, started
before and stopped after that row's measurements) it runs, for --rounds
rounds with the thread counts alternating (medians over the rounds):
  - `pith bench` on the zoo model's export: median and p90 latency;
  - ONNX Runtime 1.30 (onnxruntime-node, ../shared/peers/ort_bench.js) on
    torchvision's export of the same architecture: median and p90;
  - `pith train --model fmnist-cnn --subset N --epochs 1`: training img/s.
Then it prints a table and checks the targets of a pool that degrades
gracefully: with any number of busy processes, N threads are never slower
than 1 thread (median latency, training img/s), and the N-thread p90 stays
within 1.5x the 1-thread p90.

Needs: build/pith; for ONNX Runtime, /tmp/peers/<model>[_int8_qdq].onnx
(../shared/peers/torch_zoo.py export / int8) and onnxruntime-node in $ORT_DIR
(default /tmp/peers/ort); see ../shared/peers/README.md. Without them the
ONNX Runtime columns say so and the rest runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(ROOT, "..", "shared", "peers")
ONNX = {"resnet18": "resnet18", "mobilenet-v2": "mobilenet_v2"}


def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), r.stderr[-2000:]))
    return r.stdout


def pith_latency(pith, model_file, threads, runs, isa):
    out = json.loads(run([pith, "bench", model_file, "--threads", str(threads), "--runs", str(runs),
                          "--warmup", "5", "--json"] + (["--isa", isa] if isa else [])))
    return out["median_ms"], out["p90_ms"], out["isa"]


def ort_latency(onnx, threads, runs, tmp):
    jf = os.path.join(tmp, "ort.json")
    run(["node", os.path.join(PEERS, "ort_bench.js"), onnx, "--threads", str(threads), "--runs", str(runs),
         "--repeats", "1", "--warmup", "5", "--json", jf])
    with open(jf) as f:
        rec = json.load(f)["threads"][str(threads)]
    return rec["median_ms"], rec["p90_ms"]


def train_speed(pith, threads, images, tmp):
    out = json.loads(run([pith, "train", "--model", "fmnist-cnn", "--epochs", "1", "--subset", str(images),
                          "--threads", str(threads), "--json", "--out", os.path.join(tmp, "c.h5")]))
    return out["img_per_s"]


def chart(rows, threads, a, tmp):
    dat = os.path.join(tmp, "contention.dat")
    with open(dat, "w") as f:  # one block per thread count, for gnuplot's index
        for t in threads:
            for r in sorted((r for r in rows if r["threads"] == t), key=lambda r: r["busy"]):
                f.write("%d %d %s\n" % (r["busy"], r["threads"], " ".join(
                    "%g" % r[k] if k in r else "NaN"
                    for k in ("pith_ms", "pith_p90_ms", "ort_ms", "ort_p90_ms", "train_img_s"))))
            f.write("\n\n")
    title = "%s%s (%s kernels) and training, on a busy machine" % (a.model, " int8" if a.int8 else " fp32",
                                                                  rows[0]["isa"])
    subprocess.run(["gnuplot", "-e", "data='%s'; out='%s'; title='%s'; threads='%s'" % (
        dat, a.chart, title, " ".join(str(t) for t in threads)), os.path.join(ROOT, "plots", "contention.gp")],
        check=True)
    print("chart: %s" % a.chart)


def burners(n):
    return [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(n)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--busy", default="0,1,2,3")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--model", default="mobilenet-v2")
    p.add_argument("--int8", action="store_true")
    p.add_argument("--isa", default=None, help="the runtime's kernel set (default: the fastest this CPU runs)")
    p.add_argument("--train-images", type=int, default=6400)
    p.add_argument("--no-ort", action="store_true")
    p.add_argument("--no-train", action="store_true")
    p.add_argument("--pith", default=os.path.join(ROOT, "build", "pith"))
    p.add_argument("--json", default=None)
    p.add_argument("--chart", default=None, help="PNG: latency and training speed against load (gnuplot)")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="pith-contention-")
    threads = [int(t) for t in a.threads.split(",")]
    busy = [int(b) for b in a.busy.split(",")]
    model_file = os.path.join(tmp, "model.pith")
    run([a.pith, "export", "--model", a.model, "--out", model_file] + (["--int8"] if a.int8 else []))
    onnx = "/tmp/peers/%s%s.onnx" % (ONNX.get(a.model, a.model), "_int8_qdq" if a.int8 else "")
    use_ort = not a.no_ort and os.path.exists(onnx)
    if not a.no_ort and not use_ort:
        print("ONNX Runtime: %s is missing (../shared/peers/torch_zoo.py export%s); its columns are empty" %
              (onnx, " / int8" if a.int8 else ""))
    rows = []
    for b in busy:
        procs = burners(b)
        time.sleep(0.5)
        try:
            got = {t: [] for t in threads}
            for _ in range(a.rounds):  # thread counts alternate, so each sees the same load
                for t in threads:
                    m = {}
                    m["pith_ms"], m["pith_p90_ms"], m["isa"] = pith_latency(a.pith, model_file, t, a.runs, a.isa)
                    if use_ort:
                        m["ort_ms"], m["ort_p90_ms"] = ort_latency(onnx, t, a.runs, tmp)
                    if not a.no_train:
                        m["train_img_s"] = train_speed(a.pith, t, a.train_images, tmp)
                    got[t].append(m)
            for t in threads:
                r = {"busy": b, "threads": t, "isa": got[t][0]["isa"]}
                for k in got[t][0]:
                    if k != "isa":
                        r[k] = statistics.median(m[k] for m in got[t])
                rows.append(r)
                print("  busy %d, %d thread(s): pith %.2f ms (p90 %.2f)%s%s" % (
                    b, t, r["pith_ms"], r["pith_p90_ms"],
                    ", ONNX Runtime %.2f ms (p90 %.2f)" % (r["ort_ms"], r["ort_p90_ms"]) if use_ort else "",
                    ", training %.0f img/s" % r["train_img_s"] if "train_img_s" in r else ""), flush=True)
        finally:
            for pr in procs:
                pr.kill()
                pr.wait()
    print("\n%s%s, %s kernels, %d runs per figure, medians of %d rounds; training: fmnist-cnn, %d images, "
          "batch 64\n" % (a.model, " int8" if a.int8 else " fp32", rows[0]["isa"], a.runs, a.rounds,
                           a.train_images))
    print("| busy processes | threads | pith median (ms) | pith p90 (ms) | ONNX Runtime median (ms) | "
          "ONNX Runtime p90 (ms) | pith training (img/s) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %d | %.2f | %.2f | %s | %s | %s |" % (
            r["busy"], r["threads"], r["pith_ms"], r["pith_p90_ms"],
            "%.2f" % r["ort_ms"] if "ort_ms" in r else "-", "%.2f" % r["ort_p90_ms"] if "ort_p90_ms" in r else "-",
            "%.0f" % r["train_img_s"] if "train_img_s" in r else "-"))
    # the targets, per load: N threads against 1 thread
    print()
    missed = 0
    for b in busy:
        one = next((r for r in rows if r["busy"] == b and r["threads"] == 1), None)
        for r in rows:
            if r["busy"] != b or r["threads"] == 1 or one is None:
                continue
            checks = [("median latency %.2f <= %.2f ms" % (r["pith_ms"], one["pith_ms"]),
                       r["pith_ms"] <= one["pith_ms"]),
                      ("p90 %.2f <= 1.5 x %.2f ms" % (r["pith_p90_ms"], one["pith_p90_ms"]),
                       r["pith_p90_ms"] <= 1.5 * one["pith_p90_ms"])]
            if "train_img_s" in r:
                checks.append(("training %.0f >= %.0f img/s" % (r["train_img_s"], one["train_img_s"]),
                               r["train_img_s"] >= one["train_img_s"]))
            for what, ok in checks:
                missed += not ok
                print("busy %d, %d threads vs 1: %s: %s" % (b, r["threads"], what, "met" if ok else "MISSED"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    if a.chart:
        chart(rows, threads, a, tmp)
    print("\n%d target(s) missed" % missed)


if __name__ == "__main__":
    main()
