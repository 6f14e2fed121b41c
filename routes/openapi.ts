/** GET /openapi.json (OpenAPI 3.1) and GET /docs, a readable page of the same. */
import { Hono } from "hono";
import { SUPPORTED_FORMATS } from "../dsp/decode.ts";
import { MAX_TAKES_PER_DIGIT } from "../models/profile.ts";
import type { ServedModels } from "../models/served.ts";
import type { ServerConfig } from "./config.ts";
import { API_ERROR_CODES } from "./errors.ts";

const num = { type: "number" };
const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", enum: [...API_ERROR_CODES] },
        message: { type: "string" },
      },
    },
  },
};
const audioSchema = {
  type: "object",
  required: ["format", "sample_rate", "channels", "duration_s"],
  properties: { format: { type: "string" }, sample_rate: { type: "integer" }, channels: { type: "integer" }, duration_s: num },
};
const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

export function openApiDocument(config: ServerConfig, served: ServedModels) {
  const modelNames = served.models.map((m) => m.name);
  const modelParameter = {
    name: "model",
    in: "query",
    required: false,
    schema: { type: "string", enum: modelNames },
    description: `Which model answers (GET /health lists them); default ${served.default.name}.`,
  };
  const rejectParameter = {
    name: "reject",
    in: "query",
    required: false,
    schema: { type: "string", pattern: "^(off|0?\\.[0-9]+|1(\\.0+)?)$" },
    description: '"Not a digit" refusal: "off" always answers a digit; a number in (0, 1] is the refusal point. ' +
      "Default: the model's own (its reject.json).",
  };
  const audioBody = {
    required: true,
    content: {
      "audio/*": { schema: { type: "string", format: "binary" } },
      "application/octet-stream": { schema: { type: "string", format: "binary" } },
      "multipart/form-data": {
        schema: {
          type: "object",
          required: ["audio"],
          properties: {
            audio: { type: "string", format: "binary", description: "the audio file" },
            profile: {
              type: "string",
              description: "a speaker profile from POST /adapt (for the same model): answer for that speaker",
            },
          },
        },
      },
    },
  };
  const audioErrors = {
    "400": errorResponse(
      "empty_body: no audio, or a form without the audio field; undecodable: truncated, garbage, not audio, a damaged or " +
        "forged container, an unparseable form, or a file that took too long or too much memory to decode; " +
        "unknown_model: ?model= names no model of this server; bad_parameter: ?reject= is not off or a number in (0, 1]; bad_profile: the profile field is not a profile /adapt made",
    ),
    "408": errorResponse("timeout: the body did not arrive whole in time"),
    "409": errorResponse("profile_mismatch: the profile was made for another model (or version): adapt again"),
    "413": errorResponse("too_large: body over the byte limit; too_long: audio over the duration limit"),
    "415": errorResponse("unsupported_format: a known format we do not read"),
    "422": errorResponse("no_speech: silence, constant noise, or sound too short to be a word"),
  };
  const limits = `Limits: ${config.maxBodyBytes} bytes, arriving within ${config.bodyTimeoutS} s; ${config.maxAudioSeconds} s of audio; ` +
    "at least 120 ms of sound.";
  return {
    openapi: "3.1.0",
    info: {
      title: "Spoken Digits",
      version: "1.0.0",
      description: "Recognizes a spoken digit (0-9) in a short recording. Model trained on the Free Spoken Digit Dataset (CC BY-SA 4.0).",
    },
    paths: {
      "/predict": {
        post: {
          summary: "Recognize the digit spoken in an audio file",
          description:
            `Send the file as the raw body (any Content-Type other than multipart, e.g. audio/wav) or as multipart/form-data field "audio" ` +
            `("file" is accepted too), optionally with a text field "profile" from /adapt. Formats: ${
              SUPPORTED_FORMATS.join(", ")
            }. ${limits}`,
          parameters: [
            {
              name: "include",
              in: "query",
              required: false,
              schema: { type: "string", enum: ["spectrogram"] },
              description: "Also return the log-mel spectrogram the model judged.",
            },
            modelParameter,
            rejectParameter,
          ],
          requestBody: audioBody,
          responses: {
            "200": {
              description: "The digit and the probability of every digit",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Prediction" } } },
            },
            ...audioErrors,
          },
        },
      },
      "/transcribe": {
        post: {
          summary: "Transcribe a digit string: every digit said in the recording, in order",
          description: `The same body, limits, profile field and errors as /predict (up to ${config.maxAudioSeconds} s). ` +
            "Utterances are found by their energy: digits with a pause of 150 ms or more are always separated; two said without a " +
            "pause are split at an energy dip when there is one. Each is then recognized exactly as /predict recognizes a clip.",
          parameters: [modelParameter, rejectParameter],
          requestBody: audioBody,
          responses: {
            "200": {
              description: "The string, and each digit with where it was said and its probabilities",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Transcription" } } },
            },
            ...audioErrors,
          },
        },
      },
      "/adapt": {
        post: {
          summary: "Teach it a voice: labelled takes of one speaker -> a profile for /predict",
          description: `multipart/form-data with each take as a file field named by its digit, "0" .. "9", each repeatable ` +
            `(1-${MAX_TAKES_PER_DIGIT} takes per digit; digits may be missing, the profile then helps only those it has). ` +
            `The server keeps nothing: send the answer's "profile" string with each /predict. ${limits}`,
          parameters: [modelParameter],
          requestBody: {
            required: true,
            content: {
              "multipart/form-data": {
                schema: {
                  type: "object",
                  minProperties: 1,
                  properties: Object.fromEntries(
                    Array.from(
                      { length: 10 },
                      (_, d) => [String(d), { type: "string", format: "binary", description: `a take of "${d}"` }],
                    ),
                  ),
                },
              },
            },
          },
          responses: {
            "200": {
              description: "The profile, the takes it holds per digit, and what the generic model heard in each take",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Adaptation" } } },
            },
            "400": errorResponse(
              "bad_takes: not a form, a field not named 0-9, text instead of a file, too many takes of a digit; empty_body: no takes; " +
                "undecodable: a take is not audio (the message names the take); unknown_model",
            ),
            "408": errorResponse("timeout: the body did not arrive whole in time"),
            "413": errorResponse("too_large / too_long, as /predict"),
            "415": errorResponse("unsupported_format, as /predict"),
            "422": errorResponse("no_speech: a take holds no word (the message names the take)"),
          },
        },
      },
      "/health": {
        get: {
          summary: "Liveness and what is serving",
          responses: { "200": { description: "ok", content: { "application/json": { schema: { $ref: "#/components/schemas/Health" } } } } },
        },
      },
      "/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1 document" } } } },
      "/docs": { get: { summary: "A readable page of this API", responses: { "200": { description: "HTML" } } } },
      "/": { get: { summary: "The web page (upload, record, results)", responses: { "200": { description: "HTML" } } } },
    },
    components: {
      schemas: {
        Prediction: {
          type: "object",
          required: ["digit", "label", "confidence", "probabilities", "speech", "utterances", "audio", "timing_ms", "model"],
          properties: {
            digit: { type: ["integer", "null"], minimum: 0, maximum: 9, description: "null when the clip is judged not a digit" },
            label: { type: "string", enum: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "unknown"] },
            confidence: { ...num, description: "probability of the returned label (of the digit, or of not a digit)" },
            unknown: { ...num, description: "probability that the clip is not a digit (models with a refusal head)" },
            probabilities: {
              type: "array",
              items: num,
              minItems: 10,
              maxItems: 10,
              description: "probabilities[i] is the probability of digit i; they sum to 1",
            },
            utterances: {
              type: "integer",
              minimum: 1,
              description: "utterances heard; the answer is the loudest (more than one: use /transcribe)",
            },
            speech: {
              type: "object",
              required: ["start_s", "end_s"],
              properties: { start_s: num, end_s: num },
              description: "where the spoken digit was found, seconds",
            },
            audio: audioSchema,
            timing_ms: {
              type: "object",
              required: ["decode", "features", "inference", "total"],
              properties: { decode: num, features: num, inference: num, total: num },
            },
            model: { type: "string", description: "<model name>@<version>" },
            profile: { const: true, description: "only when a profile was sent: the answer is for that speaker" },
            generic: {
              type: "object",
              required: ["digit", "confidence"],
              properties: { digit: { type: "integer", minimum: 0, maximum: 9 }, confidence: num },
              description: "only with a profile: what the generic model alone answered",
            },
            spectrogram: {
              type: "object",
              description: "only with ?include=spectrogram: log-mel dB, time-major",
              properties: { frames: { type: "integer" }, bins: { type: "integer" }, db: { type: "array", items: num }, hop_s: num },
            },
          },
        },
        Transcription: {
          type: "object",
          required: ["text", "digits", "segments", "audio", "timing_ms", "model"],
          properties: {
            text: { type: "string", description: 'the digits as a string, e.g. "4207"' },
            digits: { type: "array", items: { type: "integer", minimum: 0, maximum: 9 } },
            segments: {
              type: "array",
              items: {
                type: "object",
                required: ["label", "digit", "confidence", "start_s", "end_s", "probabilities"],
                properties: {
                  label: { type: "string", description: '"0".."9", or "unknown" (left out of text and digits)' },
                  digit: { type: ["integer", "null"], minimum: 0, maximum: 9 },
                  confidence: num,
                  unknown: num,
                  start_s: num,
                  end_s: num,
                  probabilities: { type: "array", items: num, minItems: 10, maxItems: 10 },
                },
              },
            },
            audio: audioSchema,
            timing_ms: {
              type: "object",
              required: ["decode", "segment", "features", "inference", "total"],
              properties: { decode: num, segment: num, features: num, inference: num, total: num },
            },
            model: { type: "string" },
            profile: { const: true },
          },
        },
        Adaptation: {
          type: "object",
          required: ["profile", "takes", "model", "heard"],
          properties: {
            profile: { type: "string", description: "opaque; send it unchanged as /predict's profile field (a few KB)" },
            takes: { type: "array", items: { type: "integer" }, minItems: 10, maxItems: 10, description: "takes[i]: takes of digit i" },
            model: { type: "string", description: "<model name>@<version> the profile works with" },
            heard: {
              type: "array",
              items: {
                type: "object",
                required: ["digit", "take", "answer", "confidence"],
                properties: { digit: { type: "integer" }, take: { type: "integer" }, answer: { type: "integer" }, confidence: num },
              },
              description: "each take as the generic model heard it, in the order sent",
            },
          },
        },
        Health: {
          type: "object",
          required: ["status", "model", "models", "backend", "simd"],
          properties: {
            status: { const: "ok" },
            model: { type: "string", description: "the default model, name@version" },
            models: { type: "array", items: { type: "string" }, description: "every model ?model= takes, the default first" },
            backend: { type: "string" },
            simd: { type: "boolean" },
            tensors: { type: "integer" },
          },
        },
        Error: errorSchema,
      },
    },
  };
}

