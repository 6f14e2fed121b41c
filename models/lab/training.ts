/**
 * Turning clips into examples and examples into a trained MLP. Used by `deno task train`, by
 * `deno task eval --loso` (one model per held-out speaker) and by the training smoke test.
 */
import { augmentClip, type AugmentRecipe, DEFAULT_RECIPE, specAugment, timeWarp } from "../../dsp/augment.ts";
import { type FeatureConfig, type FeatureStats } from "../../dsp/config.ts";
import { decodeAudio } from "../../dsp/decode.ts";
import { computeStats, extractFeatures, normalize, tieStatsOverTime } from "../../dsp/features.ts";
import { resample } from "../../dsp/resample.ts";
import { betaSample, type Random, seededRandom, shuffle } from "../../dsp/random.ts";
import { AudioError } from "../../dsp/errors.ts";
import { buildMlp, type MlpOptions, SEED_MLP } from "./mlp.ts";
import { buildDsCnn } from "./dscnn.ts";
import { registerConvBackprop } from "./conv_backprop.ts";
import { type Classifier, classifyClips } from "../classifier.ts";
import { averageMembers, denseLayersOf, networkWeightsOf, type TrainedMember } from "./ensemble.ts";
import { listVoiceClips } from "./voices.ts";
import { blendTargets, teacherProbabilities } from "./distill.ts";
import { tf } from "../tfjs.ts";

export interface LabelledAudio {
  samples: Float32Array;
  /** 0-9, or NOT_A_DIGIT for a word or sound trained as "not a digit". */
  digit: number;
  /** Who speaks; used only to report and to split, never as a feature. */
  speaker: string;
}

export interface TrainOptions extends MlpOptions {
  /** "mlp": the seed's MLP (hidden, dropout); "dscnn": the depthwise-separable CNN (channels, blocks, dropout[0]). */
  architecture: "mlp" | "dscnn";
  /** DS-CNN: filters of every convolution. */
  channels: number;
  /** DS-CNN: depthwise-separable blocks. */
  blocks: number;
  epochs: number;
  batchSize: number;
  /** Augmented copies made of every training clip, besides the clip itself (0 = none). */
  augmentCopies: number;
  recipe: AugmentRecipe;
  /** SpecAugment masks on augmented copies. */
  specAugment: boolean;
  /** What a mask leaves: 0 (as the first recipes did) or each coefficient's mean over the clip (dsp/augment.ts). */
  maskFill: "zero" | "mean";
  /** SpecAugment time warp on augmented copies: the most frames the warp's knot moves (0 = off). */
  timeWarpFrames: number;
  /** Folder of synthetic voices (`deno task voices`) mixed into training, or "" for none. */
  voicesDir: string;
  /** MLPs trained from seeds seed, seed+1, ... and averaged into one model (models/ensemble.ts). */
  members: number;
  /** Mixup (Zhang et al. 2018): each batch is blended with a shuffled copy of itself, inputs and targets alike,
   * by a weight drawn from Beta(alpha, alpha); 0 = off. */
  mixupAlpha: number;
  /** Label smoothing: the target keeps 1 - e on its digit and spreads e over all classes; 0 = off. */
  labelSmoothing: number;
  /**
   * Clips of words and sounds trained as an 11th class, "not a digit" (models/lab/nondigits.ts: nonDigitClips);
   * 0 = the ten digits only. DS-CNN only.
   */
  nonDigits: number;
  /**
   * A model folder whose probabilities the network also learns from (models/lab/distill.ts), or "" for none. In
   * `deno task eval --loso` each fold learns from the teacher's own fold model, which never heard that speaker.
   */
  teacher: string;
  /** The teacher's share of each target (the label keeps the rest); 0 with no teacher. */
  teacherWeight: number;
}

/** The class index of "not a digit", in a network trained with it. */
export const NOT_A_DIGIT = 10;

/** Outputs of the recipe's network: ten digits, plus "not a digit" when non-digits are trained in. */
export const classesOf = (options: Pick<TrainOptions, "nonDigits">) => (options.nonDigits > 0 ? 11 : 10);

/** A `--mask-fill` flag's value, checked. */
export function parseMaskFill(value: string): TrainOptions["maskFill"] {
  if (value !== "zero" && value !== "mean") throw new Error(`--mask-fill is zero or mean, not ${value}`);
  return value;
}

/** The shipped recipe, but for the synthetic voices, whose folder `deno task voices` must make first. */
export const DEFAULT_TRAIN: TrainOptions = {
  ...SEED_MLP,
  architecture: "mlp",
  channels: 32,
  blocks: 4,
  epochs: 10,
  batchSize: 32,
  augmentCopies: 2,
  recipe: DEFAULT_RECIPE,
  specAugment: true,
  maskFill: "zero",
  timeWarpFrames: 0,
  voicesDir: "",
  members: 2,
  mixupAlpha: 0,
  labelSmoothing: 0,
  nonDigits: 0,
  teacher: "",
  teacherWeight: 0,
};

