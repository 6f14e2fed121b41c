/**
 * deno task train [--data DIR] [--split official|all] [--name digits] [--voices .cache/voices] [--epochs 10] [--augment 2] [--members 2] [--features JSON] ...
 * Trains the MLP on FSDD (official split: takes 5-49; all: every clip) and writes models/<name>/.
 */
import { parseArgs } from "node:util";
import { CNN_FEATURES, DEFAULT_FEATURES, EMBEDDING_FEATURES, type FeatureConfig } from "../../dsp/config.ts";
import { trainEmbeddingModel } from "./embedding_recipe.ts";
import { DEFAULT_HEAD, type HeadOptions } from "./embedding_head.ts";
import { DEFAULT_FSDD_DIR, listClips, officialSplit } from "./fsdd.ts";
import { loadClassifier, saveModelFolder } from "../files.ts";
import { epochPrinter } from "./progress.ts";
import { initTf } from "../tfjs.ts";
import {
  DEFAULT_TRAIN,
  disposeModel,
  loadAudio,
  loadVoices,
  parseMaskFill,
  predictAudio,
  trainOnAudio,
  type TrainOptions,
} from "./training.ts";
import { evaluate } from "./metrics.ts";
import { nonDigitClips } from "./nondigits.ts";
import { DEFAULT_TEACHER_WEIGHT } from "./distill.ts";
import { writeMetrics, writeOfficialPlots } from "./report.ts";

const numbers = (s: string) => s.split(",").map(Number);

