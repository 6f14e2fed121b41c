/** extractFeatures' views: the clip under each test-time warp of the mel filterbank, sharing one speech segment and STFT. */
import assert from "node:assert/strict";
import { DEFAULT_FEATURES, featureLength } from "../dsp/config.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { extractFeatures } from "../dsp/features.ts";
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
