/**
 * Digit strings by spotting (issue "Digit strings by spotting"): the speech embedding run once over a whole recording
 * gives a vector every 80 ms (dsp/speech_mel.ts sequenceMel); a small head says, vector by vector, which digit is
 * being said there, or nothing (class 10); a decoder turns those posteriors into digits with their times. Unlike the
 * energy segmenter it can split two digits said without a pause. The head lives in <model>/spotter/ (model.json,
 * weights.bin, spotter.json); models/lab/spotter.ts makes and measures it. This module touches no file system: the
 * server and the page both call it.
 */
import * as tf from "@tensorflow/tfjs";
import type { FeatureConfig, FeatureStats } from "../dsp/config.ts";
import { cropInputSamples, leadSamples, sequenceMel, vectorStepS } from "../dsp/speech_mel.ts";
import type { SpeechSegment } from "../dsp/speech.ts";
import type { Steps } from "./steps.ts";
import { EMBEDDING_SIZE, embedVectors, type SpeechEmbedding } from "./embedding.ts";

/** The "nothing is being said here" class, after the ten digits. */
export const NOTHING = 10;
export const CLASSES = 11;

/** Each vector's 96 values less the training vectors' mean, over their deviation. */
export function normalizedVectors(vectors: Float32Array, stats: FeatureStats): Float32Array {
  const out = new Float32Array(vectors.length);
  for (let i = 0; i < out.length; i++) out[i] = (vectors[i] - stats.mean[i % EMBEDDING_SIZE]) / stats.std[i % EMBEDDING_SIZE];
  return out;
}

/** Vectors after the one labelled that a head of `context` vectors sees when none is said: the centred window's. */
export function centredLookahead(context: number): number {
  return (context - 1) / 2;
}

/**
 * The window of `context` vectors around vector j: `lookahead` after it (centred by default; 0 for the live head,
 * which may not wait for vectors yet to come), the rest before it, edges repeated (both ends of a recording are
 * silence).
 */
export function writeWindow(
  out: Float32Array,
  at: number,
  normalized: Float32Array,
  j: number,
  context: number,
  lookahead = centredLookahead(context),
): void {
  const count = normalized.length / EMBEDDING_SIZE;
  const first = j - (context - 1 - lookahead);
  for (let k = 0; k < context; k++) {
    const v = Math.min(count - 1, Math.max(0, first + k));
    out.set(normalized.subarray(v * EMBEDDING_SIZE, (v + 1) * EMBEDDING_SIZE), at + k * EMBEDDING_SIZE);
  }
}

/** What spotter/spotter.json holds beside the head's own model.json and weights.bin. */
export interface SpotterFile {
  /** Vectors the head sees: the one it labels, `lookahead` after it and the rest before it. */
  context: number;
  /** Vectors after the one labelled; absent: (context - 1) / 2, centred. */
  lookahead?: number;
  /**
   * "sequence": vectors of sequenceMel over a whole recording (the default); "stream": of dsp/stream_mel.ts, causal,
   * for live listening (models/spotter_stream.ts).
   */
  frontEnd?: "sequence" | "stream";
  /**
   * Seconds after a vector's centre that its label was read at (0: at its centre). The live head labels each vector
   * by what is being said near the end of its window, so it names a digit ~0.3 s sooner.
   */
  labelShiftS?: number;
  /**
   * Labelled at word ends: a vector says digit d when d's speech ended within this many seconds before its centre +
   * labelShiftS, so the window it reads holds the whole word. Absent: labelled while the digit is being said.
   */
  endWindowS?: number;
  /** Mean and deviation of each of the 96 dimensions, over the training vectors. */
  stats: FeatureStats;
  /** How its posteriors become digits. */
  decoder: DecoderOptions;
  /** Only an utterance longer than this (seconds) may hold two digits: the spotter looks inside those alone (not live). */
  splitAboveS?: number;
  /**
   * Below this level spread (dsp/utterances.ts levelSpreadDb: loud frames over quiet ones, dB), the recording is taken
   * to be in loud noise and the spotter alone finds and names its digits; absent: never.
   */
  aloneBelowDb?: number;
  /** What it was trained on and how, for the model card. */
  training?: Record<string, unknown>;
}

/** The head and what it needs to read a recording's vectors. */
export interface SpotterHead {
  model: tf.LayersModel;
  stats: FeatureStats;
  context: number;
  lookahead: number;
}

/** A served spotter: the head and its decoder. */
export interface Spotter extends SpotterHead {
  decoder: DecoderOptions;
  splitAboveS: number;
  aloneBelowDb?: number;
  /** SpotterFile's: absent, "sequence". */
  frontEnd?: "sequence" | "stream";
  labelShiftS?: number;
  endWindowS?: number;
}

