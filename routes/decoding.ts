/**
 * Decoding uploads without putting the server at risk. Small WAV files are read in place (our own reader is
 * bounded and linear: a 1 MB file takes ~2 ms). Everything else, every compressed format and any large WAV,
 * is decoded and resampled in a pool of Web Workers, each job under a time budget and a memory budget: a job
 * over either is answered 400 and its worker is terminated (then replaced), so no upload can hold the event
 * loop or keep memory. Measured before: a 3 KB forged M4A held the loop for 9-14 s and 1.5 GB.
 */
import { decodeAudio } from "../dsp/decode.ts";
import { AudioError } from "../dsp/errors.ts";
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
  /** WAV files up to this size are read on the main thread. */
  inlineWavBytes: number;
}

export interface AudioDecoder {
  decode(bytes: Uint8Array): Promise<DecodedInput>;
  /** Resolves once every worker has compiled its codecs. */
  ready: Promise<void>;
  close(): void;
}

interface Pending {
  job: DecodeJob;
  resolve: (audio: DecodedInput) => void;
  reject: (e: Error) => void;
}

class Slot {
  worker!: Worker;
  ready!: Promise<void>;
  current: { pending: Pending; timer: ReturnType<typeof setTimeout>; rssAtStart: number } | null = null;
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

  /** Stops a job that went over budget: its worker dies with it, and a fresh one takes the slot. */
  const abort = (slot: Slot, why: string) => {
    const pending = slot.current?.pending;
    slot.worker.terminate();
    slot.spawn();
    finish(slot);
    pending?.reject(new AudioError("undecodable", why));
  };

  const onReply = (slot: Slot, reply: DecodeReply) => {
    const pending = slot.current?.pending;
    if (!pending || pending.job.id !== reply.id) return;
    finish(slot);
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
      const timer = setTimeout(
        () => abort(slot, `decoding took longer than ${options.timeoutMs / 1000} s; the file is damaged or built to stall a decoder`),
        options.timeoutMs,
      );
      slot.current = { pending, timer, rssAtStart: Deno.memoryUsage().rss };
      slot.worker.postMessage(pending.job, [pending.job.bytes.buffer as ArrayBuffer]);
      watchdog ??= setInterval(checkMemory, 20);
    }
  };

  for (let i = 0; i < options.workers; i++) slots.push(new Slot(onReply));

  return {
    ready: Promise.all(slots.map((s) => s.ready)).then(() => {}),
    decode(bytes: Uint8Array): Promise<DecodedInput> {
      if (isWav(bytes) && bytes.length <= options.inlineWavBytes) {
        return decodeAudio(bytes, { maxDurationS: options.maxDurationS });
      }
      // The worker takes ownership of the bytes' buffer: give it a copy it can own alone.
      const job: DecodeJob = { id: nextId++, bytes: bytes.slice(), maxDurationS: options.maxDurationS, targetRate: options.targetRate };
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
