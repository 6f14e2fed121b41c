/**
 * Model folders on disk, for Deno: our own file IOHandler around tfjs's layers format (tfjs-node, which
 * would do this, downloads a native binary at install time, so we do not use it). Weights are stored as
 * float16 (half the bytes of float32) or, for the kernels, as uint8 with a per-tensor offset and step
 * (a quarter), which tf.loadLayersModel dequantizes itself; biases stay float16 under uint8 since they
 * are few and shift every output. On the 300 official test clips float16 changed no answer, and uint8 none for the
 * shipped two-member model and one for a five-member trial (measured).
 */
import { tf } from "./tfjs.ts";
import { type Classifier } from "./classifier.ts";
import { prepareNetwork } from "./network.ts";
import { type RejectHead, rejectHeadFor } from "./reject.ts";
import { type FeaturesFile, float32ToFloat16Bits, type ModelIdentity } from "./model_format.ts";
import { type EmbeddingGraph, type SpeechEmbedding, speechEmbeddingFrom } from "./embedding.ts";
import { type Spotter, type SpotterFile, spotterFrom } from "./spotter.ts";

type Quantization = { dtype: "float16" } | { dtype: "uint8"; min: number; scale: number };
type WeightSpec = TfWeightSpec & { quantization?: Quantization };
type TfWeightSpec = { name: string; shape: number[]; dtype: string };

/** How weights.bin stores the weights. */
export type WeightEncoding = "float16" | "uint8";

function joinBuffers(data: ArrayBuffer | ArrayBuffer[]): ArrayBuffer {
  if (!Array.isArray(data)) return data;
  const total = data.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out.buffer;
}

function float16Bytes(values: Float32Array): Uint8Array {
  const halves = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) halves[i] = float32ToFloat16Bits(values[i]);
  return new Uint8Array(halves.buffer);
}

/** Affine uint8: value = q * scale + min, q in 0..255 (tfjs's own dequantization). */
export function uint8Quantize(values: Float32Array): { bytes: Uint8Array; min: number; scale: number } {
  let min = Infinity, max = -Infinity;
  for (const v of values) [min, max] = [Math.min(min, v), Math.max(max, v)];
  const scale = max > min ? (max - min) / 255 : 1;
  const bytes = Uint8Array.from(values, (v) => Math.round((v - min) / scale));
  return { bytes, min, scale };
}

/** float32 weight bytes -> encoded bytes with the matching `quantization` entries in the specs. */
function encodeWeights(specs: TfWeightSpec[], data: ArrayBuffer, encoding: WeightEncoding): { specs: WeightSpec[]; data: Uint8Array } {
  if (specs.some((s) => s.dtype !== "float32")) throw new Error("only float32 weights can be quantized");
  const floats = new Float32Array(data);
  const parts: Uint8Array[] = [];
  let at = 0;
  const encoded = specs.map((spec): WeightSpec => {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const values = floats.subarray(at, at + size);
    at += size;
    if (encoding === "uint8" && spec.shape.length > 1) {
      const { bytes, min, scale } = uint8Quantize(values);
      parts.push(bytes);
      return { ...spec, quantization: { dtype: "uint8", min, scale } };
    }
    parts.push(float16Bytes(values));
    return { ...spec, quantization: { dtype: "float16" } };
  });
  return { specs: encoded, data: new Uint8Array(joinBuffers(parts.map((p) => p.buffer as ArrayBuffer))) };
}

/** SHA-256 in hex of bytes, or of a string's UTF-8 (the lab's cache keys). */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Writes model.json, weights.bin and features.json into `dir`; returns the model's version (weights hash). */
export async function saveModelFolder(
  dir: string,
  model: tf.LayersModel,
  features: FeaturesFile,
  encoding: WeightEncoding = "float16",
): Promise<string> {
  const data = await saveLayersModel(dir, model, encoding);
  await Deno.writeTextFile(`${dir}/features.json`, JSON.stringify(features, null, 1) + "\n");
  return (await sha256Hex(data)).slice(0, 8);
}

/** Writes a layers model's model.json and weights.bin into `dir`; returns the weights' bytes. */
export async function saveLayersModel(dir: string, model: tf.LayersModel, encoding: WeightEncoding = "float16"): Promise<Uint8Array> {
  await Deno.mkdir(dir, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  if (!artifacts?.weightSpecs || !artifacts.weightData) throw new Error("tfjs returned no weights to save");
  const { specs, data } = encodeWeights(
    artifacts.weightSpecs as TfWeightSpec[],
    joinBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]),
    encoding,
  );
  const modelJson = {
    format: "layers-model",
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: `spoken-digits models/files.ts (${encoding} weights)`,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ["weights.bin"], weights: specs }],
  };
  await Deno.writeFile(`${dir}/weights.bin`, data);
  await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(modelJson));
  return data;
}

