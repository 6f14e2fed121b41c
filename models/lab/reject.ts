/**
 * Training and measuring the refusal head (models/reject.ts), `deno task eval --reject`.
 * For each FSDD speaker, on the LOSO fold model that never heard them: the head learns from four of the other
 * five speakers' digits and the synthetic voices (digits) against non-digit words from espeak-ng and festival,
 * digits reversed / scrambled / halved / run together, and non-speech (models/lab/nondigits.ts); its refusal
 * point is where 2% of the fifth speaker's digits are refused. Then it is tested on the held-out speaker's
 * digits, on words it never heard from an engine it never heard (flite), on the held-out speaker's digits
 * made into non-digits, and on new non-speech. The head shipped beside the model is trained the same way on
 * the shipped model, with the median of the folds' refusal points.
 */
import { addNoise, augmentClip, meanSquare, whiteNoise } from "../../dsp/augment.ts";
import { extractFeatures } from "../../dsp/features.ts";
import type { FeatureConfig } from "../../dsp/config.ts";
import { AudioError } from "../../dsp/errors.ts";
import { seededRandom, shuffle } from "../../dsp/random.ts";
import type { Classifier } from "../classifier.ts";
import { loadClassifier } from "../files.ts";
import { embedClips } from "../profile.ts";
import { POOL, REJECT_FORMAT, type RejectHead, rejectInput, unknownProbability } from "../reject.ts";
import type { Clip } from "./fsdd.ts";
import { listWordClips, madeFromDigits, notSpeech, type WordClip } from "./nondigits.ts";
import { DEFAULT_TRAIN, loadAudio, loadVoices } from "./training.ts";
import { modelId } from "../model_format.ts";

/** Share of a held-out validation speaker's digits the refusal point may refuse. */
export const MAX_DIGITS_REFUSED = 0.02;
const HIDDEN = 32;
const EPOCHS = 20;
/** Names the recipe above (and the data), so that a cached fold result of another recipe is not reused. */
const HEAD_RECIPE = `hidden ${HIDDEN}, ${EPOCHS} epochs, pooled ${POOL}, augmented once without reverb`;

/**
 * The feature views of each clip in which speech is found; the others are left out (the server would answer
 * 422 no_speech, never reaching the model).
 */
export function viewsWithSpeech(clips: Float32Array[], config: FeatureConfig): Float32Array[][] {
  const views: Float32Array[][] = [];
  for (const clip of clips) {
    try {
      views.push(extractFeatures(clip, config).views);
    } catch (e) {
      if (!(e instanceof AudioError)) throw e;
    }
  }
  return views;
}

/** The head's input for each clip (clips that yield no features, e.g. too short, are dropped). */
function inputs(classifier: Classifier, clips: Float32Array[]): Float32Array[] {
  const views = viewsWithSpeech(clips, classifier.features.config);
  const out: Float32Array[] = [];
  for (let i = 0; i < views.length; i += 256) {
    const batch = views.slice(i, i + 256);
    embedClips(classifier, batch).forEach((e, k) => out.push(rejectInput(e.embedding, e.probabilities, batch[k][0])));
  }
  return out;
}

/**
 * Each clip as it is and once augmented the way the digit network was trained (speed, reverb, band limits,
 * padding, noise, gain), digits and non-digits alike: the head must not learn "clean = digit", and an unseen
 * speaker's digits must look like the training ones.
 */
// Reverb is left out: its convolution is the costly part of augmenting, and the head reads what reverb changes little.
const NO_REVERB = { ...DEFAULT_TRAIN.recipe, reverbProbability: 0 };

function augmented(clips: Float32Array[], sampleRate: number, seed: number): Float32Array[] {
  const random = seededRandom(seed);
  return clips.flatMap((c) => [c, augmentClip(c, sampleRate, NO_REVERB, random, clips.slice(0, 50)).samples]);
}

/** Test clips in background noise at 10-30 dB, half of them. */
export function withNoise(clips: Float32Array[], seed: number): Float32Array[] {
  const random = seededRandom(seed);
  return clips.map((c) =>
    random() < 0.5 ? c : addNoise(c, whiteNoise(c.length, random), 10 + 20 * random(), Math.max(meanSquare(c), 1e-8))
  );
}

