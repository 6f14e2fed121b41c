/** dsp/utterances.ts: every digit of a string found, in order, in noise; none in silence; linear on long noise. */
import assert from "node:assert/strict";
import { DEFAULT_SPEECH } from "../dsp/config.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { AudioError } from "../dsp/errors.ts";
import { addNoise, meanSquare, pinkNoise, whiteNoise } from "../dsp/augment.ts";
import { seededRandom } from "../dsp/random.ts";
import { findSpeech } from "../dsp/speech.ts";
import { findUtterances, levelSpreadDb } from "../dsp/utterances.ts";
import { clipPath, FSDD } from "./helpers.ts";

const RATE = 8000;
const load = async (name: string) => (await decodeAudio(await Deno.readFile(clipPath(name)))).samples;

/** The clips joined with `pauseS` of silence between them (and 0.3 s around), and where each clip lies. */
function join(clips: Float32Array[], pauseS: number) {
  const gap = Math.round(pauseS * RATE), edge = Math.round(0.3 * RATE);
  const out = new Float32Array(2 * edge + clips.reduce((n, c) => n + c.length, 0) + gap * (clips.length - 1));
  const spans: [number, number][] = [];
  let at = edge;
  for (const clip of clips) {
    out.set(clip, at);
    spans.push([at / RATE, (at + clip.length) / RATE]);
    at += clip.length + gap;
  }
  return { samples: out, spans };
}

Deno.test({
  name:
    "findUtterances: four digits of one FSDD speaker 150 ms apart, in white or pink noise at 20 dB, give four segments, each around its digit",
  ignore: !FSDD,
  fn: async () => {
    const clips = await Promise.all(["4_theo_0.wav", "2_theo_1.wav", "0_theo_2.wav", "7_theo_3.wav"].map(load));
    const { samples, spans } = join(clips, 0.15);
    const power = clips.reduce((s, c) => s + meanSquare(c), 0) / clips.length;
    for (const noise of [whiteNoise, pinkNoise]) {
      const noisy = addNoise(samples, noise(samples.length, seededRandom(5)), 20, power);
      const found = findUtterances(noisy, RATE, DEFAULT_SPEECH);
      assert.equal(found.length, 4, `${noise.name}: ${found.map((f) => `${f.startS.toFixed(2)}-${f.endS.toFixed(2)}`).join(" ")}`);
      found.forEach((f, i) => {
        const middle = (spans[i][0] + spans[i][1]) / 2;
        assert.ok(f.startS < middle && f.endS > middle, `${noise.name} digit ${i}: ${f.startS}-${f.endS} vs clip ${spans[i]}`);
        if (i > 0) assert.ok(f.startS >= found[i - 1].endS, "segments overlap");
      });
    }
  },
});

Deno.test({
  name: "findUtterances: one clip is one segment, close to findSpeech's",
  ignore: !FSDD,
  fn: async () => {
    for (const name of ["6_theo_1.wav", "8_george_1.wav", "7_jackson_32.wav"]) {
      const samples = await load(name);
      const [only, ...rest] = findUtterances(samples, RATE, DEFAULT_SPEECH);
      assert.equal(rest.length, 0, name);
      const single = findSpeech(samples, RATE, DEFAULT_SPEECH);
      assert.ok(
        Math.abs(only.startS - single.startS) < 0.08 && Math.abs(only.endS - single.endS) < 0.08,
        `${name}: ${JSON.stringify([only, single])}`,
      );
    }
  },
});

Deno.test("findUtterances: silence and a lone click are no_speech; 60 s of steady noise is at most a few segments", () => {
  const isNoSpeech = (f: () => unknown) => assert.throws(f, (e) => e instanceof AudioError && e.code === "no_speech");
  isNoSpeech(() => findUtterances(new Float32Array(RATE), RATE, DEFAULT_SPEECH));
  const click = new Float32Array(RATE);
  click.fill(0.5, 4000, 4008);
  isNoSpeech(() => findUtterances(click, RATE, DEFAULT_SPEECH));
  const noise = pinkNoise(60 * RATE, seededRandom(9)).map((v) => v * 0.1);
  let count = 0;
  try {
    count = findUtterances(noise, RATE, DEFAULT_SPEECH).length;
  } catch (e) {
    assert.ok(e instanceof AudioError);
  }
  assert.ok(count <= 3, `${count} segments in steady pink noise`);
});

Deno.test({
  name: "levelSpreadDb: a string in a quiet room spreads over 30 dB; the same string 10 dB under white or pink noise, under 25",
  ignore: !FSDD,
  fn: async () => {
    const { samples } = join(await Promise.all(["4_theo_1.wav", "2_theo_1.wav", "0_theo_1.wav"].map(load)), 0.4);
    const speech = findSpeech(samples, RATE, DEFAULT_SPEECH);
    const power = meanSquare(samples.subarray(speech.start, speech.end));
    const quiet = levelSpreadDb(samples, RATE, DEFAULT_SPEECH);
    assert.ok(quiet > 30, `quiet: ${quiet.toFixed(1)} dB`);
    for (const noise of [whiteNoise, pinkNoise]) {
      const noisy = levelSpreadDb(addNoise(samples, noise(samples.length, seededRandom(9)), 10, power), RATE, DEFAULT_SPEECH);
      assert.ok(noisy < 25, `${noise.name}: ${noisy.toFixed(1)} dB`);
    }
    assert.equal(levelSpreadDb(new Float32Array(0), RATE, DEFAULT_SPEECH), 0);
  },
});
