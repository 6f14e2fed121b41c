/**
 * Makes and measures the digit spotter (models/spotter.ts), which /transcribe uses to split utterances that hold two
 * digits said without a pause. The speech embedding run once over a recording gives a vector every 80 ms; a small head
 * says, vector by vector, which digit is being said (or "nothing", class 10); a decoder turns those posteriors into
 * digits with their times.
 *
 *   sequences (FSDD speakers' clips + synthetic voices, joined with pauses or run together, noise) with frame labels
 *   -> sequenceMel (dsp/speech_mel.ts: the embedding's front end over the whole input, level set on its loudest 0.5 s)
 *   -> embed() once per sequence (cached under .cache/spotter/) -> head on a window of K vectors -> decodeDigits()
 *
 * Leave-one-speaker-out, each fold's spotter beside that fold's classifier (--folds, deno task eval --loso's), on
 * strings of the held-out speaker: the spotter alone, transcribe() with it splitting, transcribe() without it.
 *   deno task spotter --help
 *
 * Measured 2026-12-03 (200 sequences per FSDD speaker + 400 of synthetic voices, context 5, 12 epochs, about 60 s of
 * training a fold on 2 shared cores; 100 strings per speaker and condition; mean of the six folds, exact strings:
 * spotter alone / transcribe served (splitting above 0.6 s from the crop's vectors, alone below 25 dB of level spread) /
 * energy segments only): joined with pauses 25-30 dB 84.0 / 88.0 / 88.2%, 10-12 dB 71.7 / 71.7 / 52.3%, run-together
 * pairs 78.0 / 76.8 / 44.2%. Decoder {smooth 3, threshold 0.2, minRun 3, minGap 1, peak 0}, chosen on george's dev strings (a grid pick
 * with peak 0.5 dropped nicolas's less confident digits: the choice is brittle); splitAboveS and aloneBelowDb chosen on
 * the six folds' dev strings (models/README.md).
 *
 * --live makes the live head (models/spotter_stream.ts) the same way on dsp/stream_mel.ts's causal frames, labelled at
 * word ends (LIVE_SHIFT_S, LIVE_END_WINDOW_S), and measures it as a stream: LOSO test strings 75.0 / 60.3 / 73.5% exact
 * (pauses 25-30 dB, 10-12 dB, run-together pairs), each digit known a median 89 ms after its word ended.
 */
