/**
 * The DS-CNN (Zhang et al., "Hello Edge", 2017): a strided first convolution over the log-mel window, then
 * depthwise-separable blocks (a 3x3 depthwise convolution and a 1x1 pointwise one, each with batch norm and
 * ReLU), global average pooling and a softmax over the ten digits (plus "not a digit", when trained with it). The second block strides again, so the
 * later blocks work on a quarter of the positions. Input: the flat feature vector (time-major [frames][bins]),
 * reshaped inside the model, so the server and the browser feed it exactly as they feed the MLP.
 */
import { tf } from "../tfjs.ts";
import { type BatchNormArgs, trainableBatchNormalization } from "./batch_norm.ts";
import { type Conv2DArgs, inputConv2d } from "./input_conv.ts";

/**
 * Batch norm's moving averages: 0.9, not Keras's 0.99. Our runs are a few thousand steps, and with 0.99 a short run
 * served with statistics still half at their initial values (a 190-step run scored 10% in inference, 88% in training).
 */
const BN_MOMENTUM = 0.9;

export interface DsCnnOptions {
  /** Filters of the first convolution and of every block. */
  channels: number;
  /** Depthwise-separable blocks after the first convolution. */
  blocks: number;
  /** Dropout before the final Dense layer. */
  dropout: number;
  learningRate: number;
  seed: number;
  /** Outputs: the ten digits, or eleven with "not a digit" (class 10) trained in. Absent (older models): ten. */
  classes?: number;
}

/** Makers of the layers that train differently from how they serve (same classes, weights and names). */
export interface LayerKit {
  batchNorm: (args: BatchNormArgs) => tf.layers.Layer;
  /** The first convolution, the one that reads the input. */
  inputConv: (args: Conv2DArgs) => tf.layers.Layer;
}

/** tfjs's own layers: serving, and networks rebuilt from weights. */
export const SERVING_LAYERS: LayerKit = { batchNorm: tf.layers.batchNormalization, inputConv: tf.layers.conv2d };

/**
 * For a network about to be trained on WASM: batch norm several times faster (models/lab/batch_norm.ts), and a
 * first convolution that skips its input's gradient (models/lab/input_conv.ts).
 */
export const TRAINING_LAYERS: LayerKit = { batchNorm: trainableBatchNormalization, inputConv: inputConv2d };

/**
 * The network's layers applied to `input`; names carry `prefix`, so several members can share one graph.
 * `kit` makes the layers that train differently from how they serve (LayerKit).
 */
export function dsCnnGraph(
  input: tf.SymbolicTensor,
  frames: number,
  bins: number,
  options: DsCnnOptions,
  prefix = "",
  kit: LayerKit = SERVING_LAYERS,
): tf.SymbolicTensor {
  let seed = options.seed * 1000;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor) => layer.apply(x) as tf.SymbolicTensor;
  const bnRelu = (x: tf.SymbolicTensor, name: string) =>
    apply(
      tf.layers.reLU({ name: `${prefix}${name}_relu` }),
      apply(kit.batchNorm({ momentum: BN_MOMENTUM, name: `${prefix}${name}_bn` }), x),
    );
  let x = apply(tf.layers.reshape({ targetShape: [frames, bins, 1], name: `${prefix}grid` }), input);
  x = apply(
    kit.inputConv({
      filters: options.channels,
      kernelSize: [10, 4],
      strides: [2, 2],
      padding: "same",
      useBias: false,
      kernelInitializer: init(),
      name: `${prefix}conv`,
    }),
    x,
  );
  x = bnRelu(x, "conv");
  for (let b = 1; b <= options.blocks; b++) {
    x = apply(
      tf.layers.depthwiseConv2d({
        kernelSize: 3,
        strides: b === 2 ? 2 : 1,
        padding: "same",
        useBias: false,
        depthwiseInitializer: init(),
        name: `${prefix}dw${b}`,
      }),
      x,
    );
    x = bnRelu(x, `dw${b}`);
    x = apply(
      tf.layers.conv2d({ filters: options.channels, kernelSize: 1, useBias: false, kernelInitializer: init(), name: `${prefix}pw${b}` }),
      x,
    );
    x = bnRelu(x, `pw${b}`);
  }
  x = apply(tf.layers.globalAveragePooling2d({ name: `${prefix}pool` }), x);
  if (options.dropout > 0) x = apply(tf.layers.dropout({ rate: options.dropout, name: `${prefix}dropout` }), x);
  return apply(
    tf.layers.dense({ units: options.classes ?? 10, activation: "softmax", kernelInitializer: init(), name: `${prefix}digits` }),
    x,
  );
}

export function buildDsCnn(frames: number, bins: number, options: DsCnnOptions): tf.LayersModel {
  const input = tf.input({ shape: [frames * bins], name: "features" });
  const outputs = dsCnnGraph(input, frames, bins, options, "", TRAINING_LAYERS);
  const model = tf.model({ inputs: input, outputs, name: "dscnn" });
  model.compile({ optimizer: tf.train.adam(options.learningRate), loss: "categoricalCrossentropy", metrics: ["accuracy"] });
  return model;
}
