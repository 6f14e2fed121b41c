/**
 * The digit head on the speech embedding: clips -> the embedding's vectors (computed once, cached on disk) -> a small
 * convolution over the vectors in time -> ten digits. Training never touches the embedding (it is frozen), so a head
 * trains in seconds and a leave-one-speaker-out run in minutes.
 *
 * The head: the flat vectors [V * 96] -> [V, 1, 96] -> Conv2D(filters, 3x1, relu) -> Dropout -> Conv2D(filters,
 * 3x1, relu) -> global average -> Dropout -> Dense(10, softmax): layers models/network.ts folds for serving.
 */
import { tf } from "../tfjs.ts";
import { AudioError } from "../../dsp/errors.ts";
import type { FeatureConfig, FeatureStats } from "../../dsp/config.ts";
import { computeStats, extractFeatures, normalize, tieStatsOverTime } from "../../dsp/features.ts";
import { seededRandom, shuffle } from "../../dsp/random.ts";
import { embed, type SpeechEmbedding } from "../embedding.ts";
import { registerConvBackprop } from "./conv_backprop.ts";

export interface HeadOptions {
  /** Channels of both convolutions. */
  filters: number;
  dropout: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** 1 - smoothing on the digit, smoothing spread over the ten. */
  labelSmoothing: number;
  seed: number;
  /** Heads trained from seeds seed..seed+members-1, their probabilities averaged. */
  members: number;
}

export const DEFAULT_HEAD: HeadOptions = {
  filters: 64,
  dropout: 0.2,
  epochs: 40,
  batchSize: 64,
  learningRate: 2e-3,
  labelSmoothing: 0.1,
  seed: 1,
  members: 1,
};

export const EMBEDDING_SIZE = 96;

/** Vectors per clip for a config: one per window of the crop. */
export function vectorsPerClip(config: FeatureConfig): number {
  const e = config.embedding!;
  return 1 + Math.floor((config.frames - e.windowFrames) / e.stepFrames);
}

/**
 * Each clip's embedding vectors, flat [V * 96], or null where no speech was found. The clips' mel inputs go through
 * the network `batch` at a time; every tensor is freed.
 */
export function clipVectors(embedding: SpeechEmbedding, config: FeatureConfig, clips: Float32Array[], batch = 16): (Float32Array | null)[] {
  const mels = clips.map((samples) => {
    try {
      return extractFeatures(samples, config).values;
    } catch (e) {
      if (e instanceof AudioError) return null;
      throw e;
    }
  });
  const out: (Float32Array | null)[] = mels.map(() => null);
  const found = mels.flatMap((m, i) => (m ? [i] : []));
  const width = vectorsPerClip(config) * EMBEDDING_SIZE;
  for (let at = 0; at < found.length; at += batch) {
    const part = found.slice(at, at + batch);
    const input = new Float32Array(part.length * config.frames * config.nMels);
    part.forEach((i, k) => input.set(mels[i]!, k * config.frames * config.nMels));
    const vectors = tf.tidy(() =>
      embed(embedding, tf.tensor3d(input, [part.length, config.frames, config.nMels])).dataSync() as Float32Array
    );
    part.forEach((i, k) => (out[i] = vectors.slice(k * width, (k + 1) * width)));
  }
  return out;
}

/** Statistics of the vectors, one mean and deviation per embedding dimension, shared over the clip's time steps. */
export function vectorStats(x: Float32Array[], vectors: number): FeatureStats {
  return tieStatsOverTime(computeStats(x), vectors);
}