import { parseArgs } from "node:util";
import { initTf, tf } from "../tfjs.ts";
import type { FeatureConfig, FeatureStats, SpeechConfig } from "../../dsp/config.ts";
import { addNoise, changeSpeed, meanSquare, pinkNoise, whiteNoise } from "../../dsp/augment.ts";
import { extractFeatures } from "../../dsp/features.ts";
import { type Random, seededRandom, uniform } from "../../dsp/random.ts";
import { findSpeech } from "../../dsp/speech.ts";
import { cropInputSamples, leadSamples, sequenceMel, vectorStepS } from "../../dsp/speech_mel.ts";
import { STREAM_MEL_VERSION, streamMel, vectorKnownAfterS } from "../../dsp/stream_mel.ts";
import { embedVectors, type SpeechEmbedding } from "../embedding.ts";
import {
  centredLookahead,
  CLASSES,
  confirmVectors,
  decodeDigits,
  type DecoderOptions,
  DEFAULT_DECODER,
  normalizedVectors,
  NOTHING,
  type Spotter,
  type SpotterFile,
  type SpotterHead,
  spotterPosteriors,
  writeWindow,
} from "../spotter.ts";
import { argmax, type Classifier } from "../classifier.ts";
import { loadClassifier, saveSpotter, sha256Hex } from "../files.ts";
import { transcribe } from "../transcribe.ts";
import { registerConvBackprop } from "./conv_backprop.ts";
import { buildVectorConvNet, EMBEDDING_SIZE, fitInBatches } from "./embedding_head.ts";
import { findFsdd, listClips } from "./fsdd.ts";
import { editDistance, makeString, NOISE_BANDS, scoreStrings, type StringOptions, type StringScore } from "./strings.ts";
import { loadAudio } from "./training.ts";
import { listVoiceClips } from "./voices.ts";
import { listWordClips } from "./nondigits.ts";

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
  /**
   * Share of sequences with one non-digit word (makeSequence's `others`: synthetic words) said among the digits, with a
   * pause on both sides; it is labelled nothing, so the spotter learns to hear past it. Unset: none.
   */
  words?: number;
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
  others: Float32Array[] = [],
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
  // A non-digit word in one of the count + 1 places, paused on both sides (digit -1: not among the words said).
  if (options.words && others.length > 0 && random() < options.words) {
    const other = others[Math.floor(random() * others.length)];
    const slot = Math.floor(random() * (count + 1));
    pieces.splice(
      slot,
      0,
      piece({ samples: other, digit: -1 }, sampleRate, speech, true, uniform(random, -options.levelDb, options.levelDb)),
    );
    const pause = () => uniform(random, options.pauseS[0], options.pauseS[1]);
    if (slot === 0) gaps.unshift(pause());
    else if (slot === count) gaps.push(pause());
    else gaps.splice(slot - 1, 1, pause(), pause());
  }
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
  })).filter((w) => w.digit >= 0);
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
export function frameLabels(
  words: SpokenDigit[],
  vectors: number,
  stepS = 0.08,
  margin = 0,
  shiftS = 0,
  endWindowS = 0,
): number[] {
  return Array.from({ length: vectors }, (_, j) => {
    // shiftS: read the label that much after the vector's centre (the live head's, SpotterFile.labelShiftS).
    const t = j * stepS + shiftS;
    let label = NOTHING;
    let nearest = Infinity;
    if (endWindowS > 0) {
      // Labelled at word ends (SpotterFile.endWindowS): the digit whose speech ended within endWindowS before t.
      for (const w of words) if (w.endS <= t && w.endS > t - endWindowS && t - w.endS < nearest) [label, nearest] = [w.digit, t - w.endS];
      return label;
    }
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

/** Which log-mel a spotter reads: sequenceMel over a whole recording, or streamMel's causal one (live listening). */
export type FrontEnd = "sequence" | "stream";

/** The vectors of a whole recording, flat [V * 96], in one embed() pass (the served spotter embeds in chunks). */
export function sequenceVectors(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  samples: Float32Array,
  frontEnd: FrontEnd = "sequence",
): Float32Array {
  const mel = frontEnd === "stream" ? streamMel(samples, config) : sequenceMel(samples, config);
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

/** The sequences labelled with `margin` and `shiftS` (frameLabels) from their words. */
export function relabel(sequences: VectorSequence[], margin: number, stepS: number, shiftS = 0, endWindowS = 0): VectorSequence[] {
  return sequences.map((s) => {
    if (!s.words) throw new Error("these sequences were cached without their words");
    return { ...s, labels: frameLabels(s.words, s.labels.length, stepS, margin, shiftS, endWindowS) };
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
  frontEnd: FrontEnd = "sequence",
): Promise<VectorSequence[]> {
  // The sequence front end's caches keep their old names.
  const named = frontEnd === "sequence"
    ? { key, config, version: embedding.version, format: 1 }
    : { key, config, version: embedding.version, format: 1, frontEnd, stream: STREAM_MEL_VERSION };
  const hash = (await sha256Hex(JSON.stringify(named))).slice(0, 16);
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
    const vectors = sequenceVectors(embedding, config, s.samples, frontEnd);
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
  /** Of those, vectors after the one it labels; absent: (context - 1) / 2 (centred). 0: causal (the live head). */
  lookahead?: number;
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

function lookaheadOf(options: SpotterOptions): number {
  return options.lookahead ?? centredLookahead(options.context);
}

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

/** [context * 96] -> [context, 1, 96] -> two Conv2D(3x1, valid, relu) over time -> Dense(11, softmax). */
export function buildSpotter(options: SpotterOptions, seed = options.seed): tf.LayersModel {
  if (options.context % 2 !== 1 || options.context < 5) throw new Error("the context is an odd number of vectors, 5 or more");
  const { context: vectors, filters, dropout } = options;
  return buildVectorConvNet({ vectors, classes: CLASSES, filters, dropout, padding: "valid", pool: "flatten" }, seed);
}

/** Trains the head on every vector of `sequences` (windows built batch by batch, never all at once). */
export async function trainSpotter(
  sequences: VectorSequence[],
  options: SpotterOptions,
  log: (line: string) => void = () => {},
): Promise<SpotterHead> {
  registerConvBackprop();
  const stats = spotterStats(sequences);
  const normalized = sequences.map((s) => normalizedVectors(s.vectors, stats));
  const rows = sequences.flatMap((s, i) => s.labels.map((_, j) => [i, j] as [number, number]));
  const width = options.context * EMBEDDING_SIZE;
  const model = buildSpotter(options);
  await fitInBatches(model, rows.length, width, CLASSES, options, seededRandom(options.seed), (r, into, at) => {
    const [i, j] = rows[r];
    writeWindow(into, at, normalized[i], j, options.context, lookaheadOf(options));
    return sequences[i].labels[j];
  }, { log });
  return { model, stats, context: options.context, lookahead: lookaheadOf(options) };
}

// ---------------------------------------------------------------------------------------------------------------
// The measurement (CLI)

export type Labelled = { samples: Float32Array; digit: number };

/**
 * The live head's labels are read this long after each vector's centre: vector j is known 0.39 s after its centre
 * (its window's end), so a label read 0.3 s later names what was said up to ~0.09 s before the vector was known.
 */
export const LIVE_SHIFT_S = 0.34;
/**
 * The live head is labelled at word ends: vector j says digit d when d's speech ended within this long before its
 * centre + LIVE_SHIFT_S, that is 0.05-0.25 s before its window's end, so the window holds the whole word (and a
 * run of two or three vectors follows each word, whatever its length).
 */
export const LIVE_END_WINDOW_S = 0.2;

/** The spotter looks inside utterances longer than this (seconds): chosen by sweep on the six folds' dev strings. */
export const SPLIT_ABOVE_S = 0.6;

/**
 * Below this level spread (dB) the spotter alone answers: the six folds' dev strings put clean ones at 29-38 dB and
 * those 10-12 dB under noise at 13-22 dB; any point from 22.5 to 35 dB gave the same exact strings there.
 */
export const ALONE_BELOW_DB = 25;

/** The strings evalStrings scores (strings.ts's STRINGS and PAIRS), per condition. */
export const CONDITIONS: Record<string, StringOptions> = {
  "pauses 25-30 dB": { length: [3, 6], pauseS: [0.15, 0.8], runTogether: false, snrDb: NOISE_BANDS["25-30 dB"] },
  "pauses 10-12 dB": { length: [3, 6], pauseS: [0.15, 0.8], runTogether: false, snrDb: NOISE_BANDS["10-12 dB"] },
  "run-together pairs": { length: [2, 2], pauseS: [0, 0], runTogether: true, snrDb: [20, 30] },
};

const HELP = `deno task spotter [options]
  --held <a,b>        held-out FSDD speakers, one LOSO fold each (default george,nicolas; the first chooses the decoder)
  --per-speaker <n>   training sequences per FSDD speaker (default 150)
  --voices <n>        training sequences from synthetic voices in .cache/voices (default 300; 0: none)
  --strings <n>       test strings per speaker and condition (default 100)
  --epochs <n>        training epochs (default ${DEFAULT_SPOTTER.epochs})
  --context <n>       vectors the head sees (odd, default ${DEFAULT_SPOTTER.context})
  --speed <x>         speed perturbation of the training sequences, factor 1-x..1+x (default 0: none)
  --words <x>         share of training sequences with a non-digit word among the digits (deno task nondigits' training
                      words; default 0); the live measurement adds strings with a held-out word (flite, piper)
  --margin <x>        label only the inner part of each word, that share left out at both ends (default 0)
  --live              the live head (models/spotter_stream.ts): vectors of dsp/stream_mel.ts, a causal window
                      (--lookahead 0), labels read --shift seconds after each vector's centre; measured on the
                      held-out speaker's strings as a stream, with how long after each word's end it is known
  --decoder <json>    fixed decoder settings (DecoderOptions) instead of choosing them on the first held-out speaker
  --split-above <s>   the spotter looks inside utterances longer than this, seconds (default ${SPLIT_ABOVE_S})
  --alone-below <dB>  the spotter alone answers below this level spread (loud noise; default ${ALONE_BELOW_DB})
  --folds <dir>       the LOSO fold models that judge each piece (default .cache/loso/embed, deno task eval --loso's)
  --write-folds       also write each fold's spotter into <folds>/<speaker>/spotter (deno task eval --strings reads it)
  --save <dir>        then train on every speaker and the voices and write the served spotter there (models/embed/spotter)
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
      live: { type: "boolean", default: false },
      lookahead: { type: "string", default: "0" },
      shift: { type: "string", default: String(LIVE_SHIFT_S) },
      "end-window": { type: "string", default: String(LIVE_END_WINDOW_S) },
      words: { type: "string", default: "0" },
      decoder: { type: "string" },
      "split-above": { type: "string", default: String(SPLIT_ABOVE_S) },
      "alone-below": { type: "string", default: String(ALONE_BELOW_DB) },
      folds: { type: "string", default: ".cache/loso/embed" },
      "write-folds": { type: "boolean", default: false },
      save: { type: "string" },
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

  const held = values.held.split(",").filter(Boolean);
  const placing = { splitAboveS: +values["split-above"], aloneBelowDb: +values["alone-below"] };
  const live = values.live;
  const frontEnd: FrontEnd = live ? "stream" : "sequence";
  const shiftS = live ? +values.shift : 0;
  const endWindowS = live ? +values["end-window"] : 0;
  const options: SpotterOptions = {
    ...DEFAULT_SPOTTER,
    epochs: +values.epochs,
    context: +values.context,
    ...(live ? { lookahead: +values.lookahead } : {}),
  };
  const margin = +values.margin;
  const step = vectorStepS(config);
  const speakers = [...new Set(clips.map((c) => c.speaker))].sort();
  const perSpeaker = +values["per-speaker"];
  const speed = +values.speed;
  const sequences: SequenceOptions = {
    ...DEFAULT_SEQUENCES,
    ...(speed > 0 ? { speed: [1 - speed, 1 + speed] } : {}),
    ...(+values.words > 0 ? { words: +values.words } : {}),
  };
  // Non-digit words: the training engines' training words (deno task nondigits); the held-out ones test.
  let wordsCache: Float32Array[] | undefined;
  const trainingWords = async () =>
    sequences.words ? (wordsCache ??= await loadAudio(listWordClips().filter((w) => !w.test).map((w) => w.path), config.sampleRate)) : [];

  // Training sequences, per source (one FSDD speaker, or the synthetic voices), so that folds share the cache.
  const training = new Map<string, VectorSequence[]>();
  for (const speaker of speakers) {
    const key = { kind: "train", speaker, count: perSpeaker, options: sequences, seed: 7, words: true };
    training.set(
      speaker,
      await cachedSequences(
        embedding,
        config,
        key,
        async () => {
          const audio = await speakerAudio(speaker);
          const random = seededRandom(7 + speakers.indexOf(speaker));
          const others = await trainingWords();
          return Array.from(
            { length: perSpeaker },
            () => makeSequence(audio, config.sampleRate, config.speech, sequences, random, others),
          );
        },
        (l) => log(`${speaker}: ${l}`),
        frontEnd,
      ),
    );
  }
  if (+values.voices > 0) {
    training.set("voices", await voiceSequences(embedding, config, +values.voices, sequences, log, frontEnd, await trainingWords()));
  }

  const report: Record<string, unknown> = { options, sequences, perSpeaker, voices: +values.voices, margin, frontEnd, shiftS };
  const labels = { labelShiftS: shiftS, endWindowS };
  const fileFor = (head: SpotterHead, training: Record<string, unknown>) =>
    live ? liveSpotterFile(head, decoder, labels, training) : spotterFile(head, decoder, placing, training);
  const fixed = values.decoder ? { ...DEFAULT_DECODER, ...JSON.parse(values.decoder) } as DecoderOptions : undefined;
  let decoder = fixed ?? DEFAULT_DECODER;
  for (const [f, speaker] of held.entries()) {
    const train = relabel(
      [...training.entries()].filter(([source]) => source !== speaker).flatMap(([, list]) => list),
      margin,
      step,
      shiftS,
      endWindowS,
    );
    const vectors = train.reduce((n, s) => n + s.labels.length, 0);
    log(`fold ${speaker}: training on ${train.length} sequences, ${vectors} vectors`);
    const started = performance.now();
    const spotter = await trainSpotter(train, options, (l) => log(`  ${l}`));
    const trainS = (performance.now() - started) / 1000;
    const audio = await speakerAudio(speaker);
    // The first held-out speaker chooses the decoder's settings, on strings of its own apart from the test strings.
    if (f === 0 && !fixed) {
      decoder = chooseDecoder(spotter, await testStrings(embedding, config, speaker, audio, 60, 99, log, frontEnd), log, live);
    }
    const strings = await testStrings(embedding, config, speaker, audio, +values.strings, 2024, log, frontEnd);
    if (live) {
      if (values["write-folds"]) {
        await saveSpotter(`${values.folds}/${speaker}/spotter_live`, spotter.model, fileFor(spotter, { heldOut: speaker }));
      }
      const withWords = await wordStrings(embedding, config, speaker, audio, +values.strings, 2025, log);
      const result = measureLive(spotter, decoder, [...strings, ...withWords], training.get(speaker)!, config);
      report[speaker] = { decoder, ...result };
      log(`fold ${speaker}: ${JSON.stringify(result)}`);
      spotter.model.dispose();
      continue;
    }
    const fold = await loadClassifier(`${values.folds}/${speaker}`);
    const result = measureFold({ ...spotter, decoder, ...placing }, fold, strings, config);
    if (values["write-folds"]) {
      await saveSpotter(`${values.folds}/${speaker}/spotter`, spotter.model, fileFor(spotter, { heldOut: speaker }));
    }
    const frames = frameAccuracy(spotter, relabel(training.get(speaker) ?? [], margin, step));
    report[speaker] = { trainS, decoder, frames, ...result };
    log(
      `fold ${speaker}: trained in ${trainS.toFixed(0)} s; frames of its own sequences: ${JSON.stringify(frames)}\n${formatFold(result)}`,
    );
    fold.model.dispose();
    spotter.model.dispose();
  }
  if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(report, null, 1) + "\n");
  if (values.save) {
    const train = relabel([...training.values()].flat(), margin, step, shiftS, endWindowS);
    log(`the served spotter: training on ${train.length} sequences (every speaker and the voices)`);
    const spotter = await trainSpotter(train, options, (l) => log(`  ${l}`));
    const made = { sequences: train.length, perSpeaker, voices: +values.voices, options, sequenceOptions: sequences };
    await saveSpotter(values.save, spotter.model, fileFor(spotter, made));
    log(`wrote ${values.save}`);
  }
}

/** spotter.json for a trained head. */
function spotterFile(
  head: SpotterHead,
  decoder: DecoderOptions,
  placing: { splitAboveS: number; aloneBelowDb: number },
  training: Record<string, unknown>,
): SpotterFile {
  return { context: head.context, lookahead: head.lookahead, stats: head.stats, decoder, ...placing, training };
}

/** spotter.json for a live head: its front end and how it was labelled; no splitting or noise rule (/transcribe's). */
function liveSpotterFile(
  head: SpotterHead,
  decoder: DecoderOptions,
  labels: { labelShiftS: number; endWindowS: number },
  training: Record<string, unknown>,
): SpotterFile {
  return { context: head.context, lookahead: head.lookahead, stats: head.stats, decoder, frontEnd: "stream", ...labels, training };
}

/** Sequences from the synthetic voices: each says one voice's digits (one clip per digit and voice). */
export async function voiceSequences(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  count: number,
  options: SequenceOptions,
  log: (l: string) => void,
  frontEnd: FrontEnd = "sequence",
  others: Float32Array[] = [],
) {
  const found = listVoiceClips(".cache/voices");
  const key = { kind: "voices", count, clips: found.length, options, seed: 5, words: true };
  return await cachedSequences(
    embedding,
    config,
    key,
    async () => {
      const byVoice = new Map<string, typeof found>();
      for (const c of found) byVoice.set(c.speaker, [...(byVoice.get(c.speaker) ?? []), c]);
      const voices = [...byVoice.values()].filter((list) => list.length >= 5);
      const random = seededRandom(5);
      const out: Sequence[] = [];
      for (let i = 0; i < count; i++) {
        const chosen = voices[Math.floor(random() * voices.length)];
        const audio = await loadAudio(chosen.map((c) => c.path), config.sampleRate);
        const labelled = audio.map((samples, k) => ({ samples, digit: chosen[k].digit }));
        out.push(makeSequence(labelled, config.sampleRate, config.speech, options, random, others));
      }
      return out;
    },
    (l) => log(`voices: ${l}`),
    frontEnd,
  );
}

export interface TestString {
  condition: string;
  samples: Float32Array;
  digits: number[];
  vectors: Float32Array;
}

/** `count` strings per condition from the speaker's clips (makeString, as deno task eval --strings), with their vectors. */
export async function testStrings(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  speaker: string,
  audio: Labelled[],
  count: number,
  seed: number,
  log: (l: string) => void,
  frontEnd: FrontEnd = "sequence",
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
    frontEnd,
  );
  return made.map((m, i) => ({ condition: m.condition, samples: m.samples, digits: m.digits, vectors: vectors[i].vectors }));
}

/** Strings of the held-out speaker with one non-digit word among the digits (a held-out word of a held-out engine). */
export const WORD_STRINGS: SequenceOptions = {
  length: [3, 6],
  pauseS: [0.15, 0.8],
  runTogether: 0,
  overlapS: 0,
  levelDb: 3,
  noisy: 1,
  snrDb: [25, 30],
  untrimmed: 0,
  words: 1,
};

/** `count` strings of the speaker's digits with a held-out non-digit word among them (condition "with a word"). */
export async function wordStrings(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  speaker: string,
  audio: Labelled[],
  count: number,
  seed: number,
  log: (l: string) => void,
  frontEnd: FrontEnd = "stream",
): Promise<TestString[]> {
  const held = listWordClips().filter((w) => w.test);
  if (held.length === 0) return [];
  const others = await loadAudio(held.map((w) => w.path), config.sampleRate);
  const random = seededRandom(seed);
  const made = Array.from({ length: count }, () => makeSequence(audio, config.sampleRate, config.speech, WORD_STRINGS, random, others));
  const key = { kind: "words-test", speaker, count, seed, options: WORD_STRINGS, held: held.length };
  const vectors = await cachedSequences(
    embedding,
    config,
    key,
    () => Promise.resolve(made),
    (l) => log(`${speaker} word strings: ${l}`),
    frontEnd,
  );
  return made.map((m, i) => ({
    condition: "with a word 25-30 dB",
    samples: m.samples,
    digits: m.words.map((w) => w.digit),
    vectors: vectors[i].vectors,
  }));
}

/** Grid over the decoder's settings on one speaker's strings: the best exact-string rate over all the conditions. */
function chooseDecoder(spotter: SpotterHead, strings: TestString[], log: (l: string) => void, live = false): DecoderOptions {
  const posteriors = strings.map((s) => spotterPosteriors(spotter, s.vectors));
  let best = { decoder: DEFAULT_DECODER, exact: -1, errors: Infinity };
  for (const smooth of [1, 3, 5]) {
    for (const threshold of [0.2, 0.3, 0.4, 0.5]) {
      for (const minRun of [1, 2, 3]) {
        for (const minGap of [1, 2, 3]) {
          // A live head's digit is handed on once its run is minRun long: no peak to wait for (spotter_stream.ts).
          for (const [peak, join] of live ? [[0, false], [0, true]] as const : [[0, false], [0.5, false], [0.7, false]] as const) {
            const decoder = { smooth, threshold, minRun, minGap, peak, ...(join ? { join } : {}) };
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
function frameAccuracy(spotter: SpotterHead, sequences: VectorSequence[]) {
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

/**
 * The live head on the held-out speaker, as a stream would run it: its test strings (exact, count, digit errors per
 * condition) and, on its labelled sequences where the count is right, how long after each word's speech ended the
 * digit is handed on (models/spotter_stream.ts: confirmVectors past its run's first vector, then the window of the
 * last one heard whole).
 */
export function measureLive(
  spotter: SpotterHead,
  decoder: DecoderOptions,
  strings: TestString[],
  sequences: VectorSequence[],
  config: FeatureConfig,
) {
  const step = vectorStepS(config);
  const conditions: Record<string, Scored> = {};
  for (const condition of new Set(strings.map((s) => s.condition))) {
    const chosen = strings.filter((s) => s.condition === condition);
    conditions[condition] = scored(chosen.map((s) => ({
      truth: s.digits,
      heard: decodeDigits(spotterPosteriors(spotter, s.vectors), decoder, step).map((d) => d.digit),
    })));
  }
  const latencies: number[] = [];
  let counted = 0;
  for (const s of sequences) {
    const heard = decodeDigits(spotterPosteriors(spotter, s.vectors), decoder, step);
    if (heard.length !== s.words!.length) continue;
    counted++;
    heard.forEach((d, k) => {
      const last = Math.ceil(d.start_s / step - 1e-6) + confirmVectors(decoder) + spotter.lookahead;
      latencies.push(last * step + vectorKnownAfterS(config) - s.words![k].endS);
    });
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(1000 * latencies[Math.floor(q * (latencies.length - 1))]);
  return {
    conditions,
    latencyMs: { median: at(0.5), p10: at(0.1), p90: at(0.9), digits: latencies.length },
    sequencesCounted: counted / sequences.length,
  };
}

/** A StringScore with where the count went wrong: more digits heard than said, or fewer. */
export type Scored = StringScore & { tooMany: number; tooFew: number };

export function scored(pairs: { truth: number[]; heard: number[] }[]): Scored {
  return {
    ...scoreStrings(pairs),
    tooMany: pairs.filter((p) => p.heard.length > p.truth.length).length / pairs.length,
    tooFew: pairs.filter((p) => p.heard.length < p.truth.length).length / pairs.length,
  };
}

interface FoldResult {
  /** The spotter alone; transcribe() with the spotter (served: splitting long utterances, alone in loud noise); without it. */
  conditions: Record<string, { spotter: Scored; split: Scored; energy: Scored }>;
  wrong: string[];
  /** Milliseconds per second of audio: the spotter alone (mel, embedding, head, decoder), transcribe() with, without. */
  spotterMsPerS: number;
  splitMsPerS: number;
  energyMsPerS: number;
}

function measureFold(spotter: Spotter, fold: Classifier, strings: TestString[], config: FeatureConfig): FoldResult {
  const embedding = fold.embedding!;
  const ms = { spotter: 0, split: 0, energy: 0 };
  const withSpotter = { ...fold, spotter };
  const { spotter: _, ...withoutSpotter } = fold;
  const heardBy = (classifier: Classifier, samples: Float32Array) => {
    try {
      return transcribe(classifier, { samples, sampleRate: config.sampleRate, format: "wav", channels: 1 }, 0).digits;
    } catch {
      return []; // no speech found: nothing heard
    }
  };
  let seconds = 0;
  const rows = strings.map((s) => {
    // Timed from the samples on the first minute of audio (the cached vectors are computed again for the clock).
    const timed = seconds < 60;
    let started = performance.now();
    const vectors = timed ? sequenceVectors(embedding, config, s.samples) : s.vectors;
    const found = decodeDigits(spotterPosteriors(spotter, vectors), spotter.decoder, vectorStepS(config));
    const spotMs = performance.now() - started;
    started = performance.now();
    const split = heardBy(withSpotter, s.samples);
    const splitMs = performance.now() - started;
    started = performance.now();
    const energy = heardBy(withoutSpotter, s.samples);
    if (timed) {
      ms.spotter += spotMs;
      ms.split += splitMs;
      ms.energy += performance.now() - started;
      seconds += s.samples.length / config.sampleRate;
    }
    return { condition: s.condition, truth: s.digits, spotted: found.map((d) => d.digit), split, energy };
  });
  const conditions = Object.fromEntries(
    Object.keys(CONDITIONS).map((condition) => {
      const mine = rows.filter((r) => r.condition === condition);
      return [condition, {
        spotter: scored(mine.map((r) => ({ truth: r.truth, heard: r.spotted }))),
        split: scored(mine.map((r) => ({ truth: r.truth, heard: r.split }))),
        energy: scored(mine.map((r) => ({ truth: r.truth, heard: r.energy }))),
      }];
    }),
  );
  // The strings transcribe() with the spotter got wrong, to read (at most 15 per condition).
  const wrong = Object.keys(CONDITIONS).flatMap((condition) =>
    rows.filter((r) => r.condition === condition && r.split.join() !== r.truth.join()).slice(0, 15)
      .map((r) =>
        `${condition}: said ${r.truth.join("")} split ${r.split.join("")} spotted ${r.spotted.join("")} energy ${r.energy.join("")}`
      )
  );
  return {
    conditions,
    wrong,
    spotterMsPerS: ms.spotter / seconds,
    splitMsPerS: ms.split / seconds,
    energyMsPerS: ms.energy / seconds,
  };
}

function formatFold(result: FoldResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(6);
  const line = (s: Scored) =>
    `count ${pct(s.rightCount)} (too many ${pct(s.tooMany)}, too few ${pct(s.tooFew)}) exact ${pct(s.exact)} DER ${pct(s.digitErrorRate)}`;
  const lines = Object.entries(result.conditions).map(([condition, { spotter, split, energy }]) =>
    `  ${condition}\n    spotter alone:            ${line(spotter)}\n    transcribe (served):      ${line(split)}\n` +
    `    transcribe, energy only:  ${line(energy)}`
  );
  lines.push(
    `  ms per second of audio: spotter alone ${result.spotterMsPerS.toFixed(1)}, transcribe with spotter ${
      result.splitMsPerS.toFixed(1)
    }, ` +
      `energy only ${result.energyMsPerS.toFixed(1)}`,
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
