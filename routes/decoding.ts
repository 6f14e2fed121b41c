/**
 * Decoding uploads without putting the server at risk. Small WAV files are read in place (our own reader is
 * bounded and linear: a 1 MB file takes ~2 ms). Everything else, every compressed format and any large WAV,
 * is decoded and resampled in a pool of Web Workers, each job under a time budget and a memory budget: a job
 * over either is answered 400 and its worker is terminated (then replaced), so no upload can hold the event
 * loop or keep memory. Measured before: a 3 KB forged M4A held the loop for 9-14 s and 1.5 GB.
 *
 * A small WAV is resampled in place only when that is cheap (resampleCost); otherwise it goes to a worker
 * like the rest (before: a 1 MB WAV at 383,999 Hz held the event loop 3.3 s). A worker's job stops itself at
 * its deadline and yields between chunks (dsp/decode.ts), because terminate() cannot stop a Deno worker in
 * the middle of a long task: before, four forged files left five threads burning cores for 25 s after their
 * answers.
 */
import { decodeAudio } from "../dsp/decode.ts";
import { AudioError } from "../dsp/errors.ts";
import { resample, resampleCost } from "../dsp/resample.ts";
import { isWav } from "../dsp/wav.ts";
import type { DecodedInput } from "../models/recognize.ts";
import type { DecodeJob, DecodeReply } from "./decode_worker.ts";

export interface DecoderOptions {
  maxDurationS: number;
  /** Samples are returned at this rate (the model's). */
  targetRate: number;
  workers: number;
  timeoutMs: number;
  /** Growth of the process's RSS during a job beyond which the job's worker is stopped, bytes. */
  memoryBudgetBytes: number;
  /** WAV files up to this size are read on the main thread (and resampled there when that is cheap). */
  inlineWavBytes: number;
}

/** A job past its time budget has this long to stop itself before its worker is terminated, ms. */
const STOP_GRACE_MS = 2000;

/** Resampling cheaper than this many multiply-adds (~2-5 ms) is done on the event loop; dearer goes to a worker. */
export const INLINE_RESAMPLE_COST = 4e6;

export interface AudioDecoder {
  /** `maxDurationS` lowers the limit for this file (an /adapt take). */
  decode(bytes: Uint8Array, options?: { maxDurationS?: number }): Promise<DecodedInput>;
  /** Resolves once every worker has compiled its codecs. */
  ready: Promise<void>;
  close(): void;
  /** Jobs waiting for a worker, and workers at work (GET /metrics). */
  load?(): { queued: number; busy: number };
}

interface Pending {
  job: DecodeJob;
  resolve: (audio: DecodedInput) => void;
  reject: (e: Error) => void;
}

class Slot {
  worker!: Worker;
  ready!: Promise<void>;
  /** The job running; `answered` once its caller has had its error (the job may still be stopping). */
  current: { pending: Pending; timer: ReturnType<typeof setTimeout>; rssAtStart: number; answered: boolean } | null = null;
  constructor(private readonly onReply: (slot: Slot, reply: DecodeReply) => void) {
    this.spawn();
  }
  spawn() {
    this.worker = new Worker(new URL("./decode_worker.ts", import.meta.url).href, { type: "module" });
    this.ready = new Promise((resolve) => {
      this.worker.onmessage = (e: MessageEvent) => {
        if (e.data?.ready) return resolve();
        this.onReply(this, e.data as DecodeReply);
      };
    });
  }
}