export function buildHead(vectors: number, classes: number, options: HeadOptions, seed: number): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 100 + k });
  const input = tf.input({ shape: [vectors * EMBEDDING_SIZE] });
  let x = tf.layers.reshape({ targetShape: [vectors, 1, EMBEDDING_SIZE] }).apply(input) as tf.SymbolicTensor;
  for (let k = 0; k < 2; k++) {
    x = tf.layers.conv2d({ filters: options.filters, kernelSize: [3, 1], padding: "same", activation: "relu", kernelInitializer: init(k) })
      .apply(x) as tf.SymbolicTensor;
    if (options.dropout > 0) x = tf.layers.dropout({ rate: options.dropout }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: classes, activation: "softmax", kernelInitializer: init(9) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

/** The rows normalized with `stats` (dsp's normalize), flat. */
function normalized(x: Float32Array[], stats: FeatureStats): Float32Array {
  const width = stats.mean.length;
  const out = new Float32Array(x.length * width);
  x.forEach((v, i) => out.set(normalize(v, stats), i * width));
  return out;
}

/**
 * Trains one head on vectors `x` (flat [V * 96] each) with digits `y`; returns the model and the statistics it
 * normalizes with. Shuffled by a seeded order each epoch; the optimizer's tensors are freed.
 */
export async function trainHead(
  x: Float32Array[],
  y: number[],
  vectors: number,
  options: HeadOptions,
  seed = options.seed,
  log: (line: string) => void = () => {},
): Promise<{ model: tf.LayersModel; stats: FeatureStats }> {
  registerConvBackprop();
  const stats = vectorStats(x, vectors);
  const width = vectors * EMBEDDING_SIZE;
  const data = normalized(x, stats);
  const classes = 10;
  const model = buildHead(vectors, classes, options, seed);
  const optimizer = tf.train.adam(options.learningRate);
  model.compile({ optimizer, loss: "categoricalCrossentropy" });
  const random = seededRandom(seed);
  const order = x.map((_, i) => i);
  const steps = Math.ceil(x.length / options.batchSize);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    // Cosine decay of the learning rate over the run: the last epochs settle instead of wandering.
    (optimizer as unknown as { learningRate: number }).learningRate = options.learningRate * 0.5 *
      (1 + Math.cos((Math.PI * epoch) / options.epochs));
    shuffle(order, random);
    let loss = 0;
    for (let s = 0; s < steps; s++) {
      const rows = order.slice(s * options.batchSize, (s + 1) * options.batchSize);
      const bx = new Float32Array(rows.length * width);
      const by = new Float32Array(rows.length * classes).fill(options.labelSmoothing / classes);
      rows.forEach((r, k) => {
        bx.set(data.subarray(r * width, (r + 1) * width), k * width);
        by[k * classes + y[r]] += 1 - options.labelSmoothing;
      });
      const xs = tf.tensor2d(bx, [rows.length, width]);
      const ys = tf.tensor2d(by, [rows.length, classes]);
      const result = await model.trainOnBatch(xs, ys);
      loss += (Array.isArray(result) ? result[0] : result) as number;
      xs.dispose();
      ys.dispose();
    }
    if (epoch % 10 === 9 || epoch === options.epochs - 1) log(`epoch ${epoch + 1}/${options.epochs} loss ${(loss / steps).toFixed(4)}`);
  }
  optimizer.dispose();
  return { model, stats };
}

/** Probabilities of each row of `x` under a trained head. */
export function predictHead(model: tf.LayersModel, stats: FeatureStats, x: Float32Array[]): Float32Array[] {
  if (x.length === 0) return [];
  const width = stats.mean.length;
  const out = tf.tidy(() => (model.predict(tf.tensor2d(normalized(x, stats), [x.length, width])) as tf.Tensor).dataSync() as Float32Array);
  return x.map((_, i) => out.slice(i * 10, (i + 1) * 10));
}

/**
 * clipVectors of audio files, cached in .cache/embedding_vectors/ under a hash of the config, the network's version
 * and the files' paths: every recipe and every LOSO fold reads the same vectors, computed once (a few minutes).
 */
export async function cachedFileVectors(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  paths: string[],
  load: (paths: string[]) => Promise<Float32Array[]>,
  log: (line: string) => void = () => {},
): Promise<(Float32Array | null)[]> {
  const key = await sha256Hex(JSON.stringify({ config, version: embedding.version, paths }));
  const file = `.cache/embedding_vectors/${key.slice(0, 16)}.bin`;
  const width = vectorsPerClip(config) * EMBEDDING_SIZE;
  try {
    const all = new Float32Array((await Deno.readFile(file)).buffer);
    if (all.length === paths.length * width) {
      return paths.map((_, i) => {
        const row = all.slice(i * width, (i + 1) * width);
        return Number.isNaN(row[0]) ? null : row;
      });
    }
  } catch { /* not cached yet */ }
  const started = performance.now();
  const out: (Float32Array | null)[] = [];
  for (let at = 0; at < paths.length; at += 200) {
    out.push(...clipVectors(embedding, config, await load(paths.slice(at, at + 200))));
    log(`vectors: ${out.length}/${paths.length} clips (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  const all = new Float32Array(paths.length * width);
  out.forEach((row, i) => (row ? all.set(row, i * width) : all.fill(NaN, i * width, (i + 1) * width)));
  await Deno.mkdir(".cache/embedding_vectors", { recursive: true });
  await Deno.writeFile(file, new Uint8Array(all.buffer));
  return out;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
