/**
 * POST /predict: audio bytes (raw body or multipart field "audio"/"file") -> digit, probabilities, timings.
 * decode -> resample -> find speech -> features -> classify; every step is in dsp/ or models/.
 * The tfjs part is synchronous (tf.tidy + dataSync), so concurrent requests never interleave inside it.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { decodeAudio } from "../dsp/decode.ts";
import { featuresFromAudio } from "../dsp/index.ts";
import { argmax, type Classifier, classify } from "../models/classifier.ts";
import { ApiError, errorResponse } from "./errors.ts";
import type { ServerConfig } from "./config.ts";

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

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
      const decoded = performance.now();
      const features = featuresFromAudio(audio.samples, audio.sampleRate, classifier.features.config);
      const featured = performance.now();
      const [probabilities] = classify(classifier, [features.values]);
      const done = performance.now();
      const digit = argmax(probabilities);
      const body: Record<string, unknown> = {
        digit,
        confidence: round(probabilities[digit], 6),
        probabilities: Array.from(probabilities, (p) => round(p, 6)),
        speech: { start_s: round(features.speech.startS, 3), end_s: round(features.speech.endS, 3) },
        audio: { format: audio.format, sample_rate: audio.sampleRate, channels: audio.channels, duration_s: round(audio.durationS, 3) },
        timing_ms: {
          decode: round(decoded - started, 3),
          features: round(featured - decoded, 3),
          inference: round(done - featured, 3),
          total: round(done - started, 3),
        },
        model: `${classifier.identity.name}@${classifier.identity.version}`,
      };
      // The page asks for the picture the model judged; API clients get the lean answer by default.
      if (c.req.query("include") === "spectrogram") {
        const { frames, bins, data } = features.logMel;
        body.spectrogram = { frames, bins, db: Array.from(data, (v) => round(v, 1)), hop_s: classifier.features.config.hopLength / classifier.features.config.sampleRate };
      }
      return c.json(body);
    },
  );
  return app;
}
