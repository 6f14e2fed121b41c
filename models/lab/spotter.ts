/**
 * Digit strings by spotting (issue 31, first step; a lab prototype, not served): the speech embedding run ONCE over a
 * whole recording gives a vector every 80 ms; a small head says, vector by vector, which digit is being said (or
 * "nothing", class 10); a decoder turns those posteriors into the digit string with start/end times. Unlike
 * /transcribe's energy segmenter it can split two digits said without a pause.
 *
 *   sequences (FSDD speakers' clips + synthetic voices, joined with pauses or run together, noise) with frame labels
 *   -> sequenceMel (the embedding's front end over the whole input, level set on its loudest 0.5 s)
 *   -> embed() once per sequence (cached under .cache/spotter/) -> head on a window of K vectors -> decode()
 *
 * Measured leave-one-speaker-out against transcribe() on the 10-class LOSO fold models (.cache/loso/embed10/):
 *   deno run -A models/lab/spotter.ts --help
 *
 * Measured 2026-12-03 (200 sequences per FSDD speaker + 400 of synthetic voices, context 5, 12 epochs, about 60 s of
 * training a fold on 2 shared cores; 100 makeString strings per speaker and condition; mean of the six folds,
 * exact strings, spotter vs transcribe): joined with pauses 25-30 dB 84.5% vs 88.2%, 10-12 dB 70.7% vs 52.3%,
 * run-together pairs 78.0% vs 44.2% (right count 82.7% vs 47.5%). Decoder {smooth 3, threshold 0.2, minRun 3,
 * minGap 1, peak 0}, chosen on george's dev strings; a grid pick with peak 0.5 (threshold 0.3) drops nicolas's less
 * confident digits (right count 66% on clean strings), so the choice is brittle. About 35 ms per second of audio
 * (mel + embedding + head + decoder) vs 45 for transcribe(). Cutting at the spotted boundaries and judging each piece
 * with the fold classifier (hybrid) is no better (84.0 / 59.2 / 75.8%).
 */
import { parseArgs } from "node:util";
import { initTf, tf } from "../tfjs.ts";
import type { FeatureConfig, FeatureStats, SpeechConfig } from "../../dsp/config.ts";
import { addNoise, changeSpeed, meanSquare, pinkNoise, whiteNoise } from "../../dsp/augment.ts";
import { removeDc } from "../../dsp/dc.ts";
import { extractFeatures } from "../../dsp/features.ts";
import { type Random, seededRandom, uniform } from "../../dsp/random.ts";
import { findSpeech } from "../../dsp/speech.ts";
import { cropInputSamples, levelGain, speechMel, toEmbeddingScale } from "../../dsp/speech_mel.ts";
import { embedVectors, type SpeechEmbedding } from "../embedding.ts";
import { argmax, type Classifier, classifyClips } from "../classifier.ts";
import { loadClassifier, sha256Hex } from "../files.ts";
import { transcribe } from "../transcribe.ts";
import { registerConvBackprop } from "./conv_backprop.ts";
import { buildVectorConvNet, EMBEDDING_SIZE, fitInBatches, predictRows } from "./embedding_head.ts";
import { findFsdd, listClips } from "./fsdd.ts";
import { editDistance, makeString, NOISE_BANDS, scoreStrings, type StringOptions, type StringScore } from "./strings.ts";
import { loadAudio } from "./training.ts";
import { listVoiceClips } from "./voices.ts";

/** The "nothing is being said here" class, after the ten digits. */
export const NOTHING = 10;
export const CLASSES = 11;

// ---------------------------------------------------------------------------------------------------------------
// Sequences and their frame labels

export interface SpokenDigit {
  digit: number;
  /** Where its speech (findSpeech, no pad) lies in the sequence, seconds. */
  startS: number;
  endS: number;
}

export interface Sequence {
  samples: Float32Array;
  words: SpokenDigit[];
}

export interface SequenceOptions {
  /** Digits per sequence, inclusive. */
  length: [number, number];
  /** Silence between two digits' speech, seconds, when they are not run together. */
  pauseS: [number, number];
  /** Share of the gaps where the digits run together: no pause, overlapping by up to `overlapS`. */
  runTogether: number;
  overlapS: number;
  /** Each digit's level around the sequence's, +-dB (people do not say every digit equally loud). */
  levelDb: number;
  /** Share of sequences with white or pink noise added at `snrDb` below the speech. */
  noisy: number;
  snrDb: [number, number];
  /** Share of digits (with a real pause on both sides) kept with the silence their recording holds around them. */
  untrimmed: number;
  /** Speed perturbation, one factor per sequence in this range (a person keeps a pace); unset: none. */
  speed?: [number, number];
}

export const DEFAULT_SEQUENCES: SequenceOptions = {
  length: [2, 6],
  pauseS: [0.05, 0.8],
  runTogether: 0.3,
  overlapS: 0.1,
  levelDb: 6,
  noisy: 0.85,
  snrDb: [10, 30],
  untrimmed: 0.4,
};

interface Piece {
  samples: Float32Array;
  digit: number;
  /** The speech inside `samples`, in samples. */
  speech: [number, number];
}