/** A 1-hidden-layer net, sigmoid output, trained with Adam on balanced classes (plain TypeScript: it is tiny). */
export function trainHead(notDigits: Float32Array[], digits: Float32Array[], model: string, seed = 1): RejectHead {
  const size = notDigits[0].length;
  const all = [...notDigits, ...digits];
  const mean = Array.from({ length: size }, (_, i) => all.reduce((s, x) => s + x[i], 0) / all.length);
  const std = Array.from({ length: size }, (_, i) => Math.sqrt(all.reduce((s, x) => s + (x[i] - mean[i]) ** 2, 0) / all.length) || 1);
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const w1 = Array.from({ length: HIDDEN }, () => Array.from({ length: size }, () => gauss() * Math.sqrt(2 / size)));
  const b1 = new Array<number>(HIDDEN).fill(0);
  const w2 = Array.from({ length: HIDDEN }, () => gauss() * Math.sqrt(1 / HIDDEN));
  let b2 = 0;
  // Adam's moments, shaped like the parameters.
  const m1 = w1.map((r) => r.map(() => 0)), v1 = w1.map((r) => r.map(() => 0));
  const mb1 = b1.map(() => 0), vb1 = b1.map(() => 0), m2 = w2.map(() => 0), v2 = w2.map(() => 0);
  let mb2 = 0, vb2 = 0;
  const data = [...notDigits.map((x) => ({ x, y: 1 })), ...digits.map((x) => ({ x, y: 0 }))]
    .map(({ x, y }) => ({ x: x.map((v, i) => (v - mean[i]) / std[i]), y }));
  // Each class weighs half, whatever its count. Target 1 = "not a digit".
  const weight = (y: number) => (y ? all.length / 2 / notDigits.length : all.length / 2 / digits.length);
  const lr = 0.003, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, l2 = 1e-4, batch = 64;
  let step = 0;
  const hidden = new Float64Array(HIDDEN);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    shuffle(data, random);
    for (let start = 0; start < data.length; start += batch) {
      const gw1 = w1.map((r) => r.map(() => 0)), gb1 = new Array<number>(HIDDEN).fill(0), gw2 = new Array<number>(HIDDEN).fill(0);
      let gb2 = 0;
      const chunk = data.slice(start, start + batch);
      for (const { x, y } of chunk) {
        let z = b2;
        for (let j = 0; j < HIDDEN; j++) {
          let h = b1[j];
          for (let i = 0; i < size; i++) h += w1[j][i] * x[i];
          hidden[j] = h > 0 ? h : 0;
          z += w2[j] * hidden[j];
        }
        const p = 1 / (1 + Math.exp(-z));
        const dz = (p - y) * weight(y) / chunk.length;
        gb2 += dz;
        for (let j = 0; j < HIDDEN; j++) {
          gw2[j] += dz * hidden[j];
          if (hidden[j] <= 0) continue;
          const dh = dz * w2[j];
          gb1[j] += dh;
          for (let i = 0; i < size; i++) gw1[j][i] += dh * x[i];
        }
      }
      step++;
      const c1 = 1 - beta1 ** step, c2 = 1 - beta2 ** step;
      const adam = (g: number, m: number, v: number): [number, number, number] => {
        const mn = beta1 * m + (1 - beta1) * g, vn = beta2 * v + (1 - beta2) * g * g;
        return [lr * (mn / c1) / (Math.sqrt(vn / c2) + eps), mn, vn];
      };
      for (let j = 0; j < HIDDEN; j++) {
        for (let i = 0; i < size; i++) {
          const [d, m, v] = adam(gw1[j][i] + l2 * w1[j][i], m1[j][i], v1[j][i]);
          [w1[j][i], m1[j][i], v1[j][i]] = [w1[j][i] - d, m, v];
        }
        let [d, m, v] = adam(gb1[j], mb1[j], vb1[j]);
        [b1[j], mb1[j], vb1[j]] = [b1[j] - d, m, v];
        [d, m, v] = adam(gw2[j] + l2 * w2[j], m2[j], v2[j]);
        [w2[j], m2[j], v2[j]] = [w2[j] - d, m, v];
      }
      const [d, m, v] = adam(gb2, mb2, vb2);
      [b2, mb2, vb2] = [b2 - d, m, v];
    }
  }
  return { format: REJECT_FORMAT, model, mean, std, w1, b1, w2, b2, threshold: 0.5 };
}

/** The refusal point that refuses at most `share` of these digits' scores. */
export function thresholdFor(digitScores: number[], share = MAX_DIGITS_REFUSED): number {
  const sorted = [...digitScores].sort((a, b) => b - a);
  const allowed = Math.floor(share * sorted.length);
  return Math.min(0.999, Math.max(0.5, (sorted[allowed] ?? 0) + 1e-6));
}

