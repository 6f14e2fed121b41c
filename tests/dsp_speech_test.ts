import assert from "node:assert/strict";
import { DEFAULT_SPEECH } from "../dsp/config.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { AudioError } from "../dsp/errors.ts";
import { findSpeech } from "../dsp/speech.ts";
import { addNoise, padWithSilence, pinkNoise, whiteNoise } from "../dsp/augment.ts";
import { seededRandom } from "../dsp/random.ts";
import { clipPath, FSDD } from "./helpers.ts";

const isNoSpeech = (e: unknown) => e instanceof AudioError && e.code === "no_speech";

Deno.test({
  name: "findSpeech: a 3 s clip with an FSDD digit in the middle, in noise at 25 dB SNR, is cut around the digit",
  ignore: !FSDD,
  fn: async () => {
    for (const name of ["7_jackson_32.wav", "6_theo_1.wav", "0_george_3.wav", "3_yweweler_2.wav"]) {
      const clip = await decodeAudio(await Deno.readFile(clipPath(name)));
      const before = 12000;
      const padded = padWithSilence(clip.samples, before, 24000 - clip.samples.length - before + 12000);
      const noisy = addNoise(
        padded,
        whiteNoise(padded.length, seededRandom(3)),
        25,
        clip.samples.reduce((s, v) => s + v * v, 0) / clip.samples.length,
      );
      const found = findSpeech(noisy, 8000, DEFAULT_SPEECH);
      // The trimmed clip spans 1.5 s to 1.5 s + its duration; allow 100 ms either way (50 ms is our hangover).
      assert.ok(Math.abs(found.startS - 1.5) < 0.1, `${name}: start ${found.startS} vs 1.5`);
      assert.ok(Math.abs(found.endS - (1.5 + clip.durationS)) < 0.1, `${name}: end ${found.endS} vs ${1.5 + clip.durationS}`);
    }
  },
});

Deno.test({
  name: "findSpeech: on tightly trimmed FSDD clips it keeps nearly all of the clip",
  ignore: !FSDD,
  fn: async () => {
    for (const name of ["1_lucas_0.wav", "5_nicolas_4.wav", "8_george_1.wav", "9_theo_0.wav"]) {
      const clip = await decodeAudio(await Deno.readFile(clipPath(name)));
      const found = findSpeech(clip.samples, 8000, DEFAULT_SPEECH);
      assert.ok(
        found.endS - found.startS > 0.6 * clip.durationS,
        `${name}: kept ${(found.endS - found.startS).toFixed(2)} of ${clip.durationS.toFixed(2)} s`,
      );
    }
  },
});

Deno.test({
  name: "findSpeech: finds speech in every one of FSDD's 3,000 clips, the quietly recorded ones too",
  ignore: !FSDD,
  fn: async () => {
    const { listClips } = await import("../models/lab/fsdd.ts");
    const missed: string[] = [];
    for (const clip of listClips(FSDD!)) {
      const audio = await decodeAudio(await Deno.readFile(clip.path));
      try {
        findSpeech(audio.samples, 8000, DEFAULT_SPEECH);
      } catch (e) {
        if (!isNoSpeech(e)) throw e;
        missed.push(clip.path);
      }
    }
    assert.deepEqual(missed, []);
  },
});

Deno.test("findSpeech: digital silence, a quiet hiss, constant white noise and a steady hum are no_speech", () => {
  const n = 16000;
  const random = seededRandom(5);
  assert.throws(() => findSpeech(new Float32Array(n), 8000, DEFAULT_SPEECH), isNoSpeech);
  assert.throws(() => findSpeech(whiteNoise(n, random).map((v) => v * 1e-4), 8000, DEFAULT_SPEECH), isNoSpeech);
  assert.throws(() => findSpeech(whiteNoise(n, random).map((v) => v * 0.2), 8000, DEFAULT_SPEECH), isNoSpeech);
  assert.throws(() => findSpeech(Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i * 0.05)), 8000, DEFAULT_SPEECH), isNoSpeech);
  assert.throws(() => findSpeech(new Float32Array(0), 8000, DEFAULT_SPEECH), isNoSpeech);
});

const isTooShort = (e: unknown) => isNoSpeech(e) && /too short/.test((e as Error).message);

