/**
 * The digit spotter (models/spotter.ts, made by models/lab/spotter.ts): frame labels from known boundaries, the decoder
 * on hand-made posteriors, where vector j is centred, the level set on the loudest 0.5 s, the sequences' spans, a
 * spotter.json checked at load, and the served model splitting real digits said without a pause.
 */
import assert from "node:assert/strict";
import { DEFAULT_SPEECH } from "../dsp/config.ts";
import { seededRandom } from "../dsp/random.ts";
import { leadSamples, loudestRms } from "../dsp/speech_mel.ts";
import { decodeDigits, mayHoldTwo, NOTHING, smoothPosteriors, spotterFrom, vectorsInChunks } from "../models/spotter.ts";
import { initTf, tf } from "../models/tfjs.ts";
import { loadClassifier } from "../models/files.ts";
import { transcribe, type Transcription } from "../models/transcribe.ts";
import { judgeClips } from "../models/recognize.ts";
import { embedClips, makeProfile } from "../models/profile.ts";
import { embedVectors } from "../models/embedding.ts";
import { extractFeatures } from "../dsp/features.ts";
import { featuresFromAudio } from "../dsp/index.ts";
import { addNoise, whiteNoise } from "../dsp/augment.ts";
import { sequenceMel } from "../dsp/speech_mel.ts";
import { findSpeech } from "../dsp/speech.ts";
import { readWav } from "../dsp/wav.ts";
import { clipPath, FSDD } from "./helpers.ts";
import { buildSpotter, DEFAULT_SEQUENCES, DEFAULT_SPOTTER, frameLabels, makeSequence } from "../models/lab/spotter.ts";

/** Posteriors from a string of per-vector classes: "." nothing, "0".."9" that digit with probability `p`. */
function posteriors(pattern: string, p = 0.9): Float32Array[] {
  return [...pattern].map((ch) => {
    const row = new Float32Array(11).fill((1 - p) / 10);
    row[ch === "." ? NOTHING : +ch] = p;
    return row;
  });
}

const exact = { smooth: 1, threshold: 0.5, minRun: 2, minGap: 2, peak: 0 };

/** FSDD takes' samples (8 kHz, as FSDD records them). */
async function fsddTakes(names: string[]): Promise<Float32Array[]> {
  return await Promise.all(names.map(async (n) => readWav(await Deno.readFile(clipPath(n))).samples));
}

Deno.test("frameLabels: a vector is the digit whose speech holds its centre, else nothing", () => {
  const words = [{ digit: 4, startS: 0.1, endS: 0.35 }, { digit: 7, startS: 0.5, endS: 0.6 }];
  // Centres 0, 0.08, 0.16, 0.24, 0.32, 0.40, 0.48, 0.56, 0.64.
  assert.deepEqual(frameLabels(words, 9), [NOTHING, NOTHING, 4, 4, 4, NOTHING, NOTHING, 7, NOTHING]);
});

Deno.test("frameLabels: where two run-together digits overlap, the one whose middle is nearer wins", () => {
  const words = [{ digit: 1, startS: 0.0, endS: 0.45 }, { digit: 2, startS: 0.35, endS: 0.9 }];
  // 0.40 lies in both: 1's middle is 0.225 away (0.175), 2's 0.625 away (0.225) -> 1; 0.48 is only in 2's.
  const labels = frameLabels(words, 13, 0.08);
  assert.equal(labels[5], 1);
  assert.equal(labels[6], 2);
  assert.equal(labels[11], 2);
  assert.equal(labels[12], NOTHING);
});

Deno.test("frameLabels: with a margin, a word's edges are nothing, so two run-together words are apart", () => {
  const words = [{ digit: 6, startS: 0.0, endS: 0.4 }, { digit: 6, startS: 0.4, endS: 0.8 }];
  assert.deepEqual(frameLabels(words, 11), [6, 6, 6, 6, 6, 6, 6, 6, 6, 6, NOTHING]);
  // A quarter left out at both ends: 0.1-0.3 and 0.5-0.7 are the sixes.
  assert.deepEqual(frameLabels(words, 11, 0.08, 0.25), [NOTHING, NOTHING, 6, 6, NOTHING, NOTHING, NOTHING, 6, 6, NOTHING, NOTHING]);
});

