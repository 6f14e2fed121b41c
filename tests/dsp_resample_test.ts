import assert from "node:assert/strict";
import { resample } from "../dsp/resample.ts";
import { rmsDb, tone } from "./helpers.ts";

/** Level of the middle half (the filter's edges see zeros beyond the signal). */
const middleDb = (x: Float32Array) => rmsDb(x, Math.floor(x.length / 4), Math.floor((3 * x.length) / 4));

Deno.test("resample 48 kHz -> 8 kHz: a 1 kHz tone keeps its level within 0.1 dB", () => {
  const input = tone(1000, 1, 48000);
  const out = resample(input, 48000, 8000);
  assert.equal(out.length, 8000);
  const change = middleDb(out) - middleDb(input);
  assert.ok(Math.abs(change) < 0.1, `level changed by ${change.toFixed(3)} dB`);
});

Deno.test("resample 48 kHz -> 8 kHz: a 6 kHz tone (above the new Nyquist) is attenuated by at least 40 dB", () => {
  const input = tone(6000, 1, 48000);
  const attenuation = middleDb(input) - middleDb(resample(input, 48000, 8000));
  assert.ok(attenuation >= 40, `only ${attenuation.toFixed(1)} dB`);
});

Deno.test("resample 44.1 kHz -> 8 kHz and 8 -> 16 kHz keep a 440 Hz tone's level and length", () => {
  for (const [from, to] of [[44100, 8000], [8000, 16000], [22050, 8000], [11025, 8000]]) {
    const input = tone(440, 0.5, from);
    const out = resample(input, from, to);
    assert.equal(out.length, Math.ceil((input.length * to) / from));
    assert.ok(Math.abs(middleDb(out) - middleDb(input)) < 0.1, `${from}->${to}`);
  }
});

Deno.test("resample at the same rate returns the input unchanged", () => {
  const input = tone(440, 0.1, 8000);
  assert.equal(resample(input, 8000, 8000), input);
});

Deno.test("resample with a ratio too fine for a table (47999 -> 8000) still filters correctly", () => {
  const input = tone(1000, 0.3, 47999);
  const out = resample(input, 47999, 8000);
  assert.ok(Math.abs(middleDb(out) - middleDb(input)) < 0.1);
});

Deno.test("resample, streamed: pieces of any size give resample()'s outputs, exactly, for table and interpolated ratios", async (t) => {
  const { createStreamResampler } = await import("../dsp/resample.ts");
  const input = Float32Array.from({ length: 24000 }, (_, i) => Math.sin(i * 0.013) + 0.3 * Math.sin(i * 1.7) + ((i * 7919) % 13) / 100);
  for (const [from, to] of [[48000, 8000], [44100, 8000], [8000, 16000], [47999, 8000]]) {
    await t.step(`${from} -> ${to}`, () => {
      const whole = resample(input, from, to);
      const stream = createStreamResampler(from, to);
      const out: number[] = [];
      for (let at = 0, k = 1; at < input.length; k++) {
        const n = Math.min(input.length - at, (k * 389) % 1500 + 1);
        out.push(...stream.push(input.subarray(at, at + n)));
        at += n;
      }
      // The last outputs wait for input that never comes (a stream has no end); all the others are there.
      assert.ok(out.length >= whole.length - 100 && out.length < whole.length, `${out.length} of ${whole.length}`);
      assert.deepEqual(Float32Array.from(out), whole.subarray(0, out.length));
    });
  }
});