/** Reads and resamples audio files to the model rate. */
export async function loadAudio(paths: string[], sampleRate: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const path of paths) {
    const decoded = await decodeAudio(await Deno.readFile(path));
    out.push(resample(decoded.samples, decoded.sampleRate, sampleRate));
  }
  return out;
}

/** The synthetic voices of the comma-separated folders `dirs`, in that order, as labelled audio (none when `dirs` is ""). */
export async function loadVoices(dirs: string, sampleRate: number): Promise<LabelledAudio[]> {
  if (!dirs) return [];
  const clips = dirs.split(",").flatMap((dir) => {
    const found = listVoiceClips(dir);
    if (found.length === 0) throw new Error(`no synthetic voices in ${dir}: run deno task voices first`);
    return found;
  });
  const audio = await loadAudio(clips.map((c) => c.path), sampleRate);
  return clips.map((c, i) => ({ samples: audio[i], digit: c.digit, speaker: c.speaker }));
}

export interface Examples {
  x: Float32Array[];
  y: number[];
  /** Whether each example is a clip as recorded (not an augmented copy). */
  plain: boolean[];
  /** A teacher's probabilities for each example (distillation), blended into its target. */
  soft?: Float32Array[];
}

/** Features of every clip plus `augmentCopies` seeded augmentations of it. Clips with no speech are skipped. */
export function makeExamples(
  clips: LabelledAudio[],
  config: FeatureConfig,
  options: Pick<TrainOptions, "augmentCopies" | "recipe" | "specAugment" | "maskFill" | "timeWarpFrames" | "seed">,
): Examples {
  const random = seededRandom(options.seed * 7919 + 17);
  const babble = clips.map((c) => c.samples);
  const x: Float32Array[] = [];
  const y: number[] = [];
  const plain: boolean[] = [];
  const augmentGrid = (grid: Float32Array, frames: number, perFrame: number) => {
    if (options.timeWarpFrames > 0) grid = timeWarp(grid, frames, perFrame, options.timeWarpFrames, random);
    return options.specAugment ? specAugment(grid, frames, perFrame, random, { fill: options.maskFill }) : grid;
  };
  const add = (samples: Float32Array, digit: number, warp: number, augmented: boolean) => {
    try {
      x.push(extractFeatures(samples, config, { warp, augmentGrid: augmented ? augmentGrid : undefined }).values);
      y.push(digit);
      plain.push(!augmented);
    } catch (e) {
      if (!(e instanceof AudioError)) throw e; // an augmentation that drowned the speech: leave it out
    }
  };
  for (const clip of clips) {
    add(clip.samples, clip.digit, 1, false);
    for (let k = 0; k < options.augmentCopies; k++) {
      const augmented = augmentClip(clip.samples, config.sampleRate, options.recipe, random, babble);
      add(augmented.samples, clip.digit, augmented.warp, true);
    }
  }
  return { x, y, plain };
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  loss: number;
  accuracy: number;
  elapsedS: number;
  /** How many members an ensemble trains (absent for a single model): then epoch/epochs count all of theirs. */
  members?: number;
}

/** The network a recipe names, for inputs of `width` values (a DS-CNN reads them as config.frames rows). */
export function buildNetwork(width: number, config: FeatureConfig, options: TrainOptions): tf.LayersModel {
  if (options.architecture === "dscnn") {
    registerConvBackprop(); // tfjs-wasm lacks the CNN's gradient kernels
    const { channels, blocks, learningRate, seed } = options;
    const classes = classesOf(options);
    return buildDsCnn(config.frames, width / config.frames, {
      channels,
      blocks,
      dropout: options.dropout[0] ?? 0,
      learningRate,
      seed,
      classes,
    });
  }
  if (options.nonDigits > 0) throw new Error('a "not a digit" class is trained into the DS-CNN only');
  return buildMlp(width, options);
}

/**
 * Trains the recipe's network on normalized examples. Repeatable under `seed`: the weights' initializers are
 * seeded, the batches are shuffled by our seeded PRNG, and tfjs's dropout masks (which draw from Math.random)
 * get a seeded Math.random for the duration of training.
 */
