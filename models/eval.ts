/**
 * deno task eval [--model models/digits] [--data DIR] [--loso] [--epochs N]
 * Scores the model folder on FSDD's official test split (accuracy, per-class P/R/F1, confusion, ROC AUC),
 * and with --loso re-trains the model's own recipe six times, each time leaving one speaker out entirely
 * (its clips and any statistics of them), and tests on that speaker. Writes metrics.json and plots/.
 */
import { parseArgs } from "node:util";
import { DEFAULT_FSDD_DIR, listClips, officialSplit, speakers } from "./fsdd.ts";
import { loadClassifier } from "./files.ts";
import { evaluate } from "./metrics.ts";
import { epochPrinter } from "./progress.ts";
import { type LosoReport, readMetrics, writeLosoPlots, writeMetrics, writeOfficialPlots } from "./report.ts";
import { initTf } from "./tfjs.ts";
import { DEFAULT_TRAIN, disposeModel, loadAudio, loadVoices, predictAudio, type TrainOptions, trainOnAudio } from "./training.ts";
import type { Clip } from "./fsdd.ts";
import type { FeatureConfig } from "../dsp/config.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "models/digits" },
    data: { type: "string", default: DEFAULT_FSDD_DIR },
    loso: { type: "boolean", default: false },
    epochs: { type: "string" },
    augment: { type: "string" },
    voices: { type: "string" },
    speakers: { type: "string" },
    "max-clips": { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});

await initTf();
const classifier = await loadClassifier(args.model);
const { config, stats } = classifier.features;
const metrics = await readMetrics(args.model);
const clips = listClips(args.data);
const { test } = officialSplit(clips);
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

const labels = test.map((c) => c.digit);
const probabilities = predictAudio(classifier.model, stats, config, await loadAudio(test.map((c) => c.path), config.sampleRate));
const official = evaluate(labels, probabilities);
console.log(`official test split (${official.count} clips): accuracy ${pct(official.accuracy)}, macro F1 ${official.macroF1.toFixed(4)}, macro ROC AUC ${official.macroRocAuc.toFixed(4)}`);
console.log("digit  precision recall  f1     auc");
official.perClass.forEach((c, d) => console.log(`  ${d}    ${c.precision.toFixed(3)}     ${c.recall.toFixed(3)}   ${c.f1.toFixed(3)}  ${c.rocAuc.toFixed(4)}`));
console.log("confusion (rows true, columns predicted):");
official.confusion.forEach((row, d) => console.log(`  ${d}: ${row.map((v) => String(v).padStart(3)).join("")}`));
metrics.official = official;
const write = !args["no-write"];
if (write) await writeOfficialPlots(args.model, labels, probabilities, official);

if (args.loso) {
  const recipe: TrainOptions = { ...DEFAULT_TRAIN, ...(metrics.training as Partial<TrainOptions>) };
  if (args.epochs) recipe.epochs = +args.epochs;
  if (args.augment) recipe.augmentCopies = +args.augment;
  if (args.voices !== undefined) recipe.voicesDir = args.voices;
  const held = args.speakers ? args.speakers.split(",") : speakers(clips);
  const loso = await leaveOneSpeakerOut(clips, held, config, recipe, args["max-clips"] ? +args["max-clips"] : undefined);
  console.log(`leave-one-speaker-out: mean ${pct(loso.mean)}, worst ${pct(loso.worst)} (${loso.worstSpeaker})`);
  metrics.loso = loso;
  if (write) await writeLosoPlots(args.model, loso);
}
if (write) await writeMetrics(args.model, metrics);

/** For each speaker: train the recipe on the other speakers' clips only, test on all of this speaker's. */
async function leaveOneSpeakerOut(all: Clip[], held: string[], config: FeatureConfig, recipe: TrainOptions, maxClips?: number): Promise<LosoReport> {
  const started = performance.now();
  const audio = await loadAudio(all.map((c) => c.path), config.sampleRate);
  // Synthetic voices are never one of FSDD's speakers, so every fold may train on them.
  const voices = await loadVoices(recipe.voicesDir, config.sampleRate);
  const perSpeaker: Record<string, number> = {};
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  for (const speaker of held) {
    const indices = all.map((_, i) => i);
    let trainIdx = indices.filter((i) => all[i].speaker !== speaker);
    if (maxClips) trainIdx = trainIdx.filter((_, k) => k % Math.ceil(trainIdx.length / maxClips) === 0);
    const testIdx = indices.filter((i) => all[i].speaker === speaker);
    const trainSet = [...trainIdx.map((i) => ({ samples: audio[i], digit: all[i].digit, speaker: all[i].speaker })), ...voices];
    // Statistics come from the five training speakers only (trainOnAudio computes them on its input).
    const { model, stats } = await trainOnAudio(trainSet, config, recipe, epochPrinter(`loso -${speaker}`));
    const foldLabels = testIdx.map((i) => all[i].digit);
    const fold = evaluate(foldLabels, predictAudio(model, stats, config, testIdx.map((i) => audio[i])));
    disposeModel(model);
    perSpeaker[speaker] = fold.accuracy;
    fold.confusion.forEach((row, i) => row.forEach((v, j) => confusion[i][j] += v));
    console.log(`  held out ${speaker}: ${pct(fold.accuracy)} (${fold.count} clips)`);
  }
  const accs = Object.values(perSpeaker);
  const worstSpeaker = Object.keys(perSpeaker).reduce((a, b) => (perSpeaker[b] < perSpeaker[a] ? b : a));
  return {
    perSpeaker,
    mean: accs.reduce((a, b) => a + b, 0) / accs.length,
    worst: perSpeaker[worstSpeaker],
    worstSpeaker,
    confusion,
    epochs: recipe.epochs,
    augmentCopies: recipe.augmentCopies,
    voicesDir: recipe.voicesDir,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}
