/**
 * Every route of the API defined once (@hono/zod-openapi): its query, its body, every answer and error with
 * its status. The handlers are registered with these (`app.openapi(route, handler)`), which validates the query
 * by the same schemas and types what each handler returns; GET /openapi.json is generated from them.
 *
 * Bodies are described with plain OpenAPI schema objects, not zod: @hono/zod-openapi would otherwise parse a
 * multipart body itself before the handler runs, bypassing our byte, time and decoding limits (routes/body.ts).
 * The handlers read bodies through those limits and answer the errors listed here.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { SUPPORTED_FORMATS } from "../dsp/decode.ts";
import { MAX_TAKES_PER_DIGIT } from "../models/profile.ts";
import {
  AUDIO_FIELD,
  AUDIO_FIELD_ALIAS,
  INCLUDE_SPECTROGRAM,
  PATHS,
  PROFILE_FIELD,
  QUERY,
  REJECT_OFF,
  REJECT_PATTERN,
  TAKE_FIELDS,
} from "./contract.ts";
import { ApiError } from "./errors.ts";
import { AdaptationSchema, ErrorSchema, HealthSchema, PredictionSchema, TranscriptionSchema } from "./schemas.ts";

/** What the document says that only the running server knows. */
export interface ApiFacts {
  /** Model names, the default first. */
  models: string[];
  maxBodyBytes: number;
  bodyTimeoutS: number;
  maxAudioSeconds: number;
}

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const error = (description: string) => json(ErrorSchema, description);
const html = (description: string) => ({ description, content: { "text/html": { schema: z.string() } } });

/** An OpenAPI sub-app whose query validation failures answer in our error shape (400, never a 500). */
export function apiApp() {
  return new OpenAPIHono({
    defaultHook: (result) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const name = String(issue?.path?.[0] ?? "query");
      const given = (result as { data?: Record<string, unknown> }).data?.[name];
      const value = JSON.stringify(String(given ?? "").slice(0, 40));
      if (name === QUERY.model) {
        const known = "values" in issue ? (issue.values as unknown[]).join(", ") : "";
        throw new ApiError(400, "unknown_model", `no model named ${value}; this server has: ${known}`);
      }
      throw new ApiError(400, "bad_parameter", `${name} may not be ${value}: ${issue?.message ?? "invalid"}`);
    },
  });
}

