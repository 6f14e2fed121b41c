/**
 * deno task eval [--model models/mlp] [--data DIR] [--loso] [--jobs N] [--epochs N] [--augment N] [--members N]
 *   [--hidden 512,256,128] [--dropout 0.3,0.3,0.2] [--mixup A] [--smooth E] [--time-warp N] [--eq P] [--mask-fill zero|mean] [--seed N]   (each overrides the model's own recipe, for comparisons)
 * Scores the model folder on FSDD's official test split (accuracy, per-class P/R/F1, confusion, ROC AUC),
 * and with --loso re-trains the model's own recipe six times, each time leaving one speaker out entirely
 * (its clips and any statistics of them), and tests on that speaker. Writes metrics.json and plots/.
 * The folds are independent and tfjs-wasm is single-threaded, so --jobs N (default: one per core) runs
 * them in N processes of this same script, each writing its folds to a JSON file that this one merges.
 */
import { parseArgs } from "node:util";
import { basename } from "node:path";
import { DEFAULT_FSDD_DIR, foldSpeakers, listClips, officialSplit, speakers } from "./fsdd.ts";
import { loadClassifier, saveModelFolder } from "../files.ts";
import { evaluate } from "./metrics.ts";
import { epochPrinter } from "./progress.ts";
import { evaluateEnrollment, foldModelFor, readManifest } from "./enroll.ts";
import { evaluateStrings, type StringScore } from "./strings.ts";
import { evaluateReject, type RejectReport, shippedHead } from "./reject.ts";
import { nonDigitClips } from "./nondigits.ts";
import { evaluateUnknownClass, shippedRefusal } from "./unknown_class.ts";
import { evaluateSpeechFinder } from "./speech_finder.ts";
import { hasUnknownClass } from "../classifier.ts";
import { type LosoReport, readMetrics, writeLosoPlots, writeMetrics, writeOfficialPlots, writeRejectPlot } from "./report.ts";
import { initTf } from "../tfjs.ts";
import { averageMembers } from "./ensemble.ts";
import {
  DEFAULT_TRAIN,
  loadAudio,
  loadVoices,
  parseMaskFill,
  predictAudio,
  servedProbabilities,
  trainMembers,
  type TrainOptions,
} from "./training.ts";
import { embeddingLoso, summarizeEmbeddingLoso } from "./embedding_recipe.ts";
import { DEFAULT_HEAD, type HeadOptions } from "./embedding_head.ts";
import type { Clip } from "./fsdd.ts";
import type { FeatureConfig } from "../../dsp/config.ts";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "models/mlp" },
    data: { type: "string", default: DEFAULT_FSDD_DIR },
    loso: { type: "boolean", default: false },
    "score-folds": { type: "boolean", default: false },
    epochs: { type: "string" },
    augment: { type: "string" },
    members: { type: "string" },
    hidden: { type: "string" },
    dropout: { type: "string" },
    mixup: { type: "string" },
    smooth: { type: "string" },
    "time-warp": { type: "string" },
    eq: { type: "string" },
    "mask-fill": { type: "string" },
    seed: { type: "string" },
    voices: { type: "string" },
    "non-digits": { type: "string" },
    speakers: { type: "string" },
    "max-clips": { type: "string" },
    "train-speakers": { type: "string" },
    "no-write": { type: "boolean", default: false },
    "save-folds": { type: "string" },
    "teacher-folds": { type: "string" },
    enroll: { type: "string" },
    "profile-space": { type: "string" },
    manifest: { type: "string" },
    strings: { type: "string" },
    reject: { type: "boolean", default: false },
    "reject-by": { type: "string", default: "class" },
    "speech-finder": { type: "string" },
    jobs: { type: "string", default: String(navigator.hardwareConcurrency || 1) },
    /** Internal: run only these folds and write their results here (a worker of --jobs). */
    "fold-json": { type: "string" },
    /** Internal: the parent's resolved recipe, so that a worker trains exactly it, every knob included. */
    "recipe-json": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (args.help) {
  console.log(`deno task eval [options]
  --model DIR       model folder to score (default models/mlp); its metrics.json gets the results
  --data DIR        FSDD folder, default ${DEFAULT_FSDD_DIR}
  --loso            also leave one speaker out, six times: retrain the model's own recipe on five speakers, test on the sixth
  --score-folds     leave-one-speaker-out from the fold models already saved (--save-folds), scored on their held-out
                    speakers with their own features.json, without training again (e.g. after a finder setting changed)
  --speakers A,B    hold out only these speakers (with --loso; with --reject alone: measure only these folds)
  --train-speakers K  train each fold on only K of the other five speakers, 0 = synthetic voices only (a learning curve; default all)
  --jobs N          folds run at once, each in its own process (default: one per core)
  --no-write        print the results only; leave metrics.json and plots/ as they are
  --enroll 1,3,5    teach each speaker's LOSO fold model (from --save-folds) K takes per digit, test on the rest
                    (models/lab/enroll.ts); writes the chosen profile settings into the model's features.json
  --profile-space network|vectors
                    with --enroll: where the prototypes live (models/profile.ts ProfileSettings.space); kept with the
                    settings. Default: the model's own
  --manifest CSV    with --enroll: your own recordings (columns path,label,speaker) taught and tested on --model
  --strings N       N digit strings (3-6 digits, 0.15-0.8 s pauses, noise) and N run-together pairs per speaker,
                    transcribed by the speaker's LOSO fold model (models/lab/strings.ts)
  --reject          measure "not a digit" on each speaker's LOSO fold model: for a model trained with it (11th class,
                    models/lab/unknown_class.ts), its refusal point goes into features.json; otherwise train the model's
                    own head (reject.json) at the folds' median refusal point (models/lab/reject.ts; needs deno task nondigits)
  --reject-by confidence  with --reject: refusal by confidence alone (1 - the top digit probability), measured on the
                    fold models the same way as an 11th class; its point goes into features.json ("by": "confidence")
  --speech-finder 0,100  the speech finder's high-pass (Hz) on the official test clips padded with silence and noised at
                    5-20 dB (models/lab/speech_finder.ts): spans too long, words cut short, accuracy noisy and clean
  --save-folds DIR  keep each fold's model as DIR/<held-out speaker>/ (default .cache/loso/<model name>), so that
                    --enroll and --strings can test speakers on a model that never heard them
  --teacher-folds DIR  a distilled recipe's teachers, DIR/<held-out speaker>/ (default .cache/loso/<teacher's name>)
  Each of these overrides the model's stored recipe, for comparisons (see deno task train --help):
  --epochs N --augment N --members N --hidden 512,256,128 --dropout 0.3,0.3,0.2 --seed N --voices DIRS
  --mixup A --smooth E --time-warp N --eq P --mask-fill zero|mean --non-digits N --max-clips N`);
  Deno.exit(0);
}

