/**
 * Turning clips into examples and examples into a trained MLP. Used by `deno task train`, by
 * `deno task eval --loso` (one model per held-out speaker) and by the training smoke test.
 */
import { augmentClip, type AugmentRecipe, DEFAULT_RECIPE, specAugment } from "../dsp/augment.ts";
import { type FeatureConfig, featureLength } from "../dsp/config.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { computeStats, extractFeatures, normalize } from "../dsp/features.ts";
import { resample } from "../dsp/resample.ts";
import { type Random, seededRandom, shuffle } from "../dsp/random.ts";
import { AudioError } from "../dsp/errors.ts";
import { buildMlp, type MlpOptions, SEED_MLP } from "./mlp.ts";
import { type Classifier, classifyClips } from "./classifier.ts";
import { averageMembers, type TrainedMember } from "./ensemble.ts";
import { listVoiceClips } from "./voices.ts";
import { tf } from "./tfjs.ts";

export interface LabelledAudio {
  samples: Float32Array;
  digit: number;
  /** Who speaks; used only to report and to split, never as a feature. */
  speaker: string;
}

export interface TrainOptions extends MlpOptions {
  epochs: number;
  batchSize: number;
  /** Augmented copies made of every training clip, besides the clip itself (0 = none). */
  augmentCopies: number;
  recipe: AugmentRecipe;
  /** SpecAugment masks on augmented copies. */
  specAugment: boolean;
  /** Folder of synthetic voices (`deno task voices`) mixed into training, or "" for none. */
  voicesDir: string;
  /** MLPs trained from seeds seed, seed+1, ... and averaged into one model (models/ensemble.ts). */
  members: number;
}

export const DEFAULT_TRAIN: TrainOptions = {
  ...SEED_MLP,
  epochs: 20,
  batchSize: 32,
  augmentCopies: 0,
  recipe: DEFAULT_RECIPE,
  specAugment: true,
  voicesDir: "",
  members: 1,
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

/** The synthetic voices of `dir` as labelled audio (none when `dir` is ""). */
export async function loadVoices(dir: string, sampleRate: number): Promise<LabelledAudio[]> {
  if (!dir) return [];
  const clips = listVoiceClips(dir);
  if (clips.length === 0) throw new Error(`no synthetic voices in ${dir}: run deno task voices first`);
  const audio = await loadAudio(clips.map((c) => c.path), sampleRate);
  return clips.map((c, i) => ({ samples: audio[i], digit: c.digit, speaker: c.speaker }));
}

export interface Examples {
  x: Float32Array[];
  y: number[];
}

/** Features of every clip plus `augmentCopies` seeded augmentations of it. Clips with no speech are skipped. */
export function makeExamples(clips: LabelledAudio[], config: FeatureConfig, options: Pick<TrainOptions, "augmentCopies" | "recipe" | "specAugment" | "seed">): Examples {
  const random = seededRandom(options.seed * 7919 + 17);
  const babble = clips.map((c) => c.samples);
  const perFrame = featureLength(config) / config.frames;
  const x: Float32Array[] = [];
  const y: number[] = [];
  const add = (samples: Float32Array, digit: number, warp: number, masked: boolean, rnd: Random) => {
    try {
      const values = extractFeatures(samples, config, { warp }).values;
      x.push(masked ? specAugment(values, config.frames, perFrame, rnd) : values);
      y.push(digit);
    } catch (e) {
      if (!(e instanceof AudioError)) throw e; // an augmentation that drowned the speech: leave it out
    }
  };
  for (const clip of clips) {
    add(clip.samples, clip.digit, 1, false, random);
    for (let k = 0; k < options.augmentCopies; k++) {
      const augmented = augmentClip(clip.samples, config.sampleRate, options.recipe, random, babble);
      add(augmented.samples, clip.digit, augmented.warp, options.specAugment, random);
    }
  }
  return { x, y };
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  loss: number;
  accuracy: number;
  elapsedS: number;
  /** Which member of an ensemble is training (absent for a single model). */
  member?: number;
  members?: number;
}

/**
 * Trains the MLP on normalized examples. Repeatable under `seed`: the weights' initializers are seeded, the
 * batches are shuffled by our seeded PRNG, and tfjs's dropout masks (which draw from Math.random) get a
 * seeded Math.random for the duration of training.
 */
export async function trainMlp(
  examples: Examples,
  options: TrainOptions,
  stats: { mean: number[]; std: number[] },
  onEpoch: (report: EpochReport) => void = () => {},
): Promise<tf.Sequential> {
  const width = examples.x[0].length;
  const n = examples.x.length;
  const xs = new Float32Array(n * width);
  examples.x.forEach((v, i) => xs.set(normalize(v, stats), i * width));
  const model = buildMlp(width, options);
  const random = seededRandom(options.seed);
  const realRandom = Math.random;
  Math.random = seededRandom(options.seed + 1);
  const started = performance.now();
  try {
    const order = Array.from({ length: n }, (_, i) => i);
    const batchX = new Float32Array(options.batchSize * width);
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      shuffle(order, random);
      let lossSum = 0;
      let correctSum = 0;
      for (let start = 0; start < n; start += options.batchSize) {
        const size = Math.min(options.batchSize, n - start);
        const labels = new Int32Array(size);
        for (let b = 0; b < size; b++) {
          batchX.set(xs.subarray(order[start + b] * width, (order[start + b] + 1) * width), b * width);
          labels[b] = examples.y[order[start + b]];
        }
        const [input, target] = tf.tidy(() => [
          tf.tensor2d(batchX.subarray(0, size * width), [size, width]),
          tf.oneHot(tf.tensor1d(labels, "int32"), 10),
        ]);
        const result = await model.trainOnBatch(input, target) as number[];
        tf.dispose([input, target]);
        lossSum += result[0] * size;
        correctSum += result[1] * size;
      }
      onEpoch({ epoch, epochs: options.epochs, loss: lossSum / n, accuracy: correctSum / n, elapsedS: (performance.now() - started) / 1000 });
    }
  } finally {
    Math.random = realRandom;
  }
  return model;
}

