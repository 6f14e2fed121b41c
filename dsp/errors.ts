/** Why a piece of audio could not be turned into features. `code` is stable; clients branch on it. */
export type AudioErrorCode =
  | "empty"
  | "truncated"
  | "undecodable"
  | "unsupported_format"
  | "no_channels"
  | "bad_sample_rate"
  | "too_long"
  | "no_speech";

export class AudioError extends Error {
  constructor(readonly code: AudioErrorCode, message: string) {
    super(message);
    this.name = "AudioError";
  }
}

/** Rates outside this range are not audio we can sensibly resample (and guard against header garbage). */
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 192000;

export function checkSampleRate(rate: number): void {
  if (!Number.isFinite(rate) || rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE) {
    throw new AudioError(
      "bad_sample_rate",
      `sample rate ${rate} Hz is outside ${MIN_SAMPLE_RATE}-${MAX_SAMPLE_RATE} Hz`,
    );
  }
}
