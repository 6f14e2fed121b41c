/**
 * Live listening by spotting (models/spotter_stream.ts) with the served live head (models/embed/spotter_live/): real
 * FSDD takes pushed in microphone-sized pieces give the digits that decodeDigits gives the whole stream, each handed on
 * soon after its word ended (in audio time), with nothing leaked and bad heads refused.
 */
import assert from "node:assert/strict";
import { initTf, tf } from "../models/tfjs.ts";
import { loadClassifier } from "../models/files.ts";
import type { Classifier } from "../models/classifier.ts";
import { createSpotterStream, type StreamDigit } from "../models/spotter_stream.ts";
import { confirmVectors, decodeDigits, NOTHING, spotterPosteriors } from "../models/spotter.ts";
import { embedVectors } from "../models/embedding.ts";
import { streamMel } from "../dsp/stream_mel.ts";
import { vectorStepS } from "../dsp/speech_mel.ts";
import { findSpeech } from "../dsp/speech.ts";
import { readWav } from "../dsp/wav.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { resample } from "../dsp/resample.ts";
import { clipPath, FSDD } from "./helpers.ts";
import { frameLabels } from "../models/lab/spotter.ts";

const opts = { ignore: !FSDD, sanitizeResources: false };
let served: Classifier | undefined;
async function classifier(): Promise<Classifier> {
  if (!served) {
    await initTf();
    served = await loadClassifier("models/embed");
  }
  return served;
}

/** Takes joined with `pauseS` of silence (0: each cut to its speech, run together), and where each word's speech ends. */
async function say(names: string[], pauseS: number, rate = 8000): Promise<{ samples: Float32Array; ends: number[] }> {
  const parts: Float32Array[] = [new Float32Array(0.5 * rate)];
  const ends: number[] = [];
  let at = parts[0].length;
  for (const name of names) {
    let take = readWav(await Deno.readFile(clipPath(name))).samples;
    const speech = findSpeech(take, rate, { ...(await classifier()).features.config.speech, padS: 0 });
    if (pauseS === 0) take = take.slice(speech.start, speech.end);
    ends.push((at + (pauseS === 0 ? take.length : speech.end)) / rate);
    parts.push(take, new Float32Array(Math.round(pauseS * rate)));
    at += take.length + Math.round(pauseS * rate);
  }
  parts.push(new Float32Array(0.5 * rate));
  const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) (samples.set(p, offset), offset += p.length);
  return { samples, ends };
}

/** Pushed as a microphone would: pieces of 170-700 samples, then the stream's flush. */
function listen(c: Classifier, samples: Float32Array): { digits: StreamDigit[]; pushed: Float32Array } {
  const stream = createSpotterStream(c.liveSpotter!, c.embedding!, c.features.config);
  const digits: StreamDigit[] = [];
  for (let at = 0, k = 1; at < samples.length; k++) {
    const n = Math.min(samples.length - at, (k * 331) % 530 + 170);
    digits.push(...stream.push(samples.subarray(at, at + n)));
    at += n;
  }
  const before = stream.positionS;
  digits.push(...stream.flush());
  const pushed = new Float32Array(Math.round(stream.positionS * c.features.config.sampleRate));
  pushed.set(samples);
  assert.ok(stream.positionS > before);
  return { digits, pushed };
}

Deno.test({
  ...opts,
  name: "spotter stream: a string pushed in pieces gives the digits decodeDigits gives the whole stream, and hears them",
  fn: async () => {
    const c = await classifier();
    const tensors = tf.memory().numTensors;
    const { samples } = await say(["3_theo_2.wav", "9_theo_2.wav", "1_theo_2.wav", "6_theo_2.wav"], 0.3);
    const { digits, pushed } = listen(c, samples);
    assert.equal(tf.memory().numTensors, tensors, "tensors leaked");
    // The whole stream at once: the same front end, one pass of the network, the same decoder.
    const mel = streamMel(pushed, c.features.config);
    const vectors = embedVectors(c.embedding!, mel.data, mel.frames);
    const whole = decodeDigits(spotterPosteriors(c.liveSpotter!, vectors), c.liveSpotter!.decoder, vectorStepS(c.features.config));
    assert.deepEqual(digits.map((d) => d.digit), whole.map((d) => d.digit));
    assert.deepEqual(digits.map((d) => d.digit), [3, 9, 1, 6]);
  },
});

Deno.test({
  ...opts,
  name: "spotter stream: each digit is handed on within 0.45 s of audio after its word ended, two said without a pause too",
  fn: async () => {
    const c = await classifier();
    for (
      const [names, pauseS] of [[["4_jackson_3.wav", "7_jackson_3.wav", "2_jackson_3.wav"], 0.4], [
        ["5_lucas_1.wav", "8_lucas_1.wav"],
        0,
      ]] as const
    ) {
      const { samples, ends } = await say([...names], pauseS);
      const { digits } = listen(c, samples);
      assert.deepEqual(digits.map((d) => d.digit), names.map((n) => +n[0]), `heard ${digits.map((d) => d.digit)}`);
      digits.forEach((d, k) => {
        const lateS = d.finalAtS - ends[k];
        assert.ok(lateS < 0.45, `${names[k]}: handed on ${lateS.toFixed(2)} s after its word ended`);
        // Where the stream says the word ended is within 0.15 s of where it did.
        assert.ok(Math.abs(d.end_s - ends[k]) < 0.15, `${names[k]}: end ${d.end_s.toFixed(2)} s, truly ${ends[k].toFixed(2)} s`);
      });
    }
  },
});

