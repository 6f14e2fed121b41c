/**
 * Live listening's spotter in a Web Worker (bundled to static/build/live_worker.js): its own tfjs on the WASM backend
 * (SIMD), so the page's thread never waits for the network, and a GPU is not needed (one 0.78 s window every 80 ms:
 * ~15 ms on one core in WASM; 300 ms on a software WebGL, where the readback of every vector stalls). The page posts
 * the microphone's chunks (islands/live_spotting.ts) and gets back each digit the spotter confirms
 * (models/spotter_stream.ts), with the chunk's time stamp so that it can say how late the digit came.
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createStreamResampler, type StreamResampler } from "../dsp/resample.ts";
import type { FeaturesFile } from "../models/model_format.ts";
import { type EmbeddingGraph, speechEmbeddingFrom } from "../models/embedding.ts";
import { type SpotterFile, spotterFrom } from "../models/spotter.ts";
import { createSpotterStream, type SpotterStream, type StreamDigit } from "../models/spotter_stream.ts";

export type LiveRequest =
  | { start: { model: string } }
  | { chunk: Float32Array; sampleRate: number; pushedAt: number }
  | { flush: true; pushedAt: number };

export type LiveReply =
  | { ready: { backend: string } }
  | { error: string }
  | { digits: StreamDigit[]; positionS: number; pushedAt: number; flushed?: true };

const port = self as unknown as { postMessage(reply: LiveReply): void; onmessage: ((e: MessageEvent<LiveRequest>) => void) | null };

let stream: SpotterStream | undefined;
const LIVE_LIMIT_S = 65;
let modelRate = 8000;
let resampler: { rate: number; resampler: StreamResampler } | undefined;

async function start(model: string) {
  setWasmPaths("/static/build/");
  if (!(await tf.setBackend("wasm"))) throw new Error("the WASM backend could not start");
  await tf.ready();
  const json = <T>(url: string) =>
    fetch(url).then((r) => {
      if (!r.ok) throw new Error(`${url}: ${r.status}`);
      return r.json() as Promise<T>;
    });
  const features = await json<FeaturesFile>(`/models/${model}/features.json`);
  const embeddingFolder = features.config.embedding?.model;
  if (!embeddingFolder) throw new Error(`${model} does not sit on the speech embedding`);
  const [graph, weights, head, file] = await Promise.all([
    json<EmbeddingGraph>(`/models/${embeddingFolder}/graph.json`),
    fetch(`/models/${embeddingFolder}/weights.bin`).then((r) => r.arrayBuffer()),
    tf.loadLayersModel(`/models/${model}/spotter_live/model.json`),
    json<SpotterFile>(`/models/${model}/spotter_live/spotter.json`),
  ]);
  modelRate = features.config.sampleRate;
  // A few seconds over the page's MAX_LIVE_S: its timer runs on the clock, the stream counts audio.
  stream = createSpotterStream(spotterFrom(head, file), speechEmbeddingFrom(graph, weights, ""), features.config, LIVE_LIMIT_S);
}

port.onmessage = async ({ data }) => {
  try {
    if ("start" in data) {
      await start(data.start.model);
      return port.postMessage({ ready: { backend: tf.getBackend() } });
    }
    if (!stream) throw new Error("live listening has not started");
    if ("flush" in data) {
      // Where the audio ended, before the flush's silence: the page places the words from the last chunk's arrival.
      const positionS = stream.positionS;
      return port.postMessage({ digits: stream.flush(), positionS, pushedAt: data.pushedAt, flushed: true });
    }
    if (resampler?.rate !== data.sampleRate) {
      resampler = { rate: data.sampleRate, resampler: createStreamResampler(data.sampleRate, modelRate) };
    }
    const digits = stream.push(resampler.resampler.push(data.chunk));
    if (digits.length > 0) port.postMessage({ digits, positionS: stream.positionS, pushedAt: data.pushedAt });
  } catch (e) {
    port.postMessage({ error: (e as Error)?.message ?? String(e) });
  }
};
