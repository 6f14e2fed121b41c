/**
 * Measuring a network trained with "not a digit" as its 11th class (`deno task train --non-digits N`), on the
 * LOSO fold models that never heard the held-out speaker (`deno task eval --loso --non-digits N`):
 * the held-out speaker's digits, words never trained on from an engine never trained on (flite), the held-out
 * speaker's digits made into non-digits, and new non-speech; the same sets as the refusal head's measurement
 * (models/lab/reject.ts), so the two can be compared.
 *
 * Each fold's refusal point is chosen on the *other* folds' held-out speakers (the point that refuses
 * POINT_SHARE of their digits), never on the speaker it is tested on. The shipped point is the one
 * chosen on all measured folds' speakers; it is on by default only if, tested this way, it kept the digits
 * refused at MAX_DIGITS_REFUSED or fewer.
 */
import { seededRandom } from "../../dsp/random.ts";
import { answerClips, type Classifier, hasUnknownClass, unsureness } from "../classifier.ts";
import { loadClassifier } from "../files.ts";
import { modelId } from "../model_format.ts";
import type { Clip } from "./fsdd.ts";
import { listWordClips, madeFromDigits, notSpeech } from "./nondigits.ts";
import {
  MAX_DIGITS_REFUSED,
  nonDigitWords,
  type RejectReport,
  type RejectScore,
  summarizeFolds,
  thresholdFor,
  viewsWithSpeech,
  withNoise,
} from "./reject.ts";
import { loadAudio } from "./training.ts";

type Scores = { digits: number[]; words: number[]; made: number[]; noise: number[]; wordsByEngine?: Record<string, number[]> };

/**
 * Share of held-out digits a fold's refusal point refuses (chosen on the other folds' speakers). The point is on by
 * default only if, tested on each fold's own speaker, it lost MAX_DIGITS_REFUSED or fewer.
 */
export const POINT_SHARE = 0.01;

/** How a clip's "not a digit" score is read: the 11th class, or (a baseline) how unsure the ten digits are. */
export type RefusalScore = "class" | "confidence";

/**
 * P(not a digit) for each clip (clips in which no speech is found never reach the model: left out), or with
 * "confidence", 1 - the largest digit probability: refusal by confidence alone, the baseline the class must beat.
 */
function unknownScores(classifier: Classifier, clips: Float32Array[], by: RefusalScore): number[] {
  const views = viewsWithSpeech(clips, classifier.features.config);
  const out: number[] = [];
  for (let i = 0; i < views.length; i += 256) {
    out.push(
      ...answerClips(classifier, views.slice(i, i + 256)).map((a) => (by === "class" ? a.unknown! : unsureness(a.probabilities))),
    );
  }
  return out;
}

/** The held-out test words, with noise on half of them (seeded), grouped by the engine that spoke them. */
async function testWordsByEngine(sampleRate: number): Promise<Record<string, Float32Array[]>> {
  const words = nonDigitWords(true);
  const noisy = withNoise(await loadAudio(words.map((w) => w.path), sampleRate), 3);
  const out: Record<string, Float32Array[]> = {};
  words.forEach((w, i) => (out[w.engine] ??= []).push(noisy[i]));
  return out;
}

/** The four sets' scores on the fold model of `held` (cached beside it: they depend only on its weights and the words). */
async function foldScores(classifier: Classifier, clips: Clip[], held: string, cache: string, by: RefusalScore): Promise<Scores> {
  const id = `${modelId(classifier.identity)} ${by === "class" ? "unknown class" : "confidence"} ${listWordClips().length} words`;
  try {
    const cached = JSON.parse(await Deno.readTextFile(cache));
    if (cached.model === id) return cached.scores;
  } catch { /* not measured yet */ }
  const { sampleRate, speech } = classifier.features.config;
  const heldAudio = await loadAudio(clips.filter((c) => c.speaker === held).map((c) => c.path), sampleRate);
  // The same seeds as the refusal head's measurement: the same test sets.
  const wordsByEngine = Object.fromEntries(
    Object.entries(await testWordsByEngine(sampleRate)).map(([engine, audio]) => [engine, unknownScores(classifier, audio, by)]),
  );
  const scores: Scores = {
    digits: unknownScores(classifier, heldAudio, by),
    words: Object.values(wordsByEngine).flat(),
    wordsByEngine,
    made: unknownScores(classifier, madeFromDigits(heldAudio, sampleRate, speech, 400, seededRandom(99)), by),
    // Non-speech in which no speech is found is answered no_speech: counted as refused (noiseCount keeps the total).
    noise: withNoSpeechRefused(unknownScores(classifier, notSpeech(sampleRate, 200, seededRandom(1234)), by), 200),
  };
  await Deno.writeTextFile(cache, JSON.stringify({ model: id, scores }));
  return scores;
}

