/**
 * "That's not a digit": a small head beside the digit network that says how likely a clip is *not* one of the
 * ten digits (a word, a name, a cough, half a digit, two run together). It reads what the network already
 * computes: the penultimate features (the profile's embedding) and how sure and how spread the ten digit
 * probabilities are; one hidden layer, in plain TypeScript (a few hundred multiply-adds). Trained by
 * models/lab/reject.ts on words and sounds, its refusal point chosen on held-out speakers; stored as
 * reject.json in the model folder. The ten digit probabilities keep their meaning: the head only adds
 * "unknown" beside them. Shared by the server and the browser.
 */
import { featureLength } from "../dsp/config.ts";
import type { Classifier } from "./classifier.ts";
import { modelId } from "./model_format.ts";
import { embeddingSize } from "./network.ts";

export const REJECT_FORMAT = "spoken-digits-reject/1";

export interface RejectHead {
  format: typeof REJECT_FORMAT;
  /** name@version of the network whose embedding it reads. */
  model: string;
  /** Input standardization, per input value. */
  mean: number[];
  std: number[];
  /** hidden[j] = relu(sum_i w1[j][i] x_i + b1[j]); unknown = sigmoid(sum_j w2[j] hidden[j] + b2). */
  w1: number[][];
  b1: number[];
  w2: number[];
  b2: number;
  /**
   * Default refusal point: unknown >= threshold is refused; null: no refusal unless the caller asks for one
   * (?reject=P), because on held-out speakers the measured point refused too many real digits.
   */
  threshold: number | null;
  /** The refusal point measured on held-out speakers (kept even when `threshold` is null). */
  measuredThreshold?: number;
}

/** Feature values averaged in groups of this many: a coarse picture of the clip (its shape in time). */
export const POOL = 4;

/**
 * The head's input: the unit embedding, the largest digit probability and the entropy of the ten, then the
 * clip's (un-normalized) feature vector averaged in groups of POOL: the embedding alone, trained to tell digits
 * apart, says too little about what is not a digit.
 */
export function rejectInput(embedding: Float32Array, probabilities: ArrayLike<number>, features: Float32Array): Float32Array {
  let top = 0, entropy = 0;
  for (let d = 0; d < 10; d++) {
    top = Math.max(top, probabilities[d]);
    if (probabilities[d] > 0) entropy -= probabilities[d] * Math.log(probabilities[d]);
  }
  const pooled = Math.ceil(features.length / POOL);
  const x = new Float32Array(embedding.length + 2 + pooled);
  x.set(embedding);
  x[embedding.length] = top;
  x[embedding.length + 1] = entropy;
  for (let k = 0; k < pooled; k++) {
    let sum = 0, n = 0;
    for (let i = k * POOL; i < Math.min(features.length, (k + 1) * POOL); i++, n++) sum += features[i];
    x[embedding.length + 2 + k] = sum / n;
  }
  return x;
}

/** Length of rejectInput's vector for a model. */
export const rejectInputSize = (embeddingSize: number, featureLength: number) => embeddingSize + 2 + Math.ceil(featureLength / POOL);

/** Probability (0-1) that the clip is not a digit. */
export function unknownProbability(head: RejectHead, input: Float32Array): number {
  let z = head.b2;
  for (let j = 0; j < head.b1.length; j++) {
    let h = head.b1[j];
    const w = head.w1[j];
    for (let i = 0; i < input.length; i++) h += w[i] * (input[i] - head.mean[i]) / head.std[i];
    if (h > 0) z += head.w2[j] * h;
  }
  return 1 / (1 + Math.exp(-z));
}

/** reject.json's contents checked against the classifier it sits beside (its weights' version, its input size). */
export function rejectHeadFor(json: unknown, classifier: Classifier): RejectHead {
  const size = rejectInputSize(embeddingSize(classifier.model), featureLength(classifier.features.config));
  return parseRejectHead(json, modelId(classifier.identity), size);
}

/** Reads reject.json's contents; throws with a message when it is not a head for `model` of input size `size`. */
export function parseRejectHead(json: unknown, model: string, size: number): RejectHead {
  const head = json as RejectHead;
  const fail = (why: string) => new Error(`reject.json: ${why}`);
  if (head?.format !== REJECT_FORMAT) throw fail(`not in the format ${REJECT_FORMAT}`);
  if (head.model !== model) throw fail(`trained for ${head.model}, not ${model}: retrain it (deno task eval --reject)`);
  const ok = (a: unknown, n: number) => Array.isArray(a) && a.length === n && a.every(Number.isFinite);
  if (!ok(head.mean, size) || !ok(head.std, size) || !ok(head.b1, head.b1?.length) || !ok(head.w2, head.b1.length)) {
    throw fail("bad shapes");
  }
  if (!Array.isArray(head.w1) || head.w1.length !== head.b1.length || !head.w1.every((row) => ok(row, size))) throw fail("bad shapes");
  if (!Number.isFinite(head.b2)) throw fail("bad bias");
  if (head.threshold !== null && !(head.threshold > 0 && head.threshold <= 1)) throw fail("bad threshold");
  return head;
}