/** A clip cut to its speech (run together) or kept whole, each brought to about one level. */
function piece(clip: { samples: Float32Array; digit: number }, sampleRate: number, speech: SpeechConfig, trim: boolean, levelDb: number) {
  const cut = findSpeech(clip.samples, sampleRate, { ...speech, padS: 0 });
  const power = meanSquare(clip.samples.subarray(cut.start, cut.end)) + 1e-12;
  const gain = 10 ** ((-20 + levelDb - 10 * Math.log10(power)) / 20);
  const from = trim ? cut.start : 0;
  const to = trim ? cut.end : clip.samples.length;
  const samples = clip.samples.slice(from, to).map((v) => v * gain);
  return { samples, digit: clip.digit, speech: [cut.start - from, cut.end - from] } as Piece;
}

/**
 * One sequence from one speaker's `clips` at `sampleRate`: 2-6 digits, each pair of neighbours either paused or run
 * together (overlapping), 0.3 s of silence at both ends, noise on most. The words' speech spans are exact.
 */
export function makeSequence(
  clips: { samples: Float32Array; digit: number }[],
  sampleRate: number,
  speech: SpeechConfig,
  options: SequenceOptions,
  random: Random,
): Sequence {
  const count = Math.floor(uniform(random, options.length[0], options.length[1] + 1));
  // Pitch and tempo moved together: other voices than the training speakers' own (the folds hold out a speaker).
  const speed = options.speed ? uniform(random, options.speed[0], options.speed[1]) : 1;
  // gaps[i]: seconds between digit i's speech end and digit i+1's speech start (negative: overlap).
  const gaps = Array.from(
    { length: count - 1 },
    () => random() < options.runTogether ? -uniform(random, 0, options.overlapS) : uniform(random, options.pauseS[0], options.pauseS[1]),
  );
  const pieces = Array.from({ length: count }, (_, i) => {
    const chosen = clips[Math.floor(random() * clips.length)];
    const clip = speed === 1 ? chosen : { digit: chosen.digit, samples: changeSpeed(chosen.samples, sampleRate, speed) };
    const paused = (i === 0 || gaps[i - 1] > 0) && (i === count - 1 || gaps[i] > 0);
    const trim = !(paused && random() < options.untrimmed);
    return piece(clip, sampleRate, speech, trim, uniform(random, -options.levelDb, options.levelDb));
  });
  // Place each piece so that its speech starts `gap` after the previous speech ended.
  const lead = Math.round(0.3 * sampleRate);
  const starts: number[] = [];
  let speechEnd = 0;
  pieces.forEach((p, i) => {
    const speechStart = i === 0 ? lead + p.speech[0] : speechEnd + Math.round(gaps[i - 1] * sampleRate);
    // An untrimmed piece's own lead-in silence may not reach back before the previous piece's start.
    const start = Math.max(speechStart - p.speech[0], i === 0 ? 0 : starts[i - 1]);
    starts.push(start);
    speechEnd = start + p.speech[1];
  });
  const length = Math.max(...pieces.map((p, i) => starts[i] + p.samples.length)) + lead;
  const joined = new Float32Array(length);
  pieces.forEach((p, i) => {
    for (let k = 0; k < p.samples.length; k++) joined[starts[i] + k] += p.samples[k];
  });
  const words = pieces.map((p, i) => ({
    digit: p.digit,
    startS: (starts[i] + p.speech[0]) / sampleRate,
    endS: (starts[i] + p.speech[1]) / sampleRate,
  }));
  if (random() >= options.noisy) return { samples: joined, words };
  const noise = random() < 0.5 ? whiteNoise(length, random) : pinkNoise(length, random);
  const samples = addNoise(joined, noise, uniform(random, options.snrDb[0], options.snrDb[1]), 10 ** (-20 / 10));
  return { samples, words };
}

/**
 * The class of each of `vectors` vectors, vector j centred at j * stepS seconds: the digit whose speech holds that
 * centre (the one whose middle is nearest where two overlap), else NOTHING. With `margin` > 0 only the inner part of
 * each word counts (that share of its length left out at both ends): two words run together then get "nothing"
 * between them, which the decoder needs to hear "six six" as two.
 */
