#!/usr/bin/python3
"""torchvision models with random weights (seed 0), exported to ONNX for
tests/onnx/compare_ort.sh, with one random input each.

  /usr/bin/python3 tests/onnx/export_models.py OUT_DIR [MODEL ...]

Writes OUT_DIR/MODEL.onnx and OUT_DIR/MODEL.in.f32 (1 x 3 x 224 x 224 float32,
N(0, 1), seed 0). Models: resnet18 resnet50 mobilenet_v2 mobilenet_v3_small
shufflenet_v2_x1_0 squeezenet1_1 efficientnet_b0 lraspp_mobilenet_v3_large
(the segmentation model's "out" map). Opsets vary on purpose (13, 14, 17), as
users' exports do. Existing files are kept.
"""
import os
import sys

import numpy as np
import torch
import torchvision

OPSET = {"resnet18": 13, "resnet50": 17, "mobilenet_v2": 13, "mobilenet_v3_small": 13, "shufflenet_v2_x1_0": 13,
         "squeezenet1_1": 14, "efficientnet_b0": 17, "lraspp_mobilenet_v3_large": 13}


class SegOut(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


def build(name):
    if name == "lraspp_mobilenet_v3_large":
        return SegOut(torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None))
    return getattr(torchvision.models, name)(weights=None)


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(OPSET)
    os.makedirs(out, exist_ok=True)
    for name in names:
        path = os.path.join(out, name + ".onnx")
        if os.path.exists(path):
            continue
        torch.manual_seed(0)
        m = build(name).eval()
        x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32))
        torch.onnx.export(m, x, path + ".tmp", opset_version=OPSET[name], input_names=["input"],
                          output_names=["output"])
        os.replace(path + ".tmp", path)
        x.numpy().tofile(os.path.join(out, name + ".in.f32"))
        print("exported", path, "opset", OPSET[name])


if __name__ == "__main__":
    main()