export interface RejectSets {
  digits: Float32Array[];
  words: Float32Array[];
  made: Float32Array[];
  noise: Float32Array[];
}

export interface RejectScore {
  /** Shares refused at the fold's refusal point. */
  digitsRefused: number;
  wordsRefused: number;
  madeRefused: number;
  noiseRefused: number;
  threshold: number;
  counts: Record<keyof RejectSets, number>;
  /** Words refused, by the (held-out) engine that spoke them. */
  wordsByEngine?: Record<string, number>;
}

export interface RejectReport {
  perSpeaker: Record<string, RejectScore>;
  /** Means over the held-out speakers. */
  digitsRefused: number;
  wordsRefused: number;
  madeRefused: number;
  noiseRefused: number;
  /** What was measured: an 11th class (or a refusal head), or the ten digits' confidence. */
  by?: "class" | "confidence";
  /** Means over the held-out speakers of the words refused, by held-out engine. */
  wordsByEngine?: Record<string, number>;
  /** Refused words vs lost digits as the refusal point moves, pooled over folds (for the plot). */
  curve: { threshold: number; wordsRefused: number; digitsRefused: number }[];
  /** The median of the folds' refusal points: the shipped head's. */
  threshold: number;
}

/** The non-digit word clips: training words (test false), or the held-out words of the held-out engines (test true). */
export function nonDigitWords(test: boolean): WordClip[] {
  const words = listWordClips().filter((w) => w.test === test);
  if (words.length === 0) throw new Error("no non-digit words: run deno task nondigits first");
  return words;
}

/** nonDigitWords' audio at `sampleRate`. */
export async function nonDigitAudio(sampleRate: number, test: boolean) {
  return await loadAudio(nonDigitWords(test).map((w) => w.path), sampleRate);
}

/** Trains a head for `classifier` on the given speakers' digits (audio) and the training non-digits; threshold from `validation`. */
async function headFor(
  classifier: Classifier,
  trainDigits: Float32Array[],
  validationDigits: Float32Array[],
  voicesDir: string,
): Promise<RejectHead & { threshold: number }> {
  const { sampleRate, speech } = classifier.features.config;
  const voices = (await loadVoices(voicesDir, sampleRate)).map((v) => v.samples);
  const random = seededRandom(7);
  const digits = augmented([...trainDigits, ...voices], sampleRate, 1);
  const negatives = augmented(
    [
      ...await nonDigitAudio(sampleRate, false),
      ...madeFromDigits(trainDigits, sampleRate, speech, 1500, random),
      ...notSpeech(sampleRate, 600, random),
    ],
    sampleRate,
    2,
  );
  const model = modelId(classifier.identity);
  const head = trainHead(inputs(classifier, negatives), inputs(classifier, digits), model);
  const validation = inputs(classifier, validationDigits).map((x) => unknownProbability(head, x));
  return { ...head, threshold: thresholdFor(validation) };
}

type FoldScores = { digits: number[]; words: number[]; made: number[]; noise: number[] };

function readCache(file: string, id: string): { score: RejectScore; scores: FoldScores } | null {
  try {
    const cached = JSON.parse(Deno.readTextFileSync(file));
    return cached.model === id ? cached : null;
  } catch {
    return null;
  }
}

/** One fold: a head trained without `held` (threshold from the last of the others), scored on `held`'s sets. */
async function measureFold(
  classifier: Classifier,
  clips: Clip[],
  speakers: string[],
  held: string,
  voicesDir: string,
): Promise<{ score: RejectScore; scores: FoldScores }> {
  const { sampleRate, speech } = classifier.features.config;
  const others = speakers.filter((s) => s !== held);
  const validationSpeaker = others[others.length - 1];
  const audioOf = (who: string[]) => loadAudio(clips.filter((c) => who.includes(c.speaker)).map((c) => c.path), sampleRate);
  const head = await headFor(classifier, await audioOf(others.slice(0, -1)), await audioOf([validationSpeaker]), voicesDir);
  const heldAudio = await audioOf([held]);
  const random = seededRandom(99);
  const sets: RejectSets = {
    digits: inputs(classifier, heldAudio),
    words: inputs(classifier, withNoise(await nonDigitAudio(sampleRate, true), 3)),
    made: inputs(classifier, madeFromDigits(heldAudio, sampleRate, speech, 400, random)),
    noise: inputs(classifier, notSpeech(sampleRate, 200, seededRandom(1234))),
  };
  const unknowns = (xs: Float32Array[]) => xs.map((x) => unknownProbability(head, x));
  const scores = { digits: unknowns(sets.digits), words: unknowns(sets.words), made: unknowns(sets.made), noise: unknowns(sets.noise) };
  const refused = (xs: number[]) => xs.filter((s) => s >= head.threshold).length / Math.max(1, xs.length);
  const score: RejectScore = {
    digitsRefused: refused(scores.digits),
    wordsRefused: refused(scores.words),
    madeRefused: refused(scores.made),
    noiseRefused: refused(scores.noise),
    threshold: head.threshold,
    counts: { digits: sets.digits.length, words: sets.words.length, made: sets.made.length, noise: sets.noise.length },
  };
  return { score, scores };
}

