/** extractFeatures' views: the clip under each test-time warp of the mel filterbank, sharing one speech segment and STFT. */
import assert from "node:assert/strict";
import { DEFAULT_FEATURES, featureLength } from "../dsp/config.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { extractFeatures, timeCosines } from "../dsp/features.ts";
import { clipPath, FSDD } from "./helpers.ts";

Deno.test({
  name: "extractFeatures: one view per test-time warp, the unwarped one being `values`; a training warp gives one view",
  ignore: !FSDD,
  fn: async () => {
    const { samples } = await decodeAudio(await Deno.readFile(clipPath("7_jackson_0.wav")));
    const config = { ...DEFAULT_FEATURES, testWarps: [0.9, 1, 1.1] };
    const features = extractFeatures(samples, config);
    assert.equal(features.views.length, 3);
    for (const view of features.views) assert.equal(view.length, featureLength(config));
    assert.equal(features.views[1], features.values);
    // A warped view is the same clip through a stretched filterbank: close to, but not the same as, the plain one.
    const gap = (a: Float32Array, b: Float32Array) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]), 0) / a.length;
    assert.ok(gap(features.views[0], features.values) > 0.1 && gap(features.views[2], features.values) > 0.1);
    assert.ok(gap(features.views[0], features.values) < 10);
    // Each view equals a training-time extraction under that warp.
    const underTrainingWarp = extractFeatures(samples, config, { warp: 1.1 });
    assert.deepEqual(features.views[2], underTrainingWarp.values);
    assert.equal(underTrainingWarp.views.length, 1);
    // A features.json from before testWarps existed: one plain view.
    const { testWarps: _, ...old } = config;
    const plain = extractFeatures(samples, old);
    assert.equal(plain.views.length, 1);
    assert.deepEqual(plain.values, features.values);
  },
});

Deno.test("timeCosines: scipy's orthonormal DCT-II along time, truncated; all cosines keep the grid's energy", () => {
  const frames = 8;
  const bins = 3;
  const data = new Float32Array(frames * bins);
  for (let t = 0; t < frames; t++) {
    data[t * bins] = 2; // constant: all of it in cosine 0
    data[t * bins + 1] = Math.cos((Math.PI * 3 * (2 * t + 1)) / (2 * frames)); // exactly cosine 3
    data[t * bins + 2] = t * t - 5 * t; // anything
  }
  const all = timeCosines({ data, frames, bins }, frames);
  assert.ok(Math.abs(all[0] - 2 * Math.sqrt(frames)) < 1e-5);
  for (let c = 1; c < frames; c++) assert.ok(Math.abs(all[c]) < 1e-5);
  for (let c = 0; c < frames; c++) assert.ok(Math.abs(all[frames + c] - (c === 3 ? Math.sqrt(frames / 2) : 0)) < 1e-5);
  const energy = (xs: ArrayLike<number>) => Array.from(xs).reduce((s, v) => s + v * v, 0);
  const third = Array.from({ length: frames }, (_, t) => data[t * bins + 2]);
  assert.ok(Math.abs(energy(all.subarray(2 * frames)) - energy(third)) < 1e-3 * energy(third));
  // Truncation keeps the lowest cosines, coefficient-major.
  const low = timeCosines({ data, frames, bins }, 4);
  assert.equal(low.length, bins * 4);
  for (let k = 0; k < bins; k++) for (let c = 0; c < 4; c++) assert.ok(Math.abs(low[k * 4 + c] - all[k * frames + c]) < 1e-6);
});

Deno.test({
  name: "extractFeatures with timeDct: featureLength values; augmentGrid acts on the frames before the DCT",
  ignore: !FSDD,
  fn: async () => {
    const { samples } = await decodeAudio(await Deno.readFile(clipPath("7_jackson_0.wav")));
    const config = { ...DEFAULT_FEATURES, deltas: false, timeDct: 12, testWarps: [1] };
    const plain = extractFeatures(samples, config);
    assert.equal(plain.values.length, featureLength(config));
    assert.equal(featureLength(config), config.nMfcc * 12);
    // The same clip on the plain grid, then its cosines by hand: extractFeatures is grid -> timeCosines.
    const grid = extractFeatures(samples, { ...config, timeDct: 0 }).values;
    assert.deepEqual(plain.values, timeCosines({ data: grid, frames: config.frames, bins: config.nMfcc }, 12));
    let seen: [number, number] | undefined;
    const zeroed = extractFeatures(samples, config, {
      warp: 1,
      augmentGrid: (values, frames, perFrame) => {
        seen = [frames, perFrame];
        return new Float32Array(values.length);
      },
    });
    assert.deepEqual(seen, [config.frames, config.nMfcc]);
    assert.ok(zeroed.values.every((v) => v === 0));
  },
});

Deno.test({
  name: "utteranceNorm 'level': a clip 12 dB quieter gives the same features; without it, c0 moves",
  ignore: !FSDD,
  fn: async () => {
    const { samples } = await decodeAudio(await Deno.readFile(clipPath("6_george_3.wav")));
    const quieter = samples.map((v) => v / 4);
    for (const nMfcc of [20, 0]) {
      const level = { ...DEFAULT_FEATURES, nMfcc, utteranceNorm: "level" as const, testWarps: [1] };
      const a = extractFeatures(samples, level).values;
      const b = extractFeatures(quieter, level).values;
      assert.ok(a.every((v, i) => Math.abs(v - b[i]) < 1e-2), `nMfcc ${nMfcc}`);
    }
    const plain = { ...DEFAULT_FEATURES, testWarps: [1] };
    const c0 = (values: Float32Array) => values[0];
    const drop = c0(extractFeatures(samples, plain).values) - c0(extractFeatures(quieter, plain).values);
    // 12.04 dB in every band is 12.04 * sqrt(40) on the orthonormal c0.
    assert.ok(Math.abs(drop - 12.04 * Math.sqrt(40)) < 1, `c0 dropped by ${drop}`);
  },
});
