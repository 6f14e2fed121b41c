/** metrics.json and the SVG plots beside it: what a model scored, on what, trained how. */
import type { EnrollResult } from "./enroll.ts";
import type { StringsReport } from "./strings.ts";
import type { RejectReport } from "./reject.ts";
import type { FinderScore } from "./speech_finder.ts";
import type { Evaluation } from "./metrics.ts";
import { rocCurve } from "./metrics.ts";
import { confusionSvg, rejectCurveSvg, rocSvg, speakerBarsSvg } from "./plots.ts";

export interface LosoReport {
  /** Accuracy on each held-out speaker, trained on the other five. */
  perSpeaker: Record<string, number>;
  mean: number;
  worst: number;
  worstSpeaker: string;
  /** Summed confusion over the six folds. */
  confusion: number[][];
  /** Each held-out speaker's own confusion (absent in reports written before it was kept). */
  confusionBySpeaker?: Record<string, number[][]>;
  epochs: number;
  augmentCopies: number;
  voicesDir: string;
  /** MLPs averaged per fold (absent in reports written before ensembles: 1). */
  members?: number;
  /** Seed of the first member (absent in reports written before it was recorded: 1). */
  seed?: number;
  /** Mixup's Beta(alpha, alpha) and label smoothing of the recipe (absent before they existed: 0). */
  mixupAlpha?: number;
  labelSmoothing?: number;
  /** SpecAugment time warp's largest knot shift in frames (absent before it existed: 0). */
  timeWarpFrames?: number;
  /** Probability of the random microphone tilt (absent before it existed: 0). */
  eqProbability?: number;
  /** What SpecAugment masks leave (absent before it was a choice: "zero"). */
  maskFill?: "zero" | "mean";
  /** FSDD speakers each fold trained on, when fewer than the other five (a learning curve; absent: all five). */
  trainSpeakers?: number;
  /** Mean and worst accuracy of the first k members' ensemble, k = 1..members (each fold trains its members once). */
  byMembers?: { mean: number; worst: number }[];
  seconds: number;
}

export interface MetricsFile {
  name: string;
  version: string;
  trainedAt: string;
  data: Record<string, unknown>;
  training: Record<string, unknown>;
  official: Evaluation | null;
  loso?: LosoReport;
  enroll?: EnrollResult;
  strings?: StringsReport;
  reject?: RejectReport;
  /** The speech finder on noisy, padded clips, per high-pass setting (eval --speech-finder). */
  speechFinder?: FinderScore[];
}

export async function readMetrics(dir: string): Promise<MetricsFile> {
  return JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`));
}

export async function writeMetrics(dir: string, metrics: MetricsFile): Promise<void> {
  await Deno.writeTextFile(`${dir}/metrics.json`, JSON.stringify(metrics, roundFloats, 1) + "\n");
}

/** Four significant decimals are plenty in a report, and keep the file readable. */
function roundFloats(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isInteger(value) ? Math.round(value * 1e4) / 1e4 : value;
}

/** Confusion matrix and ROC curves of an official-split evaluation, into <dir>/plots/. */
export async function writeOfficialPlots(dir: string, labels: number[], probabilities: Float32Array[], evaluation: Evaluation) {
  await Deno.mkdir(`${dir}/plots`, { recursive: true });
  const curves = Array.from({ length: 10 }, (_, d) => rocCurve(labels.map((l) => l === d), probabilities.map((p) => p[d])));
  const accuracy = (evaluation.accuracy * 100).toFixed(1);
  await Deno.writeTextFile(
    `${dir}/plots/confusion.svg`,
    confusionSvg(evaluation.confusion, `Confusion, official test split (${accuracy}%)`),
  );
  await Deno.writeTextFile(`${dir}/plots/roc.svg`, rocSvg(curves, evaluation.perClass.map((c) => c.rocAuc), "ROC, one digit vs rest"));
}

export async function writeRejectPlot(dir: string, report: RejectReport) {
  await Deno.mkdir(`${dir}/plots`, { recursive: true });
  // The shipped point on the pooled curve: the pooled shares at the shipped refusal point.
  const at = report.curve.reduce((a, b) => (Math.abs(b.threshold - report.threshold) < Math.abs(a.threshold - report.threshold) ? b : a));
  await Deno.writeTextFile(
    `${dir}/plots/reject_curve.svg`,
    rejectCurveSvg(report.curve, { ...at, threshold: report.threshold }, "Not a digit: refused words vs lost digits"),
  );
}

export async function writeLosoPlots(dir: string, loso: LosoReport) {
  await Deno.mkdir(`${dir}/plots`, { recursive: true });
  await Deno.writeTextFile(`${dir}/plots/speakers.svg`, speakerBarsSvg(loso.perSpeaker, "Accuracy on an unseen speaker (LOSO)"));
  await Deno.writeTextFile(
    `${dir}/plots/loso_confusion.svg`,
    confusionSvg(loso.confusion, `Confusion, leave-one-speaker-out (${(loso.mean * 100).toFixed(1)}%)`),
  );
}
