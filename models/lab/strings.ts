/**
 * Digit strings for `deno task eval --strings`: one speaker's clips joined with pauses and background noise,
 * and pairs run together without a pause, scored on what matters to a caller: the right number of digits,
 * the exact string, and the digit error rate (edit distance / length).
 */
import { addNoise, meanSquare, pinkNoise, whiteNoise } from "../../dsp/augment.ts";
import type { SpeechConfig } from "../../dsp/config.ts";
import { type Random, uniform } from "../../dsp/random.ts";
import { findSpeech } from "../../dsp/speech.ts";

export interface LabelledClip {
  samples: Float32Array;
  digit: number;
}

export interface DigitString {
  samples: Float32Array;
  digits: number[];
  /** Shortest pause between two digits' sound, seconds (0: run together). */
  minPauseS: number;
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
  let minPauseS = Infinity;
  chosen.forEach((clip, i) => {
    let samples = clip.samples;
    if (options.runTogether) {
      const cut = findSpeech(samples, sampleRate, { ...speech, padS: 0 });
      samples = samples.subarray(cut.start, cut.end);
    }
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
  const speechPower = chosen.reduce((sum, c) => sum + meanSquare(c.samples), 0) / chosen.length;
  const kind = Deno.env.get("NOISE");
  const noise = (kind ? kind === "white" : random() < 0.5) ? whiteNoise(joined.length, random) : pinkNoise(joined.length, random);
  const samples = addNoise(joined, noise, uniform(random, options.snrDb[0], options.snrDb[1]), speechPower);
  return { samples, digits: chosen.map((c) => c.digit), minPauseS: Number.isFinite(minPauseS) ? minPauseS : 0 };
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
