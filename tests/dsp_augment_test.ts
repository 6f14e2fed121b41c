import assert from "node:assert/strict";
import {
  addNoise,
  applyGain,
  augmentClip,
  babbleNoise,
  bandLimit,
  changeSpeed,
  DEFAULT_RECIPE,
  meanSquare,
  padWithSilence,
  pinkNoise,
  reverberate,
  specAugment,
  whiteNoise,
} from "../dsp/augment.ts";
import { seededRandom } from "../dsp/random.ts";
import { rmsDb, tone } from "./helpers.ts";

const speech = tone(300, 0.5, 8000, 0.3).map((v, i) => v * Math.sin((Math.PI * i) / 4000));

Deno.test("addNoise: white, pink and babble noise land within 0.5 dB of the asked SNR", () => {
  const random = seededRandom(1);
  const noises = [
    whiteNoise(3000, random),
    pinkNoise(speech.length, random),
    babbleNoise(speech.length, [tone(150, 0.3, 8000), tone(230, 0.2, 8000)], 3, random),
  ];
  for (const noise of noises) {
    for (const snr of [5, 12, 30]) {
      const noisy = addNoise(speech, noise, snr);
      const added = noisy.map((v, i) => v - speech[i]);
      const measured = 10 * Math.log10(meanSquare(speech) / meanSquare(added));
      assert.ok(Math.abs(measured - snr) < 0.5, `asked ${snr} dB, got ${measured.toFixed(2)}`);
    }
  }
});

Deno.test("applyGain changes the level by exactly the asked dB", () => {
  assert.ok(Math.abs(rmsDb(applyGain(speech, -6)) - rmsDb(speech) + 6) < 1e-3);
});

Deno.test("changeSpeed: 1.1x is 1/1.1 as long and its tone 1.1x higher", () => {
  const t = tone(400, 1, 8000);
  const fast = changeSpeed(t, 8000, 1.1);
  assert.ok(Math.abs(fast.length - 8000 / 1.1) <= 2);
  // Zero crossings per second rise with the pitch.
  const crossings = (x: Float32Array) =>
    x.reduce((n, v, i) => (i && Math.sign(v) !== Math.sign(x[i - 1]) ? n + 1 : n), 0) / (x.length / 8000);
  assert.ok(Math.abs(crossings(fast) / crossings(t) - 1.1) < 0.01);
});

Deno.test("padWithSilence, reverberate and bandLimit keep lengths; reverb keeps level; the band-limit cuts a 3.9 kHz tone", () => {
  assert.equal(padWithSilence(speech, 100, 50).length, speech.length + 150);
  const wet = reverberate(speech, 8000, 0.3, 0.5, seededRandom(2));
  assert.equal(wet.length, speech.length);
  assert.ok(Math.abs(rmsDb(wet) - rmsDb(speech)) < 0.01);
  const high = tone(3900, 0.5, 8000);
  assert.ok(rmsDb(bandLimit(high, 8000, 300, 3000)) < rmsDb(high) - 10);
  assert.equal(bandLimit(high, 8000, 300, 3000).length, high.length);
});

Deno.test("specAugment masks with zeros and keeps the shape", () => {
  const values = new Float32Array(32 * 40).fill(1);
  const masked = specAugment(values, 32, 40, seededRandom(4), { timeMasks: 1, maxTime: 4, freqMasks: 1, maxFreq: 3 });
  assert.equal(masked.length, values.length);
  const zeros = masked.filter((v) => v === 0).length;
  assert.ok(zeros <= 4 * 40 + 3 * 32);
});

Deno.test("augmentClip is deterministic under a seed and differs across seeds", () => {
  const a = augmentClip(speech, 8000, DEFAULT_RECIPE, seededRandom(9), [speech]);
  const b = augmentClip(speech, 8000, DEFAULT_RECIPE, seededRandom(9), [speech]);
  const c = augmentClip(speech, 8000, DEFAULT_RECIPE, seededRandom(10), [speech]);
  assert.deepEqual(a.samples, b.samples);
  assert.equal(a.warp, b.warp);
  assert.notDeepEqual(a.samples, c.samples);
});
