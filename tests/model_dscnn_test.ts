/** The DS-CNN's input window and its training: members rebuilt from their weights, averaged exactly. */
import assert from "node:assert/strict";
import { CNN_FEATURES, featureLength } from "../dsp/config.ts";
import { extractFeatures } from "../dsp/features.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { averageMembers } from "../models/lab/ensemble.ts";
import { dsCnnGraph, type LayerKit, TRAINING_LAYERS } from "../models/lab/dscnn.ts";
import { registerConvBackprop } from "../models/lab/conv_backprop.ts";
import { DEFAULT_TRAIN, disposeModel, trainMembers, type TrainOptions } from "../models/lab/training.ts";
import { initTf, tf } from "../models/tfjs.ts";
import { clipPath, FSDD } from "./helpers.ts";

await initTf();

Deno.test({
  name: "window features: 1 s of log-mel centred on the speech, silence (the floor) where the clip ends",
  ignore: !FSDD,
  fn: async () => {
    const { samples } = await decodeAudio(await Deno.readFile(clipPath("7_jackson_32.wav")));
    const features = extractFeatures(samples, CNN_FEATURES);
    assert.equal(features.values.length, featureLength(CNN_FEATURES));
    assert.equal(features.values.length, 50 * 40);
    const loudest = (t: number) => Math.max(...features.values.subarray(t * 40, (t + 1) * 40));
    // The 0.54 s clip sits in the middle of the 1 s window: its first and last frames are the dB floor.
    const floor = loudest(0);
    assert.equal(loudest(49), floor);
    assert.ok(loudest(25) > floor + 40, `middle ${loudest(25)} vs floor ${floor}`);
    // Moving the clip inside a longer recording: the window follows the speech (to a frame or two: the hangover
    // is cut at a clip's ends, so the centre found shifts a little).
    const padded = new Float32Array(samples.length + 12000);
    padded.set(samples, 7000);
    const moved = extractFeatures(padded, CNN_FEATURES);
    const peakFrame = (values: Float32Array) => {
      let best = 0;
      for (let t = 1; t < 50; t++) {
        if (Math.max(...values.subarray(t * 40, t * 40 + 40)) > Math.max(...values.subarray(best * 40, best * 40 + 40))) best = t;
      }
      return best;
    };
    assert.ok(
      Math.abs(peakFrame(features.values) - peakFrame(moved.values)) <= 2,
      `${peakFrame(features.values)} vs ${peakFrame(moved.values)}`,
    );
  },
});

Deno.test({
  name: "DS-CNN members trained on WASM, averaged: the ensemble's answer is the mean of the members' own",
  ignore: !FSDD,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const names = ["0_jackson_5.wav", "1_jackson_5.wav", "2_theo_7.wav", "3_lucas_9.wav", "4_george_8.wav", "5_nicolas_6.wav"];
    const clips = await Promise.all(names.map(async (name) => ({
      samples: (await decodeAudio(await Deno.readFile(clipPath(name)))).samples,
      digit: +name[0],
      speaker: name.split("_")[1],
    })));
    const options: TrainOptions = {
      ...DEFAULT_TRAIN,
      architecture: "dscnn",
      channels: 8,
      blocks: 2,
      epochs: 2,
      augmentCopies: 1,
      members: 2,
    };
    const { members } = await trainMembers(clips, CNN_FEATURES, options);
    const before = tf.memory().numTensors;
    const pair = averageMembers(members);
    const singles = members.map((m) => averageMembers([m]));
    const input = tf.randomNormal([3, featureLength(CNN_FEATURES)], 0, 1, "float32", 5);
    const [both, a, b] = [pair, ...singles].map(({ model }) =>
      tf.tidy(() => (model.predict(input) as tf.Tensor).arraySync() as number[][])
    );
    both.forEach((row, i) => row.forEach((p, d) => assert.ok(Math.abs(p - (a[i][d] + b[i][d]) / 2) < 1e-5)));
    assert.ok(a.some((row, i) => row.some((p, d) => Math.abs(p - b[i][d]) > 1e-4)), "the two members are the same network");
    assert.deepEqual(pair.stats, members[1].stats, "the members share their statistics");
    input.dispose();
    for (const { model } of [pair, ...singles]) disposeModel(model);
    assert.equal(tf.memory().numTensors, before, "tensors leaked");
  },
});

Deno.test({
  name: "training layers: the first convolution skips its input's gradient, and training gives the same weights to the bit",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    registerConvBackprop();
    const frames = 50, bins = 40;
    const options = { channels: 8, blocks: 2, dropout: 0, learningRate: 0.003, seed: 4 };
    const x = tf.randomNormal([8, frames * bins], 0, 1, "float32", 6);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], "int32"), 10).toFloat();
    const train = async (kit: LayerKit) => {
      const input = tf.input({ shape: [frames * bins] });
      const model = tf.model({ inputs: input, outputs: dsCnnGraph(input, frames, bins, options, "", kit) });
      model.compile({ optimizer: tf.train.adam(options.learningRate), loss: "categoricalCrossentropy" });
      const profile = await tf.profile(async () => {
        for (let step = 0; step < 3; step++) await model.trainOnBatch(x, y);
      });
      const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
      const kernels = profile.kernels.map((k) => `${k.name} ${JSON.stringify(k.inputShapes)}`);
      disposeModel(model);
      return { weights, kernels };
    };
    const ours = await train(TRAINING_LAYERS);
    const tfjs = await train({ ...TRAINING_LAYERS, inputConv: tf.layers.conv2d });
    const inputGradient = (kernels: string[]) => kernels.filter((k) => k.startsWith("Conv2DBackpropInput") && k.includes("[10,4,1,8]"));
    assert.equal(inputGradient(tfjs.kernels).length, 3, "tfjs's fused convolution computes it at every step");
    assert.equal(inputGradient(ours.kernels).length, 0);
    assert.deepEqual(ours.weights, tfjs.weights);
    tf.dispose([x, y]);
  },
});
