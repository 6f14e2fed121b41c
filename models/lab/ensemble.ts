/**
 * Several MLPs trained alike from different seeds, served as one tfjs layers model whose output is the
 * mean of theirs. Averaging independently trained members cuts the variance that dominates errors on
 * unseen speakers (one held-out speaker moves 4-8 points between seeds; measured in the README).
 *
 * Each member was trained on inputs normalized by its own statistics. The ensemble is fed inputs
 * normalized by member 0's, so every other member's first Dense layer is rewritten to undo that
 * difference exactly: x_k = x_0 * (s_0 / s_k) + (m_0 - m_k) / s_k, which is linear, so it folds into the
 * layer's kernel rows and bias. The result is a plain layers model (tf.loadLayersModel reads it in a
 * browser) that takes the same features and statistics file as a single MLP.
 */
import type { FeatureStats } from "../../dsp/config.ts";
import { dsCnnGraph, type DsCnnOptions } from "./dscnn.ts";
import { tf } from "../tfjs.ts";
import { prepareNetwork } from "../network.ts";

/** One Dense layer's weights as plain arrays: what a training worker sends back, and what the ensemble is built from. */
export interface DenseWeights {
  /** Row-major [inputs][units]. */
  kernel: Float32Array;
  bias: Float32Array;
  inputs: number;
  units: number;
  activation: string;
}

/** A trained DS-CNN as data: how to rebuild it, and each layer's weights (by layer name, in the layer's order). */
export interface NetworkWeights {
  frames: number;
  bins: number;
  options: DsCnnOptions;
  weights: Array<{ layer: string; shape: number[]; values: Float32Array }>;
}

/**
 * A trained member as data: an MLP's Dense layers in order (Dropout does nothing at inference), or a DS-CNN's
 * weights (`network`, `layers` empty), and its input statistics.
 */
export interface TrainedMember {
  layers: DenseWeights[];
  stats: FeatureStats;
  network?: NetworkWeights;
}

/** A trained DS-CNN's weights, copied out of its tensors, with what rebuilds it. */
export function networkWeightsOf(
  model: tf.LayersModel,
  frames: number,
  recipe: Omit<DsCnnOptions, "dropout"> & { dropout: number[] },
): NetworkWeights {
  const width = model.inputs[0].shape[1] as number;
  const { channels, blocks, learningRate, seed, classes } = recipe;
  return {
    frames,
    bins: width / frames,
    options: { channels, blocks, dropout: recipe.dropout[0] ?? 0, learningRate, seed, classes },
    weights: model.layers.flatMap((layer) =>
      layer.getWeights().map((w) => ({ layer: layer.name, shape: w.shape, values: w.dataSync() as Float32Array }))
    ),
  };
}

/** The Dense layers of a trained tfjs model, copied out of its tensors. */
export function denseLayersOf(model: tf.LayersModel): DenseWeights[] {
  return model.layers.filter((layer) => layer.getClassName() === "Dense").map((layer) => {
    const [kernel, bias] = layer.getWeights();
    const config = layer.getConfig() as { units: number; activation: string };
    return {
      kernel: kernel.dataSync() as Float32Array,
      bias: bias.dataSync() as Float32Array,
      inputs: kernel.shape[0],
      units: config.units,
      activation: config.activation,
    };
  });
}

/** Rewrites a first layer trained on (x - mk) / sk so that it takes (x - m0) / s0 and computes the same. */
export function refoldFirstLayer(layer: DenseWeights, own: FeatureStats, shared: FeatureStats): DenseWeights {
  const kernel = new Float32Array(layer.kernel.length);
  const bias = Float32Array.from(layer.bias);
  for (let i = 0; i < layer.inputs; i++) {
    const scale = shared.std[i] / own.std[i];
    const shift = (shared.mean[i] - own.mean[i]) / own.std[i];
    for (let u = 0; u < layer.units; u++) {
      const w = layer.kernel[i * layer.units + u];
      kernel[i * layer.units + u] = w * scale;
      bias[u] += w * shift;
    }
  }
  return { ...layer, kernel, bias };
}

/**
 * One model averaging the members' softmax outputs, fed with features normalized by the returned stats
 * (member 0's). Dropout layers are left out: they do nothing at inference. A single member is rebuilt the
 * same way, without the average, so one code path serves both.
 */
export function averageMembers(members: TrainedMember[]): { model: tf.LayersModel; stats: FeatureStats } {
  if (members.length === 0) throw new Error("an ensemble needs at least one member");
  const built = members[0].network ? averageNetworks(members) : averageMlps(members);
  prepareNetwork(built.model); // ready to answer, as a loaded model is (models/network.ts)
  return built;
}

function averageMlps(members: TrainedMember[]): { model: tf.LayersModel; stats: FeatureStats } {
  const shared = members[0].stats;
  const inputLength = shared.mean.length;
  const input = tf.input({ shape: [inputLength], name: "features" });
  const outputs = members.map((member, k) => {
    const layers = [...member.layers];
    layers[0] = refoldFirstLayer(layers[0], member.stats, shared);
    let x: tf.SymbolicTensor = input;
    layers.forEach((weights, i) => {
      const dense = tf.layers.dense({ units: weights.units, activation: weights.activation as "relu", name: `m${k}_dense${i}` });
      x = dense.apply(x) as tf.SymbolicTensor;
      const values = [tf.tensor2d(weights.kernel, [weights.inputs, weights.units]), tf.tensor1d(weights.bias)];
      dense.setWeights(values); // copies into the layer's variables
      tf.dispose(values);
    });
    return x;
  });
  const output = outputs.length === 1 ? outputs[0] : tf.layers.average({ name: "mean" }).apply(outputs) as tf.SymbolicTensor;
  return { model: tf.model({ inputs: input, outputs: output, name: `mlp_x${members.length}` }), stats: shared };
}

/**
 * DS-CNN members side by side on one input, their softmax outputs averaged. Their statistics are the same
 * (computed on the un-augmented clips, per band), so nothing needs refolding.
 */
function averageNetworks(members: TrainedMember[]): { model: tf.LayersModel; stats: FeatureStats } {
  const { frames, bins } = members[0].network!;
  const input = tf.input({ shape: [frames * bins], name: "features" });
  const built = members.map((member, k) =>
    dsCnnGraph(input, frames, bins, { ...member.network!.options, dropout: 0 }, members.length === 1 ? "" : `m${k}_`)
  );
  const output = built.length === 1 ? built[0] : tf.layers.average({ name: "mean" }).apply(built) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output, name: `dscnn_x${members.length}` });
  members.forEach((member, k) => {
    const prefix = members.length === 1 ? "" : `m${k}_`;
    const byLayer = new Map<string, tf.Tensor[]>();
    for (const w of member.network!.weights) {
      const list = byLayer.get(w.layer) ?? [];
      list.push(tf.tensor(w.values, w.shape));
      byLayer.set(w.layer, list);
    }
    for (const [name, values] of byLayer) {
      model.getLayer(`${prefix}${name}`).setWeights(values); // copies into the layer's variables
      tf.dispose(values);
    }
  });
  return { model, stats: members[0].stats };
}
