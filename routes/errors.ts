/** Every error the API returns, as `{ error: { code, message } }` with a fitting status. One place. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AudioError, type AudioErrorCode } from "../dsp/errors.ts";

/** Every error code the API answers with (the OpenAPI document lists the same). */
export const API_ERROR_CODES = [
  "empty_body",
  "undecodable",
  "too_large",
  "too_long",
  "unsupported_format",
  "no_speech",
  "not_found",
  "method_not_allowed",
  "unknown_model",
  "timeout",
  "bad_profile",
  "profile_mismatch",
  "bad_takes",
  "bad_parameter",
  "busy",
  "shutting_down",
  "internal",
] as const;

export type ApiErrorCode = typeof API_ERROR_CODES[number];

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ApiErrorCode,
    message: string,
    /** Extra response headers (Allow on a 405, Connection: close on a 408). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const FROM_AUDIO: Record<AudioErrorCode, [ContentfulStatusCode, ApiErrorCode]> = {
  empty: [400, "empty_body"],
  truncated: [400, "undecodable"],
  undecodable: [400, "undecodable"],
  no_channels: [400, "undecodable"],
  bad_sample_rate: [400, "undecodable"],
  unsupported_format: [415, "unsupported_format"],
  too_long: [413, "too_long"],
  no_speech: [422, "no_speech"],
};

export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: ApiErrorCode,
  message: string,
  headers: Record<string, string> = {},
) {
  return c.json({ error: { code, message } }, status, headers);
}

/** app.onError: known errors become their JSON; anything else is a 500 that hides internals but is logged. */
export function handleError(err: Error, c: Context) {
  if (err instanceof ApiError) return errorResponse(c, err.status, err.code, err.message, err.headers);
  if (err instanceof AudioError) {
    const [status, code] = FROM_AUDIO[err.code];
    return errorResponse(c, status, code, err.message);
  }
  console.error(`${c.req.method} ${c.req.path} failed:`, err);
  return errorResponse(c, 500, "internal", "internal error; the server logged it");
}
