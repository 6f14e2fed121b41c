/**
 * What `deno task predict` writes: one row per file, with the API's own answer fields, as CSV (flat columns,
 * loads in pandas as is) or JSON Lines (the answer's JSON with the path; pandas.read_json(lines=True)).
 */
import type { Prediction } from "../recognize.ts";
import type { Transcription } from "../transcribe.ts";

export interface LabelJob {
  paths: string[];
  modelDir: string;
  profile?: string;
  transcribe: boolean;
  reject?: number | "off";
  maxAudioS: number;
  maxBytes: number;
}

export interface LabelRow {
  path: string;
  prediction?: Prediction;
  transcription?: Transcription;
  /** The API's error code, when the file could not be labelled. */
  error?: string;
  message?: string;
}

export type WorkerMessage = { rows: LabelRow[] } | { fatal: string };

const DIGITS = Array.from({ length: 10 }, (_, d) => `p${d}`);

export function csvHeader(withTranscript: boolean): string {
  const columns = [
    "path",
    "digit",
    "label",
    "confidence",
    "unknown",
    ...DIGITS,
    "speech_start_s",
    "speech_end_s",
    "duration_s",
    "utterances",
  ];
  if (withTranscript) columns.push("text");
  columns.push("profile", "generic_digit", "model", "error", "message");
  return columns.join(",");
}

/** RFC 4180 quoting: only when a field needs it. */
function field(value: unknown): string {
  const text = value === undefined || value === null ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(row: LabelRow, withTranscript: boolean): string {
  const p = row.prediction;
  const values: unknown[] = [
    row.path,
    p?.digit,
    p?.label,
    p?.confidence,
    p?.unknown,
    ...DIGITS.map((_, d) => p?.probabilities[d]),
    p?.speech.start_s,
    p?.speech.end_s,
    p?.audio.duration_s,
    p?.utterances,
  ];
  if (withTranscript) values.push(row.transcription?.text);
  values.push(p?.profile ? "true" : p ? "false" : "", p?.generic?.digit, p?.model, row.error, row.message);
  return values.map(field).join(",");
}

export function jsonLine(row: LabelRow): string {
  const { path, prediction, transcription, error, message } = row;
  if (error) return JSON.stringify({ path, error: { code: error, message } });
  return JSON.stringify({ path, ...prediction, ...(transcription ? { transcription } : {}) });
}
