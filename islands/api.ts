/** The island's view of /predict: the call, and its errors in plain words. */
import type { Prediction } from "../models/recognize.ts";

export type { Prediction };

const PLAIN_WORDS: Record<string, string> = {
  no_speech: "No speech found. Try again, a little closer to the microphone.",
  empty_body: "The file is empty.",
  undecodable: "That file could not be read as audio. Is it damaged, or not a sound file?",
  unsupported_format: "That audio format is not supported. Try WAV, MP3, OGG, Opus, WebM, FLAC or M4A.",
  too_large: "The file is too large.",
  too_long: "The recording is too long. Say one digit, a few seconds at most.",
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

export async function predictOnServer(audio: Blob, model: string): Promise<Prediction> {
  const response = await fetch(`/predict?include=spectrogram&model=${encodeURIComponent(model)}`, {
    method: "POST",
    body: audio,
    headers: { "content-type": audio.type || "application/octet-stream" },
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new PredictError(body?.error?.code ?? "http", body?.error?.message ?? `HTTP ${response.status}`);
  return body as Prediction;
}