export function createDecoder(options: DecoderOptions): AudioDecoder {
  const queue: Pending[] = [];
  const slots: Slot[] = [];
  let nextId = 1;
  let watchdog: ReturnType<typeof setInterval> | undefined;

  const finish = (slot: Slot) => {
    if (slot.current) clearTimeout(slot.current.timer);
    slot.current = null;
    pump();
  };

  /**
   * Stops a job that went over budget: its worker is terminated and a fresh one takes the slot. terminate()
   * takes effect when the job next yields (dsp/decode.ts yields every 20 ms), and a fresh worker compiles
   * every codec again (~1 s of CPU), so a job past its time budget is first left to stop itself (it has the
   * same deadline): its caller is answered now, and only a job still running STOP_GRACE_MS later is terminated.
   */
  const abort = (slot: Slot, why: string) => {
    const current = slot.current;
    slot.worker.terminate();
    slot.spawn();
    finish(slot);
    if (current && !current.answered) current.pending.reject(new AudioError("undecodable", why));
  };

  const overtime = (slot: Slot) => {
    const current = slot.current!;
    current.answered = true;
    current.pending.reject(
      new AudioError(
        "undecodable",
        `decoding took longer than ${options.timeoutMs / 1000} s; the file is damaged or built to stall a decoder`,
      ),
    );
    current.timer = setTimeout(() => abort(slot, "still running"), STOP_GRACE_MS);
  };

  const onReply = (slot: Slot, reply: DecodeReply) => {
    const current = slot.current;
    if (!current || current.pending.job.id !== reply.id) return;
    const pending = current.pending;
    finish(slot);
    if (current.answered) return; // it stopped itself after its caller was answered
    if (!reply.ok) {
      if (reply.code === "internal") return pending.reject(new Error(reply.message));
      return pending.reject(new AudioError(reply.code, reply.message));
    }
    pending.resolve({
      samples: reply.samples,
      sampleRate: options.targetRate,
      sourceRate: reply.sourceRate,
      format: reply.format,
      channels: reply.channels,
    });
  };

  const checkMemory = () => {
    const busy = slots.filter((s) => s.current);
    if (busy.length === 0) {
      clearInterval(watchdog);
      watchdog = undefined;
      return;
    }
    const rss = Deno.memoryUsage().rss;
    for (const slot of busy) {
      if (rss - slot.current!.rssAtStart > options.memoryBudgetBytes) {
        abort(slot, `decoding needed more than ${Math.round(options.memoryBudgetBytes / 2 ** 20)} MB; the file is damaged or forged`);
      }
    }
  };

  const pump = () => {
    for (const slot of slots) {
      if (slot.current || queue.length === 0) continue;
      const pending = queue.shift()!;
      const timer = setTimeout(() => overtime(slot), options.timeoutMs);
      slot.current = { pending, timer, rssAtStart: Deno.memoryUsage().rss, answered: false };
      slot.worker.postMessage(pending.job, [pending.job.bytes.buffer as ArrayBuffer]);
      watchdog ??= setInterval(checkMemory, 20);
    }
  };

  for (let i = 0; i < options.workers; i++) slots.push(new Slot(onReply));

  return {
    ready: Promise.all(slots.map((s) => s.ready)).then(() => {}),
    load: () => ({ queued: queue.length, busy: slots.filter((s) => s.current).length }),
    async decode(bytes: Uint8Array, limits: { maxDurationS?: number } = {}): Promise<DecodedInput> {
      const maxDurationS = Math.min(limits.maxDurationS ?? Infinity, options.maxDurationS);
      if (isWav(bytes) && bytes.length <= options.inlineWavBytes) {
        const audio = await decodeAudio(bytes, { maxDurationS });
        if (resampleCost(audio.samples.length, audio.sampleRate, options.targetRate) <= INLINE_RESAMPLE_COST) {
          const samples = resample(audio.samples, audio.sampleRate, options.targetRate);
          return { samples, sampleRate: options.targetRate, sourceRate: audio.sampleRate, format: audio.format, channels: audio.channels };
        }
      }
      // The worker takes ownership of the bytes' buffer: give it a copy it can own alone.
      const job: DecodeJob = {
        id: nextId++,
        bytes: bytes.slice(),
        maxDurationS,
        targetRate: options.targetRate,
        budgetMs: options.timeoutMs,
      };
      return new Promise((resolve, reject) => {
        queue.push({ job, resolve, reject });
        pump();
      });
    },
    close() {
      clearInterval(watchdog);
      for (const slot of slots) {
        if (slot.current) clearTimeout(slot.current.timer);
        slot.worker.terminate();
      }
    },
  };
}
