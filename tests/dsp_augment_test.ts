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
  shelve,
  specAugment,
  timeWarp,
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

Deno.test("shelve: a low shelf moves a 100 Hz tone by its gain and leaves 3 kHz; a high shelf the reverse", () => {
  const low = tone(100, 1, 8000, 0.3), high = tone(3000, 1, 8000, 0.3);
  const change = (x: Float32Array, y: Float32Array) => rmsDb(y.subarray(4000)) - rmsDb(x.subarray(4000));
  for (const gain of [-10, 6]) {
    assert.ok(Math.abs(change(low, shelve(low, 8000, "low", 400, gain)) - gain) < 0.5);
    assert.ok(Math.abs(change(high, shelve(high, 8000, "low", 400, gain))) < 0.5);
    assert.ok(Math.abs(change(high, shelve(high, 8000, "high", 1500, gain)) - gain) < 0.5);
    assert.ok(Math.abs(change(low, shelve(low, 8000, "high", 1500, gain))) < 0.5);
  }
});

Deno.test("specAugment blanks whole frames and whole coefficients, with zeros or each coefficient's mean", () => {
  const frames = 32, bins = 40;
  // Every value distinct, so that a blanked one is told from a kept one.
  const values = Float32Array.from({ length: frames * bins }, (_, i) => 1000 + i);
  const mean = (k: number) => Array.from({ length: frames }, (_, t) => values[t * bins + k]).reduce((a, b) => a + b) / frames;
  let blanked = 0;
  for (const fill of ["zero", "mean"] as const) {
    for (let seed = 1; seed <= 10; seed++) {
      const masked = specAugment(values, frames, bins, seededRandom(seed), { timeMasks: 1, maxTime: 4, freqMasks: 1, maxFreq: 3, fill });
      assert.deepEqual(masked, specAugment(values, frames, bins, seededRandom(seed), { fill }));
      const isBlank = (t: number, k: number) => Math.abs(masked[t * bins + k] - (fill === "zero" ? 0 : mean(k))) < 1e-3;
      const wholeFrames = Array.from({ length: frames }, (_, t) => t).filter((t) =>
        Array.from({ length: bins }, (_, k) => k).every((k) => isBlank(t, k))
      );
      const wholeBins = Array.from({ length: bins }, (_, k) => k).filter((k) =>
        Array.from({ length: frames }, (_, t) => t).every((t) => isBlank(t, k))
      );
      assert.ok(wholeFrames.length <= 4 && wholeBins.length <= 3);
      for (let t = 0; t < frames; t++) {
        for (let k = 0; k < bins; k++) {
          const kept = masked[t * bins + k] === values[t * bins + k];
          // Each value is either kept or blanked as part of a masked frame or a masked coefficient.
          assert.ok(kept || wholeFrames.includes(t) || wholeBins.includes(k), `${fill} seed ${seed}: (${t}, ${k})`);
          if (!kept) blanked++;
        }
      }
    }
  }
  assert.ok(blanked > 0, "some seed masks something");
});

Deno.test("timeWarp moves time unevenly: ends kept, a ramp stays monotone, its middle shifts, repeatable", () => {
  const frames = 32, bins = 2;
  // Bin 0 is the frame index (a ramp in time), bin 1 a constant: warping must move the first, never the second.
  const values = Float32Array.from({ length: frames * bins }, (_, i) => (i % bins === 0 ? Math.floor(i / bins) : 5));
  let shifted = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const warped = timeWarp(values, frames, bins, 4, seededRandom(seed));
    assert.deepEqual(warped, timeWarp(values, frames, bins, 4, seededRandom(seed)));
    const ramp = Array.from({ length: frames }, (_, t) => warped[t * bins]);
    assert.equal(ramp[0], 0);
    assert.ok(Math.abs(ramp[frames - 1] - (frames - 1)) < 1e-4);
    ramp.slice(1).forEach((v, t) => assert.ok(v >= ramp[t] - 1e-5, `seed ${seed}: monotone at ${t}`));
    // A knot moved by at most 4 frames: no frame reads further than 4 frames from its own place.
    ramp.forEach((v, t) => assert.ok(Math.abs(v - t) <= 4 + 1e-4, `seed ${seed}: frame ${t} reads ${v}`));
    assert.ok(Array.from({ length: frames }, (_, t) => warped[t * bins + 1]).every((v) => Math.abs(v - 5) < 1e-6));
    if (Math.max(...ramp.map((v, t) => Math.abs(v - t))) > 0.5) shifted++;
  }
  assert.ok(shifted >= 10, `${shifted} of 20 warps moved the middle by over half a frame`);
  assert.deepEqual(timeWarp(values, frames, bins, 0, seededRandom(1)), values);
});

Deno.test("augmentClip is deterministic under a seed and differs across seeds", () => {
  const a = augmentClip(speech, 8000, DEFAULT_RECIPE, seededRandom(9), [speech]);
  const b = augmentClip(speech, 8000, DEFAULT_RECIPE, seededRandom(9), [speech]);
  const c = augmentClip(speech, 8000, DEFAULT_RECIPE, seededRandom(10), [speech]);
  assert.deepEqual(a.samples, b.samples);
  assert.equal(a.warp, b.warp);
  assert.notDeepEqual(a.samples, c.samples);
});
