import assert from "node:assert/strict";
import { DEFAULT_SPEECH } from "../dsp/config.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { AudioError } from "../dsp/errors.ts";
import { findSpeech } from "../dsp/speech.ts";
import { addNoise, padWithSilence, whiteNoise } from "../dsp/augment.ts";
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
    const { listClips } = await import("../models/fsdd.ts");
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
