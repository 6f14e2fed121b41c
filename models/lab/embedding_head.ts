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
import { type Random, seededRandom, shuffle } from "../../dsp/random.ts";
import { embed, EMBEDDING_SIZE, type SpeechEmbedding } from "../embedding.ts";
import { sha256Hex } from "../files.ts";
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
  /**
   * Also learn "not a digit" as an 11th class, from non-digit words, digits made into non-digits and non-speech
   * (models/lab/embedding_negatives.ts): the refusal reads the same vectors as the digits, at no extra cost.
   */
  nonDigits: boolean;
  /**
   * With nonDigits: the weight of all "not a digit" examples together, as a multiple of one digit's (each example's
   * loss scaled to match): many varied negatives without drowning the ten digits. 0: every example weighs 1.
   */
  nonDigitBalance: number;
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
  nonDigits: false,
  nonDigitBalance: 0,
};

/** The speech embedding's vector size, for the lab modules that import it from here. */
export { EMBEDDING_SIZE };

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
  return buildVectorConvNet(
    { vectors, classes, filters: options.filters, dropout: options.dropout, padding: "same", pool: "average" },
    seed,
  );
}

/**
 * A small network over `vectors` embedding vectors (flat [vectors * 96] in): [vectors, 1, 96] -> two Conv2D(3x1,
 * ReLU, each followed by dropout) over time -> averaged over time ("average": the digit head) or flattened
 * ("flatten": the spotter's fixed window) -> Dense(classes, softmax). Glorot-uniform weights seeded from `seed`.
 */
export function buildVectorConvNet(
  { vectors, classes, filters, dropout, padding, pool }: {
    vectors: number;
    classes: number;
    filters: number;
    dropout: number;
    padding: "same" | "valid";
    pool: "average" | "flatten";
  },
  seed: number,
): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed * 100 + k });
  const input = tf.input({ shape: [vectors * EMBEDDING_SIZE] });
  let x = tf.layers.reshape({ targetShape: [vectors, 1, EMBEDDING_SIZE] }).apply(input) as tf.SymbolicTensor;
  for (let k = 0; k < 2; k++) {
    x = tf.layers.conv2d({ filters, kernelSize: [3, 1], padding, activation: "relu", kernelInitializer: init(k) }).apply(
      x,
    ) as tf.SymbolicTensor;
    if (dropout > 0) x = tf.layers.dropout({ rate: dropout }).apply(x) as tf.SymbolicTensor;
  }
  x = (pool === "average" ? tf.layers.globalAveragePooling2d({}) : tf.layers.flatten({})).apply(x) as tf.SymbolicTensor;
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
 * Trains one head on vectors `x` (flat [V * 96] each) with labels `y` (digits 0-9, and 10 = not a digit: then the
 * head has 11 outputs); returns the model and the statistics it normalizes with (fitInBatches trains it).
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
  const classes = y.some((label) => label === 10) ? 11 : 10;
  const model = buildHead(vectors, classes, options, seed);
  const negatives = y.filter((label) => label === 10).length;
  // Scaling an example's target row scales its cross-entropy: the non-digits weigh nonDigitBalance digits' worth.
  const weight = (label: number) =>
    label === 10 && options.nonDigitBalance > 0 ? options.nonDigitBalance * ((x.length - negatives) / 10) / negatives : 1;
  await fitInBatches(model, x.length, width, classes, options, seededRandom(seed), (r, into, at) => {
    into.set(data.subarray(r * width, (r + 1) * width), at);
    return y[r];
  }, { weight, log, logEvery: 10 });
  return { model, stats };
}

/** What fitInBatches needs of a recipe. */
export interface FitOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** 1 - smoothing on the label, smoothing spread over the classes. */
  labelSmoothing: number;
}

/**
 * Trains `model` (softmax over `classes`) with Adam on `count` examples, shuffled by `random` each epoch, the learning
 * rate decayed on a cosine over the run (the last epochs settle instead of wandering). `example(i, into, at)` writes
 * example i's `width` inputs into `into` at `at` and returns its label; `weight(label)` scales its loss (by scaling its
 * target row). The batches' tensors and the optimizer's are freed. Shared by the digit head and the spotter.
 */