/** A spotter.json checked: a wrong one is said at load, not at the first request. */
export function spotterFrom(model: tf.LayersModel, file: SpotterFile): Spotter {
  const { context, stats, decoder } = file;
  const width = model.inputs[0].shape[1];
  if (!Number.isInteger(context) || context % 2 !== 1 || width !== context * EMBEDDING_SIZE) {
    throw new Error(`spotter.json: context ${context} does not fit the head's input (${width} values)`);
  }
  if (stats?.mean?.length !== EMBEDDING_SIZE || stats?.std?.length !== EMBEDDING_SIZE) {
    throw new Error("spotter.json: stats are not 96 values");
  }
  if (model.outputs[0].shape[1] !== CLASSES) {
    throw new Error(`spotter: the head answers ${model.outputs[0].shape[1]} classes, not ${CLASSES}`);
  }
  for (const key of ["smooth", "threshold", "minRun", "minGap", "peak"] as const) {
    if (typeof decoder?.[key] !== "number") throw new Error(`spotter.json: decoder.${key} is missing`);
  }
  if (decoder.join !== undefined && typeof decoder.join !== "boolean") throw new Error("spotter.json: decoder.join is not true or false");
  if (file.frontEnd !== undefined && file.frontEnd !== "sequence" && file.frontEnd !== "stream") {
    throw new Error(`spotter.json: unknown front end ${file.frontEnd}`);
  }
  // Only a spotter of whole recordings splits utterances; a live head has no use for it.
  if (file.frontEnd !== "stream" && !((file.splitAboveS ?? -1) >= 0)) throw new Error("spotter.json: splitAboveS is missing");
  if (file.aloneBelowDb !== undefined && !Number.isFinite(file.aloneBelowDb)) throw new Error("spotter.json: aloneBelowDb is not a number");
  const lookahead = file.lookahead ?? centredLookahead(context);
  if (!Number.isInteger(lookahead) || lookahead < 0 || lookahead >= context) {
    throw new Error(`spotter.json: lookahead ${lookahead} does not fit a context of ${context}`);
  }
  if (file.labelShiftS !== undefined && !(file.labelShiftS >= 0 && file.labelShiftS < 1)) {
    throw new Error("spotter.json: labelShiftS is not a number of seconds from 0 to 1");
  }
  if (file.endWindowS !== undefined && !(file.endWindowS > 0 && file.endWindowS < 1)) {
    throw new Error("spotter.json: endWindowS is not a number of seconds from 0 to 1");
  }
  return {
    model,
    stats,
    context,
    lookahead,
    decoder,
    splitAboveS: file.splitAboveS ?? 0,
    ...(file.aloneBelowDb !== undefined ? { aloneBelowDb: file.aloneBelowDb } : {}),
    ...(file.frontEnd !== undefined ? { frontEnd: file.frontEnd } : {}),
    ...(file.labelShiftS !== undefined ? { labelShiftS: file.labelShiftS } : {}),
    ...(file.endWindowS !== undefined ? { endWindowS: file.endWindowS } : {}),
  };
}

/** The 11 posteriors of every vector of a recording's vectors (flat [V * 96]). Frees every tensor. */
export function spotterPosteriors(spotter: SpotterHead, vectors: Float32Array): Float32Array[] {
  const count = vectors.length / EMBEDDING_SIZE;
  const width = spotter.context * EMBEDDING_SIZE;
  const normalized = normalizedVectors(vectors, spotter.stats);
  const x = new Float32Array(count * width);
  for (let j = 0; j < count; j++) writeWindow(x, j * width, normalized, j, spotter.context, spotter.lookahead);
  const classes = spotter.model.outputs[0].shape[1] as number;
  // Read outside tf.tidy: it would walk the returned typed array element by element.
  const output = tf.tidy(() => spotter.model.predict(tf.tensor2d(x, [count, width])) as tf.Tensor);
  const out = output.dataSync() as Float32Array;
  output.dispose();
  return Array.from({ length: count }, (_, j) => out.subarray(j * classes, (j + 1) * classes));
}

// ---------------------------------------------------------------------------------------------------------------
// The decoder