interface FoldResult {
  speaker: string;
  accuracy: number;
  count: number;
  confusion: number[][];
  /** Accuracy of the first k members' ensemble, k = 1..members. */
  byMembers: number[];
}

await initTf();
const classifier = await loadClassifier(args.model);
const { config } = classifier.features;
const metrics = await readMetrics(args.model);
/** What metrics.json held when this run started: parts this run does not measure are not written back. */
const atStart = { ...metrics };
const clips = listClips(args.data);
const { test } = officialSplit(clips);
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
// A recipe stored before a knot existed ran without it, whatever today's default: one MLP (before ensembles),
// no mixup, smoothing, time warp or microphone tilt, and masks that leave zeros.
const stored = metrics.training as Partial<TrainOptions>;
const recipe: TrainOptions = {
  ...DEFAULT_TRAIN,
  members: 1,
  mixupAlpha: 0,
  labelSmoothing: 0,
  timeWarpFrames: 0,
  maskFill: "zero",
  ...stored,
};
recipe.recipe = { ...DEFAULT_TRAIN.recipe, eqProbability: 0, ...stored.recipe };
if (args.seed) recipe.seed = +args.seed;
if (args.epochs) recipe.epochs = +args.epochs;
if (args.augment) recipe.augmentCopies = +args.augment;
if (args.members) recipe.members = +args.members;
if (args.hidden) recipe.hidden = args.hidden.split(",").map(Number);
if (args.dropout) recipe.dropout = args.dropout.split(",").map(Number);
if (args.mixup) recipe.mixupAlpha = +args.mixup;
if (args.smooth) recipe.labelSmoothing = +args.smooth;
if (args["time-warp"]) recipe.timeWarpFrames = +args["time-warp"];
if (args.eq) recipe.recipe.eqProbability = +args.eq;
if (args["mask-fill"]) recipe.maskFill = parseMaskFill(args["mask-fill"]);
if (args.voices !== undefined) recipe.voicesDir = args.voices;
if (args["non-digits"]) recipe.nonDigits = +args["non-digits"];
if (args["recipe-json"]) Object.assign(recipe, JSON.parse(args["recipe-json"]));
const maxClips = args["max-clips"] ? +args["max-clips"] : undefined;
const foldsDir = args["save-folds"] ?? `.cache/loso/${basename(args.model)}`;
// A distilled recipe's folds learn from the teacher's fold models (each without its held-out speaker), never
// from the shipped teacher, which heard every speaker.
const teacherFolds = args["teacher-folds"] ?? (recipe.teacher ? `.cache/loso/${basename(recipe.teacher)}` : "");
const trainSpeakers = args["train-speakers"] !== undefined ? +args["train-speakers"] : undefined;

