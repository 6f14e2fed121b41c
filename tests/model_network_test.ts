/**
 * models/network.ts: the folded forward pass gives tfjs-layers' answers and penultimate features, on the committed
 * models and on small networks of every layer kind it compiles; anything else runs through tfjs-layers; no tensor
 * outlives the model.
 */
import assert from "node:assert/strict";
import { initTf, tf } from "../models/tfjs.ts";
import { loadClassifier } from "../models/files.ts";
import { readWav } from "../dsp/wav.ts";
import { featuresFromAudio, normalize } from "../dsp/index.ts";
import { embeddingSize, forward } from "../models/network.ts";
import { seededRandom } from "../dsp/random.ts";

await initTf();

const maxDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  return Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
};

/** What tfjs-layers says: the output, and the input of the last Dense layer(s) (members side by side). */
function layersAnswer(model: tf.LayersModel, input: tf.Tensor2D) {
  return tf.tidy(() => {
    const last = model.layers[model.layers.length - 1];
    const heads = last.getClassName() === "Dense" ? [last] : last.inboundNodes[0].inboundLayers;
    const probe = tf.model({ inputs: model.inputs, outputs: heads.map((h) => h.input as tf.SymbolicTensor) });
    const embedding = [probe.predict(input)].flat() as tf.Tensor[];
    return {
      output: (model.predict(input) as tf.Tensor).dataSync() as Float32Array,
      embedding: (embedding.length === 1 ? embedding[0] : tf.concat(embedding, 1)).dataSync() as Float32Array,
    };
  });
}

function compiledAnswer(model: tf.LayersModel, input: tf.Tensor2D) {
  return tf.tidy(() => {
    const { output, embedding } = forward(model, input);
    return { output: output.dataSync() as Float32Array, embedding: embedding.dataSync() as Float32Array };
  });
}

Deno.test("the committed models: the folded forward pass gives tfjs-layers' probabilities and embeddings for real clips", async () => {
  const names = [...Deno.readDirSync("static/examples")].map((e) => e.name).filter((n) => n.endsWith(".wav")).sort();
  for (const name of ["cnn", "mlp"]) {
    const classifier = await loadClassifier(`models/${name}`);
    const rows = names.flatMap((file) => {
      const { samples, sampleRate } = readWav(Deno.readFileSync(`static/examples/${file}`));
      return featuresFromAudio(samples, sampleRate, classifier.features.config).views.map((v) => normalize(v, classifier.features.stats));
    });
    const input = tf.tensor2d(rows.flatMap((r) => Array.from(r)), [rows.length, rows[0].length]);
    const expected = layersAnswer(classifier.model, input);
    const actual = compiledAnswer(classifier.model, input);
    assert.ok(maxDifference(actual.output, expected.output) < 1e-5, `${name}: probabilities differ`);
    assert.ok(maxDifference(actual.embedding, expected.embedding) < 1e-4, `${name}: embeddings differ`);
    assert.equal(actual.embedding.length, rows.length * embeddingSize(classifier.model));
    input.dispose();
    classifier.model.dispose();
  }
});

/** A small network with every kind of layer the compiler folds, with batch-norm statistics that are not 0 and 1. */
function everyKind(seed: number): tf.LayersModel {
  const random = seededRandom(seed);
  const input = tf.input({ shape: [12 * 8] });
  let x = tf.layers.reshape({ targetShape: [12, 8, 1] }).apply(input) as tf.SymbolicTensor;
  const layer = (l: tf.layers.Layer) => (x = l.apply(x) as tf.SymbolicTensor);
  layer(tf.layers.conv2d({ filters: 4, kernelSize: [3, 2], strides: 2, padding: "same", useBias: false }));
  layer(tf.layers.batchNormalization({}));
  layer(tf.layers.reLU({}));
  layer(tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: "valid", useBias: true }));
  layer(tf.layers.batchNormalization({ scale: false }));
  layer(tf.layers.activation({ activation: "relu" }));
  layer(tf.layers.conv2d({ filters: 5, kernelSize: 1, activation: "relu" }));
  layer(tf.layers.globalAveragePooling2d({}));
  layer(tf.layers.dense({ units: 6 }));
  layer(tf.layers.batchNormalization({ center: false }));
  layer(tf.layers.reLU({}));
  layer(tf.layers.dropout({ rate: 0.5 }));
  layer(tf.layers.dense({ units: 10, activation: "softmax" }));
  const model = tf.model({ inputs: input, outputs: x });
  // Random weights everywhere, variances positive: a fold that got a scale or an axis wrong cannot pass.
  for (const l of model.layers) {
    const values = l.weights.map((v) =>
      tf.tidy(() => {
        const shape = v.shape as number[];
        const values = Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => random() * 2 - 1);
        return v.name.includes("variance") ? tf.tensor(values.map((x) => x + 1.5), shape) : tf.tensor(values, shape);
      })
    );
    l.setWeights(values);
    tf.dispose(values);
  }
  return model;
}

Deno.test("every layer kind the compiler folds (convolutions, depthwise with a multiplier, batch norms with and without scale or centre, dense, dropout): tfjs-layers' numbers", () => {
  const random = seededRandom(5);
  const model = everyKind(3);
  const input = tf.tensor2d(Float32Array.from({ length: 3 * 96 }, () => random() * 2 - 1), [3, 96]);
  const expected = layersAnswer(model, input);
  const before = tf.memory().numTensors;
  const actual = compiledAnswer(model, input);
  assert.ok(tf.memory().numTensors > before, "not compiled: it ran through tfjs-layers");
  assert.ok(maxDifference(actual.output, expected.output) < 1e-5);
  assert.ok(maxDifference(actual.embedding, expected.embedding) < 1e-5);
  assert.equal(embeddingSize(model), 6);
  input.dispose();
  model.dispose();
});

Deno.test("a layer it does not compile (here a LeakyReLU) runs the whole network through tfjs-layers, with the same outputs", () => {
  const input = tf.input({ shape: [4] });
  const hidden = tf.layers.leakyReLU({}).apply(tf.layers.dense({ units: 3 }).apply(input)) as tf.SymbolicTensor;
  const model = tf.model({
    inputs: input,
    outputs: tf.layers.dense({ units: 10, activation: "softmax" }).apply(hidden) as tf.SymbolicTensor,
  });
  const x = tf.tensor2d([[1, -2, 3, -4], [0.5, 0.25, -1, 2]]);
  const expected = layersAnswer(model, x);
  const before = tf.memory().numTensors;
  const actual = compiledAnswer(model, x);
  assert.equal(tf.memory().numTensors, before, "compiled, or leaked");
  assert.ok(maxDifference(actual.output, expected.output) < 1e-6);
  assert.ok(maxDifference(actual.embedding, expected.embedding) < 1e-6);
  x.dispose();
  model.dispose();
});

Deno.test("the folded weights are freed with the model; a forward pass inside tidy leaves no tensor", async () => {
  const before = tf.memory().numTensors;
  const classifier = await loadClassifier("models/cnn");
  const loaded = tf.memory().numTensors;
  const input = tf.zeros([2, classifier.model.inputs[0].shape[1] as number]) as tf.Tensor2D;
  compiledAnswer(classifier.model, input); // compiles: the folded weights are made now
  const compiled = tf.memory().numTensors;
  assert.ok(compiled > loaded, "no folded weights were made (the model was not compiled)");
  compiledAnswer(classifier.model, input);
  assert.equal(tf.memory().numTensors, compiled, "a forward pass leaked");
  input.dispose();
  classifier.model.dispose();
  assert.equal(tf.memory().numTensors, before, "the model's folded weights outlived it");
});