export interface DecoderOptions {
  /** Moving average over this many vectors (odd; 1: none): one noisy vector does not start or end a digit. */
  smooth: number;
  /** A vector counts for digit d when d is its likeliest digit and P(d) >= threshold. */
  threshold: number;
  /** Vectors in a row a digit must hold to count (2 = 160 ms). */
  minRun: number;
  /** Two runs of the same digit fewer than this many vectors apart are one digit (a dip, not a repeat). */
  minGap: number;
  /** A run counts only if its highest P(digit) reaches this (hysteresis: `threshold` marks its extent). */
  peak: number;
  /**
   * Runs of any digit: a vector is speech when the ten digits together reach `threshold`, and a run of speech is one
   * digit, the one its first minRun vectors hold most. One vector that flips to a like-sounding digit then neither
   * splits a word in two nor cuts it below minRun (the live head's few vectors per word). Absent: runs of one digit.
   */
  join?: boolean;
}

/** The lab's starting point; a served spotter carries its own (spotter.json). */
export const DEFAULT_DECODER: DecoderOptions = { smooth: 3, threshold: 0.5, minRun: 2, minGap: 2, peak: 0 };

export interface Spotted {
  digit: number;
  start_s: number;
  end_s: number;
  /** The highest smoothed P(digit) over its run. */
  confidence: number;
  /** P of each digit 0-9, the smoothed posteriors averaged over its run and renormalized over the ten. */
  probabilities: Float32Array;
}

/** Each class's moving average over `width` vectors (shorter at the ends). */
export function smoothPosteriors(posteriors: Float32Array[], width: number): Float32Array[] {
  const half = Math.floor(width / 2);
  return posteriors.map((_, t) => {
    const out = new Float32Array(posteriors[t].length);
    const from = Math.max(0, t - half);
    const to = Math.min(posteriors.length - 1, t + half);
    for (let u = from; u <= to; u++) for (let c = 0; c < out.length; c++) out[c] += posteriors[u][c];
    for (let c = 0; c < out.length; c++) out[c] /= to - from + 1;
    return out;
  });
}

/** Posteriors (vector j centred at j * stepS seconds) -> the digits said, in order, with their times. */
export function decodeDigits(posteriors: Float32Array[], options: DecoderOptions, stepS = 0.08): Spotted[] {
  const p = smoothPosteriors(posteriors, options.smooth);
  const best = p.map((row) => {
    let digit = -1;
    let mass = 0;
    for (let c = 0; c < NOTHING; c++) {
      mass += row[c];
      if ((options.join || row[c] >= options.threshold) && (digit < 0 || row[c] > row[digit])) digit = c;
    }
    return options.join && mass < options.threshold ? -1 : digit;
  });
  const runs: { digit: number; first: number; last: number; confidence: number }[] = [];
  best.forEach((digit, t) => {
    if (digit < 0) return;
    const last = runs.at(-1);
    if (last && (options.join || last.digit === digit) && last.last === t - 1) last.last = t;
    else runs.push({ digit, first: t, last: t, confidence: 0 });
  });
  for (const run of runs) {
    // Joined: the digit its first minRun vectors hold most (what a stream has when it hands the digit on).
    if (options.join) run.digit = argmaxDigit(digitMean(p, run.first, Math.min(run.last, run.first + options.minRun - 1)));
    for (let t = run.first; t <= run.last; t++) run.confidence = Math.max(run.confidence, p[t][run.digit]);
  }
  const merged: typeof runs = [];
  for (const run of runs.filter((r) => r.last - r.first + 1 >= options.minRun && r.confidence >= options.peak)) {
    const last = merged.at(-1);
    if (last && last.digit === run.digit && run.first - last.last - 1 < options.minGap) {
      last.last = run.last;
      last.confidence = Math.max(last.confidence, run.confidence);
    } else merged.push({ ...run });
  }
  return merged.map((r) => ({
    digit: r.digit,
    start_s: Math.max(0, (r.first - 0.5) * stepS),
    end_s: (r.last + 0.5) * stepS,
    confidence: r.confidence,
    probabilities: digitMean(p, r.first, r.last),
  }));
}

/**
 * Vectors after a run's first one that a stream must have posteriors for before the run is sure to be a digit of
 * decodeDigits' answer: minRun of them, their smoothed values final (the smoothing's half width after them). With
 * peak 0 nothing later can drop it, and whether it merges with the run before it is already known (both ends are
 * final); a later run can only merge into it. So a stream hands a digit on then (models/spotter_stream.ts).
 */
export function confirmVectors(options: DecoderOptions): number {
  return options.minRun - 1 + Math.floor(options.smooth / 2);
}

function argmaxDigit(row: Float32Array): number {
  let best = 0;
  for (let d = 1; d < row.length; d++) if (row[d] > row[best]) best = d;
  return best;
}

