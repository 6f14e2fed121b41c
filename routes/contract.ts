/**
 * The API's names: paths, multipart fields and query parameters, in one plain module with no dependency.
 * routes/definitions.ts builds the OpenAPI operations (and their validation) from these; the page's client
 * (islands/api.ts) and its "Use via API" snippets (routes/page.ts) read them too, so none of them can drift.
 */
export const PATHS = {
  predict: "/predict",
  transcribe: "/transcribe",
  adapt: "/adapt",
  health: "/health",
  metrics: "/metrics",
  openapi: "/openapi.json",
  docs: "/docs",
  page: "/",
} as const;

/** Multipart fields of /predict and /transcribe: the clip ("file" is accepted too) and a profile from /adapt. */
export const AUDIO_FIELD = "audio";
export const AUDIO_FIELD_ALIAS = "file";
export const PROFILE_FIELD = "profile";

/** /adapt's fields: one per digit, named by it, each repeatable. */
export const TAKE_FIELDS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] as const;

/** Query parameters. */
export const QUERY = { model: "model", reject: "reject", include: "include" } as const;

/** `?include=` values of /predict. */
export const INCLUDE_SPECTROGRAM = "spectrogram";

/** `?reject=`: "off", or a refusal point in (0, 1]. */
export const REJECT_OFF = "off";
export const REJECT_PATTERN = "^(off|0?\\.[0-9]*[1-9][0-9]*|1(\\.0*)?)$";
