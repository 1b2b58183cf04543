#!/usr/bin/python3
"""The trained fixture of test_onnx: fmnist-cnn trained in PyTorch, exported to ONNX.

  /usr/bin/python3 tests/onnx/fmnist_torch.py [--epochs 2] [--out tests/fixtures/onnx]

Trains the fmnist-cnn architecture (conv3x3 1->16 + BN + ReLU, maxpool 2,
conv3x3 16->32 + BN + ReLU, maxpool 2, flatten, linear 1568->128 + ReLU,
linear 128->10) on Fashion-MNIST (inputs x/255 normalised by 0.2860 / 0.3530)
with SGD, evaluates it on the 10,000 test images, and writes
  fmnist_cnn.onnx   opset 13, batchnorm kept (TrainingMode.PRESERVE, no constant folding)
  fmnist_cnn.json   PyTorch's test top-1 and loss: what pith eval must reproduce
Seeded and single-threaded, so a rerun on the same PyTorch gives the same file.
"""
import argparse
import gzip
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530


def idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = struct.unpack(">" + "I" * (magic & 0xFF), f.read(4 * (magic & 0xFF)))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def images(name):
    x = idx(name).astype(np.float32) / 255.0
    return torch.from_numpy(((x - MEAN) / STD).reshape(-1, 1, 28, 28))


class FmnistCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "onnx"))
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    xtr, ytr = images("train-images-idx3-ubyte.gz"), torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    xte, yte = images("t10k-images-idx3-ubyte.gz"), torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    m = FmnistCNN()
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    g = torch.Generator().manual_seed(0)
    for epoch in range(a.epochs):
        m.train()
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(m(xtr[b]), ytr[b]).backward()
            opt.step()
    m.eval()
    with torch.no_grad():
        logits = torch.cat([m(xte[i:i + 1000]) for i in range(0, len(xte), 1000)])
    top1 = (logits.argmax(1) == yte).float().mean().item()
    loss = F.cross_entropy(logits, yte).item()
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "fmnist_cnn.onnx")
    torch.onnx.export(m, xte[:1], path, opset_version=13, input_names=["image"], output_names=["logits"],
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    with open(os.path.join(a.out, "fmnist_cnn.json"), "w") as f:
        json.dump({"top1": top1, "test_loss": loss, "epochs": a.epochs, "torch": torch.__version__,
                   "test_images": len(xte), "mean": MEAN, "std": STD}, f, indent=1)
    print("PyTorch test top-1 %.4f, loss %.4f -> %s" % (top1, loss, path))


if __name__ == "__main__":
    main()