/** The ten digits' mean over rows first..last, renormalized to sum 1. */
function digitMean(rows: Float32Array[], first: number, last: number): Float32Array {
  const mean = new Float32Array(NOTHING);
  for (let t = first; t <= last; t++) for (let d = 0; d < NOTHING; d++) mean[d] += rows[t][d];
  const sum = mean.reduce((a, b) => a + b, 0) || 1;
  return mean.map((v) => v / sum);
}

// ---------------------------------------------------------------------------------------------------------------
// Splitting utterances

/** Whether an utterance (findUtterances) is long enough to hold two digits said without a pause: splitAboveS. */
export function mayHoldTwo(spotter: Spotter, utterance: SpeechSegment): boolean {
  return utterance.endS - utterance.startS > spotter.splitAboveS;
}

/**
 * An utterance cut where the spotter hears two or more digits in it, halfway between one spotted digit's end and the
 * next one's start; [utterance] when it stays whole. The spotter reads the vectors of the utterance's crop, the 11
 * the classifier reads (extractFeatures: 1.58 s centred on `speech`, the speech found in the utterance), so an
 * utterance that stays whole costs no second embedding pass: the classifier is handed the same vectors. Measured on
 * the six folds' dev strings against a pass over the utterance itself: the same exact strings (models/README.md).
 */
export function splitUtterance(
  spotter: Spotter,
  config: FeatureConfig,
  utterance: SpeechSegment,
  speech: SpeechSegment,
  cropVectors: Float32Array,
): SpeechSegment[] {
  const rate = config.sampleRate;
  const spotted = decodeDigits(spotterPosteriors(spotter, cropVectors), spotter.decoder, vectorStepS(config));
  if (spotted.length < 2) return [utterance];
  // Where the crop's vector 0 is centred, in the recording (dsp/speech_mel.ts embeddingCrop centres the crop on the speech).
  const origin = utterance.start + Math.round((speech.start + speech.end) / 2 - cropInputSamples(config) / 2) + leadSamples(config);
  const cuts = spotted.slice(1).map((d, i) => origin + Math.round(((spotted[i].end_s + d.start_s) / 2) * rate));
  const bounds = [utterance.start, ...cuts.map((c) => Math.min(utterance.end, Math.max(utterance.start, c))), utterance.end];
  return bounds.slice(1).flatMap((end, i) => {
    const start = bounds[i];
    return end > start ? [{ start, end, startS: start / rate, endS: end / rate }] : [];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// A whole recording

/** Vectors per embedding pass when a whole recording is spotted in steps: 20 s of audio. */
const CHUNK_VECTORS = 250;

/**
 * The vectors of a whole log-mel (sequenceMel), flat [V * 96], computed in chunks of `chunk` vectors with a yield
 * between them (models/steps.ts). The chunks start on multiples of stepFrames and time is never padded in the
 * network, so they are the one-pass vectors (tests/model_spotter_test.ts).
 */
export function* vectorsInChunks(
  embedding: SpeechEmbedding,
  mel: { data: Float32Array; frames: number },
  config: FeatureConfig,
  chunk = CHUNK_VECTORS,
): Steps<Float32Array> {
  const { windowFrames, stepFrames } = config.embedding!;
  const count = (mel.frames - windowFrames) / stepFrames + 1;
  const vectors = new Float32Array(count * EMBEDDING_SIZE);
  for (let first = 0; first < count; first += chunk) {
    if (first > 0) yield;
    const n = Math.min(chunk, count - first);
    const frames = windowFrames + (n - 1) * stepFrames;
    const from = first * stepFrames * config.nMels;
    vectors.set(embedVectors(embedding, mel.data.subarray(from, from + frames * config.nMels), frames), first * EMBEDDING_SIZE);
  }
  return vectors;
}

/**
 * The digits the spotter alone hears in a whole recording (samples at config.sampleRate), with their times from its
 * start; the embedding in chunks (vectorsInChunks). Returns the milliseconds spent in the log-mel and in the networks.
 */
export function* spotRecording(
  spotter: Spotter,
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  samples: Float32Array,
): Steps<{ spotted: Spotted[]; melMs: number; networkMs: number }> {
  let started = performance.now();
  const mel = sequenceMel(samples, config);
  const melMs = performance.now() - started;
  let networkMs = 0;
  const chunks = vectorsInChunks(embedding, mel, config);
  let vectors: Float32Array;
  for (;;) {
    started = performance.now();
    const next = chunks.next();
    networkMs += performance.now() - started;
    if (next.done) {
      vectors = next.value;
      break;
    }
    yield;
  }
  started = performance.now();
  const spotted = decodeDigits(spotterPosteriors(spotter, vectors), spotter.decoder, vectorStepS(config));
  return { spotted, melMs, networkMs: networkMs + performance.now() - started };
}
