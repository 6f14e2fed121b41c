/**
 * Google's speech_embedding (models/speech_embedding/: graph.json + weights.bin, converted once from openWakeWord's
 * ONNX export by models/lab/convert_speech_embedding.py) run with plain tf ops, in Deno and in the browser.
 *
 * The network maps 76 mel frames to one 96-value vector; its time strides multiply to 8 and time is never padded,
 * so one pass over a longer spectrogram [N, T, 32] gives the vector of every 76-frame window 8 frames apart at once
 * (tests/model_embedding_test.ts checks this against onnxruntime run window by window). One pass over 156 frames
 * costs about a quarter of running its 11 windows as a batch.
 * No file system here: the caller hands over graph.json and the weights' bytes.
 */
import * as tf from "@tensorflow/tfjs";

/** Values in one vector of Google's speech_embedding (its graph's outputSize). */
export const EMBEDDING_SIZE = 96;

export interface EmbeddingGraph {
  format: string;
  input: { bands: number; windowFrames: number; stepFrames: number };
  leakyAlpha: number;
  /** Every activation is max(leakyRelu(x), clipBelow). */
  clipBelow: number;
  outputSize: number;
  ops: EmbeddingOp[];
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
}

export type EmbeddingOp =
  | { op: "conv"; name: string; kernel: [number, number]; padFreq: number; filters: number; activation: "leakyClip" | "linear" }
  | { op: "maxPool"; size: [number, number] };

export interface SpeechEmbedding {
  graph: EmbeddingGraph;
  /** The weights by name ("conv0/kernel", ...), kept until dispose(). */
  weights: Map<string, tf.Tensor>;
  /** The version of the weights: the first 8 hex digits of weights.bin's SHA-256. */
  version: string;
}

const FORMAT = "spoken-digits speech-embedding v1";
/** The clip's upper end: no bound (finite, so that every backend's shader takes it as a plain number). */
const FLOAT32_MAX = 3.4028234663852886e38;

/** Builds the network from graph.json and weights.bin (float32, in manifest order). */
export function speechEmbeddingFrom(graph: EmbeddingGraph, weightData: ArrayBuffer, version: string): SpeechEmbedding {
  if (graph.format !== FORMAT) throw new Error(`not a speech embedding graph (format ${graph.format})`);
  const specs = graph.weightsManifest.flatMap((group) => group.weights);
  const floats = new Float32Array(weightData);
  const weights = new Map<string, tf.Tensor>();
  let at = 0;
  for (const spec of specs) {
    if (spec.dtype !== "float32") throw new Error(`${spec.name}: only float32 weights are expected`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (at + size > floats.length) throw new Error("weights.bin is shorter than graph.json says");
    weights.set(spec.name, tf.tensor(floats.slice(at, at + size), spec.shape));
    at += size;
  }
  if (at !== floats.length) throw new Error("weights.bin is longer than graph.json says");
  return { graph, weights, version };
}

export function disposeEmbedding(embedding: SpeechEmbedding): void {
  for (const t of embedding.weights.values()) t.dispose();
  embedding.weights.clear();
}

/** Vectors for `frames` mel frames: one per window, windows `stepFrames` apart (0 below one window). */
export function vectorCount(graph: EmbeddingGraph, frames: number): number {
  const { windowFrames, stepFrames } = graph.input;
  return frames < windowFrames ? 0 : 1 + Math.floor((frames - windowFrames) / stepFrames);
}

/**
 * The vectors of every window of each spectrogram: mel [N, T, bands] -> [N, vectorCount(T), outputSize].
 * T must be windowFrames + k * stepFrames (else the last pools would see a partial window). Call inside tf.tidy.
 */
export function embed(embedding: SpeechEmbedding, mel: tf.Tensor3D): tf.Tensor3D {
  const { graph, weights } = embedding;
  const [n, frames, bands] = mel.shape;
  if (bands !== graph.input.bands) throw new Error(`the embedding takes ${graph.input.bands} mel bands, not ${bands}`);
  const vectors = vectorCount(graph, frames);
  if (vectors === 0 || (frames - graph.input.windowFrames) % graph.input.stepFrames !== 0) {
    throw new Error(`the embedding takes ${graph.input.windowFrames} + k * ${graph.input.stepFrames} frames, not ${frames}`);
  }
  let x: tf.Tensor4D = tf.reshape(mel, [n, frames, bands, 1]);
  for (const op of graph.ops) {
    if (op.op === "maxPool") {
      x = tf.maxPool(x, op.size, op.size, "valid");
      continue;
    }
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [0, 0], [op.padFreq, op.padFreq], [
      0,
      0,
    ]];
    const filter = weights.get(`${op.name}/kernel`) as tf.Tensor4D;
    const bias = weights.get(`${op.name}/bias`) as tf.Tensor1D;
    if (op.activation === "leakyClip") {
      const y = tf.fused.conv2d({ x, filter, strides: 1, pad, bias, activation: "leakyrelu", leakyreluAlpha: graph.leakyAlpha });
      // clipByValue, not maximum(y, scalar): the same numbers, but tfjs-wasm's maximum takes the general broadcasting
      // path (~20 ns an element: 18 of the 40 ms of a 1.6 s crop, measured), its clip the plain one (~1 ns).
      x = tf.clipByValue(y, graph.clipBelow, FLOAT32_MAX);
    } else {
      x = tf.add(tf.conv2d(x, filter, 1, pad), bias);
    }
  }
  return tf.reshape(x, [n, vectors, graph.outputSize]);
}

/**
 * The vectors of one flat mel spectrogram ([frames][bands]) as numbers, flat [vectorCount * outputSize]; every
 * tensor freed. Read outside tf.tidy on purpose: tidy walks whatever its function returns looking for tensors, and
 * walks a typed array element by element (~0.4 µs each: 10 ms for the vectors of 20 s of audio).
 */
export function embedVectors(embedding: SpeechEmbedding, mel: Float32Array, frames: number): Float32Array {
  const vectors = tf.tidy(() => embed(embedding, tf.tensor3d(mel, [1, frames, embedding.graph.input.bands])));
  try {
    return vectors.dataSync() as Float32Array;
  } finally {
    vectors.dispose();
  }
}
