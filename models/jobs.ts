/**
 * What the server's inference workers are asked to do (routes/inference.ts posts these; routes/inference_worker.ts
 * runs them): everything after decoding, for /predict, /transcribe and /adapt, as steps (models/steps.ts) that a
 * worker interleaves with other requests' steps. Plain data both ways (structured clone): samples, a decoded
 * profile, the answer's JSON.
 */
import { featuresFromAudio } from "../dsp/index.ts";
import { AudioError } from "../dsp/errors.ts";
import type { Classifier } from "./classifier.ts";
import { adaptToTakesSteps, encodeProfile, type HeardTake, type Profile } from "./profile.ts";
import { type DecodedInput, type Prediction, recognizeSteps } from "./recognize.ts";
import { type Batching, inBatches, type Steps } from "./steps.ts";
import { transcribeSteps, type Transcription } from "./transcribe.ts";

export type InferenceJob =
  | {
    kind: "predict";
    /** The served model's name. */
    model: string;
    audio: DecodedInput;
    decodeMs: number;
    spectrogram?: boolean;
    profile?: Profile;
    reject?: number | "off";
  }
  | { kind: "transcribe"; model: string; audio: DecodedInput; decodeMs: number; profile?: Profile; reject?: number | "off" }
  | { kind: "adapt"; model: string; takes: { digit: number; samples: Float32Array; sampleRate: number }[] };

/** The /adapt answer. */
export interface Adaptation {
  profile: string;
  takes: number[];
  model: string;
  heard: HeardTake[];
}

export type JobAnswer<J extends InferenceJob> = J extends { kind: "predict" } ? Prediction
  : J extends { kind: "transcribe" } ? Transcription
  : Adaptation;

/** An /adapt take that holds no word: the error says which (0-based, in the order sent). */
export class TakeError extends AudioError {
  constructor(readonly take: number, error: AudioError) {
    super(error.code, error.message);
  }
}

/** How much work a job is, in seconds of audio: a worker runs the smallest first, and a pool balances by it. */
export function jobCost(job: InferenceJob): number {
  if (job.kind === "adapt") return job.takes.reduce((s, t) => s + t.samples.length / t.sampleRate, 0);
  return job.audio.samples.length / job.audio.sampleRate;
}

/** The job as steps, on `classifier` (the model the job names). */
export function jobSteps(
  classifier: Classifier,
  job: InferenceJob,
  batching: Batching = {},
): Steps<Prediction | Transcription | Adaptation> {
  switch (job.kind) {
    case "predict":
      return recognizeSteps(classifier, job.audio, job.decodeMs, {
        spectrogram: job.spectrogram,
        profile: job.profile,
        reject: job.reject,
      });
    case "transcribe":
      return transcribeSteps(classifier, job.audio, job.decodeMs, job.profile, job.reject, batching);
    case "adapt":
      return adaptSteps(classifier, job.takes, batching);
  }
}

function* adaptSteps(classifier: Classifier, takes: { digit: number; samples: Float32Array; sampleRate: number }[], batching: Batching) {
  const indexed = takes.map((take, index) => ({ ...take, index }));
  const { results: views } = yield* inBatches(indexed, (batch) =>
    batch.map(({ samples, sampleRate, index }) => {
      try {
        return featuresFromAudio(samples, sampleRate, classifier.features.config).views;
      } catch (e) {
        throw e instanceof AudioError ? new TakeError(index, e) : e;
      }
    }), batching);
  yield;
  const adapted = yield* adaptToTakesSteps(classifier, takes.map((t, i) => ({ digit: t.digit, views: views[i] })), batching);
  return { profile: encodeProfile(adapted.profile), takes: adapted.profile.takes, model: adapted.profile.model, heard: adapted.heard };
}
