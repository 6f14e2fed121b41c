/**
 * The digit classifier: a tfjs LayersModel plus the feature config it was trained with. Runs the same in
 * Deno (WASM backend) and in the browser (WebGPU/WebGL/WASM): this module touches no file system.
 */
import * as tf from "@tensorflow/tfjs";
import { normalize } from "../dsp/features.ts";
import type { FeaturesFile, ModelIdentity } from "./model_format.ts";
import type { RejectHead } from "./reject.ts";
import { forward } from "./network.ts";
import { embed, type SpeechEmbedding } from "./embedding.ts";
import type { Spotter } from "./spotter.ts";

export { argmax } from "./model_format.ts";

export interface Classifier {
  model: tf.LayersModel;
  features: FeaturesFile;
  identity: ModelIdentity;
  /** The "not a digit" head (reject.json), when the folder has one for these weights. */
  reject?: RejectHead;
  /** The pretrained front end (features.config.embedding) whose vectors `model` reads; absent: `model` reads the features. */
  embedding?: SpeechEmbedding;
  /** The digit spotter on the embedding's vectors (spotter/), for strings (models/transcribe.ts); absent: energy segments only. */
  spotter?: Spotter;
  /** The live head (spotter_live/, front end "stream"), for listening to a stream (models/spotter_stream.ts). */
  liveSpotter?: Spotter;
}

/** Outputs of the network: 10 (the digits) or 11 (the digits and "not a digit", class 10, trained in). */
export function outputClasses(classifier: Classifier): number {
  return classifier.model.outputs[0].shape[1] as number;
}

/** Whether the network itself was trained to say "not a digit" (an 11th class). */
export const hasUnknownClass = (classifier: Classifier) => outputClasses(classifier) === 11;

/**
 * Speech-embedding vectors already computed for some feature views (flat, un-normalized, as embedVectors gives them),
 * keyed by the very view array: the transcriber's spotter embeds a long utterance's crop to decide whether to split it,
 * and when it stays whole the classifier reads the same vectors instead of a second pass.
 */
export type KnownVectors = ReadonlyMap<Float32Array, Float32Array>;

/**
 * What `model` reads for a batch of un-normalized feature vectors: the vectors normalized with the training set's
 * statistics, or for an embedding model, the embedding's vectors of its mel input (one pass over the batch, less the
 * views in `known`), flat and normalized. Call inside tf.tidy.
 */
export function networkInput(classifier: Classifier, vectors: Float32Array[], known?: KnownVectors): tf.Tensor2D {
  const width = vectors[0].length;
  const { stats, config } = classifier.features;
  if (!classifier.embedding) {
    const batch = new Float32Array(vectors.length * width);
    vectors.forEach((v, i) => batch.set(normalize(v, stats), i * width));
    return tf.tensor2d(batch, [vectors.length, width]);
  }
  const missing = known ? vectors.filter((v) => !known.has(v)) : vectors;
  let flat: tf.Tensor2D | undefined;
  if (missing.length > 0) {
    const batch = new Float32Array(missing.length * width);
    missing.forEach((v, i) => batch.set(v, i * width));
    const mel = tf.tensor3d(batch, [missing.length, config.frames, config.nMels]);
    flat = tf.reshape(embed(classifier.embedding, mel), [missing.length, -1]);
  }
  if (missing.length < vectors.length) {
    // Some are known: the computed rows and the known ones, in the batch's order.
    const size = stats.mean.length;
    const computed = flat?.dataSync();
    const rows = new Float32Array(vectors.length * size);
    let next = 0;
    vectors.forEach((v, i) => rows.set(known!.get(v) ?? computed!.subarray(size * next, size * ++next), i * size));
    flat = tf.tensor2d(rows, [vectors.length, size]);
  }
  return tf.div(tf.sub(flat!, tf.tensor1d(stats.mean)), tf.tensor1d(stats.std));
}

/** The network's raw output rows (all its classes) for un-normalized feature vectors. All tensors are freed. */
export function networkOutputs(classifier: Classifier, vectors: Float32Array[], known?: KnownVectors): Float32Array[] {
  if (vectors.length === 0) return [];
  const classes = outputClasses(classifier);
  const outputs = tf.tidy(() => forward(classifier.model, networkInput(classifier, vectors, known)).output.dataSync() as Float32Array);
  return vectors.map((_, i) => outputs.slice(i * classes, (i + 1) * classes));
}

/** A clip's answer: the ten digit probabilities (sum 1) and, from an 11-class network, P(not a digit). */
export interface ClipAnswer {
  probabilities: Float32Array;
  unknown?: number;
}

/**
 * An output row (or a mean of rows) as digits and "unknown": an 11-class network's digit probabilities are
 * renormalized over the ten, so that `probabilities` means the same for every model (which digit, if a digit).
 */
export function splitOutput(row: Float32Array): ClipAnswer {
  if (row.length === 10) return { probabilities: row };
  const unknown = row[10];
  const rest = Math.max(1 - unknown, 1e-12);
  return { probabilities: row.slice(0, 10).map((p) => p / rest), unknown };
}

/**
 * A clip's answer from the network's output row (or mean of rows), for this classifier: splitOutput, and for a model
 * that refuses by confidence (features.refusal.by), "not a digit" = 1 - the top digit probability.
 */
export function clipAnswer(classifier: Classifier, row: Float32Array): ClipAnswer {
  const answer = splitOutput(row);
  if (answer.unknown !== undefined || classifier.features.refusal?.by !== "confidence") return answer;
  return { ...answer, unknown: unsureness(answer.probabilities) };
}

/** "Not a digit" read from the ten digits alone: 1 - the top digit probability (refusal by confidence). */
export function unsureness(probabilities: ArrayLike<number>): number {
  let top = 0;
  for (let d = 0; d < probabilities.length; d++) top = Math.max(top, probabilities[d]);
  return 1 - top;
}

/** Probabilities of digits 0-9 for each un-normalized feature vector. All tensors are freed before return. */
export function classify(classifier: Classifier, vectors: Float32Array[]): Float32Array[] {
  return networkOutputs(classifier, vectors).map((row) => splitOutput(row).probabilities);
}

/** The mean of each clip's output rows over its views (all rows of all clips in `rows`, in order). */
export function meanOverViews(rows: Float32Array[], clips: Float32Array[][]): Float32Array[] {
  let next = 0;
  return clips.map((views) => {
    const mean = new Float32Array(rows[next]?.length ?? 10);
    for (let v = 0; v < views.length; v++) rows[next++].forEach((p, d) => (mean[d] += p / views.length));
    return mean;
  });
}

/**
 * Each clip's answer, given as its feature views (Features.views): the mean of the network's outputs over a
 * clip's views, all clips in one batch, split into digits and "unknown" (clipAnswer).
 */
export function answerClips(classifier: Classifier, clips: Float32Array[][], known?: KnownVectors): ClipAnswer[] {
  return meanOverViews(networkOutputs(classifier, clips.flat(), known), clips).map((row) => clipAnswer(classifier, row));
}

/** Probabilities of digits 0-9 for each clip (its feature views): answerClips without "unknown". */
export function classifyClips(classifier: Classifier, clips: Float32Array[][]): Float32Array[] {
  return answerClips(classifier, clips).map((a) => a.probabilities);
}