Deno.test("decodeDigits: two runs give two digits, in order, with their times", () => {
  const out = decodeDigits(posteriors("..333....88.."), exact);
  assert.deepEqual(out.map((d) => d.digit), [3, 8]);
  assert.ok(Math.abs(out[0].start_s - 1.5 * 0.08) < 1e-9 && Math.abs(out[0].end_s - 4.5 * 0.08) < 1e-9);
  assert.ok(Math.abs(out[1].start_s - 8.5 * 0.08) < 1e-9);
});

Deno.test("decodeDigits: two different digits with no gap between them are both said (run together)", () => {
  assert.deepEqual(decodeDigits(posteriors("..444777.."), exact).map((d) => d.digit), [4, 7]);
});

Deno.test("decodeDigits: a dip below the threshold at least minGap long splits a digit in two", () => {
  assert.deepEqual(decodeDigits(posteriors("..55..55.."), exact).map((d) => d.digit), [5, 5]);
  assert.deepEqual(decodeDigits(posteriors("..55...55.."), { ...exact, minGap: 3 }).map((d) => d.digit), [5, 5]);
});

Deno.test("decodeDigits: runs of one digit closer than minGap merge into one", () => {
  const out = decodeDigits(posteriors("..55.55.."), exact);
  assert.deepEqual(out.map((d) => d.digit), [5]);
  assert.ok(Math.abs(out[0].end_s - 6.5 * 0.08) < 1e-9, "the merged digit spans both runs");
  assert.deepEqual(decodeDigits(posteriors("..55..55.."), { ...exact, minGap: 3 }).map((d) => d.digit), [5]);
});

Deno.test("decodeDigits: a run shorter than minRun and a probability under the threshold are not digits", () => {
  assert.deepEqual(decodeDigits(posteriors("..2..999.."), exact).map((d) => d.digit), [9]);
  assert.deepEqual(decodeDigits(posteriors("..6666..", 0.4), exact), []);
  assert.deepEqual(decodeDigits(posteriors("..6666..", 0.4), { ...exact, threshold: 0.35 }).map((d) => d.digit), [6]);
});

Deno.test("decodeDigits: with a peak, a run counts only if it reaches it somewhere (hysteresis)", () => {
  const p = posteriors("..3333....8888..", 0.6);
  p[3][3] = 0.9; // the 3 peaks once at 0.9; the 8 never goes above 0.6
  assert.deepEqual(decodeDigits(p, { ...exact, peak: 0.8 }).map((d) => d.digit), [3]);
  assert.deepEqual(decodeDigits(p, exact).map((d) => d.digit), [3, 8]);
});

Deno.test("smoothPosteriors: a moving average, shorter at the ends; one stray vector is smoothed away", () => {
  const p = posteriors("1.1", 1);
  const s = smoothPosteriors(p, 3);
  assert.ok(Math.abs(s[0][1] - 0.5) < 1e-6 && Math.abs(s[1][1] - 2 / 3) < 1e-6 && Math.abs(s[2][1] - 0.5) < 1e-6);
  // "9999 3 9999": the lone 3 is outvoted once smoothed, so the decoder hears one 9.
  assert.deepEqual(decodeDigits(posteriors("..99993999.."), { ...exact, smooth: 3 }).map((d) => d.digit), [9]);
});

Deno.test("leadSamples: the first 76-frame window's centre, at 8 kHz", () => {
  // (76 - 1) / 2 hops of 160 + 512 / 2 = 6256 samples at 16 kHz = 3128 at 8 kHz.
  const config = { sampleRate: 8000, hopLength: 160, nFft: 512, embedding: { sampleRate: 16000, windowFrames: 76, stepFrames: 8 } };
  assert.equal(leadSamples(config as Parameters<typeof leadSamples>[0]), 3128);
});

