/** Server settings from environment variables, read once at start. */
import { findModelFolders } from "../models/served.ts";

export interface ServerConfig {
  port: number;
  host: string;
  /**
   * Model folders served (paths). From MODEL_DIR (one folder), or MODELS (names under MODELS_DIR, in that order,
   * the first the default), or else every model folder under MODELS_DIR (the default chosen by its figures).
   */
  modelDirs: string[];
  /** Whether the operator fixed the order (and so the default). */
  modelsOrdered: boolean;
  /** Request bodies over this many bytes are refused (413 too_large) before they are read whole. */
  maxBodyBytes: number;
  /** Decoded audio longer than this is refused (413 too_long). */
  maxAudioSeconds: number;
  /** Allowed origins for CORS ("*" or a comma list); empty = CORS off. */
  corsOrigin: string;
  /** Folder of example clips shown on the page. */
  examplesDir: string;
  /** One log line per request. */
  logRequests: boolean;
  /** A request body must arrive whole within this many seconds (408 timeout). */
  bodyTimeoutS: number;
  /** Web Workers that decode compressed and large uploads, off the event loop. */
  decodeWorkers: number;
  /** A decode that takes longer is stopped (its worker terminated) and answered 400. */
  decodeTimeoutS: number;
  /** A decode that grows the process's memory by more than this is stopped likewise, MB. */
  decodeMemoryMb: number;
  /** Web Workers that run the models (routes/inference.ts): by default one per core. */
  inferenceWorkers: number;
  /** A request's inference (waiting for a core included) past this is answered 503 timeout. */
  inferenceTimeoutS: number;
  /** Inference jobs that may wait for a core; past it, 503 busy. */
  inferenceQueue: number;
}

function numberFrom(env: (k: string) => string | undefined, key: string, fallback: number, min = Number.MIN_VALUE): number {
  const raw = env(key);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${key}=${raw} must be a number >= ${min}`);
  return value;
}

export function readConfig(env: (k: string) => string | undefined = (k) => Deno.env.get(k)): ServerConfig {
  return {
    port: numberFrom(env, "PORT", 7860, 0), // 0: any free port (tests)
    host: env("HOST") || "0.0.0.0",
    ...modelFolders(env),
    maxBodyBytes: numberFrom(env, "MAX_BODY_BYTES", 10 * 1024 * 1024),
    maxAudioSeconds: numberFrom(env, "MAX_AUDIO_SECONDS", 60),
    corsOrigin: env("CORS_ORIGIN") || "",
    examplesDir: env("EXAMPLES_DIR") || "static/examples",
    logRequests: env("LOG_REQUESTS") !== "0",
    bodyTimeoutS: numberFrom(env, "BODY_TIMEOUT_S", 30),
    decodeWorkers: Math.round(numberFrom(env, "DECODE_WORKERS", 1, 1)),
    decodeTimeoutS: numberFrom(env, "DECODE_TIMEOUT_S", 5),
    decodeMemoryMb: numberFrom(env, "DECODE_MEMORY_MB", 256),
    inferenceWorkers: Math.round(numberFrom(env, "INFERENCE_WORKERS", navigator.hardwareConcurrency || 1, 1)),
    inferenceTimeoutS: numberFrom(env, "INFERENCE_TIMEOUT_S", 20),
    inferenceQueue: Math.round(numberFrom(env, "INFERENCE_QUEUE", 64, 0)),
  };
}

function modelFolders(env: (k: string) => string | undefined): { modelDirs: string[]; modelsOrdered: boolean } {
  const single = env("MODEL_DIR");
  if (single) return { modelDirs: [single.replace(/\/+$/, "")], modelsOrdered: true };
  const root = env("MODELS_DIR") || "models";
  const listed = (env("MODELS") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (listed.length) return { modelDirs: listed.map((name) => `${root}/${name}`), modelsOrdered: true };
  return { modelDirs: findModelFolders(root).map((name) => `${root}/${name}`), modelsOrdered: false };
}