Deno.test("findSpeech: 8 samples, 28 samples, 1 ms of sine and a 1 ms click in silence are too short to be a word", () => {
  const sine = (n: number) => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(i * 0.7));
  assert.throws(() => findSpeech(sine(8), 8000, DEFAULT_SPEECH), isTooShort);
  assert.throws(() => findSpeech(sine(28), 8000, DEFAULT_SPEECH), isTooShort);
  assert.throws(() => findSpeech(sine(48), 48000, DEFAULT_SPEECH), isTooShort);
  const click = new Float32Array(16000);
  click.set(sine(8), 8000);
  assert.throws(() => findSpeech(click, 8000, DEFAULT_SPEECH), isTooShort);
  // 200 ms of tone in silence is long enough to be judged (what it is, is the model's business).
  const tone = new Float32Array(16000);
  tone.set(sine(1600), 4000);
  const found = findSpeech(tone, 8000, DEFAULT_SPEECH);
  assert.ok(Math.abs(found.startS - 0.45) < 0.03 && Math.abs(found.endS - 0.75) < 0.03, JSON.stringify(found));
});

Deno.test({
  name: "findSpeech: every FSDD clip, even those trimmed to the word itself, is long enough (the shortest sound is 135 ms)",
  ignore: !FSDD,
  fn: async () => {
    // Takes trimmed to the word have no quiet frames: their 5th-percentile "floor" is speech, and the run found
    // is only the loudest few frames. The length test counts the whole sound around it.
    for (const name of ["5_theo_41.wav", "5_theo_24.wav", "6_yweweler_3.wav", "6_nicolas_7.wav", "6_nicolas_23.wav"]) {
      const clip = await decodeAudio(await Deno.readFile(clipPath(name)));
      findSpeech(clip.samples, clip.sampleRate, DEFAULT_SPEECH);
    }
  },
});

Deno.test({
  name: "findSpeech in pink noise at 10 dB: without the high-pass the span takes in the noise; with highPassHz it is the word",
  ignore: !FSDD,
  fn: async () => {
    let longWithout = 0;
    for (const [i, name] of ["7_jackson_32.wav", "6_theo_1.wav", "0_george_3.wav", "3_yweweler_2.wav", "9_lucas_4.wav"].entries()) {
      const clip = await decodeAudio(await Deno.readFile(clipPath(name)));
      const padded = padWithSilence(clip.samples, 8000, 8000);
      const power = clip.samples.reduce((s, v) => s + v * v, 0) / clip.samples.length;
      const noisy = addNoise(padded, pinkNoise(padded.length, seededRandom(10 + i)), 10, power);
      const span = (highPassHz: number) => {
        const found = findSpeech(noisy, 8000, { ...DEFAULT_SPEECH, highPassHz });
        return found.endS - found.startS;
      };
      if (span(0) > clip.durationS + 0.3) longWithout++;
      // The word, its 50 ms hangover on each side, and 150 ms of slack.
      assert.ok(span(100) < clip.durationS + 0.25, `${name}: ${span(100).toFixed(2)} s for a ${clip.durationS.toFixed(2)} s word`);
      assert.ok(span(100) > 0.5 * clip.durationS, `${name}: ${span(100).toFixed(2)} s for a ${clip.durationS.toFixed(2)} s word`);
    }
    assert.ok(longWithout >= 3, `only ${longWithout} of 5 spans took in the noise without the high-pass: the test shows nothing`);
  },
});

Deno.test("findSpeech: a tone under 120 ms in silence is too short, measured to the sample (80 ms passed when whole frames were counted)", () => {
  const burst = (ms: number) => {
    const samples = new Float32Array(8000);
    samples.set(Float32Array.from({ length: ms * 8 }, (_, i) => 0.5 * Math.sin(i * 0.7)), 3000);
    return samples;
  };
  for (const ms of [60, 80, 100, 110]) {
    assert.throws(() => findSpeech(burst(ms), 8000, DEFAULT_SPEECH), isTooShort, `${ms} ms`);
  }
  for (const ms of [130, 150, 200]) findSpeech(burst(ms), 8000, DEFAULT_SPEECH);
});
