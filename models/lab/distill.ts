/**
 * Knowledge distillation (Hinton et al., 2015): a student network learns from a teacher's probabilities beside
 * the labels. Used to train one DS-CNN from the two-member `cnn`, so that serving costs one network's forward
 * pass while keeping as much as it can of what the second member added on unseen speakers.
 *
 * The teacher judges exactly the examples the student trains on (its own augmented copies included), with its
 * own normalization statistics, so its probabilities say how alike the digits look *to it* on each example.
 */
import type { FeatureConfig } from "../../dsp/config.ts";
import { classify } from "../classifier.ts";
import { loadClassifier } from "../files.ts";

/**
 * The teacher's share of a target when none is asked for. Set before any run, not tuned: the teacher's averaged
 * softmax (temperature 1) is already soft on augmented copies it never trained on, and the label keeps the other 0.3.
 */
export const DEFAULT_TEACHER_WEIGHT = 0.7;

/** Examples the teacher judges at once: bounded memory (~2 MB of inputs) whatever the training set's size. */
const CHUNK = 256;

/**
 * The teacher's ten digit probabilities for each un-normalized feature vector. The teacher must read the same
 * features (same `config`, feature by feature): a teacher fed other inputs would teach noise.
 */
export async function teacherProbabilities(teacherDir: string, config: FeatureConfig, vectors: Float32Array[]): Promise<Float32Array[]> {
  const teacher = await loadClassifier(teacherDir);
  try {
    const theirs = teacher.features.config;
    const differing = (Object.keys(config) as (keyof FeatureConfig)[])
      .filter((key) => JSON.stringify(config[key]) !== JSON.stringify(theirs[key]));
    if (differing.length > 0) {
      throw new Error(`teacher ${teacherDir} reads other features than the student (${differing.join(", ")} differ)`);
    }
    const out: Float32Array[] = [];
    for (let start = 0; start < vectors.length; start += CHUNK) out.push(...classify(teacher, vectors.slice(start, start + CHUNK)));
    return out;
  } finally {
    teacher.model.dispose();
  }
}

/**
 * Training targets in place: each row becomes (1 - weight) x its label row + weight x the teacher's row.
 * Rows stay distributions (both parts sum to 1).
 */
export function blendTargets(targets: Float32Array, teacherRows: Float32Array[], weight: number, classes: number): void {
  teacherRows.forEach((row, b) => {
    if (row.length !== classes) throw new Error(`a teacher row has ${row.length} classes, the student ${classes}`);
    for (let k = 0; k < classes; k++) targets[b * classes + k] = (1 - weight) * targets[b * classes + k] + weight * row[k];
  });
}
