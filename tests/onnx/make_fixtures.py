#!/usr/bin/python3
"""Small ONNX models for tests/test_onnx.c, built with onnx.helper, and the
expected output of the one that runs, computed here in numpy (not by pith).

  /usr/bin/python3 tests/onnx/make_fixtures.py [OUT_DIR]   (default tests/fixtures/onnx)

graph_ops.onnx (+ graph_ops.in.f32, graph_ops.out.f32): a 3 x 8 x 8 input
  normalised inside the model (Sub, Div by [1,3,1,1] constants), a strided
  padded Conv, SiLU spelled x * Sigmoid(x), a squeeze-and-excitation gate
  (GlobalAveragePool, 1x1 Conv, Relu, 1x1 Conv, HardSigmoid with ONNX's
  default alpha, Mul), a flatten spelled Shape -> Gather -> Unsqueeze ->
  Concat -> Reshape, and Gemm with transB, alpha and beta.
asymmetric_pads.onnx (+ .in.f32, .out.f32): a Conv with pads 0,2,1,0 and
  strides 1,2, which imports as a pad node and a conv.
Models the importer must refuse, each for one reason:
  unsupported_op.onnx (Einsum), opset_too_new.onnx (opset 30),
  external_data.onnx (weights in another file), two_inputs.onnx,
  symbolic_input.onnx
  (N x C x H x W with symbolic H, W: needs --input).
qdq_conv.onnx (+ .in.f32, .out.f32), qdq_unpaired.onnx: see qdq().
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "onnx")
rng = np.random.default_rng(7)


def t(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def conv(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    y = np.zeros((n, o, oh, ow), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return y + b.reshape(1, -1, 1, 1)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def save(model, name):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name))


def graph_ops():
    mean = rng.uniform(0.2, 0.6, (1, 3, 1, 1)).astype(np.float32)
    std = rng.uniform(0.2, 0.4, (1, 3, 1, 1)).astype(np.float32)
    w1 = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 8).astype(np.float32)
    w2 = rng.normal(0, 0.3, (4, 8, 1, 1)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 4).astype(np.float32)
    w3 = rng.normal(0, 0.3, (8, 4, 1, 1)).astype(np.float32)
    b3 = rng.normal(0, 0.1, 8).astype(np.float32)
    wg = rng.normal(0, 0.2, (5, 128)).astype(np.float32)
    bg = rng.normal(0, 0.1, 5).astype(np.float32)
    nodes = [
        helper.make_node("Sub", ["x", "mean"], ["xs"], name="norm/sub"),
        helper.make_node("Div", ["xs", "std"], ["xn"], name="norm/div"),
        helper.make_node("Conv", ["xn", "w1", "b1"], ["c1"], name="stem/conv", strides=[2, 2], pads=[1, 1, 1, 1],
                         kernel_shape=[3, 3]),
        helper.make_node("Sigmoid", ["c1"], ["s1"], name="stem/sigmoid"),
        helper.make_node("Mul", ["c1", "s1"], ["a1"], name="stem/silu"),
        helper.make_node("GlobalAveragePool", ["a1"], ["p"], name="se/pool"),
        helper.make_node("Conv", ["p", "w2", "b2"], ["q"], name="se/reduce"),
        helper.make_node("Relu", ["q"], ["qr"], name="se/relu"),
        helper.make_node("Conv", ["qr", "w3", "b3"], ["r"], name="se/expand"),
        helper.make_node("HardSigmoid", ["r"], ["gate"], name="se/gate"),
        helper.make_node("Mul", ["a1", "gate"], ["se"], name="se/scale"),
        helper.make_node("Shape", ["se"], ["shp"], name="flat/shape"),
        helper.make_node("Gather", ["shp", "zero"], ["n"], name="flat/gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="flat/unsqueeze"),
        helper.make_node("Concat", ["n1", "minus1"], ["tgt"], name="flat/concat", axis=0),
        helper.make_node("Reshape", ["se", "tgt"], ["flat"], name="flat/reshape"),
        helper.make_node("Gemm", ["flat", "wg", "bg"], ["y"], name="head/gemm", transB=1, alpha=0.5, beta=2.0),
    ]
    inits = [t("mean", mean), t("std", std), t("w1", w1), t("b1", b1), t("w2", w2), t("b2", b2), t("w3", w3),
             t("b3", b3), t("wg", wg), t("bg", bg), t("zero", np.array(0, np.int64)),
             t("axes0", np.array([0], np.int64)), t("minus1", np.array([-1], np.int64))]
    g = helper.make_graph(nodes, "graph_ops", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_fixtures"),
         "graph_ops.onnx")
    x = rng.uniform(0, 1, (1, 3, 8, 8)).astype(np.float32)
    xn = (x.astype(np.float64) - mean) / std
    c1 = conv(xn, w1, b1, 2, 1)
    a1 = c1 * sigmoid(c1)
    p = a1.mean(axis=(2, 3), keepdims=True)
    q = np.maximum(conv(p, w2, b2, 1, 0), 0)
    gate = np.clip(0.2 * conv(q, w3, b3, 1, 0) + 0.5, 0, 1)
    y = 0.5 * (a1 * gate).reshape(1, -1) @ wg.T.astype(np.float64) + 2.0 * bg
    x.tofile(os.path.join(OUT, "graph_ops.in.f32"))
    y.astype(np.float32).tofile(os.path.join(OUT, "graph_ops.out.f32"))


def one_conv(name, node_kw=None, opset=13, extra_inputs=(), in_dims=(1, 3, 8, 8), op="Conv"):
    w = t("w", rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32))
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_dims))]
    inputs += [helper.make_tensor_value_info(e, TensorProto.FLOAT, [1, 3, 8, 8]) for e in extra_inputs]
    n = helper.make_node(op, ["x", "w"], ["y"], name="the/node", **(node_kw or {}))
    g = helper.make_graph([n], name, inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())
    return m


def refused():
    one_conv("unsupported_op", op="Einsum", node_kw={"equation": "nchw,ochw->no"})
    one_conv("opset_too_new", opset=30)
    m = one_conv("external_data")
    w = m.graph.initializer[0]
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    w.external_data.append(onnx.StringStringEntryProto(key="location", value="weights.bin"))
    with open(os.path.join(OUT, "external_data.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    one_conv("two_inputs", extra_inputs=("x2",))
    m = one_conv("asymmetric_pads", node_kw={"pads": [0, 2, 1, 0], "strides": [1, 2]})
    # it imports (a pad node, then the conv): its output, computed here
    w = numpy_helper.to_array(m.graph.initializer[0]).astype(np.float64)
    x = rng.uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32)
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (0, 1), (2, 0)))
    full = conv(xp, w, np.zeros(4), 1, 0)
    y = full[:, :, :, ::2]
    x.tofile(os.path.join(OUT, "asymmetric_pads.in.f32"))
    y.astype(np.float32).tofile(os.path.join(OUT, "asymmetric_pads.out.f32"))
    one_conv("symbolic_input", in_dims=("N", 3, "H", "W"))


def q8(v, s, z):
    """ONNX QuantizeLinear to uint8 then DequantizeLinear, in float32 as ONNX Runtime computes it."""
    q = np.clip(np.rint(np.float32(v) / np.float32(s)) + z, 0, 255)
    return ((q - z) * np.float32(s)).astype(np.float32)


def qdq():
    """qdq_conv.onnx (+ .in.f32, .out.f32): an already-quantized model in the
    QDQ form PyTorch exports (uint8 activations, per-channel symmetric int8
    weights, int32 biases on s_in * s_w, Cast between each Q and DQ), its
    output computed here by ONNX's semantics (dequantize, float op,
    quantize); qdq_unpaired.onnx: a DequantizeLinear of a float tensor."""
    sx, zx, sy, zy, sg, zg, so, zo = 0.02, 100, 0.03, 0, 0.015, 3, 0.05, 128
    wq = rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    sw = rng.uniform(0.002, 0.01, 4).astype(np.float32)
    bq = rng.integers(-2000, 2000, 4).astype(np.int32)
    sb = (np.float32(sx) * sw).astype(np.float32)
    gq = rng.integers(-127, 128, (5, 4)).astype(np.int8)
    sgw = rng.uniform(0.005, 0.02, 5).astype(np.float32)
    gbq = rng.integers(-500, 500, 5).astype(np.int32)
    sgb = (np.float32(sg) * sgw).astype(np.float32)

    def qpair(x, s, z, name):
        return [helper.make_node("QuantizeLinear", [x, name + "_s", name + "_z"], [name + "_q"], name=name + "/q"),
                helper.make_node("Cast", [name + "_q"], [name + "_c"], name=name + "/cast", to=TensorProto.UINT8),
                helper.make_node("DequantizeLinear", [name + "_c", name + "_s", name + "_z"], [name + "_dq"],
                                 name=name + "/dq")], \
               [t(name + "_s", np.float32(s)), t(name + "_z", np.uint8(z))]
    nodes, inits = [], []
    for x, s, z, name in (("x", sx, zx, "in"),):
        n_, i_ = qpair(x, s, z, name)
        nodes += n_
        inits += i_
    nodes += [helper.make_node("DequantizeLinear", ["wq", "sw", "wz"], ["w"], name="conv/wdq", axis=0),
              helper.make_node("DequantizeLinear", ["bq", "sb", "bz"], ["b"], name="conv/bdq", axis=0),
              helper.make_node("Conv", ["in_dq", "w", "b"], ["c"], name="conv/conv", pads=[1, 1, 1, 1],
                               kernel_shape=[3, 3]),
              helper.make_node("Relu", ["c"], ["r"], name="conv/relu")]
    inits += [t("wq", wq), t("sw", sw), t("wz", np.zeros(4, np.int8)), t("bq", bq), t("sb", sb),
              t("bz", np.zeros(4, np.int32))]
    n_, i_ = qpair("r", sy, zy, "act")
    nodes += n_ + [helper.make_node("GlobalAveragePool", ["act_dq"], ["p"], name="pool")]
    inits += i_
    n_, i_ = qpair("p", sg, zg, "pool")
    nodes += n_ + [helper.make_node("Flatten", ["pool_dq"], ["f"], name="flat"),
                   helper.make_node("DequantizeLinear", ["gq", "sgw", "gz"], ["gw"], name="fc/wdq", axis=0),
                   helper.make_node("DequantizeLinear", ["gbq", "sgb", "gbz"], ["gb"], name="fc/bdq", axis=0),
                   helper.make_node("Gemm", ["f", "gw", "gb"], ["o"], name="fc/gemm", transB=1)]
    inits += i_ + [t("gq", gq), t("sgw", sgw), t("gz", np.zeros(5, np.int8)), t("gbq", gbq), t("sgb", sgb),
                   t("gbz", np.zeros(5, np.int32))]
    n_, i_ = qpair("o", so, zo, "out")
    nodes += n_
    inits += i_
    g = helper.make_graph(nodes, "qdq_conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("out_dq", TensorProto.FLOAT, [1, 5])], inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_fixtures"),
         "qdq_conv.onnx")
    x = rng.uniform(-2, 2, (1, 3, 8, 8)).astype(np.float32)
    a = q8(x, sx, zx).astype(np.float64)
    w = (wq.astype(np.float32) * sw.reshape(-1, 1, 1, 1)).astype(np.float64)
    c = conv(a, w, (bq.astype(np.float32) * sb).astype(np.float64), 1, 1)
    r = q8(np.maximum(c, 0), sy, zy).astype(np.float64)
    p = q8(r.mean(axis=(2, 3)), sg, zg).astype(np.float64)
    o = p @ (gq.astype(np.float32) * sgw.reshape(-1, 1)).astype(np.float64).T + gbq.astype(np.float32) * sgb
    y = q8(o, so, zo)
    x.tofile(os.path.join(OUT, "qdq_conv.in.f32"))
    y.astype(np.float32).tofile(os.path.join(OUT, "qdq_conv.out.f32"))
    # refused: a DequantizeLinear of a tensor no QuantizeLinear made
    nd = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
          helper.make_node("DequantizeLinear", ["r", "s", "z"], ["y"], name="the/dq")]
    g = helper.make_graph(nd, "qdq_unpaired", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [t("s", np.float32(0.1)), t("z", np.uint8(0))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    with open(os.path.join(OUT, "qdq_unpaired.onnx"), "wb") as f:
        f.write(m.SerializeToString())


os.makedirs(OUT, exist_ok=True)
graph_ops()
refused()
qdq()
print("fixtures in", os.path.abspath(OUT))
