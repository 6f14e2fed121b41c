/**
 * Runs in a Web Worker of routes/decoding.ts: untrusted bytes -> mono samples at the model's rate. The WASM
 * codecs and the resampler run here, off the server's event loop, so a file that is slow or heavy to decode
 * can be stopped (the worker terminated) without stalling anything else.
 */
/// <reference lib="deno.worker" />
import { decodeAudio, warmDecoders } from "../dsp/decode.ts";
import { AudioError } from "../dsp/errors.ts";
import { resample } from "../dsp/resample.ts";

export interface DecodeJob {
  id: number;
  bytes: Uint8Array;
  maxDurationS: number;
  /** The model's rate: samples come back resampled to it. */
  targetRate: number;
  /** The job stops itself this long after it starts (the pool answers at the same time, and replaces the worker). */
  budgetMs: number;
}

export type DecodeReply =
  | { id: number; ok: true; samples: Float32Array; format: string; channels: number; sourceRate: number }
  | { id: number; ok: false; code: AudioError["code"] | "internal"; message: string };

// The handler is set before the codecs are warmed: a message that arrived with no handler would be lost.
const warmed = warmDecoders().then(() => self.postMessage({ ready: true }));

self.onmessage = async ({ data: job }: MessageEvent<DecodeJob>) => {
  // The pool's clock started when it posted the job: so does this one, warming included.
  const deadline = performance.now() + job.budgetMs;
  await warmed;
  try {
    const audio = await decodeAudio(job.bytes, { maxDurationS: job.maxDurationS, deadline });
    const samples = resample(audio.samples, audio.sampleRate, job.targetRate);
    const reply: DecodeReply = {
      id: job.id,
      ok: true,
      samples,
      format: audio.format,
      channels: audio.channels,
      sourceRate: audio.sampleRate,
    };
    self.postMessage(reply, [samples.buffer as ArrayBuffer]);
  } catch (e) {
    const reply: DecodeReply = e instanceof AudioError
      ? { id: job.id, ok: false, code: e.code, message: e.message }
      : { id: job.id, ok: false, code: "internal", message: String((e as Error)?.message ?? e) };
    self.postMessage(reply);
  }
};
