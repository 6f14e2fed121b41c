/**
 * The page's side of live spotting: starts islands/live_worker.ts (its own tfjs on WASM, off the page's thread),
 * feeds it the microphone's chunks, and hands each confirmed digit back with how long after its word's end it
 * reached the page.
 */
import type { StreamDigit } from "../models/spotter_stream.ts";
import type { LiveReply, LiveRequest } from "./live_worker.ts";

const WORKER = ["/static", "build", "live_worker.js"].join("/");
/** How long stopping waits for the last digit (the flush is ~1 s of silence: ~15 vectors, ~0.2 s of work). */
const FLUSH_WAIT_MS = 3000;

export interface LiveSpotting {
  backend: string;
  /** A microphone chunk, stamped with performance.now() at its arrival. */
  push(chunk: Float32Array, sampleRate: number, pushedAt: number): void;
  /** Listening stopped: the last digit, made final by silence; resolves once it has been handed on. */
  flush(pushedAt: number): Promise<void>;
  stop(): void;
}

/** A digit the spotter confirmed, with performance.now() at the end of its word (as the spotter places it). */
export type SpottedLive = StreamDigit & { wordEndedAt: number };

export function startLiveSpotting(
  model: string,
  onDigits: (digits: SpottedLive[]) => void,
  onError: (message: string) => void,
): Promise<LiveSpotting> {
  const worker = new Worker(WORKER, { type: "module" });
  const post = (request: LiveRequest, transfer: Transferable[] = []) => worker.postMessage(request, transfer);
  let flushed: (() => void) | undefined;
  let started = false;
  return new Promise((resolve, reject) => {
    worker.onerror = (e) => {
      const message = e.message || "the live spotter's worker failed";
      // Before it was ready: refused, and nothing left running. After: the page is told; listening goes on by pauses.
      if (!started) worker.terminate();
      reject(new Error(message));
      onError(message);
    };
    worker.onmessage = ({ data }: MessageEvent<LiveReply>) => {
      if ("ready" in data) {
        started = true;
        resolve({
          backend: data.ready.backend,
          push: (chunk, sampleRate, pushedAt) => post({ chunk, sampleRate, pushedAt }, [chunk.buffer as ArrayBuffer]),
          // A worker that died answers nothing: listening ends anyway after FLUSH_WAIT_MS.
          flush: (pushedAt) =>
            new Promise<void>((done) => {
              flushed = done;
              setTimeout(done, FLUSH_WAIT_MS);
              post({ flush: true, pushedAt });
            }),
          stop: () => worker.terminate(),
        });
      } else if ("error" in data) {
        if (!started) worker.terminate();
        reject(new Error(data.error));
        onError(data.error);
      } else {
        // Where the word ended, on this page's clock: the chunk's arrival less the audio pushed after the word.
        onDigits(data.digits.map((d) => ({ ...d, wordEndedAt: data.pushedAt - (data.positionS - d.end_s) * 1000 })));
        if (data.flushed) flushed?.();
      }
    };
    post({ start: { model } });
  });
}
