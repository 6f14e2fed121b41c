/**
 * The island's view of the API: /predict, /transcribe and /adapt, and their errors in plain words. Paths, fields
 * and parameters come from routes/contract.ts, which the route definitions (and so /openapi.json) are built from.
 */
import type { Prediction } from "../models/recognize.ts";
import { AUDIO_FIELD, INCLUDE_SPECTROGRAM, PATHS, PROFILE_FIELD, QUERY } from "../routes/contract.ts";
import type { HeardTake } from "../models/profile.ts";
import type { Transcription } from "../models/transcribe.ts";

export type { HeardTake, Prediction, Transcription };

const PLAIN_WORDS: Record<string, string> = {
  no_speech: "No speech found. Try again, a little closer to the microphone.",
  empty_body: "The file is empty.",
  undecodable: "That file could not be read as audio. Is it damaged, or not a sound file?",
  unsupported_format: "That audio format is not supported. Try WAV, MP3, OGG, Opus, WebM, FLAC or M4A.",
  too_large: "The file is too large.",
  too_long: "The recording is too long. Say one digit, a few seconds at most.",
  profile_mismatch: "Your voice profile was made for another model version: teach it again.",
  bad_profile: "Your voice profile is damaged: reset it and teach it again.",
};

export class PredictError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** Server errors and dsp/ AudioErrors (in-browser mode) both carry a `code`. */
export function plainWords(error: unknown): string {
  const code = (error as { code?: string })?.code;
  if (code) return PLAIN_WORDS[code] ?? (error as Error).message;
  return `Something went wrong: ${(error as Error)?.message ?? error}`;
}

async function answer<T>(response: Response): Promise<T> {
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new PredictError(body?.error?.code ?? "http", body?.error?.message ?? `HTTP ${response.status}`);
  return body as T;
}

/** With a profile the audio goes as multipart beside it; without, as the raw body. */
function audioRequest(audio: Blob, profile?: string): RequestInit {
  if (!profile) return { method: "POST", body: audio, headers: { "content-type": audio.type || "application/octet-stream" } };
  const body = new FormData();
  body.append(AUDIO_FIELD, audio, "audio");
  body.append(PROFILE_FIELD, profile);
  return { method: "POST", body };
}

const url = (path: string, query: Record<string, string>) => `${path}?${new URLSearchParams(query)}`;

export async function predictOnServer(audio: Blob, model: string, profile?: string): Promise<Prediction> {
  const query = { [QUERY.include]: INCLUDE_SPECTROGRAM, [QUERY.model]: model };
  return answer(await fetch(url(PATHS.predict, query), audioRequest(audio, profile)));
}

export async function transcribeOnServer(audio: Blob, model: string, profile?: string): Promise<Transcription> {
  return answer(await fetch(url(PATHS.transcribe, { [QUERY.model]: model }), audioRequest(audio, profile)));
}

/** The /adapt answer (routes/adapt.ts). */
export interface Adaptation {
  profile: string;
  takes: number[];
  model: string;
  heard: HeardTake[];
}

export async function adaptOnServer(takes: { digit: number; blob: Blob }[], model: string): Promise<Adaptation> {
  const form = new FormData();
  takes.forEach(({ digit, blob }, i) => form.append(String(digit), blob, `take${i}.wav`));
  return answer(await fetch(url(PATHS.adapt, { [QUERY.model]: model }), { method: "POST", body: form }));
}