Deno.test("loudestRms: the RMS of the loudest half second, not of the whole", () => {
  const x = new Float32Array(8000 * 3);
  for (let i = 8000; i < 12000; i++) x[i] = i % 2 ? 0.5 : -0.5; // 0.5 s at RMS 0.5, then silence
  assert.ok(Math.abs(loudestRms(x, 8000) - 0.5) < 1e-6);
  assert.ok(Math.abs(loudestRms(x.subarray(0, 100), 8000)) < 1e-9, "silence");
});

Deno.test("makeSequence: the words' spans are where their speech was put, in order, with the digits chosen", () => {
  const sampleRate = 8000;
  // Three "clips": 0.2 s of silence, a 0.3 s tone (the speech), 0.2 s of silence; digit = index.
  const clips = [0, 1, 2].map((digit) => {
    const samples = new Float32Array(Math.round(0.7 * sampleRate));
    for (let i = 1600; i < 4000; i++) samples[i] = 0.3 * Math.sin((2 * Math.PI * (300 + 100 * digit) * i) / sampleRate);
    return { samples, digit };
  });
  const random = seededRandom(3);
  for (let n = 0; n < 20; n++) {
    const s = makeSequence(clips, sampleRate, DEFAULT_SPEECH, { ...DEFAULT_SEQUENCES, noisy: 0 }, random);
    assert.ok(s.words.length >= 2 && s.words.length <= 6);
    for (const [i, w] of s.words.entries()) {
      // findSpeech's 25 ms frames make the span up to a frame longer than the 0.3 s tone.
      assert.ok(w.endS - w.startS >= 0.28 && w.endS - w.startS <= 0.36, `speech span ${w.endS - w.startS}`);
      if (i > 0) {
        const gap = w.startS - s.words[i - 1].endS;
        assert.ok(gap >= -0.1 - 1e-9 && gap <= 0.8 + 1e-9, `gap ${gap}`);
      }
      // The span holds sound: its middle sample is the tone, not silence.
      const middle = Math.round(((w.startS + w.endS) / 2) * sampleRate);
      let energy = 0;
      for (let k = middle - 40; k < middle + 40; k++) energy += s.samples[k] ** 2;
      // Each word was brought to about -20 dBFS +- 6 dB (mean square >= 0.0025); silence around it is 0.
      assert.ok(energy / 80 > 1e-3, "sound at the word's middle");
    }
  }
});