export async function fitInBatches(
  model: tf.LayersModel,
  count: number,
  width: number,
  classes: number,
  options: FitOptions,
  random: Random,
  example: (index: number, into: Float32Array, at: number) => number,
  { weight = () => 1, log = () => {}, logEvery = 1 }: {
    weight?: (label: number) => number;
    log?: (line: string) => void;
    logEvery?: number;
  } = {},
): Promise<void> {
  const optimizer = tf.train.adam(options.learningRate);
  model.compile({ optimizer, loss: "categoricalCrossentropy" });
  const order = Array.from({ length: count }, (_, i) => i);
  const steps = Math.ceil(count / options.batchSize);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    (optimizer as unknown as { learningRate: number }).learningRate = options.learningRate * 0.5 *
      (1 + Math.cos((Math.PI * epoch) / options.epochs));
    shuffle(order, random);
    let loss = 0;
    for (let s = 0; s < steps; s++) {
      const rows = order.slice(s * options.batchSize, (s + 1) * options.batchSize);
      const bx = new Float32Array(rows.length * width);
      const by = new Float32Array(rows.length * classes).fill(options.labelSmoothing / classes);
      rows.forEach((r, k) => {
        const label = example(r, bx, k * width);
        by[k * classes + label] += 1 - options.labelSmoothing;
        const w = weight(label);
        if (w !== 1) { for (let c = 0; c < classes; c++) by[k * classes + c] *= w; }
      });
      const xs = tf.tensor2d(bx, [rows.length, width]);
      const ys = tf.tensor2d(by, [rows.length, classes]);
      const result = await model.trainOnBatch(xs, ys);
      loss += (Array.isArray(result) ? result[0] : result) as number;
      xs.dispose();
      ys.dispose();
    }
    if ((epoch + 1) % logEvery === 0 || epoch === options.epochs - 1) {
      log(`epoch ${epoch + 1}/${options.epochs} loss ${(loss / steps).toFixed(4)}`);
    }
  }
  optimizer.dispose();
}

/** Output rows (10 digits, or 11 with "not a digit" last) of each row of `x` under a trained head. */
export function predictHead(model: tf.LayersModel, stats: FeatureStats, x: Float32Array[]): Float32Array[] {
  if (x.length === 0) return [];
  return predictRows(model, normalized(x, stats), x.length);
}

/**
 * The output rows of `model` for `count` input rows (flat [count * width], already normalized). Read outside tf.tidy:
 * it would walk the returned typed array element by element.
 */
export function predictRows(model: tf.LayersModel, rows: Float32Array, count: number): Float32Array[] {
  const classes = model.outputs[0].shape[1] as number;
  const output = tf.tidy(() => model.predict(tf.tensor2d(rows, [count, rows.length / count])) as tf.Tensor);
  const out = output.dataSync() as Float32Array;
  output.dispose();
  return Array.from({ length: count }, (_, i) => out.slice(i * classes, (i + 1) * classes));
}

/**
 * clipVectors of audio files, cached in .cache/embedding_vectors/ under a hash of the config, the network's version
 * and the files' paths: every recipe and every LOSO fold reads the same vectors, computed once (a few minutes).
 */
export function cachedFileVectors(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  paths: string[],
  load: (paths: string[]) => Promise<Float32Array[]>,
  log: (line: string) => void = () => {},
): Promise<(Float32Array | null)[]> {
  return cachedVectors(embedding, config, paths, paths.length, (from, to) => load(paths.slice(from, to)), log);
}

/**
 * clipVectors of `count` clips made by `make(from, to)` (clips from..to-1, the same every time for the same `key`),
 * cached in .cache/embedding_vectors/ under a hash of the config, the network's version and `key`.
 */
export async function cachedVectors(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  key: unknown,
  count: number,
  make: (from: number, to: number) => Promise<Float32Array[]> | Float32Array[],
  log: (line: string) => void = () => {},
): Promise<(Float32Array | null)[]> {
  const hash = await sha256Hex(JSON.stringify({ config, version: embedding.version, paths: key }));
  const file = `.cache/embedding_vectors/${hash.slice(0, 16)}.bin`;
  const width = vectorsPerClip(config) * EMBEDDING_SIZE;
  try {
    const all = new Float32Array((await Deno.readFile(file)).buffer);
    if (all.length === count * width) {
      return Array.from({ length: count }, (_, i) => {
        const row = all.slice(i * width, (i + 1) * width);
        return Number.isNaN(row[0]) ? null : row;
      });
    }
  } catch { /* not cached yet */ }
  const started = performance.now();
  const out: (Float32Array | null)[] = [];
  for (let at = 0; at < count; at += 200) {
    out.push(...clipVectors(embedding, config, await make(at, Math.min(count, at + 200))));
    log(`vectors: ${out.length}/${count} clips (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  const all = new Float32Array(count * width);
  out.forEach((row, i) => (row ? all.set(row, i * width) : all.fill(NaN, i * width, (i + 1) * width)));
  await Deno.mkdir(".cache/embedding_vectors", { recursive: true });
  await Deno.writeFile(file, new Uint8Array(all.buffer));
  return out;
}
