/** DC offset: removed before speech finding and features, so a cheap microphone's offset changes nothing. */
import assert from "node:assert/strict";
import { DEFAULT_FEATURES } from "../dsp/config.ts";
import { removeDc } from "../dsp/dc.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { extractFeatures } from "../dsp/features.ts";
import { clipPath, FSDD } from "./helpers.ts";

Deno.test("removeDc: a constant offset is removed exactly; a signal without one is returned as it is", () => {
  const tone = Float32Array.from({ length: 800 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * i) / 80));
  const shifted = tone.map((v) => v + 0.2);
  const back = removeDc(shifted);
  back.forEach((v, i) => assert.ok(Math.abs(v - tone[i]) < 1e-6));
  assert.equal(removeDc(new Float32Array(0)).length, 0);
  const zeroMean = Float32Array.from([0.5, -0.5, 0.25, -0.25]);
  assert.equal(removeDc(zeroMean), zeroMean);
});

Deno.test({
  name: "extractFeatures: an FSDD clip with a DC offset of 0.1 or 0.2 gives the features of the clip without it",
  ignore: !FSDD,
  fn: async () => {
    const { samples } = await decodeAudio(await Deno.readFile(clipPath("7_jackson_32.wav")));
    const plain = extractFeatures(samples, DEFAULT_FEATURES);
    for (const offset of [0.1, 0.2]) {
      const shifted = extractFeatures(samples.map((v) => v + offset), DEFAULT_FEATURES);
      assert.deepEqual(shifted.speech, plain.speech, `offset ${offset}: the speech found moved`);
      const worst = plain.values.reduce((m, v, i) => Math.max(m, Math.abs(v - shifted.values[i])), 0);
      assert.ok(worst < 1e-2, `offset ${offset}: features differ by up to ${worst}`);
    }
  },
});
