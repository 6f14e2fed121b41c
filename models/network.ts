/**
 * The served network's forward pass as a few plain tf ops, and its penultimate features beside the answer.
 *
 * Why not model.predict: for one clip, tfjs-layers' own bookkeeping (per layer: shape checks, scopes, a kernel
 * each for convolution, batch norm and ReLU) cost ~0.8 ms of a DS-CNN's ~1 ms, and the kernels ~0.2. Here each
 * batch norm is folded into the convolution or dense layer before it, and the ReLU after it is fused into the
 * same kernel: the DS-CNN's 31 layers become 13 ops. Same numbers to float rounding (tests/model_network_test.ts),
 * in Deno and in the browser (any tfjs backend), since both call this module.
 *
 * Compiles what our training makes: chains from the input through InputLayer, Reshape, Conv2D, DepthwiseConv2D,
 * BatchNormalization, ReLU/Activation, Dropout, GlobalAveragePooling2D and Dense, one chain or several averaged
 * (an ensemble). Any other graph runs through tfjs-layers, with the same two outputs.
 */
import * as tf from "@tensorflow/tfjs";

/** The network's answer rows and what its last dense layer(s) weighed (members side by side). */
export interface NetworkOutput {
  embedding: tf.Tensor2D;
  output: tf.Tensor2D;
}

type Step = (x: tf.Tensor) => tf.Tensor;
type Activation = "linear" | "relu";

interface Chain {
  /** Every step but the last dense layer. */
  body: Step[];
  /** The last dense layer, softmax included. */
  head: Step;
}

interface Compiled {
  chains: Chain[];
  /** The folded weights, freed with the model. */
  tensors: tf.Tensor[];
}

const compiled = new WeakMap<tf.LayersModel, Compiled | null>();
const embedders = new WeakMap<tf.LayersModel, tf.LayersModel>();

/** Answers and embeddings for a batch of normalized feature rows. Call inside tf.tidy. */
export function forward(model: tf.LayersModel, input: tf.Tensor2D): NetworkOutput {
  const network = compiledNetwork(model);
  if (!network) {
    const [embedding, output] = embedder(model).predict(input) as tf.Tensor2D[];
    return { embedding, output };
  }
  const embeddings: tf.Tensor2D[] = [];
  const outputs: tf.Tensor2D[] = [];
  for (const { body, head } of network.chains) {
    const features = body.reduce((x, step) => step(x), input as tf.Tensor) as tf.Tensor2D;
    embeddings.push(features);
    outputs.push(head(features) as tf.Tensor2D);
  }
  if (outputs.length === 1) return { embedding: embeddings[0], output: outputs[0] };
  return { embedding: tf.concat(embeddings, 1), output: tf.div(tf.addN(outputs), outputs.length) };
}

/**
 * Folds the model's weights now (else the first forward pass does): loaders call it, so that a first request does
 * not pay for it and the folded tensors come and go with the model's own.
 */
export function prepareNetwork(model: tf.LayersModel): void {
  compiledNetwork(model);
}

/** The size of the embedding `forward` returns. */
export function embeddingSize(model: tf.LayersModel): number {
  return heads(model).reduce((n, head) => n + ((head.input as tf.SymbolicTensor).shape[1] as number), 0);
}

/** The layers whose outputs are the answer: the last layer, or each member's before an ensemble's Average. */
function heads(model: tf.LayersModel): tf.layers.Layer[] {
  const last = model.layers[model.layers.length - 1];
  return last.getClassName() === "Average" ? last.inboundNodes[0].inboundLayers : [last];
}

/** The fallback: the layers model with a second output, the penultimate features. Built once; shares the weights. */
function embedder(model: tf.LayersModel): tf.LayersModel {
  let twoHeaded = embedders.get(model);
  if (!twoHeaded) {
    const inputs = heads(model).map((head) => head.input as tf.SymbolicTensor);
    const embedding = inputs.length === 1
      ? inputs[0]
      : tf.layers.concatenate({ name: "profile_embedding" }).apply(inputs) as tf.SymbolicTensor;
    twoHeaded = tf.model({ inputs: model.inputs, outputs: [embedding, model.outputs[0]] });
    embedders.set(model, twoHeaded);
  }
  return twoHeaded;
}

function compiledNetwork(model: tf.LayersModel): Compiled | null {
  if (!compiled.has(model)) {
    const network = compile(model);
    compiled.set(model, network);
    if (network) {
      // The folded weights are tensors of their own: free them when the model is freed, as every caller does.
      const dispose = model.dispose.bind(model);
      model.dispose = () => {
        tf.dispose(network.tensors);
        return dispose();
      };
    }
  }
  return compiled.get(model)!;
}

// deno-lint-ignore no-explicit-any
type Config = Record<string, any>;

function compile(model: tf.LayersModel): Compiled | null {
  const tensors: tf.Tensor[] = [];
  const chains: Chain[] = [];
  for (const end of heads(model)) {
    const layers = chainTo(end);
    const steps = layers && compileChain(layers, tensors);
    if (!steps || layers![layers!.length - 1].getClassName() !== "Dense") {
      tf.dispose(tensors);
      return null;
    }
    chains.push({ body: steps.slice(0, -1), head: steps[steps.length - 1] });
  }
  return { chains, tensors };
}