export async function trainNetwork(
  examples: Examples,
  config: FeatureConfig,
  options: TrainOptions,
  stats: { mean: number[]; std: number[] },
  onEpoch: (report: EpochReport) => void = () => {},
): Promise<tf.LayersModel> {
  const width = examples.x[0].length;
  const n = examples.x.length;
  const xs = new Float32Array(n * width);
  examples.x.forEach((v, i) => xs.set(normalize(v, stats), i * width));
  const model = buildNetwork(width, config, options);
  const random = seededRandom(options.seed);
  const realRandom = Math.random;
  Math.random = seededRandom(options.seed + 1);
  const started = performance.now();
  try {
    const order = Array.from({ length: n }, (_, i) => i);
    const batchX = new Float32Array(options.batchSize * width);
    const classes = classesOf(options);
    const batchY = new Float32Array(options.batchSize * classes);
    // Its own stream, so that a recipe without mixup shuffles exactly as before.
    const mixRandom = seededRandom(options.seed * 31 + 5);
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      shuffle(order, random);
      let lossSum = 0;
      let correctSum = 0;
      for (let start = 0; start < n; start += options.batchSize) {
        const size = Math.min(options.batchSize, n - start);
        const picked = order.slice(start, start + size);
        fillTargets(batchY, picked.map((i) => examples.y[i]), options.labelSmoothing, classes);
        if (examples.soft) blendTargets(batchY, picked.map((i) => examples.soft![i]), options.teacherWeight, classes);
        picked.forEach((i, b) => batchX.set(xs.subarray(i * width, (i + 1) * width), b * width));
        if (options.mixupAlpha > 0) mixBatch(batchX, batchY, size, width, options.mixupAlpha, mixRandom, classes);
        const [input, target] = tf.tidy(() => [
          tf.tensor2d(batchX.subarray(0, size * width), [size, width]),
          tf.tensor2d(batchY.subarray(0, size * classes), [size, classes]),
        ]);
        const result = await model.trainOnBatch(input, target) as number[];
        tf.dispose([input, target]);
        lossSum += result[0] * size;
        correctSum += result[1] * size;
      }
      onEpoch({
        epoch,
        epochs: options.epochs,
        loss: lossSum / n,
        accuracy: correctSum / n,
        elapsedS: (performance.now() - started) / 1000,
      });
    }
  } finally {
    Math.random = realRandom;
  }
  return model;
}

/** One-hot rows of `labels` into `out`, smoothed: 1 - e + e/C on the label, e/C elsewhere (C classes). */
export function fillTargets(out: Float32Array, labels: number[], smoothing: number, classes = 10): void {
  labels.forEach((label, b) => {
    for (let k = 0; k < classes; k++) out[b * classes + k] = (k === label ? 1 - smoothing : 0) + smoothing / classes;
  });
}

/**
 * Mixup in place over the first `size` rows: row b becomes lambda * row b + (1 - lambda) * row p(b) for a
 * shuffled p, in the inputs and the targets, with one lambda per batch drawn from Beta(alpha, alpha).
 */
export function mixBatch(
  x: Float32Array,
  y: Float32Array,
  size: number,
  width: number,
  alpha: number,
  random: Random,
  classes = 10,
): void {
  const lambda = betaSample(random, alpha, alpha);
  const partner = shuffle(Array.from({ length: size }, (_, i) => i), random);
  const x0 = x.slice(0, size * width);
  const y0 = y.slice(0, size * classes);
  for (let b = 0; b < size; b++) {
    const p = partner[b];
    for (let i = 0; i < width; i++) x[b * width + i] = lambda * x0[b * width + i] + (1 - lambda) * x0[p * width + i];
    for (let k = 0; k < classes; k++) y[b * classes + k] = lambda * y0[b * classes + k] + (1 - lambda) * y0[p * classes + k];
  }
}

/** Frees a trained model with its optimizer's slots (model.dispose() alone leaves Adam's tensors). */
export function disposeModel(model: tf.LayersModel): void {
  model.optimizer?.dispose();
  model.dispose();
}

/** One member: its own seeded augmentations, statistics, a network trained on them, returned as plain weights. */
export async function trainMember(
  clips: LabelledAudio[],
  config: FeatureConfig,
  options: TrainOptions,
  onEpoch?: (report: EpochReport) => void,
): Promise<{ member: TrainedMember; examples: number }> {
  const made = makeExamples(clips, config, options);
  if (options.teacher) {
    if (options.nonDigits > 0) throw new Error('a teacher knows ten digits: distillation and a "not a digit" class do not mix');
    made.soft = await teacherProbabilities(options.teacher, config, made.x);
  }
  const cnn = options.architecture === "dscnn";
  // MLP: statistics over the clips and their augmented copies alike, the inputs it is trained on (members differ,
  // and the ensemble refolds them). DS-CNN: over the clips as recorded, per band, the same for every member.
  const stats = cnn ? tieStatsOverTime(computeStats(made.x.filter((_, i) => made.plain[i])), config.frames) : computeStats(made.x);
  const model = await trainNetwork(made, config, options, stats, onEpoch);
  try {
    const member: TrainedMember = cnn
      ? { layers: [], stats, network: networkWeightsOf(model, config.frames, { ...options, classes: classesOf(options) }) }
      : { layers: denseLayersOf(model), stats };
    return { member, examples: made.x.length };
  } finally {
    disposeModel(model);
  }
}

