#!/usr/bin/python3
"""YOLOv8n in plain PyTorch, as ultralytics' yolov8n.yaml defines it (depth
0.33, width 0.25): backbone with C2f blocks and SPPF, PAN neck, decoupled
head with DFL. Random weights (seed 0); exported to ONNX for `pith import`.

  /usr/bin/python3 bench/models/yolov8n.py OUT.onnx [--size 640]

Written for this benchmark, not copied: the module structure follows the
yaml (Conv = conv + BN + SiLU; C2f = 1x1 conv, split in two, n bottlenecks,
concat, 1x1 conv; SPPF = 1x1 conv, three 5x5/1 max pools, concat, 1x1 conv).
The head's DFL is the same arithmetic as ultralytics' (a softmax over 16
bins per box side, then their expectation with a fixed 1x1 conv of 0..15),
spelled with a channel split and a softmax over channels so that the export
stays 4-D. Box decoding to corners and NMS are left out (not asked). The
output is each level's 4 box distances and 80 class logits per cell,
flattened and joined: 84 x (80x80 + 40x40 + 20x20) values at 640.
BatchNorm is kept in the export (TrainingMode.PRESERVE, no constant
folding), so the parameter count matches the published 3.2 M.
"""
import argparse

import torch
import torch.nn as nn


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut):
        super().__init__()
        self.cv1, self.cv2, self.add = Conv(c, c, 3), Conv(c, c, 3), shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n, shortcut):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c = c1 // 2
        self.cv1, self.cv2 = Conv(c1, c, 1), Conv(4 * c, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class DFL(nn.Module):
    """Expectation of each box side's 16-bin distribution."""

    def __init__(self, bins=16):
        super().__init__()
        self.bins = bins
        self.conv = nn.Conv2d(bins, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(bins, dtype=torch.float).view(1, bins, 1, 1)

    def forward(self, x):
        sides = x.split(self.bins, 1)
        return torch.cat([self.conv(s.softmax(1)) for s in sides], 1)


class Detect(nn.Module):
    def __init__(self, nc, ch, reg_max=16):
        super().__init__()
        c2, c3 = max(16, ch[0] // 4, 4 * reg_max), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(c, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * reg_max, 1)) for c in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(c, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for c in ch)
        self.dfl = DFL(reg_max)

    def forward(self, xs):
        out = [torch.cat([self.dfl(b(x)), c(x)], 1).flatten(1) for x, b, c in zip(xs, self.cv2, self.cv3)]
        return torch.cat(out, 1)


class YOLOv8n(nn.Module):
    def __init__(self, nc=80):
        super().__init__()
        self.b0, self.b1, self.b2 = Conv(3, 16, 3, 2), Conv(16, 32, 3, 2), C2f(32, 32, 1, True)
        self.b3, self.b4 = Conv(32, 64, 3, 2), C2f(64, 64, 2, True)
        self.b5, self.b6 = Conv(64, 128, 3, 2), C2f(128, 128, 2, True)
        self.b7, self.b8, self.b9 = Conv(128, 256, 3, 2), C2f(256, 256, 1, True), SPPF(256, 256, 5)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h12, self.h15 = C2f(384, 128, 1, False), C2f(192, 64, 1, False)
        self.h16, self.h18 = Conv(64, 64, 3, 2), C2f(192, 128, 1, False)
        self.h19, self.h21 = Conv(128, 128, 3, 2), C2f(384, 256, 1, False)
        self.detect = Detect(nc, (64, 128, 256))

    def forward(self, x):
        p3 = self.b4(self.b3(self.b2(self.b1(self.b0(x)))))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        h12 = self.h12(torch.cat([self.up(p5), p4], 1))
        h15 = self.h15(torch.cat([self.up(h12), p3], 1))
        h18 = self.h18(torch.cat([self.h16(h15), h12], 1))
        h21 = self.h21(torch.cat([self.h19(h18), p5], 1))
        return self.detect([h15, h18, h21])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--size", type=int, default=640)
    a = p.parse_args()
    torch.manual_seed(0)
    m = YOLOv8n().eval()
    params = sum(q.numel() for q in m.parameters())
    x = torch.randn(1, 3, a.size, a.size)
    torch.onnx.export(m, x, a.out, opset_version=13, input_names=["images"], output_names=["output"],
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    print("yolov8n: %d parameters (PyTorch's count) -> %s" % (params, a.out))


if __name__ == "__main__":
    main()
