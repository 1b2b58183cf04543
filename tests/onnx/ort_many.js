#!/usr/bin/env node
// ONNX Runtime's outputs for N pseudo-random inputs: the oracle of
// tests/onnx/qdq_ort.sh.
//
//   node tests/onnx/ort_many.js MODEL.onnx N SEED C,H,W OUTPUT.f32
//
// Input i is C*H*W values (u >>> 8) / 2^24 * 4 - 2 of the xorshift32 stream
// started at SEED (exactly representable floats, so tests/onnx_qdq.c makes
// the same inputs bit for bit); OUTPUT.f32 receives the N outputs, raw
// little-endian float32. One thread, all graph optimisations. With INPUTS=FILE
// in the environment, the inputs are FILE's first N x C*H*W float32 values
// instead (a test set tests/onnx_qdq.c --dump wrote).
'use strict';
const fs = require('fs');
const ort = require(require.resolve('onnxruntime-node', { paths: [process.env.ORT_DIR || '/tmp/peers/ort', __dirname] }));

async function main() {
  const [model, ns, seeds, dims, output] = process.argv.slice(2);
  if (!output) {
    console.error('usage: ort_many.js MODEL.onnx N SEED C,H,W OUTPUT.f32');
    process.exit(2);
  }
  const n = Number(ns), shape = [1].concat(dims.split(',').map(Number));
  const size = shape.reduce((a, b) => a * b, 1);
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  if (process.env.ORT_OPT) opts.graphOptimizationLevel = process.env.ORT_OPT; // 'disabled': QDQ simulated in float
  const s = await ort.InferenceSession.create(model, opts);
  let st = Number(seeds) >>> 0;
  const fd = fs.openSync(output, 'w');
  const given = process.env.INPUTS ? fs.readFileSync(process.env.INPUTS) : null;
  if (given && given.byteLength < n * size * 4) throw new Error(process.env.INPUTS + ': fewer than ' + n + ' inputs');
  for (let i = 0; i < n; i++) {
    const x = new Float32Array(size);
    if (given) x.set(new Float32Array(given.buffer.slice(given.byteOffset + i * size * 4, given.byteOffset + (i + 1) * size * 4)));
    for (let k = 0; !given && k < size; k++) {
      st ^= st << 13; st >>>= 0;
      st ^= st >>> 17;
      st ^= st << 5; st >>>= 0;
      x[k] = (st >>> 8) / 16777216 * 4 - 2;
    }
    const feeds = {};
    feeds[s.inputNames[0]] = new ort.Tensor('float32', x, shape);
    const r = await s.run(feeds);
    const y = r[s.outputNames[0]].data;
    fs.writeSync(fd, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
  }
  fs.closeSync(fd);
}
main().catch((e) => { console.error(String(e)); process.exit(1); });