if (args["fold-json"]) {
  const folds = await runFolds(clips, args.speakers!.split(","), config, recipe, maxClips);
  await Deno.writeTextFile(args["fold-json"], JSON.stringify(folds));
  Deno.exit(0);
}

const labels = test.map((c) => c.digit);
const probabilities = servedProbabilities(classifier, await loadAudio(test.map((c) => c.path), config.sampleRate));
const official = evaluate(labels, probabilities);
console.log(
  `official test split (${official.count} clips): accuracy ${pct(official.accuracy)}, macro F1 ${
    official.macroF1.toFixed(4)
  }, macro ROC AUC ${official.macroRocAuc.toFixed(4)}`,
);
console.log("digit  precision recall  f1     auc");
official.perClass.forEach((c, d) =>
  console.log(`  ${d}    ${c.precision.toFixed(3)}     ${c.recall.toFixed(3)}   ${c.f1.toFixed(3)}  ${c.rocAuc.toFixed(4)}`)
);
console.log("confusion (rows true, columns predicted):");
official.confusion.forEach((row, d) => console.log(`  ${d}: ${row.map((v) => String(v).padStart(3)).join("")}`));
metrics.official = official;
const write = !args["no-write"];
if (write) await writeOfficialPlots(args.model, labels, probabilities, official);

if (args["speech-finder"]) {
  const settings = args["speech-finder"].split(",").map(Number);
  const scores = evaluateSpeechFinder(classifier, await loadAudio(test.map((c) => c.path), config.sampleRate), labels, settings);
  for (const s of scores) {
    console.log(
      `speech finder, high-pass ${s.highPassHz} Hz: spans too long ${pct(s.tooLong)}, words cut short ${pct(s.cutShort)}, ` +
        `not found ${pct(s.notFound)}; accuracy noisy ${pct(s.accuracy)}, clean ${pct(s.cleanAccuracy)} (${s.clips} clips)`,
    );
  }
  metrics.speechFinder = scores;
}

if (args.enroll) {
  const ks = args.enroll.split(",").map(Number);
  const space = args["profile-space"];
  if (space !== undefined && space !== "network" && space !== "vectors") {
    throw new Error(`--profile-space: network or vectors, not ${space}`);
  }
  // FSDD: each speaker on the fold model that never heard them. A manifest: its speakers on this model.
  const result = args.manifest
    ? await evaluateEnrollment(readManifest(args.manifest), () => args.model, ks, `${args.manifest} on ${args.model}`, space)
    : await evaluateEnrollment(clips, foldModelFor(foldsDir), ks, `FSDD, LOSO fold models in ${foldsDir}`, space);
  for (const r of result.reports) {
    const each = Object.entries(r.perSpeaker).map(([sp, x]) => `${sp} ${pct(x.generic)} -> ${pct(x.profile)}`).join(", ");
    console.log(
      `taught ${r.k} take(s) per digit: mean ${pct(r.generic)} -> ${pct(r.profile)}, worst ${pct(r.worst)} (${r.worstSpeaker}) (${each})`,
    );
  }
  console.log(`profile settings kept: ${JSON.stringify(result.settings)}`);
  if (!args.manifest) metrics.enroll = result;
  if (write && !args.manifest) {
    const file = `${args.model}/features.json`;
    const features = JSON.parse(await Deno.readTextFile(file));
    await Deno.writeTextFile(file, JSON.stringify({ ...features, profile: result.settings }, null, 1) + "\n");
  }
}

