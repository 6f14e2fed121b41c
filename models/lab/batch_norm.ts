/**
 * Batch normalization for training on the WASM backend, as three kernels instead of tfjs's chain of ops.
 * tfjs-layers trains a BatchNormalization layer through tf.moments and tf.batchNorm, whose gradients are ~20
 * broadcasting element-wise ops and reductions per layer: measured, about 45% of a DS-CNN training step. Here the
 * batch statistics, the normalization and its exact gradient are one pass or two over the activations each.
 *
 * Only training changes: the layer is a tfjs BatchNormalization with the same weights and names, the same
 * moving-average updates, and inference (and every other backend) goes through tfjs's own code, so a model
 * rebuilt from these weights (models/lab/ensemble.ts) serves exactly as one trained by tfjs.
 * Checked against the cpu backend's training losses (tests/model_conv_backprop_test.ts).
 */
import { tf } from "../tfjs.ts";

type Info = tf.TensorInfo;
/** The arguments tf.layers.batchNormalization takes. */
export type BatchNormArgs = NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>;
interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array;
}
type KernelArgs = { inputs: Record<string, Info>; backend: WasmBackend; attrs: { epsilon?: number } };

const MOMENTS = "SpokenDigitsBatchNormMoments";
const FORWARD = "SpokenDigitsBatchNormForward";
const BACKWARD = "SpokenDigitsBatchNormBackward";

/** Per-channel mean and (biased, as tf.moments) variance of x seen as [rows][channels]. */
function moments({ inputs: { x }, backend }: KernelArgs): Info[] {
  const channels = x.shape[x.shape.length - 1];
  const mean = backend.makeOutput([channels], "float32");
  const variance = backend.makeOutput([channels], "float32");
  const [xs, m, v] = [x, mean, variance].map((t) => backend.typedArrayFromHeap(t));
  const rows = xs.length / channels;
  // One pass, sums and sums of squares in float64: activations are O(1-100), so E[x^2] - E[x]^2 loses nothing
  // that matters at float32 (checked against tf.moments in the tests).
  const sums = new Float64Array(channels);
  const squares = new Float64Array(channels);
  for (let at = 0; at < xs.length; at += channels) {
    for (let c = 0; c < channels; c++) {
      const value = xs[at + c];
      sums[c] += value;
      squares[c] += value * value;
    }
  }
  for (let c = 0; c < channels; c++) {
    m[c] = sums[c] / rows;
    v[c] = Math.max(0, squares[c] / rows - (sums[c] / rows) ** 2);
  }
  return [mean, variance];
}

/** y = (x - mean) * gamma / sqrt(variance + epsilon) + beta. */
function forward({ inputs: { x, gamma, beta, mean, variance }, backend, attrs }: KernelArgs): Info {
  const y = backend.makeOutput(x.shape, "float32");
  const [xs, g, b, m, v, ys] = [x, gamma, beta, mean, variance, y].map((t) => backend.typedArrayFromHeap(t));
  const channels = g.length;
  const scale = Float64Array.from(g, (gamma, c) => gamma / Math.sqrt(v[c] + attrs.epsilon!));
  const shift = scale.map((k, c) => b[c] - m[c] * k);
  for (let at = 0; at < xs.length; at += channels) {
    for (let c = 0; c < channels; c++) ys[at + c] = xs[at + c] * scale[c] + shift[c];
  }
  return y;
}

/**
 * The gradients of the forward pass with the batch statistics differentiated too (training mode), over N rows:
 *   dbeta = sum dy, dgamma = sum dy * xhat, dx = gamma / sqrt(variance + epsilon) * (dy - (dbeta + xhat * dgamma) / N)
 * where xhat = (x - mean) / sqrt(variance + epsilon).
 */
