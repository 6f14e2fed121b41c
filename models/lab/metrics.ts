/** Classification metrics, written plainly: accuracy, per-class precision/recall/F1, confusion, ROC AUC. */
import { argmax } from "../model_format.ts";

export interface ClassReport {
  precision: number;
  recall: number;
  f1: number;
  support: number;
  /** One-vs-rest area under the ROC curve. */
  rocAuc: number;
}

export interface Evaluation {
  accuracy: number;
  macroF1: number;
  macroRocAuc: number;
  /** confusion[true][predicted] counts, of the answered clips. */
  confusion: number[][];
  /** Clips given no answer (an all-zero row: no speech found); each is a miss. */
  unanswered: number;
  perClass: ClassReport[];
  count: number;
}

/** Scores labelled answers; a row of zeros is no answer, a miss (argmax would call it 0, right for every "zero"). */
export function evaluate(labels: number[], probabilities: ArrayLike<number>[], classes = 10): Evaluation {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  let unanswered = 0;
  labels.forEach((label, i) => {
    if (Array.from(probabilities[i]).every((p) => p === 0)) {
      unanswered++;
      return;
    }
    const predicted = argmax(probabilities[i]);
    confusion[label][predicted]++;
    if (predicted === label) correct++;
  });
  const perClass: ClassReport[] = [];
  for (let c = 0; c < classes; c++) {
    const tp = confusion[c][c];
    const predictedC = confusion.reduce((n, row) => n + row[c], 0);
    const support = labels.filter((l) => l === c).length;
    const precision = predictedC ? tp / predictedC : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    const rocAuc = rocAucOneVsRest(labels.map((l) => l === c), probabilities.map((p) => p[c]));
    perClass.push({ precision, recall, f1, support, rocAuc });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    accuracy: labels.length ? correct / labels.length : 0,
    macroF1: mean(perClass.map((c) => c.f1)),
    macroRocAuc: mean(perClass.map((c) => c.rocAuc)),
    confusion,
    unanswered,
    perClass,
    count: labels.length,
  };
}

/** AUC as the probability that a random positive scores above a random negative (ties count half). */
export function rocAucOneVsRest(positive: boolean[], scores: number[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  // Average ranks over ties (Mann-Whitney U).
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const nPos = positive.filter(Boolean).length;
  const nNeg = positive.length - nPos;
  if (!nPos || !nNeg) return NaN;
  const rankSum = positive.reduce((sum, p, i) => (p ? sum + ranks[i] : sum), 0);
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Points of the ROC curve (false positive rate, true positive rate), thresholds from high to low. */
export function rocCurve(positive: boolean[], scores: number[]): Array<[number, number]> {
  const order = scores.map((s, i) => [s, positive[i]] as const).sort((a, b) => b[0] - a[0]);
  const nPos = positive.filter(Boolean).length || 1;
  const nNeg = positive.length - positive.filter(Boolean).length || 1;
  const points: Array<[number, number]> = [[0, 0]];
  let tp = 0;
  let fp = 0;
  order.forEach(([score, isPositive], i) => {
    if (isPositive) tp++;
    else fp++;
    if (i === order.length - 1 || order[i + 1][0] !== score) points.push([fp / nNeg, tp / nPos]);
  });
  return points;
}