export function apiDefinitions(facts: ApiFacts) {
  const limits = `Limits: ${facts.maxBodyBytes} bytes, arriving within ${facts.bodyTimeoutS} s; ${facts.maxAudioSeconds} s of audio; ` +
    "at least 120 ms of sound.";
  const model = z.enum(facts.models as [string, ...string[]]).optional().openapi({
    description: `Which model answers (GET /health lists them); default ${facts.models[0]}.`,
  });
  const reject = z.string().regex(new RegExp(REJECT_PATTERN), `"${REJECT_OFF}" or a number in (0, 1]`).optional().openapi({
    description: `"Not a digit" refusal: "${REJECT_OFF}" always answers a digit; a number in (0, 1] is the refusal point. ` +
      "Default: the model's own (none for a model that cannot tell).",
  });
  const recognitionQuery = z.object({ [QUERY.model]: model, [QUERY.reject]: reject });
  const audioBody = {
    required: true,
    content: {
      "audio/*": { schema: { type: "string" as const, format: "binary" } },
      "application/octet-stream": { schema: { type: "string" as const, format: "binary" } },
      "multipart/form-data": {
        schema: {
          type: "object" as const,
          required: [AUDIO_FIELD],
          properties: {
            [AUDIO_FIELD]: {
              type: "string" as const,
              format: "binary",
              description: `the audio file ("${AUDIO_FIELD_ALIAS}" is accepted too)`,
            },
            [PROFILE_FIELD]: {
              type: "string" as const,
              description: "a speaker profile from POST /adapt (for the same model): answer for that speaker",
            },
          },
        },
      },
    },
  };
  const busyError = error(
    "busy: every core is busy and the queue is full; timeout: the models took longer than their budget, waiting included; " +
      "shutting_down: the server is restarting. Retry after the Retry-After header's seconds",
  );
  const audioErrors = {
    400: error(
      "empty_body: no audio, or a form without the audio field; undecodable: truncated, garbage, not audio, a damaged or " +
        "forged container, an unparseable form, or a file that took too long or too much memory to decode; " +
        "unknown_model: ?model= names no model of this server; bad_parameter: a query value out of its range; " +
        "bad_profile: the profile field is not a profile /adapt made",
    ),
    408: error("timeout: the body did not arrive whole in time"),
    409: error("profile_mismatch: the profile was made for another model (or version): adapt again"),
    413: error("too_large: body over the byte limit; too_long: audio over the duration limit"),
    415: error("unsupported_format: a known format we do not read"),
    422: error("no_speech: silence, constant noise, or sound too short to be a word"),
    503: busyError,
  };

  const predict = createRoute({
    method: "post",
    path: PATHS.predict,
    summary: "Recognize the digit spoken in an audio file",
    description: `Send the file as the raw body (any Content-Type other than multipart, e.g. audio/wav) or as multipart/form-data ` +
      `field "${AUDIO_FIELD}", optionally with a text field "${PROFILE_FIELD}" from /adapt. Formats: ${
        SUPPORTED_FORMATS.join(", ")
      }. ${limits}`,
    request: {
      query: recognitionQuery.extend({
        [QUERY.include]: z.enum([INCLUDE_SPECTROGRAM]).optional().openapi({
          description: "Also return the log-mel spectrogram the model judged.",
        }),
      }),
      body: audioBody,
    },
    responses: { 200: json(PredictionSchema, "The digit and the probability of every digit"), ...audioErrors },
  });

  const transcribe = createRoute({
    method: "post",
    path: PATHS.transcribe,
    summary: "Transcribe a digit string: every digit said in the recording, in order",
    description: `The same body, limits, profile field and errors as /predict (up to ${facts.maxAudioSeconds} s). ` +
      "Utterances are found by their energy: digits with a pause of 150 ms or more are always separated. Two said without a " +
      "pause are split where the model's digit spotter hears two (embed; it listens inside utterances longer than 0.6 s), " +
      "else at an energy dip when there is one. Each piece is then recognized exactly as /predict recognizes a clip. In loud " +
      "noise (embed, no profile) the spotter alone finds and names the digits, each with its own probabilities.",
    request: { query: recognitionQuery, body: audioBody },
    responses: {
      200: json(TranscriptionSchema, "The string, and each digit with where it was said and its probabilities"),
      ...audioErrors,
    },
  });

  const adapt = createRoute({
    method: "post",
    path: PATHS.adapt,
    summary: "Teach it a voice: labelled takes of one speaker -> a profile for /predict",
    description: `multipart/form-data with each take as a file field named by its digit, "0" .. "9", each repeatable ` +
      `(1-${MAX_TAKES_PER_DIGIT} takes per digit; digits may be missing, the profile then helps only those it has). ` +
      `The server keeps nothing: send the answer's "profile" string with each /predict. ${limits}`,
    request: {
      query: z.object({ [QUERY.model]: model }),
      body: {
        required: true,
        content: {
          "multipart/form-data": {
            schema: {
              type: "object" as const,
              minProperties: 1,
              properties: Object.fromEntries(
                TAKE_FIELDS.map((d) => [d, { type: "string" as const, format: "binary", description: `a take of "${d}"` }]),
              ),
            },
          },
        },
      },
    },
    responses: {
      200: json(AdaptationSchema, "The profile, the takes it holds per digit, and what the generic model heard in each take"),
      400: error(
        "bad_takes: not a form, a field not named 0-9, text instead of a file, too many takes of a digit; empty_body: no takes; " +
          "undecodable: a take is not audio (the message names the take); unknown_model",
      ),
      408: error("timeout: the body did not arrive whole in time"),
      413: error("too_large / too_long, as /predict"),
      415: error("unsupported_format, as /predict"),
      422: error("no_speech: a take holds no word (the message names the take)"),
      503: busyError,
    },
  });

  const health = createRoute({
    method: "get",
    path: PATHS.health,
    summary: "Liveness and what is serving",
    responses: { 200: json(HealthSchema, "ok") },
  });

  const metrics = createRoute({
    method: "get",
    path: PATHS.metrics,
    summary: "Prometheus metrics: requests by route and status, latency, decode and inference time, queue, models",
    description: "Prometheus text exposition format 0.0.4 (text/plain; version=0.0.4), for a scraper.",
    responses: { 200: { description: "The metrics", content: { "text/plain": { schema: z.string() } } } },
  });

  const openapi = createRoute({
    method: "get",
    path: PATHS.openapi,
    summary: "This document",
    responses: { 200: json(z.record(z.string(), z.unknown()), "OpenAPI 3.1 document") },
  });
  const docs = createRoute({
    method: "get",
    path: PATHS.docs,
    summary: "An interactive reference of this API (Swagger UI)",
    responses: { 200: html("HTML") },
  });
  const page = createRoute({
    method: "get",
    path: PATHS.page,
    summary: "The web page (upload, record, results)",
    responses: { 200: html("HTML") },
  });

  return { predict, transcribe, adapt, health, metrics, openapi, docs, page };
}

export type ApiDefinitions = ReturnType<typeof apiDefinitions>;

/** The document's heading. */
export const API_INFO = {
  openapi: "3.1.0",
  info: {
    title: "Spoken Digits",
    version: "1.0.0",
    description: "Recognizes a spoken digit (0-9), or a string of them, in a short recording; learns a voice from a few takes. " +
      "Models trained on the Free Spoken Digit Dataset (CC BY-SA 4.0).",
  },
};
