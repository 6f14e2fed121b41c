/** The models that `deno task start` serves, checked on FSDD's official test split (takes 0-4, 300 clips). */
import assert from "node:assert/strict";
import { embeddingVectors, featureLength } from "../dsp/config.ts";
import { classify, classifyClips } from "../models/classifier.ts";
import { loadClassifier } from "../models/files.ts";
import { listClips, officialSplit } from "../models/lab/fsdd.ts";
import { evaluate } from "../models/lab/metrics.ts";
import { initTf, tf } from "../models/tfjs.ts";
import { loadAudio, servedProbabilities } from "../models/lab/training.ts";
import { findModelFolders } from "../models/served.ts";
import { FSDD } from "./helpers.ts";

await initTf();
const COMMITTED = findModelFolders("models");

Deno.test("three model kinds are committed: the seed's MLP as mlp, the DS-CNN as cnn, the speech embedding's head as embed", () => {
  assert.deepEqual(COMMITTED, ["cnn", "embed", "mlp"]);
});

for (const name of COMMITTED) {
  const MODEL_DIR = `models/${name}`;
  Deno.test(`the committed ${name} folder describes itself: topology, quantized weights, features, metrics`, async () => {
    const classifier = await loadClassifier(MODEL_DIR);
    const modelJson = JSON.parse(await Deno.readTextFile(`${MODEL_DIR}/model.json`));
    assert.equal(modelJson.format, "layers-model");
    const stored = modelJson.weightsManifest[0].weights.map((w: { quantization?: { dtype: string } }) => w.quantization?.dtype);
    assert.ok(stored.every((dtype: string) => dtype === "float16" || dtype === "uint8"), `weights stored as ${stored}`);
    const { config, stats } = classifier.features;
    // What the network reads: the features, or for an embedding model the embedding's vectors of its mel input.
    const read = config.embedding
      ? embeddingVectors(config.embedding, config.frames) * classifier.embedding!.graph.outputSize
      : featureLength(config);
    assert.equal(stats.mean.length, read);
    assert.equal(stats.std.length, read);
    assert.deepEqual(classifier.model.inputs[0].shape, [null, read]);
    // On disk: the model's weights and, for an embedding model, the network it sits on and its spotters (together at most 2 MB).
    const embeddingBytes = config.embedding ? (await Deno.stat(`models/${config.embedding.model}/weights.bin`)).size : 0;
    const spotterBytes = (classifier.spotter ? (await Deno.stat(`${MODEL_DIR}/spotter/weights.bin`)).size : 0) +
      (classifier.liveSpotter ? (await Deno.stat(`${MODEL_DIR}/spotter_live/weights.bin`)).size : 0);
    const weightBytes = (await Deno.stat(`${MODEL_DIR}/weights.bin`)).size + embeddingBytes + spotterBytes;
    assert.ok(weightBytes <= 2 * 1024 * 1024, `weights are ${weightBytes} bytes, over 2 MB`);
    const metrics = JSON.parse(await Deno.readTextFile(`${MODEL_DIR}/metrics.json`));
    assert.equal(metrics.version, classifier.identity.version, "metrics.json belongs to these weights");
    classifier.model.dispose();
  });

  Deno.test({
    name: `the committed ${name} scores what its metrics.json says on the 300 official test clips, and predicting leaks no tensors`,
    ignore: !FSDD,
    fn: async () => {
      const classifier = await loadClassifier(MODEL_DIR);
      const { test } = officialSplit(listClips(FSDD!));
      assert.equal(test.length, 300);
      const audio = await loadAudio(test.map((c) => c.path), classifier.features.config.sampleRate);
      const before = tf.memory().numTensors;
      const probabilities = servedProbabilities(classifier, audio);
      assert.equal(tf.memory().numTensors, before);
      const result = evaluate(test.map((c) => c.digit), probabilities);
      console.log(`committed ${name}, official test split: ${(result.accuracy * 100).toFixed(2)}%`);
      const metrics = JSON.parse(await Deno.readTextFile(`${MODEL_DIR}/metrics.json`));
      // The same clips, the same code: the figure the README and the page quote, to the clip.
      assert.ok(Math.abs(result.accuracy - metrics.official.accuracy) < 0.5 / 300, `${result.accuracy} vs ${metrics.official.accuracy}`);
      classifier.model.dispose();
    },
  });
}

Deno.test("classifyClips: a clip's answer is the mean of the model's answers over its views", async () => {
  await initTf();
  const classifier = await loadClassifier("models/mlp");
  const width = featureLength(classifier.features.config);
  const random = (seed: number) => Float32Array.from({ length: width }, (_, i) => Math.sin(seed * 1000 + i) * 3);
  const [a, b, c] = [random(1), random(2), random(3)];
  const [alone, pair] = classifyClips(classifier, [[c], [a, b]]);
  const [pa, pb, pc] = classify(classifier, [a, b, c]);
  pc.forEach((p, d) => assert.ok(Math.abs(alone[d] - p) < 1e-6));
  pa.forEach((p, d) => assert.ok(Math.abs(pair[d] - (p + pb[d]) / 2) < 1e-6));
  assert.ok(Math.abs(pair.reduce((s, p) => s + p, 0) - 1) < 1e-5);
  classifier.model.dispose();
});
