/** The seed app's MLP, layer for layer; every size and rate is a parameter (and a `deno task train` flag). */
import type { tf as TfNamespace } from "../tfjs.ts";
import { tf } from "../tfjs.ts";

export interface MlpOptions {
  /** Units of the hidden Dense ReLU layers (seed: 512, 256, 128). */
  hidden: number[];
  /** Dropout after each hidden layer (seed: 0.3, 0.3, 0.2). */
  dropout: number[];
  /** Adam learning rate (seed: 1e-3). */
  learningRate: number;
  /** Seeds the weight initializers. */
  seed: number;
}

export const SEED_MLP: MlpOptions = { hidden: [512, 256, 128], dropout: [0.3, 0.3, 0.2], learningRate: 1e-3, seed: 1 };

export function buildMlp(inputLength: number, options: MlpOptions): TfNamespace.Sequential {
  const model = tf.sequential();
  options.hidden.forEach((units, i) => {
    model.add(tf.layers.dense({
      units,
      activation: "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + i }),
      ...(i === 0 ? { inputShape: [inputLength] } : {}),
    }));
    const rate = options.dropout[i] ?? 0;
    if (rate > 0) model.add(tf.layers.dropout({ rate }));
  });
  model.add(tf.layers.dense({
    units: 10,
    activation: "softmax",
    kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + options.hidden.length }),
  }));
  model.compile({ optimizer: tf.train.adam(options.learningRate), loss: "categoricalCrossentropy", metrics: ["accuracy"] });
  return model;
}