/** Frees a trained model with its optimizer's slots (model.dispose() alone leaves Adam's tensors). */
export function disposeModel(model: tf.LayersModel): void {
  model.optimizer?.dispose();
  model.dispose();
}

/**
 * Features, statistics and a trained model from labelled audio: the whole recipe in one call. With
 * several members, each is trained on its own seeded augmentations and the result averages them.
 */
export async function trainOnAudio(
  clips: LabelledAudio[],
  config: FeatureConfig,
  options: TrainOptions,
  onEpoch?: (report: EpochReport) => void,
): Promise<{ model: tf.LayersModel; stats: { mean: number[]; std: number[] }; examples: number }> {
  const members: TrainedMember[] = [];
  let examples = 0;
  try {
    for (let k = 0; k < Math.max(1, options.members); k++) {
      const memberOptions = { ...options, seed: options.seed + k };
      const made = makeExamples(clips, config, memberOptions);
      // Statistics over the clips and their augmented copies alike: the inputs the network is trained on.
      const stats = computeStats(made.x);
      const report = onEpoch && options.members > 1 ? (r: EpochReport) => onEpoch({ ...r, member: k + 1, members: options.members }) : onEpoch;
      members.push({ model: await trainMlp(made, memberOptions, stats, report), stats });
      examples += made.x.length;
    }
    return { ...averageMembers(members), examples };
  } finally {
    for (const member of members) disposeModel(member.model);
  }
}

/**
 * Probabilities for each clip, through classifyClips() over its feature views: evaluation takes the path the server takes. A clip in
 * which no speech is found gets a uniform distribution, which counts as a miss: evaluation never drops
 * the clips it cannot handle.
 */
export function predictAudio(
  model: tf.LayersModel,
  stats: { mean: number[]; std: number[] },
  config: FeatureConfig,
  clips: Float32Array[],
): Float32Array[] {
  const views = clips.map((samples) => {
    try {
      return extractFeatures(samples, config).views;
    } catch (e) {
      if (e instanceof AudioError) return null;
      throw e;
    }
  });
  const classifier: Classifier = { model, features: { config, stats }, identity: { name: "evaluation", version: "" } };
  const found = classifyClips(classifier, views.filter((v): v is Float32Array[] => v !== null));
  let k = 0;
  return views.map((v) => (v === null ? new Float32Array(10).fill(0.1) : found[k++]));
}
