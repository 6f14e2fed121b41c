/**
 * POST /predict: audio bytes (raw body or multipart field "audio"/"file") -> digit, probabilities, timings.
 * decode -> resample -> find speech -> features -> classify; every step is in dsp/ or models/.
 * The tfjs part is synchronous (tf.tidy + dataSync), so concurrent requests never interleave inside it.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { decodeAudio } from "../dsp/decode.ts";
import type { Classifier } from "../models/classifier.ts";
import { recognize } from "../models/recognize.ts";
import { ApiError, errorResponse } from "./errors.ts";
import type { ServerConfig } from "./config.ts";

async function readAudioBody(req: Request): Promise<Uint8Array> {
  const type = req.headers.get("content-type") ?? "";
  if (type.startsWith("multipart/form-data")) {
    const form = await req.formData().catch(() => {
      throw new ApiError(400, "undecodable", "the multipart/form-data body could not be parsed");
    });
    const file = form.get("audio") ?? form.get("file");
    if (!(file instanceof File)) throw new ApiError(400, "empty_body", 'the form has no file field named "audio" (or "file")');
    return new Uint8Array(await file.arrayBuffer());
  }
  // Any other type (audio/*, application/octet-stream, curl's default form type) is read as raw bytes,
  // and the bytes themselves say what they are.
  return new Uint8Array(await req.arrayBuffer());
}

export function predictRoutes(classifier: Classifier, config: ServerConfig) {
  const app = new Hono();
  app.post(
    "/predict",
    bodyLimit({
      maxSize: config.maxBodyBytes,
      onError: (c) => errorResponse(c, 413, "too_large", `the body is over the limit of ${config.maxBodyBytes} bytes`),
    }),
    async (c) => {
      const started = performance.now();
      const bytes = await readAudioBody(c.req.raw);
      if (bytes.length === 0) throw new ApiError(400, "empty_body", "the request has no audio (empty body)");
      const audio = await decodeAudio(bytes, { maxDurationS: config.maxAudioSeconds });
      // The page asks for the picture the model judged; API clients get the lean answer by default.
      const body = recognize(classifier, audio, performance.now() - started, c.req.query("include") === "spectrogram");
      return c.json(body);
    },
  );
  return app;
}