/** The layers from the input to `end`, if each has exactly one input layer. */
function chainTo(end: tf.layers.Layer): tf.layers.Layer[] | null {
  const chain: tf.layers.Layer[] = [];
  for (let layer = end;;) {
    if (layer.getClassName() === "InputLayer") return chain.reverse();
    chain.push(layer);
    const inbound = layer.inboundNodes.length === 1 ? layer.inboundNodes[0].inboundLayers : [];
    if (inbound.length !== 1) return null;
    layer = inbound[0];
  }
}

/** One step per layer (a batch norm and a ReLU after a convolution or dense layer fold into its step), or null. */
function compileChain(layers: tf.layers.Layer[], tensors: tf.Tensor[]): Step[] | null {
  const steps: Step[] = [];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const config = layer.getConfig() as Config;
    const kind = layer.getClassName();
    if (kind === "Dropout") continue;
    if (kind === "Reshape") {
      const shape = config.targetShape as number[];
      steps.push((x) => tf.reshape(x, [-1, ...shape]));
    } else if (kind === "GlobalAveragePooling2D" && config.dataFormat !== "channelsFirst") {
      steps.push((x) => tf.mean(x, [1, 2]));
    } else if (kind === "Conv2D" || kind === "DepthwiseConv2D" || kind === "Dense") {
      if (config.dataFormat === "channelsFirst" || (config.dilationRate ?? [1, 1]).some((d: number) => d !== 1)) return null;
      const next = layers[i + 1];
      let activation = config.activation as string;
      const norm = activation === "linear" && next?.getClassName() === "BatchNormalization" ? next : null;
      if (norm && !lastAxis(norm)) return null;
      if (norm) i++;
      const after = layers[i + 1];
      if (activation === "linear" && after && isRelu(after)) {
        activation = "relu";
        i++;
      }
      if (activation !== "linear" && activation !== "relu" && !(kind === "Dense" && activation === "softmax")) return null;
      const { kernel, bias } = tf.tidy(() => {
        const [kernel, bias] = layer.getWeights();
        const plain = { kernel, bias: bias ?? tf.zeros([outputChannels(kind, kernel)]) };
        const folded = norm ? foldBatchNorm(plain, norm) : plain;
        return { kernel: folded.kernel.clone(), bias: folded.bias.clone() }; // never the layer's own variables
      });
      tensors.push(tf.keep(kernel), tf.keep(bias)); // compiled inside a caller's tidy, they outlive it
      steps.push(layerStep(kind, config, kernel, bias, activation));
    } else if (isRelu(layer)) {
      steps.push((x) => tf.relu(x));
    } else {
      return null;
    }
  }
  return steps;
}

function isRelu(layer: tf.layers.Layer): boolean {
  const config = layer.getConfig() as Config;
  if (layer.getClassName() === "ReLU") return config.maxValue == null;
  return layer.getClassName() === "Activation" && config.activation === "relu";
}

/** A convolution's or dense layer's step with its (folded) weights. */
function layerStep(kind: string, config: Config, kernel: tf.Tensor, bias: tf.Tensor, activation: string): Step {
  const fused = (activation === "softmax" ? "linear" : activation) as Activation;
  if (kind === "Dense") {
    return (x) => {
      const y = tf.fused.matMul({ a: x as tf.Tensor2D, b: kernel as tf.Tensor2D, bias, activation: fused });
      return activation === "softmax" ? tf.softmax(y) : y;
    };
  }
  const strides = config.strides as [number, number];
  const dilations = config.dilationRate as [number, number];
  const pad = config.padding as "same" | "valid";
  if (kind === "Conv2D") {
    return (x) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: kernel as tf.Tensor4D, strides, pad, dilations, bias, activation: fused });
  }
  return (x) =>
    tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: kernel as tf.Tensor4D, strides, pad, dilations, bias, activation: fused });
}

/**
 * y = (conv(x) + b - mean) * gamma / sqrt(var + eps) + beta as one convolution: each output channel's kernel
 * and bias scaled by its gamma / sqrt(var + eps). The kernel's output channels are its last axis (Conv2D, Dense)
 * or its last two (a DepthwiseConv2D's [in][multiplier]).
 */
function foldBatchNorm(weights: { kernel: tf.Tensor; bias: tf.Tensor }, norm: tf.layers.Layer) {
  const config = norm.getConfig() as Config;
  const values = norm.getWeights();
  let next = 0;
  const gamma = config.scale ? values[next++] : null;
  const beta = config.center ? values[next++] : null;
  const [mean, variance] = [values[next++], values[next++]];
  let scale = tf.rsqrt(tf.add(variance, config.epsilon as number));
  if (gamma) scale = tf.mul(scale, gamma);
  let bias = tf.mul(tf.sub(weights.bias, mean), scale);
  if (beta) bias = tf.add(bias, beta);
  const shape = weights.kernel.shape;
  const kernel = tf.reshape(tf.mul(tf.reshape(weights.kernel, [-1, scale.size]), scale), shape);
  return { kernel, bias };
}

/** Whether a batch norm normalizes the last axis (channels last), the only kind folded here. */
function lastAxis(norm: tf.layers.Layer): boolean {
  const axis = (norm.getConfig() as Config).axis as number;
  return axis === -1 || axis === (norm.input as tf.SymbolicTensor).shape.length - 1;
}

/** Output channels of a kernel: its last axis, or a depthwise kernel's [in][multiplier] flattened. */
function outputChannels(kind: string, kernel: tf.Tensor): number {
  const shape = kernel.shape as number[];
  return kind === "DepthwiseConv2D" ? shape[2] * shape[3] : shape[shape.length - 1];
}
