/**
 * The embedding model's recipe end to end: `deno task train --architecture embedding` (a model folder on FSDD's
 * official split or all of it) and `deno task eval --loso` on such a folder (six folds, each trained without one
 * speaker and tested on all of that speaker's clips). Both read the vectors from one cache (embedding_head.ts).
 */
import { tf } from "../tfjs.ts";
import type { FeatureConfig, FeatureStats } from "../../dsp/config.ts";
import type { SpeechEmbedding } from "../embedding.ts";
import { loadClassifier, loadSpeechEmbedding, saveModelFolder } from "../files.ts";
import { argmax } from "../model_format.ts";
import { basename } from "node:path";
import { type Clip, foldSpeakers, listClips, officialSplit, speakers } from "./fsdd.ts";
import { writeMetrics, writeOfficialPlots } from "./report.ts";
import { evaluate } from "./metrics.ts";
import { loadAudio, servedProbabilities } from "./training.ts";
import { listVoiceClips } from "./voices.ts";
import { cachedFileVectors, EMBEDDING_SIZE, type HeadOptions, predictHead, trainHead, vectorsPerClip } from "./embedding_head.ts";
import type { LosoReport } from "./report.ts";
import { nonDigitVectors } from "./embedding_negatives.ts";

export interface EmbeddingRecipe {
  head: HeadOptions;
  /** Comma-separated folders of synthetic voices (deno task voices), "" for none. */
  voicesDir: string;
}

interface Labelled {
  x: Float32Array;
  /** 0-9, or 10: not a digit. */
  digit: number;
}

/** With recipe.head.nonDigits: the training non-digits of a head trained on `digits` (their speakers'), labelled 10. */
async function negatives(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  recipe: EmbeddingRecipe,
  digits: Clip[],
  log: (l: string) => void,
): Promise<Labelled[]> {
  if (!recipe.head.nonDigits) return [];
  return (await nonDigitVectors(embedding, config, digits, log)).map((x) => ({ x, digit: 10 }));
}

/** The model folders' embedding network (the one in this repository). */
export function repositoryEmbedding(config: FeatureConfig): Promise<SpeechEmbedding> {
  return loadSpeechEmbedding(new URL(`../${config.embedding!.model}`, import.meta.url).pathname);
}

/** Vectors of FSDD clips (null: no speech found) and of the synthetic voices (those with speech), cached. */
export async function vectorsOf(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  clips: Clip[],
  voicesDir: string,
  log: (l: string) => void,
) {
  const load = (paths: string[]) => loadAudio(paths, config.sampleRate);
  const fsdd = await cachedFileVectors(embedding, config, clips.map((c) => c.path), load, log);
  const voices: Labelled[] = [];
  for (const dir of voicesDir ? voicesDir.split(",") : []) {
    const found = listVoiceClips(dir);
    if (found.length === 0) throw new Error(`no synthetic voices in ${dir}: run deno task voices first`);
    const rows = await cachedFileVectors(embedding, config, found.map((c) => c.path), load, log);
    rows.forEach((x, i) => x && voices.push({ x, digit: found[i].digit }));
  }
  return { fsdd, voices };
}

/** Heads from seeds seed..seed+members-1 on the same data; their outputs averaged in one layers model. */
export async function trainHeads(data: Labelled[], vectors: number, head: HeadOptions, log: (l: string) => void) {
  const members: tf.LayersModel[] = [];
  let stats: FeatureStats | undefined;
  for (let m = 0; m < head.members; m++) {
    const trained = await trainHead(data.map((d) => d.x), data.map((d) => d.digit), vectors, head, head.seed + m, log);
    members.push(trained.model);
    stats = trained.stats; // the same for every member: the statistics of the same vectors
  }
  return { model: averaged(members, vectors), stats: stats! };
}

/** One model whose output is the mean of the members' (a single member as it is). */
function averaged(members: tf.LayersModel[], vectors: number): tf.LayersModel {
  if (members.length === 1) return members[0];
  const input = tf.input({ shape: [vectors * EMBEDDING_SIZE] });
  const outputs = members.map((m) => m.layers.slice(1).reduce((x, layer) => layer.apply(x) as tf.SymbolicTensor, input));
  return tf.model({ inputs: input, outputs: tf.layers.average().apply(outputs) as tf.SymbolicTensor });
}

export interface EmbeddingFold {
  speaker: string;
  accuracy: number;
  confusion: number[][];
}

/**
 * Leave one speaker out: for each held speaker, heads trained on the other speakers' clips (and the synthetic voices,
 * never an FSDD speaker), tested on every clip of the held speaker (a clip with no speech found counts as a miss).
 * Each fold's model is saved to `foldsDir/<speaker>/` for the measurements that build on fold models (teaching, strings).
 */