const { values: args } = parseArgs({
  options: {
    data: { type: "string", default: DEFAULT_FSDD_DIR },
    split: { type: "string", default: "official" },
    name: { type: "string" },
    out: { type: "string", default: "models" },
    epochs: { type: "string", default: String(DEFAULT_TRAIN.epochs) },
    batch: { type: "string", default: String(DEFAULT_TRAIN.batchSize) },
    lr: { type: "string", default: String(DEFAULT_TRAIN.learningRate) },
    architecture: { type: "string", default: DEFAULT_TRAIN.architecture },
    channels: { type: "string", default: String(DEFAULT_TRAIN.channels) },
    blocks: { type: "string", default: String(DEFAULT_TRAIN.blocks) },
    hidden: { type: "string", default: DEFAULT_TRAIN.hidden.join(",") },
    dropout: { type: "string", default: DEFAULT_TRAIN.dropout.join(",") },
    seed: { type: "string", default: String(DEFAULT_TRAIN.seed) },
    members: { type: "string", default: String(DEFAULT_TRAIN.members) },
    jobs: { type: "string", default: String(navigator.hardwareConcurrency || 1) },
    augment: { type: "string", default: String(DEFAULT_TRAIN.augmentCopies) },
    mixup: { type: "string", default: String(DEFAULT_TRAIN.mixupAlpha) },
    smooth: { type: "string", default: String(DEFAULT_TRAIN.labelSmoothing) },
    "time-warp": { type: "string", default: String(DEFAULT_TRAIN.timeWarpFrames) },
    eq: { type: "string", default: String(DEFAULT_TRAIN.recipe.eqProbability) },
    "mask-fill": { type: "string", default: DEFAULT_TRAIN.maskFill },
    voices: { type: "string", default: "" },
    "non-digits": { type: "string", default: String(DEFAULT_TRAIN.nonDigits) },
    teacher: { type: "string", default: "" },
    "teacher-weight": { type: "string", default: String(DEFAULT_TEACHER_WEIGHT) },
    weights: { type: "string", default: "uint8" },
    features: { type: "string", default: "{}" },
    head: { type: "string", default: "{}" },
    "max-clips": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (args.help) {
  console.log(`deno task train [options]
  --data DIR        FSDD folder (a clone of free-spoken-digit-dataset), default ${DEFAULT_FSDD_DIR}
  --split S         official (train on takes 5-49, test on 0-4) or all (train on everything, no test)
  --name NAME       model folder name under --out (default mlp, or cnn for --architecture dscnn)
  --architecture A  mlp (the seed's MLP; default), dscnn (the depthwise-separable CNN on a 1 s log-mel window) or
                    embedding (a small head on Google's speech embedding, models/speech_embedding/; folder "embed";
                    takes --voices, --features and --head)
  --head JSON       the embedding head's settings that differ from models/lab/embedding_head.ts DEFAULT_HEAD, e.g. '{"members":3}'
  --channels N --blocks N  the DS-CNN's width and depth (default ${DEFAULT_TRAIN.channels}, ${DEFAULT_TRAIN.blocks})
  --epochs N --batch N --lr X --hidden 512,256,128 --dropout 0.3,0.3,0.2 --seed N  (a DS-CNN uses the first dropout)
  --members N       train N MLPs from seeds seed..seed+N-1 and ship their average (default ${DEFAULT_TRAIN.members})
  --jobs N          members trained at once, each in a worker on its own core (default: one per core)
  --augment N       augmented copies per training clip (0 = none; default ${DEFAULT_TRAIN.augmentCopies})
  --mixup A         mixup of examples within a batch, weight ~ Beta(A, A) (0 = off; default ${DEFAULT_TRAIN.mixupAlpha})
  --smooth E        label smoothing: 1 - E on the digit, E spread over all ten (default ${DEFAULT_TRAIN.labelSmoothing})
  --time-warp N     SpecAugment time warp of augmented copies, up to N of the 32 frames (0 = off; default ${DEFAULT_TRAIN.timeWarpFrames})
  --eq P            probability of a random microphone tilt (low and high shelves) on augmented copies (default ${DEFAULT_TRAIN.recipe.eqProbability})
  --mask-fill F     what SpecAugment masks leave: zero or mean (each coefficient's mean over the clip; default ${DEFAULT_TRAIN.maskFill})
  --weights E       how weights.bin stores them: uint8 kernels (a quarter of float32; default) or float16 (a half)
  --voices DIRS     also train on the synthetic voices in these comma-separated folders (made by deno task voices)
  --non-digits N    a DS-CNN learns an 11th class, "not a digit", from N words and sounds (deno task nondigits first; 0 = off)
  --teacher DIR     also learn from this model folder's probabilities on every training example (distillation,
                    models/lab/distill.ts); its features must be the student's
  --teacher-weight W  the teacher's share of each target, the label keeping 1 - W (default ${DEFAULT_TEACHER_WEIGHT})
  --features JSON   feature settings that differ from dsp/config.ts DEFAULT_FEATURES (CNN_FEATURES for a dscnn), e.g. '{"timeDct":16}'
  --max-clips N     use only the first N training clips (smoke tests)`);
  Deno.exit(0);
}
if (args.split !== "official" && args.split !== "all") throw new Error("--split is official or all");
if (args.weights !== "float16" && args.weights !== "uint8") throw new Error("--weights is float16 or uint8");
if (!["mlp", "dscnn", "embedding"].includes(args.architecture)) throw new Error("--architecture is mlp, dscnn or embedding");
if (args.architecture === "embedding") {
  // A head on the frozen speech embedding: its own recipe (models/lab/embedding_recipe.ts), same folder and metrics.
  await initTf();
  await trainEmbeddingModel({
    data: args.data,
    split: args.split,
    dir: `${args.out}/${args.name ?? "embed"}`,
    config: { ...EMBEDDING_FEATURES, ...featureOverrides(args.features) },
    recipe: {
      head: headOptions(args.head),
      voicesDir: args.voices,
    },
  });
  Deno.exit(0);
}

const options: TrainOptions = {
  ...DEFAULT_TRAIN,
  architecture: args.architecture as TrainOptions["architecture"],
  channels: +args.channels,
  blocks: +args.blocks,
  epochs: +args.epochs,
  batchSize: +args.batch,
  learningRate: +args.lr,
  hidden: numbers(args.hidden),
  dropout: numbers(args.dropout),
  seed: +args.seed,
  members: +args.members,
  augmentCopies: +args.augment,
  mixupAlpha: +args.mixup,
  labelSmoothing: +args.smooth,
  timeWarpFrames: +args["time-warp"],
  maskFill: parseMaskFill(args["mask-fill"]),
  recipe: { ...DEFAULT_TRAIN.recipe, eqProbability: +args.eq },
  voicesDir: args.voices,
  nonDigits: +args["non-digits"],
  teacher: args.teacher,
  teacherWeight: args.teacher ? +args["teacher-weight"] : 0,
};
if (!(options.teacherWeight >= 0 && options.teacherWeight <= 1)) throw new Error("--teacher-weight is between 0 and 1");
const config: FeatureConfig = {
  ...(options.architecture === "dscnn" ? CNN_FEATURES : DEFAULT_FEATURES),
  ...featureOverrides(args.features),
};
await initTf();

const clips = listClips(args.data);
const split = args.split === "official" ? officialSplit(clips) : { train: clips, test: [] };
const trainClips = args["max-clips"] ? split.train.slice(0, +args["max-clips"]) : split.train;
console.log(
  `training on ${trainClips.length} clips (${args.split} split), testing on ${split.test.length}; ${options.augmentCopies} augmented copies each`,
);

const started = performance.now();
const audio = await loadAudio(trainClips.map((c) => c.path), config.sampleRate);
const voices = await loadVoices(options.voicesDir, config.sampleRate);
const nonDigits = options.nonDigits ? await nonDigitClips(audio, config.sampleRate, config.speech, options.nonDigits, options.seed) : [];
const labelled = [...trainClips.map((c, i) => ({ samples: audio[i], digit: c.digit, speaker: c.speaker })), ...voices, ...nonDigits];
if (voices.length) console.log(`plus ${voices.length} synthetic clips from ${options.voicesDir}`);
if (nonDigits.length) console.log(`plus ${nonDigits.length} words and sounds as "not a digit"`);
const { model, stats, examples } = await trainOnAudio(labelled, config, options, epochPrinter("train"), +args.jobs);
const trainingSeconds = (performance.now() - started) / 1000;

const name = args.name ?? (options.architecture === "dscnn" ? "cnn" : "mlp");
const dir = `${args.out}/${name}`;
const version = await saveModelFolder(dir, model, { config, stats }, args.weights);
let official = null;
if (split.test.length) {
  const testAudio = await loadAudio(split.test.map((c) => c.path), config.sampleRate);
  const labels = split.test.map((c) => c.digit);
  // Scored as stored (quantized weights, read back the way the server reads them): the figure users get.
  const stored = await loadClassifier(dir);
  const probabilities = predictAudio(stored.model, stats, config, testAudio);
  stored.model.dispose();
  official = evaluate(labels, probabilities);
  await writeOfficialPlots(dir, labels, probabilities, official);
  console.log(
    `official test split: accuracy ${(official.accuracy * 100).toFixed(2)}% (${official.count} clips), macro F1 ${
      official.macroF1.toFixed(4)
    }`,
  );
}
disposeModel(model);
await writeMetrics(dir, {
  name,
  version,
  trainedAt: new Date().toISOString(),
  data: {
    dataset: "Free Spoken Digit Dataset (FSDD)",
    split: args.split,
    trainClips: trainClips.length,
    syntheticClips: voices.length,
    nonDigitClips: nonDigits.length,
    examples,
    testClips: split.test.length,
  },
  training: { ...options, weights: args.weights, seconds: Math.round(trainingSeconds * 10) / 10 },
  official,
});
console.log(`wrote ${dir} (version ${version}) in ${trainingSeconds.toFixed(0)} s`);

/** `--head` JSON over DEFAULT_HEAD: known fields only. */
function headOptions(json: string): HeadOptions {
  const overrides = JSON.parse(json) as Partial<HeadOptions>;
  const unknown = Object.keys(overrides).filter((key) => !(key in DEFAULT_HEAD));
  if (unknown.length) throw new Error(`--head: no such head setting: ${unknown.join(", ")} (see models/lab/embedding_head.ts)`);
  return { ...DEFAULT_HEAD, ...overrides };
}

/** `--features` JSON: fields of FeatureConfig only, so that a misspelt one fails instead of being ignored. */
function featureOverrides(json: string): Partial<FeatureConfig> {
  const overrides = JSON.parse(json) as Partial<FeatureConfig>;
  const known = new Set([...Object.keys(DEFAULT_FEATURES), ...Object.keys(EMBEDDING_FEATURES)]);
  const unknown = Object.keys(overrides).filter((key) => !known.has(key));
  if (unknown.length) throw new Error(`--features: no such feature setting: ${unknown.join(", ")} (see dsp/config.ts)`);
  return overrides;
}
