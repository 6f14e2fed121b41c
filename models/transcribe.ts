/**
 * Decoded samples -> the /transcribe answer: every utterance found (dsp/utterances.ts), those long enough to hold
 * two digits split where the model's spotter hears two (models/spotter.ts), each piece cut out and recognized exactly
 * as /predict recognizes a clip (speech finding, features, the model), in one batch. In loud noise (and with no
 * profile) the spotter alone finds and names the digits instead. Shared by the server and the page's live mode.
 */
import { extractFeatures, type Features, findUtterances, resample, type SpeechSegment } from "../dsp/index.ts";
import type { FeatureConfig } from "../dsp/config.ts";
import { levelSpreadDb } from "../dsp/utterances.ts";
import { AudioError } from "../dsp/errors.ts";
import { type Classifier, clipAnswer } from "./classifier.ts";
import type { Profile } from "./profile.ts";
import { audioSummary, type DecodedInput, judgeClips, type Judgement, type Label, labelFields, round } from "./recognize.ts";
import { modelId } from "./model_format.ts";
import { type Batching, inBatches, runSteps, type Steps } from "./steps.ts";
import { mayHoldTwo, splitUtterance, spotRecording, type Spotter } from "./spotter.ts";
import { embedVectors } from "./embedding.ts";

export interface Segment {
  /** "0".."9", or "unknown" for an utterance judged not a digit (left out of text and digits). */
  label: Label;
  digit: number | null;
  confidence: number;
  unknown?: number;
  start_s: number;
  end_s: number;
  probabilities: number[];
}

/** The /transcribe JSON. */
export interface Transcription {
  text: string;
  digits: number[];
  segments: Segment[];
  audio: { format: string; sample_rate: number; channels: number; duration_s: number };
  timing_ms: { decode: number; segment: number; features: number; inference: number; total: number };
  model: string;
  profile?: true;
}

export function transcribe(
  classifier: Classifier,
  audio: DecodedInput,
  decodeMs: number,
  profile?: Profile,
  reject?: number | "off",
): Transcription {
  return runSteps(transcribeSteps(classifier, audio, decodeMs, profile, reject));
}

/**
 * transcribe() in steps (models/steps.ts): finding the utterances, then their features and the network in
 * batches (`batching`; by default all in one). timing_ms counts each stage's own time, not the waits between steps.
 */
export function* transcribeSteps(
  classifier: Classifier,
  audio: DecodedInput,
  decodeMs: number,
  profile?: Profile,
  reject?: number | "off",
  batching: Batching = {},
): Steps<Transcription> {
  const { config } = classifier.features;
  const started = performance.now();
  const samples = resample(audio.samples, audio.sampleRate, config.sampleRate);
  // Silence and clicks are no_speech on either way below.
  const utterances = findUtterances(samples, config.sampleRate, config.speech);
  const alone = spotterAlone(classifier, samples, profile);
  const segmentMs = performance.now() - started;
  yield;
  const heard = alone
    ? yield* heardBySpotter(alone, classifier, samples)
    : yield* heardByClassifier(classifier, samples, utterances, profile, batching);
  if (heard.pieces.length === 0) throw new AudioError("no_speech", "no speech found: no utterance long enough to be a word");
  const duration = samples.length / config.sampleRate;
  const segments = heard.pieces.map(({ startS, endS, judgement }): Segment => {
    const { digit, label, confidence, unknown } = labelFields(judgement, classifier, reject);
    return {
      label,
      digit,
      confidence,
      ...(unknown === undefined ? {} : { unknown }),
      start_s: round(Math.max(0, startS), 3),
      end_s: round(Math.min(duration, endS), 3),
      probabilities: Array.from(judgement.probabilities, (p) => round(p, 6)),
    };
  });
  const digits = segments.flatMap((s) => (s.digit === null ? [] : [s.digit]));
  return {
    text: digits.join(""),
    digits,
    segments,
    audio: audioSummary(audio),
    timing_ms: {
      decode: round(decodeMs, 3),
      segment: round(segmentMs + heard.segmentMs, 3),
      features: round(heard.featuresMs, 3),
      inference: round(heard.inferenceMs, 3),
      total: round(decodeMs + segmentMs + heard.segmentMs + heard.featuresMs + heard.inferenceMs, 3),
    },
    model: modelId(classifier.identity),
    ...(profile ? { profile: true } : {}),
  };
}

