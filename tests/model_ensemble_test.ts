/** models/lab/ensemble.ts: members trained on differently normalized inputs, averaged into one model. */
import assert from "node:assert/strict";
import { normalize } from "../dsp/features.ts";
import { averageMembers, denseLayersOf } from "../models/lab/ensemble.ts";
import { uint8Quantize } from "../models/files.ts";
import { buildMlp, SEED_MLP } from "../models/lab/mlp.ts";
import { initTf, tf } from "../models/tfjs.ts";
import { disposeModel } from "../models/lab/training.ts";

await initTf();

const WIDTH = 24;
const wave = (seed: number, scale: number) => Array.from({ length: WIDTH }, (_, i) => Math.sin(seed * 31 + i * 1.7) * scale);

function predictRows(model: tf.LayersModel, rows: Float32Array[]): Float32Array[] {
  const flat = new Float32Array(rows.length * WIDTH);
  rows.forEach((r, i) => flat.set(r, i * WIDTH));
  const out = tf.tidy(() => (model.predict(tf.tensor2d(flat, [rows.length, WIDTH])) as tf.Tensor).dataSync() as Float32Array);
  return rows.map((_, i) => out.slice(i * 10, (i + 1) * 10));
}

Deno.test("averageMembers: the ensemble fed member 0's normalization equals the mean of members fed their own", () => {
  const tensorsBefore = tf.memory().numTensors;
  const members = [1, 2, 3].map((seed) => ({
    model: buildMlp(WIDTH, { ...SEED_MLP, hidden: [16, 8], dropout: [0.3, 0.2], seed: seed * 10 }),
    // Statistics as different as two training sets' could be: other means, other spreads.
    stats: { mean: wave(seed, 5 * seed), std: wave(seed + 7, 1).map((v) => 1.5 + v * seed * 0.4) },
  }));
  const raw = [4, 5, 6, 7].map((seed) => Float32Array.from(wave(seed, 8)));
  const expected = raw.map(() => new Float32Array(10));
  for (const member of members) {
    predictRows(member.model, raw.map((x) => normalize(x, member.stats)))
      .forEach((p, i) => p.forEach((v, d) => (expected[i][d] += v / members.length)));
  }
  const ensemble = averageMembers(members.map((m) => ({ layers: denseLayersOf(m.model), stats: m.stats })));
  assert.equal(ensemble.stats, members[0].stats);
  assert.equal(ensemble.model.layers.filter((l) => l.getClassName() === "Dense").length, 9, "3 members x 3 Dense, no Dropout");
  const got = predictRows(ensemble.model, raw.map((x) => normalize(x, ensemble.stats)));
  got.forEach((p, i) =>
    p.forEach((v, d) => assert.ok(Math.abs(v - expected[i][d]) < 1e-5, `row ${i} digit ${d}: ${v} vs ${expected[i][d]}`))
  );
  // The ensemble must not be a copy of one member: members disagree, so a single member's answer differs.
  const alone = predictRows(members[0].model, raw.map((x) => normalize(x, members[0].stats)));
  assert.ok(alone.some((p, i) => p.some((v, d) => Math.abs(v - expected[i][d]) > 1e-3)));
  members.forEach((m) => disposeModel(m.model));
  ensemble.model.dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore, "no tensors left behind");
});

Deno.test("uint8Quantize: 256 levels spanning the values, every value within half a step", () => {
  const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 0.7 - 0.1);
  const { bytes, min, scale } = uint8Quantize(values);
  assert.equal(Math.min(...bytes), 0);
  assert.equal(Math.max(...bytes), 255);
  values.forEach((v, i) => assert.ok(Math.abs(bytes[i] * scale + min - v) <= scale / 2 + 1e-7, `value ${i}`));
  const constant = uint8Quantize(new Float32Array(5).fill(0.25));
  assert.deepEqual(Array.from(constant.bytes, (q) => q * constant.scale + constant.min), [0.25, 0.25, 0.25, 0.25, 0.25]);
});
