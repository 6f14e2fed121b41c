/**
 * Decoded samples -> the /predict answer. The server (routes/predict.ts) and the in-browser mode
 * (islands/inference.ts) both call this, so the JSON contract and its rounding are defined once.
 */
import { extractFeatures, findUtterances, resample } from "../dsp/index.ts";
import { argmax, type Classifier, classifyClips } from "./classifier.ts";
import { applyProfile, DEFAULT_PROFILE_SETTINGS, embedClips, type Profile } from "./profile.ts";

export interface DecodedInput {
  /** Mono samples at `sampleRate`. */
  samples: Float32Array;
  sampleRate: number;
  format: string;
  channels: number;
  /** The file's own rate, when the samples were already resampled (decoded in a worker); reported as sample_rate. */
  sourceRate?: number;
}

/** The /predict JSON. Field names are a contract with clients: change none of them. */
export interface Prediction {
  digit: number;
  confidence: number;
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
  profile?: boolean;
  generic?: { digit: number; confidence: number };
  /** Set by the in-browser mode: the tfjs backend that ran. */
  backend?: string;
}

export const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export interface RecognizeOptions {
  /** Add the log-mel the model judged (the page draws it). */
  spectrogram?: boolean;
  /** Answer for this speaker (decodeProfile checked it belongs to `classifier`). */
  profile?: Profile;
}

/**
 * Probabilities of 0-9 for each clip (its feature views), for the profile's speaker when one is given; then
 * `generic` holds what the model alone answered. /predict and /transcribe both judge through this.
 */
export function judgeClips(
  classifier: Classifier,
  clips: Float32Array[][],
  profile?: Profile,
): { probabilities: Float32Array[]; generic?: Float32Array[] } {
  if (!profile) return { probabilities: classifyClips(classifier, clips) };
  const settings = classifier.features.profile ?? DEFAULT_PROFILE_SETTINGS;
  const embedded = embedClips(classifier, clips);
  return { probabilities: embedded.map((e) => applyProfile(profile, e, settings)), generic: embedded.map((e) => e.probabilities) };
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
  const { config } = classifier.features;
  const started = performance.now();
  const samples = resample(audio.samples, audio.sampleRate, config.sampleRate);
  const features = extractFeatures(samples, config);
  const featured = performance.now();
  const judged = judgeClips(classifier, [features.views], options.profile);
  const probabilities = judged.probabilities[0];
  const generic = judged.generic?.[0];
  const done = performance.now();
  const digit = argmax(probabilities);
  const prediction: Prediction = {
    digit,
    confidence: round(probabilities[digit], 6),
    probabilities: Array.from(probabilities, (p) => round(p, 6)),
    speech: { start_s: round(features.speech.startS, 3), end_s: round(features.speech.endS, 3) },
    utterances: countUtterances(samples, classifier),
    audio: {
      format: audio.format,
      sample_rate: audio.sourceRate ?? audio.sampleRate,
      channels: audio.channels,
      duration_s: round(audio.samples.length / audio.sampleRate, 3),
    },
    timing_ms: {
      decode: round(decodeMs, 3),
      features: round(featured - started, 3),
      inference: round(done - featured, 3),
      total: round(decodeMs + done - started, 3),
    },
    model: `${classifier.identity.name}@${classifier.identity.version}`,
  };
  if (generic) {
    const genericDigit = argmax(generic);
    prediction.profile = true;
    prediction.generic = { digit: genericDigit, confidence: round(generic[genericDigit], 6) };
  }
  if (options.spectrogram) {
    const { frames, bins, data } = features.logMel;
    prediction.spectrogram = { frames, bins, db: Array.from(data, (v) => round(v, 1)), hop_s: config.hopLength / config.sampleRate };
  }
  return prediction;
}
