#!/usr/bin/python3
"""Already-quantized ONNX models (QDQ) for tests/onnx/qdq_ort.sh: torchvision's
quantizable resnet18 and mobilenet_v2 (random weights, seed 0), fused and
quantized by PyTorch's eager post-training quantization (per-channel
symmetric int8 weights, uint8 min/max activations, calibrated on 8 batches of
N(0, 1) images), exported to ONNX opset 13 as QuantizeLinear /
DequantizeLinear pairs around float ops, the form PyTorch and ONNX Runtime's
tools give. The recipe is ../shared/peers/torch_zoo.py's `int8`.

  /usr/bin/python3 tests/onnx/export_qdq.py OUT_DIR [MODEL ...]
"""
import os
import sys

import torch
import torch.ao.quantization as tq
import torchvision


def main():
    out = sys.argv[1]
    models = sys.argv[2:] or ["resnet18", "mobilenet_v2"]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    torch.backends.quantized.engine = "onednn" if "onednn" in torch.backends.quantized.supported_engines else "fbgemm"
    for name in models:
        torch.manual_seed(0)
        m = getattr(torchvision.models.quantization, name)(weights=None, quantize=False).eval()
        m.fuse_model()
        m.qconfig = tq.QConfig(
            activation=tq.MinMaxObserver.with_args(dtype=torch.quint8, reduce_range=False),
            weight=tq.PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
        tq.prepare(m, inplace=True)
        g = torch.Generator().manual_seed(1)
        with torch.inference_mode():
            for _ in range(8):
                m(torch.randn(4, 3, 224, 224, generator=g))
        tq.convert(m, inplace=True)
        path = os.path.join(out, name + "_int8_qdq.onnx")
        torch.onnx.export(m, torch.randn(1, 3, 224, 224), path, opset_version=13, input_names=["input"],
                          output_names=["logits"])
        print("exported", path)


if __name__ == "__main__":
    main()
