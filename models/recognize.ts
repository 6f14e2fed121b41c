/**
 * Decoded samples -> the /predict answer. The server (routes/predict.ts) and the in-browser mode
 * (islands/inference.ts) both call this, so the JSON contract and its rounding are defined once.
 */
import { extractFeatures, findUtterances, hopSeconds, resample } from "../dsp/index.ts";
import { answerClips, argmax, type Classifier, type KnownVectors } from "./classifier.ts";
import { applyProfile, DEFAULT_PROFILE_SETTINGS, embedClips, type Profile } from "./profile.ts";
import { rejectInput, unknownProbability } from "./reject.ts";
import { modelId } from "./model_format.ts";
import { runSteps, type Steps } from "./steps.ts";

export interface DecodedInput {
  /** Mono samples at `sampleRate`. */
  samples: Float32Array;
  sampleRate: number;
  format: string;
  channels: number;
  /** The file's own rate, when the samples were already resampled (decoded in a worker); reported as sample_rate. */
  sourceRate?: number;
}

/** What an answer's "label" may be: a digit, or "unknown" (not a digit). */
export const LABELS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "unknown"] as const;
export type Label = typeof LABELS[number];

/** The /predict JSON. Field names are a contract with clients: change none of them. */
export interface Prediction {
  /** The digit, or null when the clip is judged not a digit (label "unknown"). */
  digit: number | null;
  /** "0".."9", or "unknown" (not a digit). */
  label: Label;
  /** Probability of the answered label: of the digit, or of "not a digit". */
  confidence: number;
  /** Probability (0-1) that the clip is not a digit at all; only from a model that can tell. */
  unknown?: number;
  /** With `unknown`: the refusal point applied (unknown >= it answers "unknown"), or null: refusal was off. */
  refusal_point?: number | null;
  /** probabilities[i] is the probability of digit i. */
  probabilities: number[];
  speech: { start_s: number; end_s: number };
  /** Utterances heard in the recording; the answer is about the loudest. More than one: see /transcribe. */
  utterances: number;
  audio: { format: string; sample_rate: number; channels: number; duration_s: number };
  timing_ms: { decode: number; features: number; inference: number; total: number };
  model: string;
  /** Only when asked for: the log-mel (dB) the model judged, time-major. */
  spectrogram?: { frames: number; bins: number; db: number[]; hop_s: number };
  /** Only with a speaker profile: true, and what the generic model alone would have answered. */
  profile?: true;
  generic?: { digit: number; confidence: number };
  /** Set by the in-browser mode: the tfjs backend that ran. */
  backend?: string;
}

export const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The answers' "audio" field: what was received (the file's own rate, even when decoded to another). */
export function audioSummary(audio: DecodedInput): Prediction["audio"] {
  return {
    format: audio.format,
    sample_rate: audio.sourceRate ?? audio.sampleRate,
    channels: audio.channels,
    duration_s: round(audio.samples.length / audio.sampleRate, 3),
  };
}

export interface RecognizeOptions {
  /** Add the log-mel the model judged (the page draws it). */
  spectrogram?: boolean;
  /** Answer for this speaker (decodeProfile checked it belongs to `classifier`). */
  profile?: Profile;
  /** "Not a digit" refusal point (0-1), or "off" to always answer a digit; default: the model's own. */
  reject?: number | "off";
}

/** What the model says of one clip: its digit probabilities (the speaker's, with a profile) and more. */
export interface Judgement {
  probabilities: Float32Array;
  /** With a profile: what the model alone answered. */
  generic?: Float32Array;
  /** From an 11-class network or a refusal head: the probability that the clip is not a digit (generic answer). */
  unknown?: number;
}

/**
 * Judges each clip (its feature views). /predict and /transcribe both go through here. "Not a digit" comes
 * from the network's own 11th class, or else from a refusal head beside it (reject.json). The embedding is
 * computed only when a profile or a refusal head needs it.
 */
export function judgeClips(classifier: Classifier, clips: Float32Array[][], profile?: Profile, known?: KnownVectors): Judgement[] {
  const head = classifier.reject;
  if (!profile && !head) return answerClips(classifier, clips, known);
  const settings = classifier.features.profile ?? DEFAULT_PROFILE_SETTINGS;
  return embedClips(classifier, clips, known).map((e, i) => ({
    probabilities: profile ? applyProfile(profile, e, settings) : e.probabilities,
    ...(profile ? { generic: e.probabilities } : {}),
    ...(e.unknown !== undefined ? { unknown: e.unknown } : {}),
    ...(head ? { unknown: unknownProbability(head, rejectInput(e.embedding, e.probabilities, clips[i][0])) } : {}),
  }));
}

