/**
 * In-browser inference (bundled apart, to static/build/inference.js, and loaded only when asked for):
 * the same model files, the same dsp/ code and the same recognize() as the server, on WebGPU where the
 * browser has it, else WebGL, else WASM. Nothing is uploaded.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { isWav, readWav } from "../dsp/wav.ts";
import { type Adaptation, PredictError } from "./api.ts";
import { featuresFromAudio } from "../dsp/index.ts";
import { adaptToTakes, decodeProfile, encodeProfile, ProfileError } from "../models/profile.ts";
import { rejectHeadFor } from "../models/reject.ts";
import { type SpotterFile, spotterFrom } from "../models/spotter.ts";
import type { Classifier } from "../models/classifier.ts";
import { prepareNetwork } from "../models/network.ts";
import { type EmbeddingGraph, embedVectors, type SpeechEmbedding, speechEmbeddingFrom } from "../models/embedding.ts";
import type { ModelChoice } from "./Recognizer.ts";
import type { FeaturesFile } from "../models/model_format.ts";
import { type Prediction, recognize } from "../models/recognize.ts";
import { transcribe, type Transcription } from "../models/transcribe.ts";

const BACKENDS = ["webgpu", "webgl", "wasm"];
/** One load per model, kept: switching back to a model does not download it again. */
const loaded = new Map<string, Promise<{ classifier: Classifier; backend: string }>>();
let backendReady: Promise<string> | undefined;

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

/** What the first run is doing, for the page to show (it downloads ~1.5 MB of model and starts a GPU backend). */
export type Progress = (message: string) => void;

/** The model as the page lists it (name@version, and whether it has a refusal head); files from /models/<name>/. */
export function loadModel(choice: ModelChoice, progress: Progress = () => {}): Promise<{ classifier: Classifier; backend: string }> {
  const modelId = choice.id;
  const existing = loaded.get(modelId);
  if (existing) return existing;
  const loading = (async () => {
    progress("Starting the in-browser engine (WebGPU, WebGL or WASM)…");
    backendReady ??= pickBackend().catch((e) => {
      backendReady = undefined;
      throw e;
    });
    const backend = await backendReady;
    const [name, version] = modelId.split("@");
    progress(`Downloading the ${name} model (${backend.toUpperCase()})…`);
    const [model, features, rejectJson, spotterParts] = await Promise.all([
      tf.loadLayersModel(`/models/${name}/model.json`, {
        onProgress: (fraction) => progress(`Downloading the ${name} model (${backend.toUpperCase()})… ${Math.round(fraction * 100)}%`),
      }),
      fetch(`/models/${name}/features.json`).then((r) => r.json() as Promise<FeaturesFile>),
      // The "not a digit" head, when the model has one.
      choice.rejectHead ? fetch(`/models/${name}/reject.json`).then((r) => r.json()) : null,
      // The digit spotter that splits strings said without a pause, when the model has one.
      choice.spotter ? loadSpotter(`/models/${name}/spotter`) : null,
    ]);
    prepareNetwork(model);
    const classifier: Classifier = { model, features, identity: { name, version } };
    if (features.config.embedding) classifier.embedding = await loadEmbedding(features.config.embedding.model, progress);
    if (rejectJson) classifier.reject = rejectHeadFor(rejectJson, classifier);
    if (spotterParts && classifier.embedding) classifier.spotter = spotterFrom(...spotterParts);
    return { classifier, backend };
  })().catch((e) => {
    loaded.delete(modelId); // a failed start (network, backend) is tried again on the next submit
    throw e;
  });
  loaded.set(modelId, loading);
  return loading;
}

function loadSpotter(folder: string) {
  return Promise.all([
    tf.loadLayersModel(`${folder}/model.json`),
    fetch(`${folder}/spotter.json`).then((r) => r.json() as Promise<SpotterFile>),
  ]);
}

