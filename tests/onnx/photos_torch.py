#!/usr/bin/python3
"""A user's PyTorch model and photos, side by side with PyTorch: a small
convolutional classifier (seeded random weights; no global pooling, so that
every input pixel moves the logits and a wrong resize, crop, channel order or
normalisation shows) exported to ONNX, a few photo-sized JPEGs and a PNG, and what
torchvision's own eval pipeline (PIL decode, Resize(256), CenterCrop(224),
ToTensor, Normalize with ImageNet's mean and std) makes the model output for
each: tests/onnx/photos_torch.sh imports the model into pith with the same
preprocessing and compares pith infer's top 5 with these.

    /usr/bin/python3 tests/onnx/photos_torch.py OUT_DIR
Writes OUT_DIR/model.onnx, OUT_DIR/photo*.jpg|png, OUT_DIR/expected.json.
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms


def photo(rng, w, h):
    yy, xx = np.mgrid[0:h, 0:w]
    planes = []
    for c in range(3):
        a, b, p = rng.uniform(0.005, 0.05, 3)
        planes.append(128 + 70 * np.sin(a * xx + p * 7) * np.cos(b * yy + c) + rng.normal(0, 6, (h, w)))
    return Image.fromarray(np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 5, stride=4, padding=2), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 8, 3, stride=4, padding=1), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(8 * 14 * 14, 100))
    m.eval()
    torch.onnx.export(m, torch.zeros(1, 3, 224, 224), f"{out}/model.onnx", opset_version=13,
                      input_names=["input"], output_names=["logits"])
    rng = np.random.default_rng(3)
    files = []
    for k, (w, h, ext) in enumerate([(500, 375, "jpg"), (375, 500, "jpg"), (640, 427, "jpg"), (300, 300, "png")]):
        name = f"photo{k}.{ext}"
        photo(rng, w, h).save(f"{out}/{name}", quality=90) if ext == "jpg" else photo(rng, w, h).save(f"{out}/{name}")
        files.append(name)
    tf = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])
    expected = {}
    with torch.no_grad():
        for name in files:
            x = tf(Image.open(f"{out}/{name}").convert("RGB")).unsqueeze(0)
            logits = m(x)[0].numpy().astype(float)
            expected[name] = logits.tolist()
    with open(f"{out}/expected.json", "w") as f:
        json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "logits": expected}, f)


if __name__ == "__main__":
    main()