Deno.test("spotterFrom: a spotter.json that does not fit its head is refused at load, with what is wrong", async () => {
  await initTf();
  const model = buildSpotter({ ...DEFAULT_SPOTTER, context: 5 });
  const stats = { mean: new Array(96).fill(0), std: new Array(96).fill(1) };
  const file = { context: 5, stats, decoder: { smooth: 3, threshold: 0.2, minRun: 3, minGap: 1, peak: 0 }, splitAboveS: 0.5 };
  assert.equal(spotterFrom(model, file).splitAboveS, 0.5);
  assert.throws(() => spotterFrom(model, { ...file, context: 7 }), /context 7 does not fit the head's input \(480 values\)/);
  assert.throws(() => spotterFrom(model, { ...file, stats: { mean: [0], std: [1] } }), /stats are not 96 values/);
  assert.throws(
    () => spotterFrom(model, { ...file, decoder: { ...file.decoder, minRun: undefined as unknown as number } }),
    /decoder.minRun/,
  );
  assert.throws(() => spotterFrom(model, { ...file, splitAboveS: undefined as unknown as number }), /splitAboveS is missing/);
  // The live head's own fields: a causal window, its front end, where it reads labels.
  const live = { context: 5, stats, decoder: file.decoder, frontEnd: "stream" as const, lookahead: 0, labelShiftS: 0.34, endWindowS: 0.2 };
  assert.equal(spotterFrom(model, live).lookahead, 0);
  assert.equal(spotterFrom(model, file).lookahead, 2, "centred when absent");
  assert.throws(() => spotterFrom(model, { ...live, lookahead: 5 }), /lookahead 5 does not fit a context of 5/);
  assert.throws(() => spotterFrom(model, { ...live, frontEnd: "wav" as "stream" }), /unknown front end wav/);
  assert.throws(() => spotterFrom(model, { ...live, endWindowS: -1 }), /endWindowS/);
  assert.throws(() => spotterFrom(model, { ...live, decoder: { ...file.decoder, join: "yes" as unknown as boolean } }), /decoder.join/);
  model.dispose();
});

Deno.test("mayHoldTwo: only an utterance longer than splitAboveS goes to the spotter", () => {
  const spotter = { splitAboveS: 0.6 } as Parameters<typeof mayHoldTwo>[0];
  const utterance = (seconds: number) => ({ start: 0, end: Math.round(seconds * 8000), startS: 0, endS: seconds });
  assert.equal(mayHoldTwo(spotter, utterance(0.6)), false);
  assert.equal(mayHoldTwo(spotter, utterance(0.61)), true);
});

Deno.test({
  name: "transcribe on embed: two FSDD digits said without a pause are split by the spotter, not by the energy segmenter",
  ignore: !FSDD,
  sanitizeResources: false,
  fn: async () => {
    await initTf();
    const classifier = await loadClassifier("models/embed");
    assert.ok(classifier.spotter, "models/embed/spotter is served");
    const { spotter: _, ...energyOnly } = classifier;
    // Official test takes (0-4) of a speaker whose words have no energy dip between them (LOSO: energy 19% exact on such
    // pairs, spotter 68%), each cut to its speech and joined end to end: no pause at all.
    const pairs = [[4, 2], [0, 7], [9, 1], [3, 6], [8, 5]];
    const heard = { spotter: 0, energy: 0 };
    for (const [take, [a, b]] of pairs.entries()) {
      const speech = (await fsddTakes([`${a}_yweweler_${take}.wav`, `${b}_yweweler_${take}.wav`])).map((samples) => {
        const cut = findSpeech(samples, 8000, { ...DEFAULT_SPEECH, padS: 0 });
        return samples.slice(cut.start, cut.end);
      });
      const joined = new Float32Array(4000 + speech[0].length + speech[1].length + 4000);
      joined.set(speech[0], 4000);
      joined.set(speech[1], 4000 + speech[0].length);
      const audio = { samples: joined, sampleRate: 8000, format: "wav", channels: 1 };
      if (transcribe(classifier, audio, 0).digits.join() === [a, b].join()) heard.spotter++;
      if (transcribe(energyOnly, audio, 0).digits.join() === [a, b].join()) heard.energy++;
    }
    // LOSO on run-together pairs (six folds): 74.7% exact with the spotter, 44.2% with energy segments alone (models/README.md).
    assert.ok(heard.spotter >= 4, `with the spotter ${heard.spotter} of 5 pairs exactly right`);
    assert.ok(heard.spotter > heard.energy, `energy segments alone: ${heard.energy} of 5`);
    classifier.model.dispose();
    classifier.spotter.model.dispose();
  },
});

Deno.test({
  name: "vectorsInChunks: a recording's vectors in chunks are its one-pass vectors",
  ignore: !FSDD,
  sanitizeResources: false,
  fn: async () => {
    await initTf();
    const classifier = await loadClassifier("models/embed");
    const { config } = classifier.features;
    const samples = Float32Array.from((await fsddTakes(["4_theo_1.wav", "2_theo_1.wav", "0_theo_1.wav"])).flatMap((s) => [...s]));
    const mel = sequenceMel(samples, config);
    const whole = embedVectors(classifier.embedding!, mel.data, mel.frames);
    const steps = vectorsInChunks(classifier.embedding!, mel, config, 7);
    let yields = 0;
    let next = steps.next();
    for (; !next.done; next = steps.next()) yields++;
    assert.equal(yields, Math.ceil(whole.length / 96 / 7) - 1);
    assert.equal(next.value.length, whole.length);
    const worst = next.value.reduce((w, v, i) => Math.max(w, Math.abs(v - whole[i])), 0);
    assert.ok(worst < 1e-4, `largest difference ${worst}`);
    classifier.model.dispose();
  },
});

Deno.test({
  name: "transcribe on embed: in loud noise the spotter alone answers, unless a profile asks for the classifier",
  ignore: !FSDD,
  sanitizeResources: false,
  fn: async () => {
    await initTf();
    const classifier = await loadClassifier("models/embed");
    assert.equal(classifier.spotter?.aloneBelowDb, 25);
    const neverAlone = { ...classifier, spotter: { ...classifier.spotter!, aloneBelowDb: undefined } };
    const takes = await fsddTakes(["7_theo_3.wav", "1_theo_3.wav", "5_theo_3.wav"]);
    const clean = Float32Array.from(takes.flatMap((s) => [...s, ...new Float32Array(3200)]));
    const noisy = addNoise(clean, whiteNoise(clean.length, seededRandom(4)), 10);
    const audio = (samples: Float32Array) => ({ samples, sampleRate: 8000, format: "wav", channels: 1 });
    const answer = (t: Transcription) => ({ text: t.text, segments: t.segments });
    const before = tf.memory().numTensors;
    const inNoise = transcribe(classifier, audio(noisy), 0);
    const classifierPath = transcribe(neverAlone, audio(noisy), 0);
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
    console.log(`10 dB white noise, said 715: the spotter alone heard ${inNoise.text}, the classifier path ${classifierPath.text}`);
    // The spotter's own posteriors: not the classifier path's answer.
    assert.notDeepEqual(answer(inNoise), answer(classifierPath));
    for (const s of inNoise.segments) {
      assert.equal(s.probabilities.length, 10);
      assert.ok(Math.abs(s.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-3);
      assert.ok(s.end_s > s.start_s && s.start_s >= 0 && s.end_s <= noisy.length / 8000);
    }
    // A quiet recording stays on the classifier path; so does a noisy one sent with a profile (the spotter knows no voice).
    assert.deepEqual(answer(transcribe(classifier, audio(clean), 0)), answer(transcribe(neverAlone, audio(clean), 0)));
    const embedded = embedClips(classifier, takes.map((t) => extractFeatures(t, classifier.features.config).views));
    const profile = makeProfile("embed", embedded.map((e, i) => ({ digit: [7, 1, 5][i], voice: e.voice })));
    const taught = transcribe(classifier, audio(noisy), 0, profile);
    assert.equal(taught.profile, true);
    assert.deepEqual(answer(taught), answer(transcribe(neverAlone, audio(noisy), 0, profile)));
    classifier.model.dispose();
  },
});

Deno.test({
  name: "judgeClips: a clip whose embedding vectors are handed in is answered as if they were computed, with or without a profile",
  sanitizeResources: false,
  fn: async () => {
    await initTf();
    const classifier = await loadClassifier("models/embed");
    const { config } = classifier.features;
    const clips = ["4_real-fsdd-nicolas.wav", "6_real-audiomnist-56-woman.wav", "8_real-fsdd-lucas.wav"].map((n) => {
      const { samples, sampleRate } = readWav(Deno.readFileSync(`static/examples/${n}`));
      return featuresFromAudio(samples, sampleRate, config);
    });
    const views = clips.map((f) => f.views);
    // The middle clip's vectors are known; the others are computed in the same batch.
    const known = new Map([[clips[1].views[0], embedVectors(classifier.embedding!, clips[1].values, config.frames)]]);
    const embedded = embedClips(classifier, views);
    const profile = makeProfile("embed", embedded.map((e, i) => ({ digit: [4, 6, 8][i], voice: e.voice })));
    const before = tf.memory().numTensors;
    for (const p of [undefined, profile]) {
      const plain = judgeClips(classifier, views, p);
      const handed = judgeClips(classifier, views, p, known);
      handed.forEach((j, i) => j.probabilities.forEach((v, d) => assert.ok(Math.abs(v - plain[i].probabilities[d]) < 1e-5, `clip ${i}`)));
    }
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
    classifier.model.dispose();
  },
});
