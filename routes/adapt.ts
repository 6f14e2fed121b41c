/**
 * POST /adapt: labelled takes of one speaker (multipart, file fields named "0".."9", 1-5 takes each) -> a
 * profile string for /predict's "profile" field. Stateless: the server keeps nothing; the profile holds one
 * prototype per digit (models/profile.ts), so it is small and says nothing a listener could play back.
 * Takes are short words: each may last MAX_TAKE_S, all of them together MAX_TAKES_TOTAL_S, and each take is
 * decoded under what is left of that, so a request of 50 minute-long takes stops at its first take (before:
 * 50 x 60 s of Opus cost 13.7 s of CPU).
 */
import { AudioError } from "../dsp/errors.ts";
import type { Classifier } from "../models/classifier.ts";
import { type Adaptation, TakeError } from "../models/jobs.ts";
import { MAX_TAKES_PER_DIGIT } from "../models/profile.ts";
import type { ServedModels } from "../models/served.ts";
import { type BodyLimits, parseMultipart, readBodyBytes } from "./body.ts";
import type { AudioDecoder } from "./decoding.ts";
import { ApiError, FROM_AUDIO } from "./errors.ts";
import type { Inference } from "./inference.ts";
import { pickModel } from "./predict.ts";
import { apiApp, type ApiDefinitions } from "./definitions.ts";

/** Longest take, seconds: the page's recorder stops at 10 s. */
export const MAX_TAKE_S = 10;
/** All takes of a request together, seconds (50 takes of a word and its silences take ~100 s). */
export const MAX_TAKES_TOTAL_S = 120;

export interface Take {
  digit: number;
  /** 1-based, in the order the form sent them. */
  take: number;
  file: File;
}

async function readTakes(req: Request, limits: BodyLimits): Promise<Take[]> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("multipart/form-data")) {
    throw new ApiError(400, "bad_takes", 'send multipart/form-data with the takes as file fields named by their digit ("0" .. "9")');
  }
  // Every take is a part: more parts than the most takes allowed is refused before the form is parsed.
  const form = await parseMultipart(await readBodyBytes(req, limits), type, 10 * MAX_TAKES_PER_DIGIT, "bad_takes");
  const takes: Take[] = [];
  for (const [name, value] of form.entries()) {
    if (!/^[0-9]$/.test(name)) {
      throw new ApiError(400, "bad_takes", `unexpected field "${name.slice(0, 20)}": fields are named by their digit, "0" .. "9"`);
    }
    if (!(value instanceof File)) throw new ApiError(400, "bad_takes", `field "${name}" must be an audio file, not text`);
    const digit = +name;
    const take = takes.filter((t) => t.digit === digit).length + 1;
    if (take > MAX_TAKES_PER_DIGIT) throw new ApiError(400, "bad_takes", `more than ${MAX_TAKES_PER_DIGIT} takes of "${name}"`);
    takes.push({ digit, take, file: value });
  }
  if (takes.length === 0) throw new ApiError(400, "empty_body", 'the form has no takes: file fields named "0" .. "9"');
  return takes;
}

export function adaptRoutes(
  definitions: ApiDefinitions,
  served: ServedModels,
  decoder: AudioDecoder,
  limits: BodyLimits,
  inference: Inference,
) {
  return apiApp().openapi(definitions.adapt, async (c) => {
    const { classifier } = pickModel(served, c.req.valid("query").model);
    const takes = await readTakes(c.req.raw, limits);
    return c.json(await adaptToFiles(classifier, decoder, inference, takes), 200);
  });
}

/**
 * Labelled takes -> the /adapt answer (profile string, takes per digit, model, what each take was heard as):
 * decoded here, then features and the network in an inference worker. The REST route and the Gradio protocol
 * (routes/gradio.ts) both come here.
 */
export async function adaptToFiles(
  classifier: Classifier,
  decoder: AudioDecoder,
  inference: Inference,
  takes: Take[],
): Promise<Adaptation> {
  const decoded: { digit: number; samples: Float32Array; sampleRate: number }[] = [];
  let heardS = 0;
  // Each take's error names it, so that a client knows which one to record again.
  const named = ({ digit, take, file }: Take, message: string) =>
    `take ${take} of "${digit}" (${file.name.slice(0, 60) || "unnamed"}): ${message}`;
  const asApiError = (take: Take, e: unknown) => {
    if (e instanceof AudioError) return new ApiError(FROM_AUDIO[e.code][0], FROM_AUDIO[e.code][1], named(take, e.message));
    if (e instanceof ApiError) return new ApiError(e.status, e.code, named(take, e.message), e.headers);
    return e;
  };
  for (const take of takes) {
    try {
      const bytes = new Uint8Array(await take.file.arrayBuffer());
      if (bytes.length === 0) throw new ApiError(400, "empty_body", "the file is empty");
      const audio = await decodeTake(decoder, bytes, MAX_TAKES_TOTAL_S - heardS);
      heardS += audio.samples.length / audio.sampleRate;
      decoded.push({ digit: take.digit, samples: audio.samples, sampleRate: audio.sampleRate });
    } catch (e) {
      throw asApiError(take, e);
    }
  }
  try {
    return await inference.run({ kind: "adapt", model: classifier.identity.name, takes: decoded });
  } catch (e) {
    throw e instanceof TakeError ? asApiError(takes[e.take], e) : e;
  }
}

/** One take, decoded under the take's limit and what is left of the request's (413 too_long past either). */
async function decodeTake(decoder: AudioDecoder, bytes: Uint8Array, leftS: number) {
  try {
    return await decoder.decode(bytes, { maxDurationS: Math.min(MAX_TAKE_S, leftS) });
  } catch (e) {
    if (!(e instanceof AudioError) || e.code !== "too_long") throw e;
    const why = leftS < MAX_TAKE_S
      ? `the takes together last more than ${MAX_TAKES_TOTAL_S} s, the limit of a request`
      : `the take lasts more than ${MAX_TAKE_S} s; a take is one word`;
    throw new ApiError(413, "too_long", why);
  }
}