if (args.strings) {
  const report = await evaluateStrings(clips, foldsDir, +args.strings);
  const line = (s: StringScore) =>
    `right count ${pct(s.rightCount)}, exact ${pct(s.exact)}, digit error rate ${pct(s.digitErrorRate)} (${s.strings})`;
  console.log(`single digits, clean: ${Object.entries(report.singleDigit).map(([sp, a]) => `${sp} ${pct(a)}`).join(", ")}`);
  for (const [band, r] of Object.entries(report.bands)) {
    console.log(`strings in noise at ${band}: ${line(r)}; cut at the true boundaries ${pct(r.oracleExact)} exact`);
  }
  console.log(`run-together pairs: ${line(report.pairs)}`);
  metrics.strings = report;
}

const refuseByConfidence = args["reject-by"] === "confidence";
if (
  args.reject && (refuseByConfidence || hasUnknownClass(classifier) || (metrics.training as { nonDigits?: unknown }).nonDigits === true)
) {
  // "Not a digit" from the network's own 11th class (also when only the recipe says so: its fold models have the class
  // while the folder's own model is not retrained yet), or from the ten digits' confidence (no class of its own):
  // measured on the fold models the same way, the point kept in features.json.
  const by = refuseByConfidence ? "confidence" as const : "class" as const;
  const report = await evaluateUnknownClass(clips, foldsDir, undefined, by);
  const refusal = { ...shippedRefusal(report), ...(refuseByConfidence ? { by } : {}) };
  console.log(
    `not a digit (${refuseByConfidence ? "by confidence alone" : "11th class"}), held out: words ${pct(report.wordsRefused)} refused (${
      engineShares(report)
    }), made from digits ${pct(report.madeRefused)}, non-speech ${pct(report.noiseRefused)}; real digits refused ${
      pct(report.digitsRefused)
    } (refusal point ${report.threshold.toFixed(3)}, ${refusal.threshold === null ? "off" : "on"} by default)`,
  );
  metrics.reject = refuseByConfidence ? { ...report, by } : report;
  if (write) {
    const file = `${args.model}/features.json`;
    const features = JSON.parse(await Deno.readTextFile(file));
    await Deno.writeTextFile(file, JSON.stringify({ ...features, refusal }, null, 1) + "\n");
    await writeRejectPlot(args.model, report);
  }
} else if (args.reject) {
  const voicesDir = recipe.voicesDir || ".cache/voices";
  // --speakers measures (and caches) only those folds: several processes can share the work.
  const report = await evaluateReject(clips, foldsDir, voicesDir, args.loso ? undefined : args.speakers?.split(","));
  console.log(
    `not a digit, held out: words ${pct(report.wordsRefused)} refused, made from digits ${pct(report.madeRefused)}, non-speech ${
      pct(report.noiseRefused)
    }; real digits refused ${pct(report.digitsRefused)} (refusal point ${report.threshold.toFixed(3)})`,
  );
  metrics.reject = report;
  if (write) {
    const head = await shippedHead(classifier, officialSplit(clips).train, voicesDir, report);
    console.log(
      head.threshold === null ? "refusal off by default: it refused too many real digits of unseen speakers" : "refusal on by default",
    );
    await Deno.writeTextFile(`${args.model}/reject.json`, JSON.stringify(head) + "\n");
    await writeRejectPlot(args.model, report);
  }
}

/** "flite 98.0%, piper 97.1%": words refused by held-out engine. */
function engineShares(report: RejectReport): string {
  return Object.entries(report.wordsByEngine ?? {}).map(([engine, share]) => `${engine} ${pct(share)}`).join(", ");
}

