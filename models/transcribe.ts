/**
 * Decoded samples -> the /transcribe answer: every utterance found (dsp/utterances.ts), each cut out and
 * recognized exactly as /predict recognizes a clip (speech finding, features, the model), in one batch.
 * Shared by the server and the page's live mode.
 */
import { extractFeatures, findUtterances, resample, type SpeechSegment } from "../dsp/index.ts";
import { AudioError } from "../dsp/errors.ts";
import type { Classifier } from "./classifier.ts";
import type { Profile } from "./profile.ts";
import { audioSummary, type DecodedInput, judgeClips, type Label, labelFields, round } from "./recognize.ts";
import { modelId } from "./model_format.ts";

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
  const { config } = classifier.features;
  const started = performance.now();
  const samples = resample(audio.samples, audio.sampleRate, config.sampleRate);
  const found = findUtterances(samples, config.sampleRate, config.speech);
  const segmented = performance.now();
  // Each utterance is judged as if it had been sent alone; one too faint or short for that is left out.
  const kept: { segment: SpeechSegment; views: Float32Array[] }[] = [];
  for (const segment of found) {
    try {
      kept.push({ segment, views: extractFeatures(samples.subarray(segment.start, segment.end), config).views });
    } catch (e) {
      if (!(e instanceof AudioError && e.code === "no_speech")) throw e;
    }
  }
  if (kept.length === 0) throw new AudioError("no_speech", "no speech found: no utterance long enough to be a word");
  const featured = performance.now();
  const judgements = judgeClips(classifier, kept.map((k) => k.views), profile);
  const done = performance.now();
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
      segment: round(segmented - started, 3),
      features: round(featured - segmented, 3),
      inference: round(done - featured, 3),
      total: round(decodeMs + done - started, 3),
    },
    model: modelId(classifier.identity),
    ...(profile ? { profile: true } : {}),
  };
}
