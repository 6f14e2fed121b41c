/**
 * Decoded samples -> the /transcribe answer: every utterance found (dsp/utterances.ts), those long enough to hold
 * two digits split where the model's spotter hears two (models/spotter.ts), each piece cut out and recognized exactly
 * as /predict recognizes a clip (speech finding, features, the model), in one batch.
 * Shared by the server and the page's live mode.
 */
import { extractFeatures, findUtterances, resample, type SpeechSegment } from "../dsp/index.ts";
import { AudioError } from "../dsp/errors.ts";
import type { Classifier } from "./classifier.ts";
import type { Profile } from "./profile.ts";
import { audioSummary, type DecodedInput, judgeClips, type Label, labelFields, round } from "./recognize.ts";
import { modelId } from "./model_format.ts";
import { type Batching, inBatches, runSteps, type Steps } from "./steps.ts";
import { splitUtterance } from "./spotter.ts";

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
  const utterances = findUtterances(samples, config.sampleRate, config.speech);
  let segmentMs = performance.now() - started;
  yield;
  // Two digits said without a pause are one utterance to the energy segmenter: the spotter splits those.
  const { spotter, embedding } = classifier;
  let found = utterances;
  if (spotter && embedding) {
    found = [];
    for (const utterance of utterances) {
      const split = performance.now();
      found.push(...splitUtterance(spotter, embedding, config, samples, utterance));
      segmentMs += performance.now() - split;
      if (batching.stepMs !== undefined) yield;
    }
  }
  // Each utterance is judged as if it had been sent alone; one too faint or short for that is left out.
  const featured = yield* inBatches(found, (segments) =>
    segments.flatMap((segment) => {
      try {
        return [{ segment, views: extractFeatures(samples.subarray(segment.start, segment.end), config).views }];
      } catch (e) {
        if (!(e instanceof AudioError && e.code === "no_speech")) throw e;
        return [];
      }
    }), batching);
  const kept: { segment: SpeechSegment; views: Float32Array[] }[] = featured.results;
  if (kept.length === 0) throw new AudioError("no_speech", "no speech found: no utterance long enough to be a word");
  yield;
  const judged = yield* inBatches(kept, (batch) => judgeClips(classifier, batch.map((k) => k.views), profile), batching);
  const judgements = judged.results;
  const segments = kept.map(({ segment }, i): Segment => {
    const { digit, label, confidence, unknown } = labelFields(judgements[i], classifier, reject);
    return {
      label,
      digit,
      confidence,
      ...(unknown === undefined ? {} : { unknown }),
      start_s: round(segment.startS, 3),
      end_s: round(segment.endS, 3),
      probabilities: Array.from(judgements[i].probabilities, (p) => round(p, 6)),
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
      segment: round(segmentMs, 3),
      features: round(featured.ms, 3),
      inference: round(judged.ms, 3),
      total: round(decodeMs + segmentMs + featured.ms + judged.ms, 3),
    },
    model: modelId(classifier.identity),
    ...(profile ? { profile: true } : {}),
  };
}