function backward({ inputs: { dy, x, gamma, mean, variance }, backend, attrs }: KernelArgs): Info[] {
  const channels = gamma.shape[0];
  const dx = backend.makeOutput(x.shape, "float32");
  const dGamma = backend.makeOutput([channels], "float32");
  const dBeta = backend.makeOutput([channels], "float32");
  const [dys, xs, g, m, v, dxs, dg, db] = [dy, x, gamma, mean, variance, dx, dGamma, dBeta].map((t) => backend.typedArrayFromHeap(t));
  const rows = xs.length / channels;
  const invStd = Float64Array.from(v, (variance) => 1 / Math.sqrt(variance + attrs.epsilon!));
  const sumDy = new Float64Array(channels);
  const sumDyX = new Float64Array(channels);
  for (let at = 0; at < xs.length; at += channels) {
    for (let c = 0; c < channels; c++) {
      const d = dys[at + c];
      sumDy[c] += d;
      sumDyX[c] += d * xs[at + c];
    }
  }
  const sumDyXhat = sumDyX.map((s, c) => (s - m[c] * sumDy[c]) * invStd[c]); // sum dy * (x - mean) / std
  // dx is linear in dy and x per channel: dx = scale * dy + slope * x + offset.
  const scale = invStd.map((s, c) => g[c] * s);
  const slope = scale.map((k, c) => -k * invStd[c] * sumDyXhat[c] / rows);
  const offset = scale.map((k, c) => -k * sumDy[c] / rows - slope[c] * m[c]);
  for (let at = 0; at < xs.length; at += channels) {
    for (let c = 0; c < channels; c++) dxs[at + c] = scale[c] * dys[at + c] + slope[c] * xs[at + c] + offset[c];
  }
  dg.set(sumDyXhat);
  db.set(sumDy);
  return [dx, dGamma, dBeta];
}

let registered = false;

function registerKernels(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, kernelFunc] of [[MOMENTS, moments], [FORWARD, forward], [BACKWARD, backward]] as const) {
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}

/** Normalizes x over every axis but the last with the batch's own statistics; returns them for the moving averages. */
function normalizeInTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number) {
  const engine = tf.engine();
  // The statistics are not on the loss's path: the gradient below differentiates them itself.
  const [mean, variance] = engine.runKernel(MOMENTS, { x }, {}) as tf.Tensor[];
  const normalize = tf.customGrad(
    ((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: (tensors: tf.Tensor[]) => void) => {
      save([x, gamma, mean, variance]); // kept for the backward pass, past the tidy scopes that made them
      return {
        value: engine.runKernel(FORWARD, { x, gamma, beta, mean, variance }, { epsilon }) as tf.Tensor,
        gradFunc: (dy: tf.Tensor, [x, gamma, mean, variance]: tf.Tensor[]) =>
          engine.runKernel(BACKWARD, { dy, x, gamma, mean, variance }, { epsilon }) as tf.Tensor[],
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  );
  return { y: normalize(x, gamma, beta), mean, variance };
}

type BatchNormLayer = tf.layers.Layer & {
  axis: number;
  epsilon: number;
  momentum: number;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
};
const BatchNormalization = tf.layers.batchNormalization({}).constructor as new (
  args: BatchNormArgs,
) => BatchNormLayer;

/** tfjs's BatchNormalization, trained through the kernels above on the WASM backend (last axis, centred and scaled). */
class WasmTrainedBatchNormalization extends BatchNormalization {
  // deno-lint-ignore no-explicit-any
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: any): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const lastAxis = this.axis === -1 || this.axis === x.rank - 1;
    if (!kwargs?.training || tf.getBackend() !== "wasm" || !lastAxis || !this.gamma || !this.beta) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = normalizeInTraining(x, this.gamma.read(), this.beta.read(), this.epsilon);
      // As tfjs-layers does: moving = moving - (moving - batch) * (1 - momentum).
      for (const [moving, batch] of [[this.movingMean, mean], [this.movingVariance, variance]] as const) {
        tf.tidy(() => {
          const old = moving.read();
          moving.write(tf.sub(old, tf.mul(tf.sub(old, batch), 1 - this.momentum)));
        });
      }
      return y;
    });
  }
}

/** A BatchNormalization layer for a network about to be trained: the fast path on WASM, tfjs's own elsewhere. */
export function trainableBatchNormalization(args: BatchNormArgs): tf.layers.Layer {
  registerKernels();
  return new WasmTrainedBatchNormalization(args);
}
