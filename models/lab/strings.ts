/**
 * Digit strings for `deno task eval --strings`: one speaker's clips joined with pauses and background noise,
 * and pairs run together without a pause, scored on what matters to a caller: the right number of digits,
 * the exact string, and the digit error rate (edit distance / length).
 */
import { addNoise, meanSquare, pinkNoise, whiteNoise } from "../../dsp/augment.ts";
import type { SpeechConfig } from "../../dsp/config.ts";
import { type Random, seededRandom, uniform } from "../../dsp/random.ts";
import { findSpeech } from "../../dsp/speech.ts";
import { loadClassifier } from "../files.ts";
import { argmax } from "../model_format.ts";
import { classifyClips } from "../classifier.ts";
import { extractFeatures } from "../../dsp/features.ts";
import { transcribe } from "../transcribe.ts";
import type { Clip } from "./fsdd.ts";
import { loadAudio } from "./training.ts";

export interface LabelledClip {
  samples: Float32Array;
  digit: number;
}

export interface DigitString {
  samples: Float32Array;
  digits: number[];
  /** Shortest pause between two digits' sound, seconds (0: run together). */
  minPauseS: number;
  /** Where each digit's clip lies in `samples`, in samples (end exclusive). */
  spans: [number, number][];
}

export interface StringOptions {
  /** Digits per string, inclusive. */
  length: [number, number];
  /** Silence added between the clips (FSDD clips carry some of their own around the word), seconds. */
  pauseS: [number, number];
  /** Background noise level relative to the speech, dB (white or pink, chosen per string). */
  snrDb: [number, number];
  /** Cut each clip to its sound (findSpeech without the hangover) and join with no gap: words run together. */
  runTogether: boolean;
  /** Background noise colour; default: white or pink at random, per string. */
  noise?: "white" | "pink";
}

/** One string from `clips` (one speaker), at `sampleRate`. */
export function makeString(
  clips: LabelledClip[],
  sampleRate: number,
  speech: SpeechConfig,
  options: StringOptions,
  random: Random,
): DigitString {
  const count = Math.floor(uniform(random, options.length[0], options.length[1] + 1));
  const chosen = Array.from({ length: count }, () => clips[Math.floor(random() * clips.length)]);
  const parts: Float32Array[] = [new Float32Array(Math.round(0.3 * sampleRate))];
  const spans: [number, number][] = [];
  let minPauseS = Infinity;
  chosen.forEach((clip, i) => {
    // One person saying a string keeps about one level: FSDD's takes vary by 20 dB from one to the next, so each
    // is brought to the same speech level, give or take 3 dB.
    const cut = findSpeech(clip.samples, sampleRate, { ...speech, padS: 0 });
    const gain = 10 **
      ((-20 + uniform(random, -3, 3) - 10 * Math.log10(meanSquare(clip.samples.subarray(cut.start, cut.end)) + 1e-12)) / 20);
    let samples = clip.samples.map((v) => v * gain);
    if (options.runTogether) samples = samples.subarray(cut.start, cut.end);
    const start = parts.reduce((n, p) => n + p.length, 0);
    spans.push([start, start + samples.length]);
    parts.push(samples);
    if (i < chosen.length - 1) {
      const pause = options.runTogether ? 0 : uniform(random, options.pauseS[0], options.pauseS[1]);
      minPauseS = Math.min(minPauseS, pause);
      parts.push(new Float32Array(Math.round(pause * sampleRate)));
    }
  });
  parts.push(new Float32Array(Math.round(0.3 * sampleRate)));
  const joined = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) (joined.set(part, at), at += part.length);
  const speechPower = 10 ** (-20 / 10); // the level every digit was brought to
  const white = options.noise ? options.noise === "white" : random() < 0.5;
  const noise = white ? whiteNoise(joined.length, random) : pinkNoise(joined.length, random);
  const samples = addNoise(joined, noise, uniform(random, options.snrDb[0], options.snrDb[1]), speechPower);
  return { samples, digits: chosen.map((c) => c.digit), minPauseS: Number.isFinite(minPauseS) ? minPauseS : 0, spans };
}

/**
 * The string cut at its true boundaries (halfway through each pause): what a perfect segmenter would hand the
 * model. Comparing with it isolates what segmentation costs.
 */
export function oracleCuts(made: DigitString): Float32Array[] {
  return made.spans.map(([start, end], i) => {
    const from = i > 0 ? Math.round((made.spans[i - 1][1] + start) / 2) : 0;
    const to = i < made.spans.length - 1 ? Math.round((end + made.spans[i + 1][0]) / 2) : made.samples.length;
    return made.samples.subarray(from, to);
  });
}