/** LOSO measurement over the fold models in `foldsDir`. */
export async function evaluateReject(clips: Clip[], foldsDir: string, voicesDir: string, only?: string[]): Promise<RejectReport> {
  const speakers = [...new Set(clips.map((c) => c.speaker))];
  const perSpeaker: Record<string, RejectScore> = {};
  const pooled: { words: number[]; digits: number[] } = { words: [], digits: [] };
  for (const held of speakers.filter((s) => !only || only.includes(s))) {
    let classifier: Classifier;
    try {
      classifier = await loadClassifier(`${foldsDir}/${held}`);
    } catch {
      continue;
    }
    // A fold measured before (by an earlier run, for the same fold weights) is read back, not redone.
    const cache = `${foldsDir}/${held}/reject_score.json`;
    const id = `${modelId(classifier.identity)} ${HEAD_RECIPE}`;
    const cached = readCache(cache, id);
    const { score, scores } = cached ?? await measureFold(classifier, clips, speakers, held, voicesDir);
    if (!cached) await Deno.writeTextFile(cache, JSON.stringify({ model: id, score, scores }));
    perSpeaker[held] = score;
    pooled.words.push(...scores.words);
    pooled.digits.push(...scores.digits);
    classifier.model.dispose();
    console.log(`  reject without ${held}: ${JSON.stringify(perSpeaker[held])}`);
  }
  const folds = Object.values(perSpeaker);
  if (folds.length === 0) throw new Error(`--reject needs LOSO fold models in ${foldsDir}/<speaker>/: run deno task eval --loso first`);
  const thresholds = folds.map((f) => f.threshold).sort((a, b) => a - b);
  return summarizeFolds(perSpeaker, pooled, thresholds[Math.floor(thresholds.length / 2)]);
}

/** The folds' means, the pooled curve (refused words vs lost digits as the point moves) and the shipped point. */
export function summarizeFolds(
  perSpeaker: Record<string, RejectScore>,
  pooled: { words: number[]; digits: number[] },
  threshold: number,
): RejectReport {
  const folds = Object.values(perSpeaker);
  const mean = (pick: (s: RejectScore) => number) => folds.reduce((a, s) => a + pick(s), 0) / folds.length;
  const curve = Array.from({ length: 99 }, (_, i) => (i + 1) / 100).map((t) => ({
    threshold: t,
    wordsRefused: pooled.words.filter((s) => s >= t).length / pooled.words.length,
    digitsRefused: pooled.digits.filter((s) => s >= t).length / pooled.digits.length,
  }));
  const engines = [...new Set(folds.flatMap((f) => Object.keys(f.wordsByEngine ?? {})))];
  return {
    perSpeaker,
    ...(engines.length ? { wordsByEngine: Object.fromEntries(engines.map((e) => [e, mean((s) => s.wordsByEngine?.[e] ?? 0)])) } : {}),
    digitsRefused: mean((s) => s.digitsRefused),
    wordsRefused: mean((s) => s.wordsRefused),
    madeRefused: mean((s) => s.madeRefused),
    noiseRefused: mean((s) => s.noiseRefused),
    curve,
    threshold,
  };
}

/**
 * The head shipped beside `classifier`: trained on all its training speakers (FSDD's train split). Its default
 * refusal point is the folds' median, but only if on held-out speakers that point kept real digits refused at
 * MAX_DIGITS_REFUSED or fewer; otherwise refusal is off by default (callers opt in with ?reject=P).
 */
export async function shippedHead(
  classifier: Classifier,
  trainClips: Clip[],
  voicesDir: string,
  report: RejectReport,
): Promise<RejectHead> {
  const audio = await loadAudio(trainClips.map((c) => c.path), classifier.features.config.sampleRate);
  const head = await headFor(classifier, audio, audio.slice(0, 10), voicesDir);
  const on = report.digitsRefused <= MAX_DIGITS_REFUSED;
  return { ...head, threshold: on ? report.threshold : null, measuredThreshold: report.threshold };
}
