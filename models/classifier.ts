/**
 * The digit classifier: a tfjs LayersModel plus the feature config it was trained with. Runs the same in
 * Deno (WASM backend) and in the browser (WebGPU/WebGL/WASM): this module touches no file system.
 */
import * as tf from "@tensorflow/tfjs";
import { normalize } from "../dsp/features.ts";
import type { FeaturesFile, ModelIdentity } from "./model_format.ts";
import type { RejectHead } from "./reject.ts";

export { argmax } from "./model_format.ts";

export interface Classifier {
  model: tf.LayersModel;
  features: FeaturesFile;
  identity: ModelIdentity;
  /** The "not a digit" head (reject.json), when the folder has one for these weights. */
  reject?: RejectHead;
}

/** Probabilities of digits 0-9 for each un-normalized feature vector. All tensors are freed before return. */
export function classify(classifier: Classifier, vectors: Float32Array[]): Float32Array[] {
  if (vectors.length === 0) return [];
  const width = vectors[0].length;
  const batch = new Float32Array(vectors.length * width);
  vectors.forEach((v, i) => batch.set(normalize(v, classifier.features.stats), i * width));
  const probabilities = tf.tidy(() => {
    const input = tf.tensor2d(batch, [vectors.length, width]);
    return (classifier.model.predict(input) as tf.Tensor).dataSync() as Float32Array;
  });
  return vectors.map((_, i) => probabilities.slice(i * 10, (i + 1) * 10));
}

/**
 * Probabilities of digits 0-9 for each clip, given as its feature views (Features.views): the mean of the
 * model's answers over a clip's views, all clips in one batch.
 */
export function classifyClips(classifier: Classifier, clips: Float32Array[][]): Float32Array[] {
  const answers = classify(classifier, clips.flat());
  let next = 0;
  return clips.map((views) => {
    const mean = new Float32Array(10);
    for (let v = 0; v < views.length; v++) answers[next++].forEach((p, d) => (mean[d] += p / views.length));
    return mean;
  });
}
