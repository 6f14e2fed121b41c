/** models/reject.ts and its training (models/lab/reject.ts): the head's arithmetic, its file check, and that training separates. */
import assert from "node:assert/strict";
import { seededRandom } from "../dsp/random.ts";
import { parseRejectHead, POOL, REJECT_FORMAT, rejectInput, rejectInputSize, unknownProbability } from "../models/reject.ts";
import { thresholdFor, trainHead } from "../models/lab/reject.ts";
import { labelFields } from "../models/recognize.ts";
import type { Classifier } from "../models/classifier.ts";

Deno.test("rejectInput: embedding, top probability, entropy, then the features pooled in groups of POOL", () => {
  const probabilities = [0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0];
  const x = rejectInput(Float32Array.from([1, 0]), probabilities, Float32Array.from([1, 2, 3, 4, 5, 6]));
  assert.equal(x.length, rejectInputSize(2, 6));
  assert.deepEqual(Array.from(x.slice(0, 3)), [1, 0, 0.5]);
  assert.ok(Math.abs(x[3] - Math.log(2)) < 1e-6);
  assert.equal(x[4], (1 + 2 + 3 + 4) / POOL);
  assert.equal(x[5], (5 + 6) / 2);
});

Deno.test("trainHead separates two clouds, and thresholdFor refuses at most the given share of digits", () => {
  const random = seededRandom(3);
  const cloud = (center: number) => Array.from({ length: 300 }, () => Float32Array.from({ length: 8 }, () => center + random() - 0.5));
  const head = trainHead(cloud(1), cloud(-1), "m@1");
  const words = cloud(1).map((x) => unknownProbability(head, x));
  const digits = cloud(-1).map((x) => unknownProbability(head, x));
  const threshold = thresholdFor(digits, 0.02);
  assert.ok(digits.filter((s) => s >= threshold).length <= 0.02 * digits.length);
  assert.ok(words.filter((s) => s >= threshold).length >= 0.95 * words.length);
});

Deno.test("parseRejectHead refuses a head for other weights or of the wrong shape; labelFields refuses at the point, or never when off", () => {
  const head = { ...trainHead([Float32Array.from([1, 1])], [Float32Array.from([-1, -1])], "cnn@12345678"), threshold: 0.5 };
  assert.equal(head.format, REJECT_FORMAT);
  assert.doesNotThrow(() => parseRejectHead(head, "cnn@12345678", 2));
  assert.throws(() => parseRejectHead(head, "cnn@87654321", 2), /trained for cnn@12345678/);
  assert.throws(() => parseRejectHead(head, "cnn@12345678", 3), /bad shapes/);
  assert.throws(() => parseRejectHead({ ...head, threshold: 2 }, "cnn@12345678", 2), /threshold/);
  assert.doesNotThrow(() => parseRejectHead({ ...head, threshold: null }, "cnn@12345678", 2));
  const classifier = { reject: head } as unknown as Classifier;
  const judgement = { probabilities: Float32Array.from([0.1, 0.9, 0, 0, 0, 0, 0, 0, 0, 0]), unknown: 0.7 };
  // Each answer with `unknown` says which point was applied: the model's own, null when off, or the caller's.
  assert.deepEqual(labelFields(judgement, classifier), {
    digit: null,
    label: "unknown",
    confidence: 0.7,
    unknown: 0.7,
    refusal_point: 0.5,
  });
  assert.deepEqual(labelFields(judgement, classifier, "off"), { digit: 1, label: "1", confidence: 0.9, unknown: 0.7, refusal_point: null });
  assert.deepEqual(labelFields(judgement, classifier, 0.8), { digit: 1, label: "1", confidence: 0.9, unknown: 0.7, refusal_point: 0.8 });
  assert.deepEqual(labelFields({ probabilities: judgement.probabilities }, {} as Classifier), { digit: 1, label: "1", confidence: 0.9 });
  // A head shipped without a default point refuses only when asked.
  const optIn = { reject: { ...head, threshold: null } } as unknown as Classifier;
  assert.equal(labelFields(judgement, optIn).label, "1");
  assert.equal(labelFields(judgement, optIn, 0.5).label, "unknown");
});