export function frameLabels(words: SpokenDigit[], vectors: number, stepS = 0.08, margin = 0): number[] {
  return Array.from({ length: vectors }, (_, j) => {
    const t = j * stepS;
    let label = NOTHING;
    let nearest = Infinity;
    for (const w of words) {
      const edge = margin * (w.endS - w.startS);
      const distance = Math.abs(t - (w.startS + w.endS) / 2);
      if (t >= w.startS + edge && t < w.endS - edge && distance < nearest) [label, nearest] = [w.digit, distance];
    }
    return label;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The embedding's front end over a whole recording

function embeddingOf(config: FeatureConfig) {
  if (!config.embedding) throw new Error("the spotter needs a feature config with a speech embedding front end");
  return config.embedding;
}

/** Seconds between two vectors: stepFrames hops. */
export function vectorStepS(config: FeatureConfig): number {
  const e = embeddingOf(config);
  return (e.stepFrames * config.hopLength) / e.sampleRate;
}

/**
 * Samples (at config.sampleRate) put before the recording so that vector j is centred at j * vectorStepS: the first
 * window's centre lies (windowFrames - 1) / 2 hops + nFft / 2 samples into the input.
 */
export function leadSamples(config: FeatureConfig): number {
  const e = embeddingOf(config);
  const centre = ((e.windowFrames - 1) / 2) * config.hopLength + config.nFft / 2;
  return Math.round((centre * config.sampleRate) / e.sampleRate);
}

/** RMS of the loudest `windowS` seconds (hops of 10 ms), or of everything when shorter. */
export function loudestRms(samples: Float32Array, sampleRate: number, windowS = 0.5): number {
  const width = Math.min(samples.length, Math.round(windowS * sampleRate));
  if (width === 0) return 0;
  const prefix = new Float64Array(samples.length + 1);
  for (let i = 0; i < samples.length; i++) prefix[i + 1] = prefix[i] + samples[i] * samples[i];
  const hop = Math.max(1, Math.round(0.01 * sampleRate));
  let loudest = 0;
  for (let at = 0; at + width <= samples.length; at += hop) loudest = Math.max(loudest, prefix[at + width] - prefix[at]);
  return Math.sqrt(loudest / width);
}

/**
 * The embedding's log-mel input for a whole recording (samples at config.sampleRate), [frames][nMels] with
 * frames = windowFrames + k * stepFrames. The served crop sets the speech's RMS to levelRms; a long input has many
 * words, so its loudest 0.5 s (about one digit) is set to levelRms instead. That keeps the dB floor (80 dB below the
 * input's maximum) where the crop has it. Padded with leadSamples of silence at both ends, dithered as the crop is.
 */
export function sequenceMel(samples: Float32Array, config: FeatureConfig): { data: Float32Array; frames: number } {
  const e = embeddingOf(config);
  const x = removeDc(samples);
  // The crop's level and dither, over the whole recording padded with silence.
  const lead = leadSamples(config);
  const padded = new Float32Array(lead + x.length + lead);
  padded.set(x, lead);
  const up = toEmbeddingScale(padded, levelGain(loudestRms(x, config.sampleRate), config), config);
  const { input } = speechMel(up, config);
  const frames = input.frames < e.windowFrames
    ? 0
    : e.windowFrames + Math.floor((input.frames - e.windowFrames) / e.stepFrames) * e.stepFrames;
  if (frames === 0) throw new Error("the recording is too short for one embedding window");
  return { data: input.data.subarray(0, frames * config.nMels), frames };
}

/** The vectors of a whole recording, flat [V * 96], in one embed() pass. */
export function sequenceVectors(embedding: SpeechEmbedding, config: FeatureConfig, samples: Float32Array): Float32Array {
  const mel = sequenceMel(samples, config);
  return embedVectors(embedding, mel.data, mel.frames);
}

// ---------------------------------------------------------------------------------------------------------------
// Datasets of vectors, cached

export interface VectorSequence {
  /** Flat [V * 96]. */
  vectors: Float32Array;
  labels: number[];
  digits: number[];
  /** Seconds of audio. */
  seconds: number;
  /** The words' spans (sequences made here; test strings have none), to label again with another margin. */
  words?: SpokenDigit[];
}

/** The sequences labelled with `margin` (frameLabels) from their words. */
export function relabel(sequences: VectorSequence[], margin: number, stepS: number): VectorSequence[] {
  return sequences.map((s) => {
    if (!s.words) throw new Error("these sequences were cached without their words");
    return { ...s, labels: frameLabels(s.words, s.labels.length, stepS, margin) };
  });
}

/**
 * `make()`'s sequences as vectors with frame labels, cached in .cache/spotter/<hash of `key`>.{bin,json}: the vectors
 * are most of the cost (one embed() pass each), and every fold and every decoder setting reads the same ones.
 */
export async function cachedSequences(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  key: unknown,
  make: () => Promise<Sequence[]>,
  log: (line: string) => void = () => {},
): Promise<VectorSequence[]> {
  const hash = (await sha256Hex(JSON.stringify({ key, config, version: embedding.version, format: 1 }))).slice(0, 16);
  const base = `.cache/spotter/${hash}`;
  try {
    const meta = JSON.parse(await Deno.readTextFile(`${base}.json`)) as Omit<VectorSequence, "vectors">[];
    const all = new Float32Array((await Deno.readFile(`${base}.bin`)).buffer);
    let at = 0;
    return meta.map((m) => {
      const vectors = all.slice(at, at + m.labels.length * EMBEDDING_SIZE);
      at += vectors.length;
      return { ...m, vectors };
    });
  } catch { /* not cached yet */ }
  const sequences = await make();
  const step = vectorStepS(config);
  const started = performance.now();
  const out = sequences.map((s): VectorSequence => {
    const vectors = sequenceVectors(embedding, config, s.samples);
    const count = vectors.length / EMBEDDING_SIZE;
    return {
      vectors,
      labels: frameLabels(s.words, count, step),
      digits: s.words.map((w) => w.digit),
      seconds: s.samples.length / config.sampleRate,
      ...(s.words.length ? { words: s.words } : {}),
    };
  });
  const seconds = out.reduce((n, s) => n + s.seconds, 0);
  log(`vectors of ${out.length} sequences (${seconds.toFixed(0)} s of audio) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const all = new Float32Array(out.reduce((n, s) => n + s.vectors.length, 0));
  let at = 0;
  for (const s of out) (all.set(s.vectors, at), at += s.vectors.length);
  await Deno.mkdir(".cache/spotter", { recursive: true });
  await Deno.writeFile(`${base}.bin`, new Uint8Array(all.buffer));
  await Deno.writeTextFile(`${base}.json`, JSON.stringify(out.map(({ vectors: _, ...m }) => m)));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The frame-wise head

export interface SpotterOptions {
  /** Vectors the head sees: the one it labels and (context - 1) / 2 on each side (odd). */
  context: number;
  filters: number;
  dropout: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  labelSmoothing: number;
  seed: number;
}

export const DEFAULT_SPOTTER: SpotterOptions = {
  context: 5,
  filters: 64,
  dropout: 0.2,
  epochs: 12,
  batchSize: 128,
  learningRate: 2e-3,
  labelSmoothing: 0.05,
  seed: 1,
};

/** Mean and deviation of each of the 96 dimensions over every vector of `sequences`. */
export function spotterStats(sequences: VectorSequence[]): FeatureStats {
  const sum = new Float64Array(EMBEDDING_SIZE);
  const sq = new Float64Array(EMBEDDING_SIZE);
  let n = 0;
  for (const s of sequences) {
    for (let i = 0; i < s.vectors.length; i++) {
      sum[i % EMBEDDING_SIZE] += s.vectors[i];
      sq[i % EMBEDDING_SIZE] += s.vectors[i] ** 2;
    }
    n += s.labels.length;
  }
  const mean = Array.from(sum, (v) => v / n);
  const std = Array.from(sq, (v, k) => Math.max(Math.sqrt(Math.max(v / n - mean[k] ** 2, 0)), 1e-3));
  return { mean, std };
}

function normalizedVectors(vectors: Float32Array, stats: FeatureStats): Float32Array {
  const out = new Float32Array(vectors.length);
  for (let i = 0; i < out.length; i++) out[i] = (vectors[i] - stats.mean[i % EMBEDDING_SIZE]) / stats.std[i % EMBEDDING_SIZE];
  return out;
}

/** The window of `context` vectors centred on vector j, edges repeated (both ends of a recording are silence). */
function writeWindow(out: Float32Array, at: number, normalized: Float32Array, j: number, context: number): void {
  const count = normalized.length / EMBEDDING_SIZE;
  const half = (context - 1) / 2;
  for (let k = 0; k < context; k++) {
    const v = Math.min(count - 1, Math.max(0, j - half + k));
    out.set(normalized.subarray(v * EMBEDDING_SIZE, (v + 1) * EMBEDDING_SIZE), at + k * EMBEDDING_SIZE);
  }
}

/** [context * 96] -> [context, 1, 96] -> two Conv2D(3x1, valid, relu) over time -> Dense(11, softmax). */
export function buildSpotter(options: SpotterOptions, seed = options.seed): tf.LayersModel {
  if (options.context % 2 !== 1 || options.context < 5) throw new Error("the context is an odd number of vectors, 5 or more");
  const { context: vectors, filters, dropout } = options;
  return buildVectorConvNet({ vectors, classes: CLASSES, filters, dropout, padding: "valid", pool: "flatten" }, seed);
}

export interface Spotter {
  model: tf.LayersModel;
  stats: FeatureStats;
  context: number;
}

/** Trains the head on every vector of `sequences` (windows built batch by batch, never all at once). */
export async function trainSpotter(
  sequences: VectorSequence[],
  options: SpotterOptions,
  log: (line: string) => void = () => {},
): Promise<Spotter> {
  registerConvBackprop();
  const stats = spotterStats(sequences);
  const normalized = sequences.map((s) => normalizedVectors(s.vectors, stats));
  const rows = sequences.flatMap((s, i) => s.labels.map((_, j) => [i, j] as [number, number]));
  const width = options.context * EMBEDDING_SIZE;
  const model = buildSpotter(options);
  await fitInBatches(model, rows.length, width, CLASSES, options, seededRandom(options.seed), (r, into, at) => {
    const [i, j] = rows[r];
    writeWindow(into, at, normalized[i], j, options.context);
    return sequences[i].labels[j];
  }, { log });
  return { model, stats, context: options.context };
}

/** The 11 posteriors of every vector of a recording's vectors (flat [V * 96]). */
export function spotterPosteriors(spotter: Spotter, vectors: Float32Array): Float32Array[] {
  const count = vectors.length / EMBEDDING_SIZE;
  const width = spotter.context * EMBEDDING_SIZE;
  const normalized = normalizedVectors(vectors, spotter.stats);
  const x = new Float32Array(count * width);
  for (let j = 0; j < count; j++) writeWindow(x, j * width, normalized, j, spotter.context);
  return predictRows(spotter.model, x, count);
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
}

export const DEFAULT_DECODER: DecoderOptions = { smooth: 3, threshold: 0.5, minRun: 2, minGap: 2, peak: 0 };

export interface Spotted {
  digit: number;
  start_s: number;
  end_s: number;
  /** The highest smoothed P(digit) over its run. */
  confidence: number;
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
    for (let c = 0; c < NOTHING; c++) if (row[c] >= options.threshold && (digit < 0 || row[c] > row[digit])) digit = c;
    return digit;
  });
  const runs: { digit: number; first: number; last: number; confidence: number }[] = [];
  best.forEach((digit, t) => {
    if (digit < 0) return;
    const last = runs.at(-1);
    if (last && last.digit === digit && last.last === t - 1) (last.last = t, last.confidence = Math.max(last.confidence, p[t][digit]));
    else runs.push({ digit, first: t, last: t, confidence: p[t][digit] });
  });
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
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// The measurement (CLI)

type Labelled = { samples: Float32Array; digit: number };

/** The strings evalStrings scores (strings.ts's STRINGS and PAIRS), per condition. */
const CONDITIONS: Record<string, StringOptions> = {
  "pauses 25-30 dB": { length: [3, 6], pauseS: [0.15, 0.8], runTogether: false, snrDb: NOISE_BANDS["25-30 dB"] },
  "pauses 10-12 dB": { length: [3, 6], pauseS: [0.15, 0.8], runTogether: false, snrDb: NOISE_BANDS["10-12 dB"] },
  "run-together pairs": { length: [2, 2], pauseS: [0, 0], runTogether: true, snrDb: [20, 30] },
};

const HELP = `deno run -A models/lab/spotter.ts [options]
  --held <a,b>        held-out FSDD speakers, one LOSO fold each (default george,nicolas; the first chooses the decoder)
  --per-speaker <n>   training sequences per FSDD speaker (default 150)
  --voices <n>        training sequences from synthetic voices in .cache/voices (default 300; 0: none)
  --strings <n>       test strings per speaker and condition (default 100)
  --epochs <n>        training epochs (default ${DEFAULT_SPOTTER.epochs})
  --context <n>       vectors the head sees (odd, default ${DEFAULT_SPOTTER.context})
  --speed <x>         speed perturbation of the training sequences, factor 1-x..1+x (default 0: none)
  --margin <x>        label only the inner part of each word, that share left out at both ends (default 0)
  --decoder <json>    fixed decoder settings (DecoderOptions) instead of choosing them on the first held-out speaker
  --check             only compare a single digit's vectors from sequenceMel with the served crop's
  --out <file>        write the report as JSON`;

async function main() {
  const { values } = parseArgs({
    options: {
      held: { type: "string", default: "george,nicolas" },
      "per-speaker": { type: "string", default: "150" },
      voices: { type: "string", default: "300" },
      strings: { type: "string", default: "100" },
      epochs: { type: "string", default: String(DEFAULT_SPOTTER.epochs) },
      context: { type: "string", default: String(DEFAULT_SPOTTER.context) },
      speed: { type: "string", default: "0" },
      margin: { type: "string", default: "0" },
      decoder: { type: "string" },
      check: { type: "boolean", default: false },
      out: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return console.log(HELP);
  await initTf();
  const fsddDir = findFsdd();
  if (!fsddDir) throw new Error("no FSDD found (set FSDD_DIR)");
  const clips = listClips(fsddDir);
  const served = await loadClassifier("models/embed");
  const config = served.features.config;
  const embedding = served.embedding!;
  const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

  const audioOf = new Map<string, Labelled[]>();
  const speakerAudio = async (speaker: string) => {
    if (!audioOf.has(speaker)) {
      const own = clips.filter((c) => c.speaker === speaker);
      const audio = await loadAudio(own.map((c) => c.path), config.sampleRate);
      audioOf.set(speaker, audio.map((samples, i) => ({ samples, digit: own[i].digit })));
    }
    return audioOf.get(speaker)!;
  };

  if (values.check) return checkAgainstCrop(embedding, config, await speakerAudio("jackson"), log);

  const held = values.held.split(",");
  const options: SpotterOptions = { ...DEFAULT_SPOTTER, epochs: +values.epochs, context: +values.context };
  const speakers = [...new Set(clips.map((c) => c.speaker))].sort();
  const perSpeaker = +values["per-speaker"];
  const speed = +values.speed;
  const sequences: SequenceOptions = speed > 0 ? { ...DEFAULT_SEQUENCES, speed: [1 - speed, 1 + speed] } : DEFAULT_SEQUENCES;

  // Training sequences, per source (one FSDD speaker, or the synthetic voices), so that folds share the cache.
  const training = new Map<string, VectorSequence[]>();
  for (const speaker of speakers) {
    const key = { kind: "train", speaker, count: perSpeaker, options: sequences, seed: 7, words: true };
    training.set(
      speaker,
      await cachedSequences(embedding, config, key, async () => {
        const audio = await speakerAudio(speaker);
        const random = seededRandom(7 + speakers.indexOf(speaker));
        return Array.from({ length: perSpeaker }, () => makeSequence(audio, config.sampleRate, config.speech, sequences, random));
      }, (l) => log(`${speaker}: ${l}`)),
    );
  }
  if (+values.voices > 0) training.set("voices", await voiceSequences(embedding, config, +values.voices, sequences, log));

  const report: Record<string, unknown> = { options, sequences, perSpeaker, voices: +values.voices, margin: +values.margin };
  const fixed = values.decoder ? { ...DEFAULT_DECODER, ...JSON.parse(values.decoder) } as DecoderOptions : undefined;
  let decoder = fixed ?? DEFAULT_DECODER;
  for (const [f, speaker] of held.entries()) {
    const train = relabel(
      [...training.entries()].filter(([source]) => source !== speaker).flatMap(([, list]) => list),
      +values.margin,
      vectorStepS(config),
    );
    const vectors = train.reduce((n, s) => n + s.labels.length, 0);
    log(`fold ${speaker}: training on ${train.length} sequences, ${vectors} vectors`);
    const started = performance.now();
    const spotter = await trainSpotter(train, options, (l) => log(`  ${l}`));
    const trainS = (performance.now() - started) / 1000;
    const audio = await speakerAudio(speaker);
    // The first held-out speaker chooses the decoder's settings, on strings of its own apart from the test strings.
    if (f === 0 && !fixed) decoder = chooseDecoder(spotter, await testStrings(embedding, config, speaker, audio, 60, 99, log), log);
    const strings = await testStrings(embedding, config, speaker, audio, +values.strings, 2024, log);
    const fold = await loadClassifier(`.cache/loso/embed10/${speaker}`);
    const result = measureFold(spotter, fold, strings, decoder, config);
    const frames = frameAccuracy(spotter, relabel(training.get(speaker) ?? [], +values.margin, vectorStepS(config)));
    report[speaker] = { trainS, decoder, frames, ...result };
    log(
      `fold ${speaker}: trained in ${trainS.toFixed(0)} s; frames of its own sequences: ${JSON.stringify(frames)}\n${formatFold(result)}`,
    );
    fold.model.dispose();
    spotter.model.dispose();
  }
  if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(report, null, 1) + "\n");
}

/** Sequences from the synthetic voices: each says one voice's digits (one clip per digit and voice). */
async function voiceSequences(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  count: number,
  options: SequenceOptions,
  log: (l: string) => void,
) {
  const found = listVoiceClips(".cache/voices");
  const key = { kind: "voices", count, clips: found.length, options, seed: 5, words: true };
  return await cachedSequences(embedding, config, key, async () => {
    const byVoice = new Map<string, typeof found>();
    for (const c of found) byVoice.set(c.speaker, [...(byVoice.get(c.speaker) ?? []), c]);
    const voices = [...byVoice.values()].filter((list) => list.length >= 5);
    const random = seededRandom(5);
    const out: Sequence[] = [];
    for (let i = 0; i < count; i++) {
      const chosen = voices[Math.floor(random() * voices.length)];
      const audio = await loadAudio(chosen.map((c) => c.path), config.sampleRate);
      const labelled = audio.map((samples, k) => ({ samples, digit: chosen[k].digit }));
      out.push(makeSequence(labelled, config.sampleRate, config.speech, options, random));
    }
    return out;
  }, (l) => log(`voices: ${l}`));
}

interface TestString {
  condition: string;
  samples: Float32Array;
  digits: number[];
  vectors: Float32Array;
}

/** `count` strings per condition from the speaker's clips (makeString, as deno task eval --strings), with their vectors. */
async function testStrings(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  speaker: string,
  audio: Labelled[],
  count: number,
  seed: number,
  log: (l: string) => void,
): Promise<TestString[]> {
  const random = seededRandom(seed);
  const made = Object.entries(CONDITIONS).flatMap(([condition, options]) =>
    Array.from({ length: count }, () => ({ condition, ...makeString(audio, config.sampleRate, config.speech, options, random) }))
  );
  const key = { kind: "test", speaker, count, seed, conditions: CONDITIONS };
  // makeString is deterministic from the seed, so the cache holds only the vectors; the strings are made again.
  const vectors = await cachedSequences(
    embedding,
    config,
    key,
    () => Promise.resolve(made.map((m) => ({ samples: m.samples, words: [] }))),
    (l) => log(`${speaker} test strings: ${l}`),
  );
  return made.map((m, i) => ({ condition: m.condition, samples: m.samples, digits: m.digits, vectors: vectors[i].vectors }));
}

/** Grid over the decoder's settings on one speaker's strings: the best exact-string rate over all the conditions. */
function chooseDecoder(spotter: Spotter, strings: TestString[], log: (l: string) => void): DecoderOptions {
  const posteriors = strings.map((s) => spotterPosteriors(spotter, s.vectors));
  let best = { decoder: DEFAULT_DECODER, exact: -1, errors: Infinity };
  for (const smooth of [1, 3, 5]) {
    for (const threshold of [0.2, 0.3, 0.4, 0.5]) {
      for (const minRun of [1, 2, 3]) {
        for (const minGap of [1, 2, 3]) {
          for (const peak of [0, 0.5, 0.7]) {
            const decoder = { smooth, threshold, minRun, minGap, peak };
            const heard = posteriors.map((p) => decodeDigits(p, decoder).map((d) => d.digit));
            const exact = strings.filter((s, i) => heard[i].join() === s.digits.join()).length / strings.length;
            // Ties (common: the grid is coarse for 180 strings) go to fewer digit errors.
            const errors = strings.reduce((n, s, i) => n + editDistance(s.digits, heard[i]), 0);
            if (exact > best.exact || (exact === best.exact && errors < best.errors)) best = { decoder, exact, errors };
          }
        }
      }
    }
  }
  log(`decoder chosen: ${JSON.stringify(best.decoder)} (exact ${(100 * best.exact).toFixed(1)}% over the dev strings)`);
  return best.decoder;
}

/**
 * Frame by frame on labelled sequences (the held-out speaker's, never trained on): the share of digit vectors given
 * their digit, of digit vectors called nothing, and of nothing vectors called nothing.
 */
function frameAccuracy(spotter: Spotter, sequences: VectorSequence[]) {
  let digits = 0, right = 0, missed = 0, nothing = 0, quiet = 0;
  for (const s of sequences) {
    spotterPosteriors(spotter, s.vectors).forEach((p, j) => {
      const best = argmax(p);
      if (s.labels[j] === NOTHING) (nothing++, quiet += best === NOTHING ? 1 : 0);
      else (digits++, right += best === s.labels[j] ? 1 : 0, missed += best === NOTHING ? 1 : 0);
    });
  }
  const round = (x: number) => Math.round(1000 * x) / 1000;
  return { digitRight: round(right / digits), digitAsNothing: round(missed / digits), nothingRight: round(quiet / nothing) };
}

/** A StringScore with where the count went wrong: more digits heard than said, or fewer. */
type Scored = StringScore & { tooMany: number; tooFew: number };

function scored(pairs: { truth: number[]; heard: number[] }[]): Scored {
  return {
    ...scoreStrings(pairs),
    tooMany: pairs.filter((p) => p.heard.length > p.truth.length).length / pairs.length,
    tooFew: pairs.filter((p) => p.heard.length < p.truth.length).length / pairs.length,
  };
}

interface FoldResult {
  /** The spotter alone; its boundaries with the fold classifier judging each piece (hybrid); transcribe(). */
  conditions: Record<string, { spotter: Scored; hybrid: Scored; transcribe: Scored }>;
  wrong: string[];
  /** Milliseconds per second of audio: the spotter (mel, embedding, head, decoder), the hybrid, transcribe(). */
  spotterMsPerS: number;
  hybridMsPerS: number;
  transcribeMsPerS: number;
}

function measureFold(
  spotter: Spotter,
  fold: Classifier,
  strings: TestString[],
  decoder: DecoderOptions,
  config: FeatureConfig,
): FoldResult {
  const embedding = fold.embedding!;
  const ms = { spotter: 0, transcribe: 0, hybrid: 0 };
  let seconds = 0;
  const rows = strings.map((s) => {
    // Timed from the samples on the first minute of audio (the cached vectors are computed again for the clock).
    const timed = seconds < 60;
    let started = performance.now();
    const vectors = timed ? sequenceVectors(embedding, config, s.samples) : s.vectors;
    const found = decodeDigits(spotterPosteriors(spotter, vectors), decoder, vectorStepS(config));
    const spotMs = performance.now() - started;
    started = performance.now();
    const hybrid = classifyCuts(fold, cutsBetween(found, s.samples, config.sampleRate));
    const hybridMs = performance.now() - started;
    started = performance.now();
    let heard: number[] = [];
    try {
      heard = transcribe(fold, { samples: s.samples, sampleRate: config.sampleRate, format: "wav", channels: 1 }, 0).digits;
    } catch { /* no speech found: nothing heard */ }
    if (timed) {
      ms.spotter += spotMs;
      ms.hybrid += spotMs + hybridMs;
      ms.transcribe += performance.now() - started;
      seconds += s.samples.length / config.sampleRate;
    }
    return { condition: s.condition, truth: s.digits, spotted: found.map((d) => d.digit), hybrid, heard };
  });
  const conditions = Object.fromEntries(
    Object.keys(CONDITIONS).map((condition) => {
      const mine = rows.filter((r) => r.condition === condition);
      return [condition, {
        spotter: scored(mine.map((r) => ({ truth: r.truth, heard: r.spotted }))),
        hybrid: scored(mine.map((r) => ({ truth: r.truth, heard: r.hybrid }))),
        transcribe: scored(mine.map((r) => ({ truth: r.truth, heard: r.heard }))),
      }];
    }),
  );
  // The strings the spotter got wrong, to read (at most 15 per condition).
  const wrong = Object.keys(CONDITIONS).flatMap((condition) =>
    rows.filter((r) => r.condition === condition && r.spotted.join() !== r.truth.join()).slice(0, 15)
      .map((r) =>
        `${condition}: said ${r.truth.join("")} spotted ${r.spotted.join("")} hybrid ${r.hybrid.join("")} transcribe ${r.heard.join("")}`
      )
  );
  return {
    conditions,
    wrong,
    spotterMsPerS: ms.spotter / seconds,
    hybridMsPerS: ms.hybrid / seconds,
    transcribeMsPerS: ms.transcribe / seconds,
  };
}

/**
 * The recording cut between the spotted digits (halfway through the space between two of them, as strings.ts's
 * oracleCuts cuts at the true boundaries): one piece per digit, for a single-digit classifier.
 */
export function cutsBetween(spotted: Spotted[], samples: Float32Array, sampleRate: number): Float32Array[] {
  return spotted.map((d, i) => {
    const from = i > 0 ? Math.round(((spotted[i - 1].end_s + d.start_s) / 2) * sampleRate) : 0;
    const to = i < spotted.length - 1 ? Math.round(((d.end_s + spotted[i + 1].start_s) / 2) * sampleRate) : samples.length;
    return samples.subarray(Math.min(from, samples.length), Math.min(to, samples.length));
  });
}

/** Each piece's digit by the classifier, as /predict would answer it; a piece with no speech in it is left out. */
function classifyCuts(classifier: Classifier, cuts: Float32Array[]): number[] {
  return cuts.flatMap((cut) => {
    try {
      return [argmax(classifyClips(classifier, [extractFeatures(cut, classifier.features.config).views])[0])];
    } catch {
      return [];
    }
  });
}

function formatFold(result: FoldResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(6);
  const line = (s: Scored) =>
    `count ${pct(s.rightCount)} (too many ${pct(s.tooMany)}, too few ${pct(s.tooFew)}) exact ${pct(s.exact)} DER ${pct(s.digitErrorRate)}`;
  const lines = Object.entries(result.conditions).map(([condition, { spotter, hybrid, transcribe }]) =>
    `  ${condition}\n    spotter:    ${line(spotter)}\n    hybrid:     ${line(hybrid)}\n    transcribe: ${line(transcribe)}`
  );
  lines.push(
    `  ms per second of audio: spotter ${result.spotterMsPerS.toFixed(1)}, hybrid ${result.hybridMsPerS.toFixed(1)}, ` +
      `transcribe ${result.transcribeMsPerS.toFixed(1)}`,
  );
  return lines.join("\n");
}

/**
 * Does the whole-input front end give a lone digit the vectors the served crop gives it? The clip is shifted so that
 * the sequence's vectors fall on the crop's; the cosine of each pair is compared with that of two neighbouring
 * crop vectors (80 ms apart), the scale of a real change.
 */
function checkAgainstCrop(embedding: SpeechEmbedding, config: FeatureConfig, audio: Labelled[], log: (l: string) => void) {
  const cropLength = cropInputSamples(config);
  const lead = leadSamples(config);
  const hop = Math.round(vectorStepS(config) * config.sampleRate);
  const cosine = (a: Float32Array, b: Float32Array) => {
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < a.length; i++) (ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i]);
    return ab / Math.sqrt(aa * bb);
  };
  const same: number[] = [], neighbours: number[] = [], centre: number[] = [];
  for (const { samples } of audio.slice(0, 60)) {
    const features = extractFeatures(samples, config);
    const crop = embedVectors(embedding, features.values, config.frames);
    const start = Math.round((features.speech.start + features.speech.end) / 2 - cropLength / 2);
    // Zeros before the clip so that crop vector k and sequence vector k + offset share a centre.
    const shift = (((-(start + lead)) % hop) + hop) % hop;
    const shifted = new Float32Array(shift + samples.length);
    shifted.set(samples, shift);
    const whole = sequenceVectors(embedding, config, shifted);
    const offset = (start + lead + shift) / hop;
    const vector = (flat: Float32Array, k: number) => flat.subarray(k * EMBEDDING_SIZE, (k + 1) * EMBEDDING_SIZE);
    const count = crop.length / EMBEDDING_SIZE;
    for (let k = 0; k < count; k++) {
      const j = k + offset;
      if (j < 0 || j >= whole.length / EMBEDDING_SIZE) continue;
      same.push(cosine(vector(crop, k), vector(whole, j)));
      if (k === (count - 1) / 2) centre.push(cosine(vector(crop, k), vector(whole, j)));
      if (k > 0) neighbours.push(cosine(vector(crop, k), vector(crop, k - 1)));
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const min = (xs: number[]) => Math.min(...xs);
  log(
    `sequenceMel vs the served crop, 60 clips: cosine mean ${mean(same).toFixed(4)} (min ${min(same).toFixed(4)}),` +
      ` centre vector ${mean(centre).toFixed(4)} (min ${min(centre).toFixed(4)}); two neighbouring crop vectors: ${
        mean(neighbours).toFixed(4)
      }`,
  );
}

if (import.meta.main) await main();