if (args.loso || args["score-folds"]) {
  const held = args.speakers ? args.speakers.split(",") : speakers(clips);
  const started = performance.now();
  const jobs = Math.max(1, Math.min(+args.jobs, held.length));
  const embeddingRecipe = config.embedding
    ? { head: { ...DEFAULT_HEAD, ...(metrics.training as Partial<HeadOptions>) }, voicesDir: recipe.voicesDir }
    : null;
  const folds = embeddingRecipe
    ? await embeddingLoso(clips, held, config, embeddingRecipe, foldsDir, console.log)
    : args["score-folds"]
    ? await scoreSavedFolds(clips, held)
    : jobs === 1
    ? await runFolds(clips, held, config, recipe, maxClips)
    : await runFoldsInWorkers(held, jobs);
  const seconds = (performance.now() - started) / 1000;
  const loso = embeddingRecipe
    ? summarizeEmbeddingLoso(folds, embeddingRecipe, seconds)
    : summarize(folds as FoldResult[], recipe, seconds);
  console.log(`leave-one-speaker-out: mean ${pct(loso.mean)}, worst ${pct(loso.worst)} (${loso.worstSpeaker})`);
  loso.byMembers?.forEach((r, k) => console.log(`  first ${k + 1} member(s): mean ${pct(r.mean)}, worst ${pct(r.worst)}`));
  metrics.loso = loso;
  if (write) await writeLosoPlots(args.model, loso);
}
// Read again and merge: another eval of this model (--enroll, --strings, --reject run side by side) may have written
// its part meanwhile; this run writes only what it measured.
if (write) {
  const measured = ["official", "loso", "enroll", "strings", "reject", "speechFinder"] as const;
  const fresh = await readMetrics(args.model);
  for (const key of measured) {
    if (metrics[key] !== undefined && metrics[key] !== atStart[key]) Object.assign(fresh, { [key]: metrics[key] });
  }
  await writeMetrics(args.model, fresh);
}

/** For each held-out speaker: train the recipe on the other speakers' clips only, test on all of this speaker's. */
async function runFolds(
  all: Clip[],
  held: string[],
  config: FeatureConfig,
  recipe: TrainOptions,
  maxClips?: number,
): Promise<FoldResult[]> {
  const audio = await loadAudio(all.map((c) => c.path), config.sampleRate);
  // Synthetic voices are never one of FSDD's speakers, so every fold may train on them.
  const voices = await loadVoices(recipe.voicesDir, config.sampleRate);
  const results: FoldResult[] = [];
  for (const speaker of held) {
    const indices = all.map((_, i) => i);
    const trainOn = new Set(foldSpeakers(speakers(all), speaker, trainSpeakers));
    let trainIdx = indices.filter((i) => trainOn.has(all[i].speaker));
    if (maxClips) trainIdx = trainIdx.filter((_, k) => k % Math.ceil(trainIdx.length / maxClips) === 0);
    const testIdx = indices.filter((i) => all[i].speaker === speaker);
    // "Not a digit" examples made from this fold's training speakers only.
    const nonDigits = recipe.nonDigits
      ? await nonDigitClips(trainIdx.map((i) => audio[i]), config.sampleRate, config.speech, recipe.nonDigits, recipe.seed)
      : [];
    const trainSet = [
      ...trainIdx.map((i) => ({ samples: audio[i], digit: all[i].digit, speaker: all[i].speaker })),
      ...voices,
      ...nonDigits,
    ];
    // Statistics come from the training speakers only (each member computes them on its own input).
    const foldRecipe = recipe.teacher ? { ...recipe, teacher: teacherFoldFor(speaker) } : recipe;
    const { members } = await trainMembers(trainSet, config, foldRecipe, epochPrinter(`loso -${speaker}`));
    const labels = testIdx.map((i) => all[i].digit);
    const testAudio = testIdx.map((i) => audio[i]);
    // The first k members are the k-member ensemble (trainMembers): score every k, report the last.
    const byMembers = members.map((_, k) => {
      const { model, stats } = averageMembers(members.slice(0, k + 1));
      const result = evaluate(labels, predictAudio(model, stats, config, testAudio));
      model.dispose();
      return result;
    });
    const fold = byMembers[byMembers.length - 1];
    const { model, stats } = averageMembers(members);
    await saveModelFolder(`${foldsDir}/${speaker}`, model, { config, stats });
    await writeMetrics(`${foldsDir}/${speaker}`, {
      name: `${basename(args.model)} without ${speaker}`,
      version: "",
      trainedAt: new Date().toISOString(),
      data: { heldOutSpeaker: speaker },
      training: { ...foldRecipe },
      official: null,
    });
    model.dispose();
    results.push({
      speaker,
      accuracy: fold.accuracy,
      count: fold.count,
      confusion: fold.confusion,
      byMembers: byMembers.map((r) => r.accuracy),
    });
    console.log(
      `  held out ${speaker}: ${pct(fold.accuracy)} (${fold.count} clips; by members ${byMembers.map((r) => pct(r.accuracy)).join(", ")})`,
    );
  }
  return results;
}

/** The teacher's fold model that never heard `speaker` (a distilled recipe's LOSO), or a clear error. */
function teacherFoldFor(speaker: string): string {
  const dir = `${teacherFolds}/${speaker}`;
  try {
    Deno.statSync(`${dir}/model.json`);
  } catch {
    throw new Error(
      `a distilled recipe's fold learns from its teacher's fold model, and ${dir} has none: run the teacher's LOSO with --save-folds first, or name them with --teacher-folds DIR`,
    );
  }
  return dir;
}

