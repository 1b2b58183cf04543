#!/usr/bin/python3
"""torchvision mobilenet_v3_small and shufflenet_v2_x0_5 trained on
Fashion-MNIST in PyTorch and exported to ONNX: the trained imported models of
bench/imported_int8.sh (float / PTQ / QAT top-1 through pith).

  /usr/bin/python3 bench/torchvision_fmnist.py OUT_DIR [--epochs 3] [--threads 2] [MODEL ...]

Adapted to the 1 x 28 x 28 input, not upsampled: the first convolution takes
one channel and has stride 1 (torchvision's stride 2 would leave a 1 x 1 plane
before the last stage), and the classifier ends in 10 classes. Everything else
is torchvision's architecture: squeeze-and-excitation gates, hardswish and
hardsigmoid (mobilenet_v3_small), channel split, concat and shuffle
(shufflenet_v2_x0_5). Inputs are x/255 normalised by 0.2860 / 0.3530, as
pith's fmnist configs do. SGD with momentum and cosine decay; seeded.

Writes OUT_DIR/MODEL.onnx (opset 13, batchnorm kept so that pith folds it)
and OUT_DIR/MODEL.json (PyTorch's test top-1 and loss, epochs, seconds).
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "onnx"))
from fmnist_torch import MEAN, STD, idx, images  # noqa: E402


def build(name):
    torch.manual_seed(0)
    if name == "mobilenet_v3_small":
        m = torchvision.models.mobilenet_v3_small(weights=None, num_classes=10)
        c = m.features[0][0]
        m.features[0][0] = nn.Conv2d(1, c.out_channels, 3, stride=1, padding=1, bias=False)
    elif name == "shufflenet_v2_x0_5":
        m = torchvision.models.shufflenet_v2_x0_5(weights=None, num_classes=10)
        c = m.conv1[0]
        m.conv1[0] = nn.Conv2d(1, c.out_channels, 3, stride=1, padding=1, bias=False)
    else:
        raise SystemExit("unknown model " + name)
    return m


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("models", nargs="*", default=["mobilenet_v3_small", "shufflenet_v2_x0_5"])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.05)
    a = p.parse_intermixed_args()
    torch.set_num_threads(a.threads)
    xtr, ytr = images("train-images-idx3-ubyte.gz"), torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype("int64"))
    xte, yte = images("t10k-images-idx3-ubyte.gz"), torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype("int64"))
    os.makedirs(a.out, exist_ok=True)
    for name in a.models:
        m = build(name)
        steps = a.epochs * ((len(xtr) + 127) // 128)
        opt = torch.optim.SGD(m.parameters(), lr=a.lr, momentum=0.9, weight_decay=4e-5, nesterov=True)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.15)
        g = torch.Generator().manual_seed(0)
        t0 = time.time()
        for epoch in range(a.epochs):
            m.train()
            perm = torch.randperm(len(xtr), generator=g)
            for i in range(0, len(xtr), 128):
                b = perm[i:i + 128]
                opt.zero_grad()
                F.cross_entropy(m(xtr[b]), ytr[b]).backward()
                opt.step()
                sched.step()
                if (i // 128) % 100 == 0:
                    print("%s epoch %d/%d batch %d/%d" % (name, epoch + 1, a.epochs, i // 128, len(xtr) // 128),
                          file=sys.stderr, flush=True)
        seconds = time.time() - t0
        m.eval()
        with torch.no_grad():
            logits = torch.cat([m(xte[i:i + 1000]) for i in range(0, len(xte), 1000)])
        top1 = (logits.argmax(1) == yte).float().mean().item()
        loss = F.cross_entropy(logits, yte).item()
        path = os.path.join(a.out, name + ".onnx")
        torch.onnx.export(m, xte[:1], path + ".tmp", opset_version=13, input_names=["image"], output_names=["logits"],
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
        os.replace(path + ".tmp", path)
        with open(os.path.join(a.out, name + ".json"), "w") as f:
            json.dump({"model": name, "top1": top1, "test_loss": loss, "epochs": a.epochs, "seconds": seconds,
                       "threads": a.threads, "torch": torch.__version__, "input": "1x28x28", "mean": MEAN,
                       "std": STD, "params": sum(q.numel() for q in m.parameters())}, f, indent=1)
        print("%s: PyTorch test top-1 %.4f, loss %.4f, %.0f s -> %s" % (name, top1, loss, seconds, path))


if __name__ == "__main__":
    main()