/**
 * `options.members` members from seeds seed, seed+1, ... Member k is the same whether it is trained alone or
 * beside others, here or in a worker, so the first k members of an ensemble are the k-member ensemble. With
 * `jobs` > 1 they train in that many Web Workers at once (tfjs-wasm runs one thread per isolate).
 * `onEpoch` sees the members' epochs summed: epoch e of epochs = members x epochs.
 */
export async function trainMembers(
  clips: LabelledAudio[],
  config: FeatureConfig,
  options: TrainOptions,
  onEpoch: (report: EpochReport) => void = () => {},
  jobs = 1,
): Promise<{ members: TrainedMember[]; examples: number }> {
  const count = Math.max(1, options.members);
  const started = performance.now();
  let done = 0;
  const report = (r: EpochReport) =>
    onEpoch({ ...r, epoch: ++done, epochs: count * options.epochs, elapsedS: (performance.now() - started) / 1000, members: count });
  const train = (k: number) => {
    const memberOptions = { ...options, seed: options.seed + k };
    return jobs > 1 ? trainMemberInWorker(clips, config, memberOptions, report) : trainMember(clips, config, memberOptions, report);
  };
  const results = new Array<{ member: TrainedMember; examples: number }>(count);
  let next = 0;
  const lanes = Array.from({ length: Math.min(Math.max(1, jobs), count) }, async () => {
    while (next < count) {
      const k = next++;
      results[k] = await train(k);
    }
  });
  await Promise.all(lanes);
  return { members: results.map((r) => r.member), examples: results.reduce((n, r) => n + r.examples, 0) };
}

/** trainMember in a Web Worker of its own (models/member_worker.ts); epoch reports are passed on as they come. */
function trainMemberInWorker(
  clips: LabelledAudio[],
  config: FeatureConfig,
  options: TrainOptions,
  onEpoch: (report: EpochReport) => void,
): Promise<{ member: TrainedMember; examples: number }> {
  const worker = new Worker(new URL("./member_worker.ts", import.meta.url).href, { type: "module" });
  return new Promise<{ member: TrainedMember; examples: number }>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<MemberWorkerMessage>) => {
      const message = event.data;
      if (message.kind === "epoch") onEpoch(message.report);
      else if (message.kind === "done") resolve(message.result);
      else reject(new Error(`training worker: ${message.error}`));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`training worker: ${event.message}`));
    };
    worker.postMessage({ clips, config, options } satisfies MemberWorkerRequest);
  }).finally(() => worker.terminate());
}

export interface MemberWorkerRequest {
  clips: LabelledAudio[];
  config: FeatureConfig;
  options: TrainOptions;
}

export type MemberWorkerMessage =
  | { kind: "epoch"; report: EpochReport }
  | { kind: "done"; result: { member: TrainedMember; examples: number } }
  | { kind: "failed"; error: string };

/**
 * Features, statistics and a trained model from labelled audio: the whole recipe in one call. Several
 * members are averaged into one model (models/ensemble.ts); one member is rebuilt the same way.
 */
export async function trainOnAudio(
  clips: LabelledAudio[],
  config: FeatureConfig,
  options: TrainOptions,
  onEpoch?: (report: EpochReport) => void,
  jobs = 1,
): Promise<{ model: tf.LayersModel; stats: FeatureStats; examples: number }> {
  const { members, examples } = await trainMembers(clips, config, options, onEpoch, jobs);
  return { ...averageMembers(members), examples };
}

/**
 * Probabilities for each clip, through classifyClips() over its feature views: evaluation takes the path the server takes. A clip in
 * which no speech is found gets a row of zeros, no answer, which evaluate() counts as a miss: evaluation never
 * drops the clips it cannot handle.
 */
export function predictAudio(
  model: tf.LayersModel,
  stats: { mean: number[]; std: number[] },
  config: FeatureConfig,
  clips: Float32Array[],
): Float32Array[] {
  return servedProbabilities({ model, features: { config, stats }, identity: { name: "evaluation", version: "" } }, clips);
}

/**
 * Each clip's digit probabilities through the served path (model-rate samples -> features -> [embedding ->] network,
 * as recognize() does); a clip with no speech found gets a row of zeros, which evaluate() counts as unanswered.
 */
export function servedProbabilities(classifier: Classifier, clips: Float32Array[]): Float32Array[] {
  const views = clips.map((samples) => {
    try {
      return extractFeatures(samples, classifier.features.config).views;
    } catch (e) {
      if (e instanceof AudioError) return null;
      throw e;
    }
  });
  const found = classifyClips(classifier, views.filter((v): v is Float32Array[] => v !== null));
  let k = 0;
  return views.map((v) => (v === null ? new Float32Array(10) : found[k++]));
}
