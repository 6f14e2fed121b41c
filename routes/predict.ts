/**
 * POST /predict (one digit: the loudest utterance) and POST /transcribe (every utterance: a digit string): audio bytes (raw body or multipart field "audio"/"file", optionally beside a "profile" from
 * /adapt) -> digit, probabilities, timings.
 * read (limits) -> decode (routes/decoding.ts: off the event loop when it could be slow) -> recognize
 * (models/recognize.ts: find speech, features, classify), in an inference worker (routes/inference.ts), never on
 * the event loop.
 */
import type { Classifier } from "../models/classifier.ts";
import { decodeProfile, type Profile, ProfileError } from "../models/profile.ts";
import type { ServedModels } from "../models/served.ts";
import { type BodyLimits, parseMultipart, readBodyBytes } from "./body.ts";
import type { AudioDecoder } from "./decoding.ts";
import { ApiError } from "./errors.ts";
import type { Inference } from "./inference.ts";
import { AUDIO_FIELD, AUDIO_FIELD_ALIAS, INCLUDE_SPECTROGRAM, PROFILE_FIELD, REJECT_OFF } from "./contract.ts";
import { apiApp, type ApiDefinitions } from "./definitions.ts";
import { metrics } from "./metrics.ts";

/** Parts a /predict or /transcribe form may have: the audio, a profile, and a few a client may add. */
export const MAX_PARTS = 8;

/** The audio of a request, and with multipart the speaker profile beside it (text field "profile"). */
export async function readAudioRequest(req: Request, limits: BodyLimits): Promise<{ bytes: Uint8Array; profile?: string }> {
  const bytes = await readBodyBytes(req, limits);
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("multipart/form-data")) {
    // Any other type (audio/*, application/octet-stream, curl's default form type) is read as raw bytes,
    // and the bytes themselves say what they are.
    return { bytes };
  }
  const form = await parseMultipart(bytes, type, MAX_PARTS);
  const file = form.get(AUDIO_FIELD) ?? form.get(AUDIO_FIELD_ALIAS);
  if (!(file instanceof File)) {
    throw new ApiError(400, "empty_body", `the form has no file field named "${AUDIO_FIELD}" (or "${AUDIO_FIELD_ALIAS}")`);
  }
  const profile = form.get(PROFILE_FIELD);
  if (profile instanceof File) {
    throw new ApiError(400, "bad_profile", `the "${PROFILE_FIELD}" field must be text (the string /adapt returned), not a file`);
  }
  return { bytes: new Uint8Array(await file.arrayBuffer()), profile: profile ?? undefined };
}

/**
 * `?reject=`: "off", a refusal point, or absent (the model's own). The route's schema (routes/definitions.ts)
 * has already refused anything but "off" or a number in (0, 1].
 */
export function readReject(value: string | undefined): number | "off" | undefined {
  if (value === undefined) return undefined;
  return value === REJECT_OFF ? "off" : Number(value);
}

/** The profile string checked against the model that will answer (400 bad_profile, 409 profile_mismatch). */
export function readProfile(text: string | undefined, classifier: Classifier): Profile | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  try {
    return decodeProfile(text, classifier);
  } catch (e) {
    if (e instanceof ProfileError) throw new ApiError(e.code === "profile_mismatch" ? 409 : 400, e.code, e.message);
    throw e;
  }
}

/**
 * The model `?model=` names, or the default. The route's schema admits only served names (an unknown one is
 * a 400 unknown_model there), so a miss here is a bug.
 */
export function pickModel(served: ServedModels, name: string | undefined) {
  if (name === undefined) return served.default;
  const model = served.byName(name);
  if (!model) throw new Error(`pickModel: "${name}" passed the route's schema but is not served`);
  return model;
}

/** What /predict and /transcribe both read: the model, the audio (decoded), the speaker's profile, the refusal point. */
async function readRecognitionRequest(
  req: Request,
  query: { model?: string; reject?: string },
  served: ServedModels,
  decoder: AudioDecoder,
  limits: BodyLimits,
) {
  const started = performance.now();
  const { bytes, profile } = await readAudioRequest(req, limits);
  return prepareRecognition(served, decoder, { bytes, profile, ...query }, started);
}

/**
 * The audio bytes (already read under the body limits), the profile text and the query values -> what
 * recognize()/transcribe() take. The REST routes and the Gradio protocol (routes/gradio.ts) both come here,
 * so the model choice, the checks and the decoding are one path. `model` and `reject` must already be valid.
 */
export async function prepareRecognition(
  served: ServedModels,
  decoder: AudioDecoder,
  input: { bytes: Uint8Array; profile?: string; model?: string; reject?: string },
  started = performance.now(),
) {
  const { classifier } = pickModel(served, input.model);
  const reject = readReject(input.reject);
  if (input.bytes.length === 0) throw new ApiError(400, "empty_body", "the request has no audio (empty body)");
  const speaker = readProfile(input.profile, classifier);
  const audio = await decoder.decode(input.bytes);
  return { classifier, audio, speaker, reject, decodeMs: performance.now() - started };
}

export function predictRoutes(
  definitions: ApiDefinitions,
  served: ServedModels,
  decoder: AudioDecoder,
  limits: BodyLimits,
  inference: Inference,
) {
  return apiApp().openapi(definitions.transcribe, async (c) => {
    const request = await readRecognitionRequest(c.req.raw, c.req.valid("query"), served, decoder, limits);
    const { classifier, audio, speaker, reject, decodeMs } = request;
    const model = classifier.identity.name;
    const answer = await inference.run({ kind: "transcribe", model, audio, decodeMs, profile: speaker, reject });
    metrics.observeAnswer(answer);
    return c.json(answer, 200);
  }).openapi(definitions.predict, async (c) => {
    const query = c.req.valid("query");
    const { classifier, audio, speaker, reject, decodeMs } = await readRecognitionRequest(c.req.raw, query, served, decoder, limits);
    // The page asks for the picture the model judged; API clients get the lean answer by default.
    const spectrogram = query.include === INCLUDE_SPECTROGRAM;
    const model = classifier.identity.name;
    const answer = await inference.run({ kind: "predict", model, audio, decodeMs, spectrogram, profile: speaker, reject });
    metrics.observeAnswer(answer);
    return c.json(answer, 200);
  });
}