/** What was heard, piece by piece, and the time each stage took. */
interface Heard {
  pieces: { startS: number; endS: number; judgement: Judgement }[];
  segmentMs: number;
  featuresMs: number;
  inferenceMs: number;
}

/**
 * The spotter, when it alone should find and name the digits: in loud noise (the recording's level spread under its
 * aloneBelowDb), where the energy segmenter miscounts and the classifier, trained without noise, misnames (models/
 * README.md). Never with a profile: the spotter knows no voice, the classifier applies what was taught.
 */
function spotterAlone(classifier: Classifier, samples: Float32Array, profile?: Profile): Spotter | undefined {
  const { spotter, embedding, features: { config } } = classifier;
  if (!spotter || !embedding || profile || spotter.aloneBelowDb === undefined) return undefined;
  return levelSpreadDb(samples, config.sampleRate, config.speech) < spotter.aloneBelowDb ? spotter : undefined;
}

/** The spotter's digits over the whole recording, each answered with its own posteriors (refusal by confidence applies). */
function* heardBySpotter(spotter: Spotter, classifier: Classifier, samples: Float32Array): Steps<Heard> {
  const { spotted, melMs, networkMs } = yield* spotRecording(spotter, classifier.embedding!, classifier.features.config, samples);
  return {
    pieces: spotted.map((d) => ({ startS: d.start_s, endS: d.end_s, judgement: clipAnswer(classifier, d.probabilities) })),
    segmentMs: 0,
    featuresMs: melMs,
    inferenceMs: networkMs,
  };
}

/**
 * The utterances (those long enough to hold two digits split where the spotter hears two), each cut out and judged
 * as if it had been sent alone; one too faint or short for that is left out.
 */
function* heardByClassifier(
  classifier: Classifier,
  samples: Float32Array,
  utterances: SpeechSegment[],
  profile: Profile | undefined,
  batching: Batching,
): Steps<Heard> {
  const { config } = classifier.features;
  const { spotter, embedding } = classifier;
  // Two digits said without a pause are one utterance to the energy segmenter: the spotter splits those. It reads the
  // crop's vectors, so an utterance it leaves whole comes with its features and vectors already computed.
  type Piece = { segment: SpeechSegment; features?: Features; vectors?: Float32Array };
  const pieces: Piece[] = [];
  let segmentMs = 0;
  for (const utterance of utterances) {
    if (!spotter || !embedding || !mayHoldTwo(spotter, utterance)) {
      pieces.push({ segment: utterance });
      continue;
    }
    const split = performance.now();
    const features = speechFeatures(samples.subarray(utterance.start, utterance.end), config);
    if (features) {
      const vectors = embedVectors(embedding, features.values, config.frames);
      const cut = splitUtterance(spotter, config, utterance, features.speech, vectors);
      pieces.push(...(cut.length === 1 ? [{ segment: utterance, features, vectors }] : cut.map((segment) => ({ segment }))));
    }
    segmentMs += performance.now() - split;
    if (batching.stepMs !== undefined) yield;
  }
  const featured = yield* inBatches(pieces, (batch) =>
    batch.flatMap((piece) => {
      const features = piece.features ?? speechFeatures(samples.subarray(piece.segment.start, piece.segment.end), config);
      return features ? [{ ...piece, features }] : [];
    }), batching);
  const kept = featured.results;
  if (kept.length > 0) yield;
  const known = new Map(kept.flatMap((k) => (k.vectors ? [[k.features.views[0], k.vectors] as const] : [])));
  const judged = yield* inBatches(kept, (batch) => judgeClips(classifier, batch.map((k) => k.features.views), profile, known), batching);
  return {
    pieces: kept.map(({ segment }, i) => ({ startS: segment.startS, endS: segment.endS, judgement: judged.results[i] })),
    segmentMs,
    featuresMs: featured.ms,
    inferenceMs: judged.ms,
  };
}

/** A piece's features as /predict computes a clip's, or undefined when it holds no speech to judge. */
function speechFeatures(piece: Float32Array, config: FeatureConfig): Features | undefined {
  try {
    return extractFeatures(piece, config);
  } catch (e) {
    if (e instanceof AudioError && e.code === "no_speech") return undefined;
    throw e;
  }
}
