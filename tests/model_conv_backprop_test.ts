/**
 * The WASM training kernels we register (models/lab/conv_backprop.ts, models/lab/batch_norm.ts) give the cpu
 * backend's gradients, losses and trained weights.
 */
import assert from "node:assert/strict";
import { registerConvBackprop } from "../models/lab/conv_backprop.ts";
import { initTf, tf } from "../models/tfjs.ts";
import { seededRandom } from "../dsp/random.ts";

await initTf();
registerConvBackprop();

type Case = { label: string; x: number[]; filter: number[]; strides: [number, number]; pad: "same" | "valid"; depthwise: boolean };
const CASES: Case[] = [
  { label: "conv 10x4 stride 2 same", x: [2, 20, 12, 1], filter: [10, 4, 1, 6], strides: [2, 2], pad: "same", depthwise: false },
  { label: "conv 3x3 stride 1 valid, 3 channels", x: [2, 9, 7, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: "valid", depthwise: false },
  { label: "pointwise 1x1", x: [3, 5, 4, 8], filter: [1, 1, 8, 5], strides: [1, 1], pad: "same", depthwise: false },
  { label: "depthwise 3x3 stride 1 same", x: [2, 9, 7, 4], filter: [3, 3, 4, 1], strides: [1, 1], pad: "same", depthwise: true },
  // The DS-CNN's second block: stride 2 on an odd height (the padding is uneven), one filter per channel.
  { label: "depthwise 3x3 stride 2 same", x: [2, 25, 20, 4], filter: [3, 3, 4, 1], strides: [2, 2], pad: "same", depthwise: true },
  {
    label: "depthwise 3x3 stride 2 same, multiplier 2",
    x: [2, 10, 9, 3],
    filter: [3, 3, 3, 2],
    strides: [2, 2],
    pad: "same",
    depthwise: true,
  },
];

function gradients(backend: string, c: Case, xs: Float32Array, ws: Float32Array, upstream: Float32Array): Float32Array[] {
  tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, c.x as [number, number, number, number]);
    const w = tf.tensor4d(ws, c.filter as [number, number, number, number]);
    const forward = (a: tf.Tensor4D, b: tf.Tensor4D) =>
      c.depthwise ? tf.depthwiseConv2d(a, b, c.strides, c.pad) : tf.conv2d(a, b, c.strides, c.pad);
    const shape = forward(x, w).shape;
    const dy = tf.tensor(upstream.subarray(0, shape.reduce((p, q) => p * q, 1)), shape);
    // d/dx and d/dw of sum(conv(x, w) * dy): the backprop kernels applied to dy.
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => forward(a as tf.Tensor4D, b as tf.Tensor4D).mul(dy).sum())([x, w]);
    return [gx.dataSync() as Float32Array, gw.dataSync() as Float32Array];
  });
}

for (const c of CASES) {
  Deno.test(`WASM backprop kernels: ${c.label} matches the cpu backend`, () => {
    const random = seededRandom(7);
    const fill = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1);
    const xs = fill(c.x), ws = fill(c.filter), upstream = fill([4096]);
    const before = tf.memory().numTensors;
    const [cpuX, cpuW] = gradients("cpu", c, xs, ws, upstream);
    const [wasmX, wasmW] = gradients("wasm", c, xs, ws, upstream);
    assert.equal(tf.getBackend(), "wasm");
    for (const [name, a, b] of [["input", cpuX, wasmX], ["filter", cpuW, wasmW]] as const) {
      assert.equal(a.length, b.length, name);
      const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      assert.ok(worst < 1e-4, `${c.label}: ${name} gradients differ by up to ${worst}`);
    }
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
  });
}