export function editDistance(a: number[], b: number[]): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

export interface StringScore {
  strings: number;
  /** Share of strings with as many segments as digits. */
  rightCount: number;
  /** Share of strings transcribed exactly. */
  exact: number;
  /** Sum of edit distances / sum of lengths. */
  digitErrorRate: number;
}

export function scoreStrings(pairs: { truth: number[]; heard: number[] }[]): StringScore {
  const errors = pairs.reduce((sum, p) => sum + editDistance(p.truth, p.heard), 0);
  const digits = pairs.reduce((sum, p) => sum + p.truth.length, 0);
  return {
    strings: pairs.length,
    rightCount: pairs.filter((p) => p.heard.length === p.truth.length).length / pairs.length,
    exact: pairs.filter((p) => p.heard.join() === p.truth.join()).length / pairs.length,
    digitErrorRate: errors / digits,
  };
}

/** Background noise bands the strings are heard in: a quiet room, a noisy one, a street. */
export const NOISE_BANDS: Record<string, [number, number]> = { "25-30 dB": [25, 30], "15-20 dB": [15, 20], "10-12 dB": [10, 12] };
const STRINGS: Omit<StringOptions, "snrDb"> = { length: [3, 6], pauseS: [0.15, 0.8], runTogether: false };
const PAIRS: StringOptions = { length: [2, 2], pauseS: [0, 0], snrDb: [20, 30], runTogether: true };

export interface StringsReport {
  /** Per noise band (NOISE_BANDS): the strings' scores, and `oracleExact`, the exact-string rate with the strings
   * cut at their true boundaries (oracleCuts), i.e. what segmenting perfectly would give. */
  bands: Record<string, StringScore & { oracleExact: number }>;
  /** Two digits run together, no pause, 20-30 dB. */
  pairs: StringScore;
  /** Each fold model's accuracy on its speaker's clean clips, one by one. */
  singleDigit: Record<string, number>;
}

/**
 * For each speaker with a LOSO fold model in `foldsDir`: `count` strings and `count` run-together pairs from their
 * own clips, transcribed by the model that never heard them, beside that model's single-digit accuracy.
 */
export async function evaluateStrings(clips: Clip[], foldsDir: string, count: number): Promise<StringsReport> {
  type Heard = { truth: number[]; heard: number[]; oracle: number[] };
  const bands = Object.fromEntries(Object.keys(NOISE_BANDS).map((band) => [band, [] as Heard[]]));
  const pairs: Heard[] = [];
  const singleDigit: Record<string, number> = {};
  for (const speaker of [...new Set(clips.map((c) => c.speaker))]) {
    let classifier;
    try {
      classifier = await loadClassifier(`${foldsDir}/${speaker}`);
    } catch {
      continue;
    }
    const { config } = classifier.features;
    const own = clips.filter((c) => c.speaker === speaker);
    const audio = await loadAudio(own.map((c) => c.path), config.sampleRate);
    const labelled = audio.map((samples, i) => ({ samples, digit: own[i].digit }));
    const single = classifyClips(classifier, audio.map((a) => extractFeatures(a, config).views));
    singleDigit[speaker] = single.filter((p, i) => argmax(p) === own[i].digit).length / own.length;
    const random = seededRandom(2024);
    const judge = (cut: Float32Array) => {
      try {
        return argmax(classifyClips(classifier, [extractFeatures(cut, config).views])[0]);
      } catch {
        return -1; // no speech found in the cut: a wrong digit
      }
    };
    const run = (options: StringOptions) =>
      Array.from({ length: count }, (): Heard => {
        const made = makeString(labelled, config.sampleRate, config.speech, options, random);
        let heard: number[] = [];
        try {
          heard = transcribe(classifier, { samples: made.samples, sampleRate: config.sampleRate, format: "wav", channels: 1 }, 0).digits;
        } catch { /* no speech found: nothing heard */ }
        return { truth: made.digits, heard, oracle: oracleCuts(made).map(judge) };
      });
    for (const [band, snrDb] of Object.entries(NOISE_BANDS)) bands[band].push(...run({ ...STRINGS, snrDb }));
    pairs.push(...run(PAIRS));
    classifier.model.dispose();
  }
  if (pairs.length === 0) throw new Error(`--strings needs LOSO fold models in ${foldsDir}/<speaker>/: run deno task eval --loso first`);
  const exact = (list: Heard[]) => list.filter((s) => s.oracle.join() === s.truth.join()).length / list.length;
  return {
    bands: Object.fromEntries(Object.entries(bands).map(([band, list]) => [band, { ...scoreStrings(list), oracleExact: exact(list) }])),
    pairs: scoreStrings(pairs),
    singleDigit,
  };
}
