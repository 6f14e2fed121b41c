/**
 * POST /predict: audio bytes (raw body or multipart field "audio"/"file") -> digit, probabilities, timings.
 * read (limits) -> decode (routes/decoding.ts: off the event loop when it could be slow) -> recognize
 * (models/recognize.ts: find speech, features, classify). The tfjs part is synchronous (tf.tidy + dataSync),
 * so concurrent requests never interleave inside it.
 */
import { Hono } from "hono";
import { recognize } from "../models/recognize.ts";
import type { ServedModels } from "../models/served.ts";
import { type BodyLimits, parseMultipart, readBodyBytes } from "./body.ts";
import type { AudioDecoder } from "./decoding.ts";
import { ApiError } from "./errors.ts";

async function readAudioBody(req: Request, limits: BodyLimits): Promise<Uint8Array> {
  const bytes = await readBodyBytes(req, limits);
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("multipart/form-data")) {
    // Any other type (audio/*, application/octet-stream, curl's default form type) is read as raw bytes,
    // and the bytes themselves say what they are.
    return bytes;
  }
  const form = await parseMultipart(bytes, type);
  const file = form.get("audio") ?? form.get("file");
  if (!(file instanceof File)) throw new ApiError(400, "empty_body", 'the form has no file field named "audio" (or "file")');
  return new Uint8Array(await file.arrayBuffer());
}

/** The model `?model=` names, or the default; an unknown name is a 400 that lists the known ones. */
export function pickModel(served: ServedModels, name: string | undefined) {
  if (name === undefined || name === "") return served.default;
  const model = served.byName(name);
  if (!model) {
    const known = served.models.map((m) => m.name).join(", ");
    throw new ApiError(400, "unknown_model", `no model named "${name.slice(0, 40)}"; this server has: ${known}`);
  }
  return model;
}

export function predictRoutes(served: ServedModels, decoder: AudioDecoder, limits: BodyLimits) {
  return new Hono().post("/predict", async (c) => {
    const started = performance.now();
    const { classifier } = pickModel(served, c.req.query("model"));
    const bytes = await readAudioBody(c.req.raw, limits);
    if (bytes.length === 0) throw new ApiError(400, "empty_body", "the request has no audio (empty body)");
    const audio = await decoder.decode(bytes);
    // The page asks for the picture the model judged; API clients get the lean answer by default.
    return c.json(recognize(classifier, audio, performance.now() - started, c.req.query("include") === "spectrogram"));
  });
}
