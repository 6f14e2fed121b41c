/** Distillation (models/lab/distill.ts): the teacher's probabilities, checked inputs, and targets that reach the loss. */
import assert from "node:assert/strict";
import { CNN_FEATURES } from "../dsp/config.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { extractFeatures } from "../dsp/features.ts";
import { classify } from "../models/classifier.ts";
import { loadClassifier } from "../models/files.ts";
import { blendTargets, teacherProbabilities } from "../models/lab/distill.ts";
import { DEFAULT_TRAIN, disposeModel, fillTargets, trainOnAudio, type TrainOptions } from "../models/lab/training.ts";
import { initTf, tf } from "../models/tfjs.ts";
import { clipPath, FSDD } from "./helpers.ts";

await initTf();

Deno.test("blendTargets: (1 - w) x label + w x teacher, rows still distributions; the teacher's classes must match", () => {
  const targets = new Float32Array(2 * 10);
  fillTargets(targets, [3, 7], 0);
  const teacher = [new Float32Array(10).fill(0.1), Float32Array.from({ length: 10 }, (_, k) => (k === 2 ? 1 : 0))];
  blendTargets(targets, teacher, 0.7, 10);
  assert.ok(Math.abs(targets[3] - (0.3 + 0.07)) < 1e-6);
  assert.ok(Math.abs(targets[0] - 0.07) < 1e-6);
  assert.ok(Math.abs(targets[10 + 7] - 0.3) < 1e-6);
  assert.ok(Math.abs(targets[10 + 2] - 0.7) < 1e-6);
  for (const row of [0, 1]) assert.ok(Math.abs(targets.subarray(row * 10, row * 10 + 10).reduce((a, b) => a + b) - 1) < 1e-6);
  const untouched = new Float32Array(10);
  fillTargets(untouched, [4], 0);
  blendTargets(untouched, [teacher[0]], 0, 10);
  assert.deepEqual(Array.from(untouched), Array.from({ length: 10 }, (_, k) => (k === 4 ? 1 : 0)));
  assert.throws(() => blendTargets(new Float32Array(11), [new Float32Array(10)], 0.5, 11), /10 classes, the student 11/);
});

Deno.test({
  name: "teacherProbabilities: the committed cnn's own answers for each vector; a teacher reading other features is refused",
  ignore: !FSDD,
  fn: async () => {
    const names = ["0_jackson_5.wav", "3_lucas_9.wav", "8_yweweler_4.wav"];
    const vectors = await Promise.all(
      names.map(async (n) => extractFeatures((await decodeAudio(await Deno.readFile(clipPath(n)))).samples, CNN_FEATURES).values),
    );
    const before = tf.memory().numTensors;
    const rows = await teacherProbabilities("models/cnn", CNN_FEATURES, vectors);
    assert.equal(tf.memory().numTensors, before, "the teacher is freed");
    const cnn = await loadClassifier("models/cnn");
    const direct = classify(cnn, vectors);
    cnn.model.dispose();
    rows.forEach((row, i) => {
      assert.equal(row.length, 10);
      row.forEach((p, d) => assert.ok(Math.abs(p - direct[i][d]) < 1e-6));
    });
    await assert.rejects(
      () => teacherProbabilities("models/mlp", CNN_FEATURES, vectors),
      /reads other features than the student \(.*frames/,
    );
  },
});

Deno.test({
  name: "a distilled network learns the teacher's targets: with every label 0, the teacher pulls its answers off 0",
  ignore: !FSDD,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const names = ["1_jackson_5.wav", "2_theo_7.wav", "3_lucas_9.wav", "4_george_8.wav", "5_nicolas_6.wav", "6_yweweler_3.wav"];
    const samples = await Promise.all(names.map(async (n) => (await decodeAudio(await Deno.readFile(clipPath(n)))).samples));
    // Every clip labelled 0 (wrongly): a network trained on labels alone learns to answer 0.
    const clips = samples.flatMap((s) => Array.from({ length: 4 }, () => ({ samples: s, digit: 0, speaker: "test" })));
    const options: TrainOptions = {
      ...DEFAULT_TRAIN,
      // A small MLP on the CNN's features: no batch norm, whose moving statistics would lag behind a few steps.
      architecture: "mlp",
      hidden: [32],
      dropout: [0],
      learningRate: 0.01,
      batchSize: 8,
      epochs: 10,
      augmentCopies: 0,
      members: 1,
      teacher: "models/cnn",
    };
    const meanZero = async (teacherWeight: number) => {
      const { model, stats } = await trainOnAudio(clips, CNN_FEATURES, { ...options, teacherWeight });
      const vectors = samples.map((s) => extractFeatures(s, CNN_FEATURES).values);
      const p = classify({ model, features: { config: CNN_FEATURES, stats }, identity: { name: "t", version: "" } }, vectors);
      disposeModel(model);
      return p.reduce((sum, row) => sum + row[0], 0) / p.length;
    };
    const labelsOnly = await meanZero(0);
    const taught = await meanZero(1);
    assert.ok(labelsOnly > 0.5, `labels alone: P(0) ${labelsOnly}`);
    assert.ok(taught < labelsOnly - 0.3, `taught by the cnn (which hears 1-6): P(0) ${taught} vs ${labelsOnly}`);
  },
});