export async function embeddingLoso(
  clips: Clip[],
  held: string[],
  config: FeatureConfig,
  recipe: EmbeddingRecipe,
  foldsDir: string,
  log: (l: string) => void,
): Promise<EmbeddingFold[]> {
  const embedding = await repositoryEmbedding(config);
  const { fsdd, voices } = await vectorsOf(embedding, config, clips, recipe.voicesDir, log);
  const vectors = vectorsPerClip(config);
  const folds: EmbeddingFold[] = [];
  for (const speaker of held) {
    const trainOn = new Set(foldSpeakers(speakers(clips), speaker));
    const data: Labelled[] = [
      ...clips.flatMap((c, i) => (trainOn.has(c.speaker) && fsdd[i] ? [{ x: fsdd[i]!, digit: c.digit }] : [])),
      ...voices,
      ...await negatives(embedding, config, recipe, clips.filter((c) => trainOn.has(c.speaker)), log),
    ];
    const { model, stats } = await trainHeads(data, vectors, recipe.head, () => {});
    const testIdx = clips.flatMap((c, i) => (c.speaker === speaker ? [i] : []));
    const found = testIdx.filter((i) => fsdd[i]);
    const probabilities = predictHead(model, stats, found.map((i) => fsdd[i]!));
    const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
    let right = 0;
    found.forEach((i, k) => {
      const answer = argmax(probabilities[k].subarray(0, 10)); // an 11th output ("not a digit") is not a digit answer
      confusion[clips[i].digit][answer]++;
      if (answer === clips[i].digit) right++;
    });
    folds.push({ speaker, accuracy: right / testIdx.length, confusion });
    await saveModelFolder(`${foldsDir}/${speaker}`, model, { config, stats }, "float16");
    model.dispose();
    log(`loso -${speaker}: ${(right / testIdx.length * 100).toFixed(1)}% (${testIdx.length} clips)`);
  }
  return folds;
}

export function summarizeEmbeddingLoso(folds: EmbeddingFold[], recipe: EmbeddingRecipe, seconds: number): LosoReport {
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  for (const f of folds) f.confusion.forEach((row, i) => row.forEach((v, j) => confusion[i][j] += v));
  const worst = folds.reduce((a, b) => (b.accuracy < a.accuracy ? b : a));
  return {
    perSpeaker: Object.fromEntries(folds.map((f) => [f.speaker, f.accuracy])),
    mean: folds.reduce((sum, f) => sum + f.accuracy, 0) / folds.length,
    worst: worst.accuracy,
    worstSpeaker: worst.speaker,
    confusion,
    confusionBySpeaker: Object.fromEntries(folds.map((f) => [f.speaker, f.confusion])),
    epochs: recipe.head.epochs,
    augmentCopies: 0,
    voicesDir: recipe.voicesDir,
    members: recipe.head.members,
    seed: recipe.head.seed,
    labelSmoothing: recipe.head.labelSmoothing,
    seconds: Math.round(seconds * 10) / 10,
  };
}

export interface TrainEmbeddingArgs {
  data: string;
  split: "official" | "all";
  dir: string;
  config: FeatureConfig;
  recipe: EmbeddingRecipe;
  log?: (line: string) => void;
}

/** Trains the recipe on FSDD (takes 5-49, or every clip) and the voices, writes the folder, scores the official test. */
export async function trainEmbeddingModel({ data, split, dir, config, recipe, log = console.log }: TrainEmbeddingArgs): Promise<void> {
  const clips = listClips(data);
  const embedding = await repositoryEmbedding(config);
  const started = performance.now();
  // Vectors of every clip (one cache for training and LOSO alike); the split picks its rows.
  const { fsdd, voices } = await vectorsOf(embedding, config, clips, recipe.voicesDir, log);
  const inTraining = (c: Clip) => split === "all" || c.take >= 5;
  const notDigits = await negatives(embedding, config, recipe, clips.filter(inTraining), log);
  const rows = [...clips.flatMap((c, i) => (inTraining(c) && fsdd[i] ? [{ x: fsdd[i]!, digit: c.digit }] : [])), ...voices, ...notDigits];
  log(`training ${recipe.head.members} head(s) on ${rows.length} clips (${voices.length} synthetic, ${notDigits.length} not digits)`);
  const { model, stats } = await trainHeads(rows, vectorsPerClip(config), recipe.head, log);
  const seconds = (performance.now() - started) / 1000;
  const version = await saveModelFolder(dir, model, { config, stats }, "float16");
  model.dispose();
  const test = split === "official" ? officialSplit(clips).test : [];
  let official = null;
  if (test.length) {
    const classifier = await loadClassifier(dir);
    const labels = test.map((c) => c.digit);
    const probabilities = servedProbabilities(classifier, await loadAudio(test.map((c) => c.path), config.sampleRate));
    classifier.model.dispose();
    official = evaluate(labels, probabilities);
    await writeOfficialPlots(dir, labels, probabilities, official);
    log(`official test split: accuracy ${(official.accuracy * 100).toFixed(2)}% (${official.count} clips)`);
  }
  await writeMetrics(dir, {
    name: basename(dir),
    version,
    trainedAt: new Date().toISOString(),
    data: {
      dataset: "Free Spoken Digit Dataset (FSDD)",
      split,
      trainClips: clips.filter(inTraining).length,
      syntheticClips: voices.length,
      nonDigitClips: notDigits.length,
      examples: rows.length,
      testClips: test.length,
    },
    training: {
      architecture: "embedding",
      embedding: { model: config.embedding!.model, version: embedding.version },
      ...recipe.head,
      voicesDir: recipe.voicesDir,
      weights: "float16",
      seconds: Math.round(seconds * 10) / 10,
    },
    official,
  });
  log(`wrote ${dir} (version ${version}) in ${seconds.toFixed(0)} s`);
}