/** Scores of the clips that reached the model, and a score of 1 (refused) for each of `total` that did not. */
function withNoSpeechRefused(scores: number[], total: number): number[] {
  return [...scores, ...new Array<number>(Math.max(0, total - scores.length)).fill(1)];
}

/**
 * LOSO measurement of the 11th class (or, `by` "confidence", of refusal by confidence) over the fold models in
 * `foldsDir` (at least two: points are chosen across folds). Each fold's point refuses `share` of the other folds'
 * held-out digits.
 */
export async function evaluateUnknownClass(
  clips: Clip[],
  foldsDir: string,
  share = POINT_SHARE,
  by: RefusalScore = "class",
): Promise<RejectReport> {
  const speakers = [...new Set(clips.map((c) => c.speaker))];
  const folds: Record<string, Scores> = {};
  for (const held of speakers) {
    let classifier: Classifier;
    try {
      classifier = await loadClassifier(`${foldsDir}/${held}`);
    } catch {
      continue;
    }
    if (by === "class" && !hasUnknownClass(classifier)) {
      throw new Error(`${foldsDir}/${held} has no "not a digit" class: eval --loso --non-digits N first`);
    }
    folds[held] = await foldScores(
      classifier,
      clips,
      held,
      `${foldsDir}/${held}/${by === "class" ? "unknown" : "confidence"}_score.json`,
      by,
    );
    classifier.model.dispose();
  }
  const measured = Object.keys(folds);
  if (measured.length < 2) {
    throw new Error(`the 11th class needs two or more LOSO fold models in ${foldsDir}/<speaker>/ (found ${measured.length})`);
  }
  const perSpeaker: Record<string, RejectScore> = {};
  for (const held of measured) {
    const threshold = thresholdFor(measured.filter((s) => s !== held).flatMap((s) => folds[s].digits), share);
    const s = folds[held];
    const refused = (xs: number[]) => xs.filter((x) => x >= threshold).length / Math.max(1, xs.length);
    perSpeaker[held] = {
      digitsRefused: refused(s.digits),
      wordsRefused: refused(s.words),
      madeRefused: refused(s.made),
      noiseRefused: refused(s.noise),
      threshold,
      counts: { digits: s.digits.length, words: s.words.length, made: s.made.length, noise: s.noise.length },
      ...(s.wordsByEngine ? { wordsByEngine: Object.fromEntries(Object.entries(s.wordsByEngine).map(([e, xs]) => [e, refused(xs)])) } : {}),
    };
    console.log(`  ${by === "class" ? "11th class" : "confidence"} without ${held}: ${JSON.stringify(perSpeaker[held])}`);
  }
  const pooled = { words: measured.flatMap((s) => folds[s].words), digits: measured.flatMap((s) => folds[s].digits) };
  return summarizeFolds(perSpeaker, pooled, thresholdFor(pooled.digits, share));
}

/** features.json's "refusal" for the shipped model: on by default only if the measured point held on unseen speakers. */
export function shippedRefusal(report: RejectReport): { threshold: number | null; measuredThreshold: number } {
  return { threshold: report.digitsRefused <= MAX_DIGITS_REFUSED ? report.threshold : null, measuredThreshold: report.threshold };
}