const escape = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]!);

export function openApiRoutes(config: ServerConfig, served: ServedModels) {
  const doc = openApiDocument(config, served);
  const app = new Hono();
  app.get("/openapi.json", (c) => c.json(doc));
  // Swagger UI (bundled from npm into static/build/swagger by islands/build.ts) where a visitor can send a clip;
  // under it, for readers without JavaScript, every operation and its answers as plain HTML.
  app.get("/docs", (c) => {
    const sections = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(
        methods as Record<string, { summary: string; description?: string; responses: Record<string, { description: string }> }>,
      ).map(([method, op]) =>
        `<section><h2><code>${method.toUpperCase()} ${escape(path)}</code></h2><p>${escape(op.summary)}</p>` +
        (op.description ? `<p>${escape(op.description)}</p>` : "") +
        `<ul>${
          Object.entries(op.responses).map(([status, r]) => `<li><b>${status}</b> ${escape(r.description)}</li>`).join("")
        }</ul></section>`
      )
    ).join("");
    return c.html(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
        `<title>Spoken Digits API</title><link rel="icon" href="/favicon.ico" type="image/svg+xml">` +
        `<link rel="stylesheet" href="/static/style.css"><link rel="stylesheet" href="/static/build/swagger/swagger-ui.css">` +
        `<script src="/static/build/swagger/swagger-ui-bundle.js" defer></script><script src="/static/docs.js" defer></script></head>` +
        `<body><main class="docs"><h1>Spoken Digits API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). ` +
        `Back to <a href="/">the app</a>. Open an operation, press <b>Try it out</b>, choose a clip and <b>Execute</b>.</p>` +
        `<div id="swagger-ui"></div><noscript>${sections}</noscript></main></body></html>`,
    );
  });
  return app;
}