Deno.test({
  ...opts,
  name: "spotter stream: silence hands on nothing; past its limit a push is an error; a whole-recording spotter is refused",
  fn: async () => {
    const c = await classifier();
    const stream = createSpotterStream(c.liveSpotter!, c.embedding!, c.features.config, 3);
    assert.deepEqual(stream.push(new Float32Array(2 * 8000)), []);
    assert.throws(() => stream.push(new Float32Array(2 * 8000)), /stops after 3 s/);
    assert.throws(() => createSpotterStream(c.spotter!, c.embedding!, c.features.config), /whole recordings/);
  },
});

Deno.test("spotter stream: a run is confirmed once minRun vectors of it are smoothed for good", () => {
  assert.equal(confirmVectors({ smooth: 1, threshold: 0.5, minRun: 1, minGap: 1, peak: 0 }), 0);
  assert.equal(confirmVectors({ smooth: 3, threshold: 0.5, minRun: 2, minGap: 1, peak: 0 }), 2);
  assert.equal(confirmVectors({ smooth: 5, threshold: 0.2, minRun: 3, minGap: 2, peak: 0 }), 4);
});

Deno.test("frameLabels at word ends: a vector says the digit whose speech ended within the window before centre + shift", () => {
  const words = [{ digit: 4, startS: 0.1, endS: 0.35 }, { digit: 7, startS: 0.4, endS: 0.62 }];
  // Centres + 0.34: 0.34, 0.42, 0.50, 0.58, 0.66, 0.74, 0.82, 0.90; an end counts when it lies in (t - 0.2, t].
  assert.deepEqual(frameLabels(words, 8, 0.08, 0, 0.34, 0.2), [NOTHING, 4, 4, NOTHING, 7, 7, NOTHING, NOTHING]);
});

Deno.test("decodeDigits, joined: a run of speech is one digit, its first minRun vectors' likeliest, flips and all", () => {
  const row = (probabilities: Record<number, number>) => {
    const out = new Float32Array(11);
    for (const [c, p] of Object.entries(probabilities)) out[+c] = p;
    return out;
  };
  // 5, 5, then a flip to 9, then 5: by digit, two runs of 5 broken by a 9; joined, one run, a 5.
  const word = [row({ 5: 0.7, 10: 0.3 }), row({ 5: 0.6, 9: 0.3, 10: 0.1 }), row({ 9: 0.6, 5: 0.3, 10: 0.1 }), row({ 5: 0.8, 10: 0.2 })];
  const quiet = row({ 10: 1 });
  const posteriors = [quiet, ...word, quiet, quiet];
  const options = { smooth: 1, threshold: 0.5, minRun: 2, minGap: 1, peak: 0 };
  assert.deepEqual(decodeDigits(posteriors, options).map((d) => d.digit), [5]);
  assert.deepEqual(decodeDigits(posteriors, { ...options, minRun: 1 }).map((d) => d.digit), [5, 9, 5]);
  const joined = decodeDigits(posteriors, { ...options, minRun: 1, join: true });
  assert.deepEqual(joined.map((d) => [d.digit, d.start_s, d.end_s]), [[5, 0.04, 0.36]]);
  // Speech is the ten digits together: 0.3 + 0.3 of two digits is speech at threshold 0.5, neither alone is.
  assert.deepEqual(
    decodeDigits([quiet, row({ 2: 0.3, 3: 0.3, 10: 0.4 }), quiet], { ...options, minRun: 1, join: true }).map((d) => d.digit),
    [2],
  );
});

Deno.test({
  ...opts,
  name: "spotter stream: six voices it never heard (digits_extra, AudioMNIST, one woman) said 0.3 s apart are heard in order",
  fn: async () => {
    const c = await classifier();
    const dir = `${FSDD}/../digits_extra`;
    const rows = (await Deno.readTextFile(`${dir}/manifest.csv`)).trim().split("\n").slice(1).map((l) => l.split(","));
    const parts: Float32Array[] = [new Float32Array(4000)];
    for (const [path] of rows) {
      const audio = await decodeAudio(await Deno.readFile(`${dir}/${path}`));
      parts.push(resample(audio.samples, audio.sampleRate, 8000), new Float32Array(2400));
    }
    const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) (samples.set(p, at), at += p.length);
    const { digits } = listen(c, samples);
    assert.equal(digits.map((d) => d.digit).join(""), rows.map((r) => r[1]).join(""));
  },
});