/** Each saved fold model (foldsDir/<speaker>/) scored on its held-out speaker; speakers without one are left out. */
async function scoreSavedFolds(all: Clip[], held: string[]): Promise<FoldResult[]> {
  const results: FoldResult[] = [];
  for (const speaker of held) {
    let fold;
    try {
      fold = await loadClassifier(`${foldsDir}/${speaker}`);
    } catch {
      console.log(`  no fold model for ${speaker} in ${foldsDir}: left out`);
      continue;
    }
    const mine = all.filter((c) => c.speaker === speaker);
    const { config, stats } = fold.features;
    const result = evaluate(
      mine.map((c) => c.digit),
      predictAudio(fold.model, stats, config, await loadAudio(mine.map((c) => c.path), config.sampleRate)),
    );
    fold.model.dispose();
    results.push({ speaker, accuracy: result.accuracy, count: result.count, confusion: result.confusion, byMembers: [result.accuracy] });
    console.log(`  held out ${speaker}: ${pct(result.accuracy)} (${result.count} clips, saved fold model)`);
  }
  if (results.length === 0) throw new Error(`--score-folds: no fold models in ${foldsDir}`);
  return results;
}

/** Splits the speakers over `jobs` processes of this script and gathers their folds. */
async function runFoldsInWorkers(held: string[], jobs: number): Promise<FoldResult[]> {
  const groups = Array.from({ length: jobs }, (_, j) => held.filter((_, i) => i % jobs === j));
  const dir = await Deno.makeTempDir({ prefix: "loso-" });
  try {
    const passOn = ["--model", args.model, "--data", args.data, "--recipe-json", JSON.stringify(recipe), "--save-folds", foldsDir];
    if (maxClips) passOn.push("--max-clips", String(maxClips));
    if (teacherFolds) passOn.push("--teacher-folds", teacherFolds);
    if (trainSpeakers !== undefined) passOn.push("--train-speakers", String(trainSpeakers));
    const statuses = await Promise.all(groups.map((group, j) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", import.meta.filename!, ...passOn, "--speakers", group.join(","), "--fold-json", `${dir}/${j}.json`],
        stdout: "inherit",
        stderr: "inherit",
      }).output()
    ));
    if (statuses.some((s) => !s.success)) throw new Error("a LOSO worker failed; its output is above");
    const folds: FoldResult[] = groups.flatMap((_, j) => JSON.parse(Deno.readTextFileSync(`${dir}/${j}.json`)));
    return held.map((speaker) => folds.find((f) => f.speaker === speaker)!);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function summarize(folds: FoldResult[], recipe: TrainOptions, seconds: number): LosoReport {
  const perSpeaker = Object.fromEntries(folds.map((f) => [f.speaker, f.accuracy]));
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  for (const f of folds) f.confusion.forEach((row, i) => row.forEach((v, j) => confusion[i][j] += v));
  const worst = folds.reduce((a, b) => (b.accuracy < a.accuracy ? b : a));
  return {
    perSpeaker,
    mean: folds.reduce((sum, f) => sum + f.accuracy, 0) / folds.length,
    worst: worst.accuracy,
    worstSpeaker: worst.speaker,
    confusion,
    confusionBySpeaker: Object.fromEntries(folds.map((f) => [f.speaker, f.confusion])),
    epochs: recipe.epochs,
    augmentCopies: recipe.augmentCopies,
    voicesDir: recipe.voicesDir,
    members: recipe.members,
    seed: recipe.seed,
    mixupAlpha: recipe.mixupAlpha,
    labelSmoothing: recipe.labelSmoothing,
    timeWarpFrames: recipe.timeWarpFrames,
    eqProbability: recipe.recipe.eqProbability,
    maskFill: recipe.maskFill,
    ...(trainSpeakers !== undefined ? { trainSpeakers } : {}),
    byMembers: folds[0].byMembers.map((_, k) => {
      const accuracies = folds.map((f) => f.byMembers[k]);
      return { mean: accuracies.reduce((a, b) => a + b, 0) / accuracies.length, worst: Math.min(...accuracies) };
    }),
    seconds: Math.round(seconds * 10) / 10,
  };
}
