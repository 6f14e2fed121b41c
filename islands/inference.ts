/**
 * In-browser inference (bundled apart, to static/build/inference.js, and loaded only when asked for):
 * the same model files, the same dsp/ code and the same classify() as the server, on WebGPU where the
 * browser has it, else WebGL, else WASM. Nothing is uploaded.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { featuresFromAudio } from "../dsp/index.ts";
import { isWav, readWav } from "../dsp/wav.ts";
import { argmax, type Classifier, classify } from "../models/classifier.ts";
import type { FeaturesFile } from "../models/model_format.ts";
import type { Prediction } from "./api.ts";

const BACKENDS = ["webgpu", "webgl", "wasm"];
let loaded: Promise<{ classifier: Classifier; backend: string }> | undefined;

async function pickBackend(): Promise<string> {
  setWasmPaths("/static/build/");
  for (const name of BACKENDS) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        // Run one op: some backends register yet fail on first use (e.g. WebGL without a GPU).
        tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync());
        return name;
      }
    } catch { /* try the next one */ }
  }
  throw new Error("no tfjs backend could start in this browser");
}

export function loadModel(modelName: string): Promise<{ classifier: Classifier; backend: string }> {
  loaded ??= (async () => {
    const backend = await pickBackend();
    const [model, features] = await Promise.all([
      tf.loadLayersModel("/model/model.json"),
      fetch("/model/features.json").then((r) => r.json() as Promise<FeaturesFile>),
    ]);
    const [name, version] = modelName.split("@");
    return { classifier: { model, features, identity: { name, version } }, backend };
  })();
  return loaded;
}

async function decodeInBrowser(blob: Blob, sampleRate: number) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  // Our own WAV reader gives the same samples as the server's, so WAV results match it exactly.
  if (isWav(bytes)) return { ...readWav(bytes), format: "wav" };
  const context = new OfflineAudioContext(1, 1, sampleRate);
  const decoded = await context.decodeAudioData(bytes.buffer);
  return { samples: decoded.getChannelData(0), sampleRate: decoded.sampleRate, channels: decoded.numberOfChannels, format: blob.type || "audio" };
}

export async function predictInBrowser(blob: Blob, modelName: string): Promise<Prediction> {
  const { classifier, backend } = await loadModel(modelName);
  const t0 = performance.now();
  const audio = await decodeInBrowser(blob, classifier.features.config.sampleRate);
  const t1 = performance.now();
  const features = featuresFromAudio(audio.samples, audio.sampleRate, classifier.features.config);
  const t2 = performance.now();
  const [probabilities] = classify(classifier, [features.values]);
  const t3 = performance.now();
  const digit = argmax(probabilities);
  return {
    digit,
    confidence: probabilities[digit],
    probabilities: Array.from(probabilities),
    speech: { start_s: features.speech.startS, end_s: features.speech.endS },
    audio: { format: audio.format, sample_rate: audio.sampleRate, channels: audio.channels, duration_s: audio.samples.length / audio.sampleRate },
    timing_ms: { decode: t1 - t0, features: t2 - t1, inference: t3 - t2, total: t3 - t0 },
    model: modelName,
    spectrogram: { frames: features.logMel.frames, bins: features.logMel.bins, db: Array.from(features.logMel.data), hop_s: classifier.features.config.hopLength / classifier.features.config.sampleRate },
    backend,
  };
}