Deno.test("WASM Tile (replaced by block copies) matches the cpu backend", () => {
  const random = seededRandom(3);
  const cases: Array<[number[], number[]]> = [[[1, 1, 1, 5], [3, 4, 2, 1]], [[2, 3], [2, 2]], [[4], [3]], [[2, 1, 3], [1, 4, 2]]];
  for (const [shape, reps] of cases) {
    const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random());
    tf.setBackend("cpu");
    const expected = tf.tidy(() => tf.tile(tf.tensor(values, [...shape]), [...reps]).dataSync());
    tf.setBackend("wasm");
    const actual = tf.tidy(() => tf.tile(tf.tensor(values, [...shape]), [...reps]).dataSync());
    assert.deepEqual(Array.from(actual), Array.from(expected), `${shape} x ${reps}`);
  }
});

Deno.test("a few DS-CNN training steps on WASM give the cpu backend's losses and then its predictions", async () => {
  const { buildDsCnn } = await import("../models/lab/dscnn.ts");
  const random = seededRandom(1);
  const xs = Float32Array.from({ length: 8 * 2000 }, () => random() * 2 - 1);
  const losses: Record<string, number[]> = {};
  const predictions: Record<string, Float32Array> = {};
  for (const backend of ["cpu", "wasm"]) {
    tf.setBackend(backend);
    const model = buildDsCnn(50, 40, { channels: 8, blocks: 4, dropout: 0, learningRate: 1e-2, seed: 1 });
    const [x, y] = tf.tidy(() => [tf.tensor2d(xs, [8, 2000]), tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], "int32"), 10)]);
    losses[backend] = [];
    for (let step = 0; step < 4; step++) losses[backend].push(((await model.trainOnBatch(x, y)) as number[])[0]);
    // Inference reads the batch norms' moving averages, which training updated: they must agree too.
    predictions[backend] = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
    tf.dispose([x, y]);
    model.optimizer?.dispose();
    model.dispose();
  }
  assert.equal(tf.getBackend(), "wasm");
  losses.cpu.forEach((loss, i) => assert.ok(Math.abs(loss - losses.wasm[i]) < 1e-4, `step ${i}: cpu ${loss}, wasm ${losses.wasm[i]}`));
  assert.ok(losses.wasm[3] < losses.wasm[0], "the loss did not fall");
  const worst = predictions.cpu.reduce((m, p, i) => Math.max(m, Math.abs(p - predictions.wasm[i])), 0);
  assert.ok(worst < 1e-4, `inference after training differs by up to ${worst}`);
});

Deno.test("WASM Sum and Mean (leading axes in one pass, others to WASM's own) match the cpu backend", () => {
  const random = seededRandom(11);
  const shape = [3, 4, 5, 6];
  const values = Float32Array.from({ length: 360 }, () => random() * 10 - 5);
  const cases: Array<[number | number[], boolean]> = [
    [[0, 1, 2], false],
    [[0, 1, 2], true],
    [[2, 0, 1], false],
    [0, true],
    [
      [0, -3],
      false,
    ],
    [[1, 2], false],
    [3, true],
    [[0, 1, 2, 3], false],
  ];
  for (const op of ["sum", "mean"] as const) {
    for (const [axis, keepDims] of cases) {
      const run = (backend: string) => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const out = tf[op](tf.tensor(values, shape), axis, keepDims);
          return { shape: out.shape, values: Array.from(out.dataSync()) };
        });
      };
      const expected = run("cpu");
      const actual = run("wasm");
      const label = `${op} over ${axis}, keepDims ${keepDims}`;
      assert.deepEqual(actual.shape, expected.shape, label);
      actual.values.forEach((v, i) => assert.ok(Math.abs(v - expected.values[i]) < 1e-4, `${label}: ${v} vs ${expected.values[i]}`));
    }
  }
  assert.equal(tf.getBackend(), "wasm");
});

Deno.test("WASM Identity (shared, not copied): a clone outlives its source and keeps its values", () => {
  const before = tf.memory();
  const source = tf.tensor([1, 2, 3]);
  const copy = tf.clone(source);
  source.dispose();
  assert.deepEqual(Array.from(copy.dataSync()), [1, 2, 3]);
  copy.dispose();
  assert.equal(tf.memory().numTensors, before.numTensors);
  assert.equal(tf.memory().numBytes, before.numBytes, "the shared data was not freed with its last reference");
});