/**
 * Whether a clip with this "not a digit" probability is refused: `reject` is a refusal point, "off", or absent
 * for the head's own (which may be null: no refusal by default).
 */
export function refused(judgement: Judgement, classifier: Classifier, reject?: number | "off"): boolean {
  if (judgement.unknown === undefined) return false;
  const point = refusalPoint(classifier, reject);
  return point !== null && judgement.unknown >= point;
}

/** The model's own refusal point (null: refusal off unless asked for): its refusal head's, or its 11th class's. */
export function defaultRefusalPoint(classifier: Classifier): number | null {
  if (classifier.reject) return classifier.reject.threshold;
  return classifier.features?.refusal?.threshold ?? null;
}

/** The refusal point a request applies: `reject` ("off": none), or the model's own (null: none by default). */
export function refusalPoint(classifier: Classifier, reject?: number | "off"): number | null {
  return reject === "off" ? null : reject ?? defaultRefusalPoint(classifier);
}

/** The label fields of an answer: digit, label, confidence (of the label), unknown and the refusal point applied. */
export function labelFields(judgement: Judgement, classifier: Classifier, reject?: number | "off") {
  const { probabilities, unknown } = judgement;
  const best = argmax(probabilities);
  const no = refused(judgement, classifier, reject);
  return {
    digit: no ? null : best,
    label: no ? "unknown" : LABELS[best],
    confidence: round(no ? unknown! : probabilities[best], 6),
    ...(unknown === undefined ? {} : { unknown: round(unknown, 6), refusal_point: refusalPoint(classifier, reject) }),
  };
}

/** How many utterances the recording holds (/predict answers the loudest; more than one hints at /transcribe). */
function countUtterances(samples: Float32Array, classifier: Classifier): number {
  try {
    return findUtterances(samples, classifier.features.config.sampleRate, classifier.features.config.speech).length;
  } catch {
    return 1; // findSpeech found the one answered, by its own (more permissive) rule
  }
}

export function recognize(classifier: Classifier, audio: DecodedInput, decodeMs: number, options: RecognizeOptions = {}): Prediction {
  return runSteps(recognizeSteps(classifier, audio, decodeMs, options));
}

/**
 * recognize() in steps (models/steps.ts): features, the network, the count of utterances. timing_ms counts each
 * stage's own time, not the waits between steps.
 */
export function* recognizeSteps(
  classifier: Classifier,
  audio: DecodedInput,
  decodeMs: number,
  options: RecognizeOptions = {},
): Steps<Prediction> {
  const { config } = classifier.features;
  const started = performance.now();
  const samples = resample(audio.samples, audio.sampleRate, config.sampleRate);
  const features = extractFeatures(samples, config);
  const featuresMs = performance.now() - started;
  yield;
  const judging = performance.now();
  const [judgement] = judgeClips(classifier, [features.views], options.profile);
  const { probabilities, generic } = judgement;
  const inferenceMs = performance.now() - judging;
  yield;
  const prediction: Prediction = {
    ...labelFields(judgement, classifier, options.reject),
    probabilities: Array.from(probabilities, (p) => round(p, 6)),
    speech: { start_s: round(features.speech.startS, 3), end_s: round(features.speech.endS, 3) },
    utterances: countUtterances(samples, classifier),
    audio: audioSummary(audio),
    timing_ms: {
      decode: round(decodeMs, 3),
      features: round(featuresMs, 3),
      inference: round(inferenceMs, 3),
      total: round(decodeMs + featuresMs + inferenceMs, 3),
    },
    model: modelId(classifier.identity),
  };
  if (generic) {
    const genericDigit = argmax(generic);
    prediction.profile = true;
    prediction.generic = { digit: genericDigit, confidence: round(generic[genericDigit], 6) };
  }
  if (options.spectrogram) {
    const { frames, bins, data } = features.logMel;
    prediction.spectrogram = { frames, bins, db: Array.from(data, (v) => round(v, 1)), hop_s: hopSeconds(config) };
  }
  return prediction;
}
