#!/usr/bin/env node
// ONNX Runtime's output for one input: the oracle of tests/onnx/compare_ort.sh.
//
//   node tests/onnx/ort_run.js MODEL.onnx INPUT.f32 DIMS OUTPUT.f32
//
// INPUT.f32 holds raw little-endian float32 values of shape DIMS (1,3,224,224);
// OUTPUT.f32 receives the first output the same way. onnxruntime-node is looked
// up in $ORT_DIR (default /tmp/peers/ort), then next to this script. One thread,
// all graph optimisations (the default session ONNX Runtime users get).
'use strict';
const fs = require('fs');
const ort = require(require.resolve('onnxruntime-node', { paths: [process.env.ORT_DIR || '/tmp/peers/ort', __dirname] }));

async function main() {
  const [model, input, dims, output] = process.argv.slice(2);
  if (!output) {
    console.error('usage: ort_run.js MODEL.onnx INPUT.f32 DIMS OUTPUT.f32');
    process.exit(2);
  }
  const shape = dims.split(',').map(Number);
  const buf = fs.readFileSync(input);
  const x = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = {};
  feeds[s.inputNames[0]] = new ort.Tensor('float32', x, shape);
  const r = await s.run(feeds);
  const y = r[s.outputNames[0]].data;
  fs.writeFileSync(output, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}
main().catch((e) => { console.error(String(e)); process.exit(1); });