/** Reads a layers model's model.json and weights.bin from `dir`; returns it with its weights' bytes. */
async function readLayersModel(dir: string): Promise<{ model: tf.LayersModel; weights: Uint8Array }> {
  const modelJson = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  const weights = await Deno.readFile(`${dir}/weights.bin`);
  const weightSpecs = modelJson.weightsManifest.flatMap((group: { weights: WeightSpec[] }) => group.weights);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: modelJson.modelTopology,
    weightSpecs,
    weightData: weights.slice().buffer,
  }));
  return { model, weights };
}

/** Writes a spotter into `dir` (models/<name>/spotter/): its head, and spotter.json beside it. */
export async function saveSpotter(dir: string, model: tf.LayersModel, file: SpotterFile): Promise<void> {
  spotterFrom(model, file); // refuse to write what would not load
  await saveLayersModel(dir, model);
  await Deno.writeTextFile(`${dir}/spotter.json`, JSON.stringify(file, null, 1) + "\n");
}

/**
 * The spotter in `dir`, or undefined when there is none. A broken one is an error: it was meant to be served; so is
 * one that reads another front end than `frontEnd` (a live head in spotter/ would be fed whole recordings).
 */
export async function loadSpotter(dir: string, frontEnd: "sequence" | "stream" = "sequence"): Promise<Spotter | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/spotter.json`);
  } catch {
    return undefined;
  }
  const { model } = await readLayersModel(dir);
  const spotter = spotterFrom(model, JSON.parse(text) as SpotterFile);
  if ((spotter.frontEnd ?? "sequence") !== frontEnd) throw new Error(`${dir}: a spotter for the ${frontEnd} front end was expected`);
  return spotter;
}

/** Reads a model folder written by saveModelFolder (or any tfjs layers model with a features.json beside it). */
export async function loadClassifier(dir: string): Promise<Classifier> {
  const { model, weights } = await readLayersModel(dir);
  const features = JSON.parse(await Deno.readTextFile(`${dir}/features.json`)) as FeaturesFile;
  prepareNetwork(model);
  const name = dir.replace(/\/+$/, "").split("/").pop() ?? "model";
  const identity: ModelIdentity = { name, version: (await sha256Hex(weights)).slice(0, 8) };
  const embedding = features.config.embedding ? await loadSpeechEmbedding(embeddingDir(dir, features.config.embedding.model)) : undefined;
  // The spotter reads the embedding's vectors: only a model on the embedding can have one.
  const spotter = embedding ? await loadSpotter(`${dir}/spotter`) : undefined;
  // The live head (spotter_live/): the page's live mode runs it on the microphone (models/spotter_stream.ts).
  const liveSpotter = embedding ? await loadSpotter(`${dir}/spotter_live`, "stream") : undefined;
  const classifier: Classifier = {
    model,
    features,
    identity,
    ...(embedding ? { embedding } : {}),
    ...(spotter ? { spotter } : {}),
    ...(liveSpotter ? { liveSpotter } : {}),
  };
  const reject = await readRejectHead(dir, classifier);
  return reject ? { ...classifier, reject } : classifier;
}

/** reject.json, when there is one and it was trained for these weights; a stale one is left out, said once. */
async function readRejectHead(dir: string, classifier: Classifier): Promise<RejectHead | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/reject.json`);
  } catch {
    return undefined;
  }
  try {
    return rejectHeadFor(JSON.parse(text), classifier);
  } catch (e) {
    console.warn(`${dir}: no "not a digit" refusal: ${(e as Error).message}`);
    return undefined;
  }
}

/**
 * Where a model's embedding network lives: beside the model folder (models/<name>/ and models/speech_embedding/), or
 * else in this repository's models/ (a LOSO fold model under .cache/ sits on the same network).
 */
export function embeddingDir(modelDir: string, name: string): string {
  const sibling = `${modelDir.replace(/\/+$/, "")}/../${name}`;
  try {
    if (Deno.statSync(`${sibling}/graph.json`).isFile) return sibling;
  } catch { /* not beside it */ }
  return new URL(`./${name}`, import.meta.url).pathname;
}

/** One network per folder, shared by every model that sits on it (it is frozen: nothing writes its weights). */
const embeddings = new Map<string, Promise<SpeechEmbedding>>();

/** Reads a speech embedding folder (graph.json, weights.bin), once per process. */
export function loadSpeechEmbedding(dir: string): Promise<SpeechEmbedding> {
  const key = Deno.realPathSync(dir);
  let loaded = embeddings.get(key);
  if (!loaded) {
    loaded = (async () => {
      const graph = JSON.parse(await Deno.readTextFile(`${key}/graph.json`)) as EmbeddingGraph;
      const weights = await Deno.readFile(`${key}/weights.bin`);
      return speechEmbeddingFrom(graph, weights.slice().buffer, (await sha256Hex(weights)).slice(0, 8));
    })();
    embeddings.set(key, loaded);
  }
  return loaded;
}