/** The speech embedding a model sits on, from /models/<folder>/ (graph.json, weights.bin), once per page. */
const embeddings = new Map<string, Promise<SpeechEmbedding>>();
function loadEmbedding(folder: string, progress: Progress): Promise<SpeechEmbedding> {
  let loading = embeddings.get(folder);
  if (!loading) {
    progress(`Downloading the speech embedding (1.3 MB)…`);
    loading = (async () => {
      const [graph, weights] = await Promise.all([
        fetch(`/models/${folder}/graph.json`).then((r) => r.json() as Promise<EmbeddingGraph>),
        fetch(`/models/${folder}/weights.bin`).then((r) => r.arrayBuffer()),
      ]);
      return speechEmbeddingFrom(graph, weights, "");
    })();
    loading.catch(() => embeddings.delete(folder));
    embeddings.set(folder, loading);
  }
  return loading;
}

/**
 * The embedding's vectors of mel spectrograms (flat [frames][bands]) on this page's backend: what the page's tests
 * compare with onnxruntime's, so the browser's numbers are checked where they are made.
 */
export async function embedMel(folder: string, mel: Float32Array, frames: number): Promise<{ vectors: number[]; backend: string }> {
  backendReady ??= pickBackend();
  const backend = await backendReady;
  const embedding = await loadEmbedding(folder, () => {});
  const vectors = embedVectors(embedding, mel, frames);
  return { vectors: Array.from(vectors), backend };
}

async function decodeInBrowser(blob: Blob, sampleRate: number) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  // Our own WAV reader gives the same samples as the server's, so WAV results match it exactly.
  if (isWav(bytes)) return { ...readWav(bytes), format: "wav" };
  const context = new OfflineAudioContext(1, 1, sampleRate);
  // The browser's own decoder says things like "Unable to decode audio data": give the page our error code.
  const decoded = await context.decodeAudioData(bytes.buffer).catch((e: Error) => {
    throw new PredictError("undecodable", e?.message ?? String(e));
  });
  return {
    samples: decoded.getChannelData(0),
    sampleRate: decoded.sampleRate,
    channels: decoded.numberOfChannels,
    format: blob.type || "audio",
  };
}

/** Profile errors in the API's words, so the page says the same thing in both modes. */
function readProfile(text: string, classifier: Classifier) {
  try {
    return decodeProfile(text, classifier);
  } catch (e) {
    if (e instanceof ProfileError) throw new PredictError(e.code, e.message);
    throw e;
  }
}

export async function predictInBrowser(
  blob: Blob,
  model: ModelChoice,
  progress: Progress = () => {},
  profile?: string,
): Promise<Prediction> {
  const { classifier, backend } = await loadModel(model, progress);
  progress("Recognizing…");
  const started = performance.now();
  const audio = await decodeInBrowser(blob, classifier.features.config.sampleRate);
  const options = { spectrogram: true, profile: profile ? readProfile(profile, classifier) : undefined };
  return { ...recognize(classifier, audio, performance.now() - started, options), backend };
}

export async function transcribeInBrowser(
  blob: Blob,
  model: ModelChoice,
  profile?: string,
  progress: Progress = () => {},
): Promise<Transcription> {
  const { classifier } = await loadModel(model, progress);
  const started = performance.now();
  const audio = await decodeInBrowser(blob, classifier.features.config.sampleRate);
  return transcribe(classifier, audio, performance.now() - started, profile ? readProfile(profile, classifier) : undefined);
}

/** The in-browser /adapt: the same adaptToTakes, on this browser's backend; the takes never leave the page. */
export async function adaptInBrowser(
  takes: { digit: number; blob: Blob }[],
  model: ModelChoice,
  progress: Progress = () => {},
): Promise<Adaptation> {
  const { classifier } = await loadModel(model, progress);
  progress("Learning your voice…");
  const { config } = classifier.features;
  const views = [];
  for (const [i, { digit, blob }] of takes.entries()) {
    const audio = await decodeInBrowser(blob, config.sampleRate);
    try {
      views.push({ digit, views: featuresFromAudio(audio.samples, audio.sampleRate, config).views });
    } catch (e) {
      const take = takes.slice(0, i + 1).filter((t) => t.digit === digit).length;
      throw new PredictError((e as { code?: string }).code ?? "undecodable", `take ${take} of "${digit}": ${(e as Error).message}`);
    }
  }
  const { profile, heard } = adaptToTakes(classifier, views);
  return { profile: encodeProfile(profile), takes: profile.takes, model: profile.model, heard };
}
