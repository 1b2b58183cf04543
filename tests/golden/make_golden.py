#!/usr/bin/python3
"""Golden values for tests/test_golden.c: fmnist-cnn forward, loss and every
gradient computed by PyTorch (Debian's python3-torch) on a fixed batch.

    /usr/bin/python3 tests/golden/make_golden.py tests/golden/fmnist_cnn.h5   (or: make golden)

Weights and inputs are not stored: both sides compute them from the same
counter-based hash (splitmix64), so the file holds only what PyTorch computed.
A value is u(i) = 2 * (hash(salt, i) >> 40) / 2^24 - 1, exactly representable
in float32, times a power-of-two scale, so C and numpy agree bit for bit.
The model is the one in ../shared/peers/torch_fmnist.py, in training mode
(batch statistics in BN), loss = mean cross-entropy.
"""
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

M64 = (1 << 64) - 1


def splitmix(x):
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(M64)
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & np.uint64(M64)
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & np.uint64(M64)
        return z ^ (z >> np.uint64(31))


def uniform(salt, n):
    """n values in [-1, 1): 2 * (24-bit uniform) - 1, as float32."""
    i = np.arange(n, dtype=np.uint64) + np.uint64(salt) * np.uint64(1 << 32)
    h = splitmix(i) >> np.uint64(40)
    return (h.astype(np.float64) / 16777216.0 * 2.0 - 1.0).astype(np.float32)


# (pith name, salt, scale): scale is a power of two near 1/sqrt(fan_in)
PARAMS = [
    ("conv1.weight", 1, 0.25), ("bn1.weight", 2, 0.25), ("bn1.bias", 3, 0.25),
    ("conv2.weight", 4, 0.0625), ("bn2.weight", 5, 0.25), ("bn2.bias", 6, 0.25),
    ("fc1.weight", 7, 0.03125), ("fc1.bias", 8, 0.03125),
    ("fc2.weight", 9, 0.125), ("fc2.bias", 10, 0.125),
]
BATCH, INPUT_SALT, INPUT_SCALE = 8, 100, 2.0


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
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def main(out):
    torch.set_num_threads(1)
    m = FmnistCNN().train()
    params = dict(m.named_parameters())
    for name, salt, scale in PARAMS:
        p = params[name]
        v = uniform(salt, p.numel()) * np.float32(scale)
        if name.startswith("bn") and name.endswith("weight"):
            v = v + np.float32(1.0)          # gamma around 1
        with torch.no_grad():
            p.copy_(torch.from_numpy(v.reshape(p.shape)))
    x = torch.from_numpy((uniform(INPUT_SALT, BATCH * 784) * np.float32(INPUT_SCALE))
                         .reshape(BATCH, 1, 28, 28)).requires_grad_(True)
    y = torch.tensor([(3 * i + 1) % 10 for i in range(BATCH)])
    logits = m(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    with h5py.File(out, "w") as f:
        f.attrs["generator"] = "tests/golden/make_golden.py"
        f.attrs["torch"] = str(torch.__version__)
        f["labels"] = y.numpy().astype(np.int32)
        f["logits"] = logits.detach().numpy()
        f["loss"] = np.array([loss.item()], dtype=np.float64)
        f["input_grad"] = x.grad.numpy()
        for name, _, _ in PARAMS:
            f["grad/" + name] = params[name].grad.numpy()
        for bn in ("bn1", "bn2"):
            mod = getattr(m, bn)
            f[f"running/{bn}.running_mean"] = mod.running_mean.numpy()
            f[f"running/{bn}.running_var"] = mod.running_var.numpy()
    print(f"wrote {out}: loss {loss.item():.6f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/golden/fmnist_cnn.h5")
