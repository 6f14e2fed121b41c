/**
 * Every answer of the API as a zod schema: the OpenAPI document is generated from these (routes/definitions.ts)
 * and they type the handlers, so a field added to an answer and not here fails `deno check`. The answers'
 * own TypeScript types (models/recognize.ts Prediction, models/transcribe.ts Transcription) stay where they are
 * built; these schemas must accept them.
 */
import { z } from "@hono/zod-openapi";
import { LABELS } from "../models/recognize.ts";
import { API_ERROR_CODES } from "./errors.ts";

const digit = z.number().int().min(0).max(9);
const probabilities = z.array(z.number()).min(10).max(10).openapi({
  description: "probabilities[i] is the probability of digit i; they sum to 1",
});

export const ErrorSchema = z.object({
  error: z.object({
    code: z.enum(API_ERROR_CODES),
    message: z.string(),
  }),
}).openapi("Error");

const AudioSummary = z.object({
  format: z.string(),
  sample_rate: z.number().int(),
  channels: z.number().int(),
  duration_s: z.number(),
}).openapi({ description: "what was received: the file's format, its own sample rate, channels, duration" });

export const PredictionSchema = z.object({
  digit: digit.nullable().openapi({ description: "null when the clip is judged not a digit" }),
  label: z.enum(LABELS).openapi({ description: '"0".."9", or "unknown" (not a digit)' }),
  confidence: z.number().openapi({ description: "probability of the returned label (of the digit, or of not a digit)" }),
  unknown: z.number().optional().openapi({ description: "probability that the clip is not a digit (models that can tell)" }),
  refusal_point: z.number().nullable().optional().openapi({
    description: 'with unknown: the refusal point applied (unknown >= it answers "unknown"); null: refusal was off (?reject=off)',
  }),
  probabilities,
  speech: z.object({ start_s: z.number(), end_s: z.number() }).openapi({ description: "where the spoken digit was found, seconds" }),
  utterances: z.number().int().min(1).openapi({
    description: "utterances heard; the answer is the loudest (more than one: use /transcribe)",
  }),
  audio: AudioSummary,
  timing_ms: z.object({ decode: z.number(), features: z.number(), inference: z.number(), total: z.number() }),
  model: z.string().openapi({ description: "<model name>@<version>" }),
  spectrogram: z.object({ frames: z.number().int(), bins: z.number().int(), db: z.array(z.number()), hop_s: z.number() }).optional()
    .openapi({ description: "only with ?include=spectrogram: the log-mel (dB) the model judged, time-major" }),
  profile: z.literal(true).optional().openapi({ description: "only when a profile was sent: the answer is for that speaker" }),
  generic: z.object({ digit, confidence: z.number() }).optional().openapi({
    description: "only with a profile: what the generic model alone answered",
  }),
}).openapi("Prediction");

export const TranscriptionSchema = z.object({
  text: z.string().openapi({ description: 'the digits as a string, e.g. "4207"' }),
  digits: z.array(digit),
  segments: z.array(z.object({
    label: z.enum(LABELS).openapi({ description: '"0".."9", or "unknown" (left out of text and digits)' }),
    digit: digit.nullable(),
    confidence: z.number(),
    unknown: z.number().optional(),
    start_s: z.number(),
    end_s: z.number(),
    probabilities,
  })),
  audio: AudioSummary,
  timing_ms: z.object({ decode: z.number(), segment: z.number(), features: z.number(), inference: z.number(), total: z.number() }),
  model: z.string(),
  profile: z.literal(true).optional(),
}).openapi("Transcription");

export const AdaptationSchema = z.object({
  profile: z.string().openapi({ description: "opaque; send it unchanged as /predict's profile field (2-75 KB)" }),
  takes: z.array(z.number().int()).min(10).max(10).openapi({ description: "takes[i]: takes of digit i" }),
  model: z.string().openapi({ description: "<model name>@<version> the profile works with" }),
  heard: z.array(z.object({
    digit,
    take: z.number().int().openapi({ description: "1-based among the takes of its digit" }),
    answer: digit.openapi({ description: "what the generic model heard" }),
    confidence: z.number(),
    taught: digit.openapi({ description: "what a profile of the other takes hears in this one (leave-one-take-out)" }),
  })).openapi({ description: "each take as the generic model heard it, in the order sent" }),
}).openapi("Adaptation");

export const HealthSchema = z.object({
  status: z.literal("ok"),
  model: z.string().openapi({ description: "the default model, name@version" }),
  models: z.array(z.string()).openapi({ description: "every model ?model= takes, the default first" }),
  backend: z.string(),
  simd: z.boolean(),
  tensors: z.number().int().openapi({ description: "tfjs's live tensor count: constant between requests, or something leaks" }),
}).openapi("Health");
