/** Training smoke tests on small subsets: the path `deno task train` and `deno task eval --loso` take. */
import assert from "node:assert/strict";
import { DEFAULT_FEATURES } from "../dsp/config.ts";
import { loadClassifier, saveModelFolder } from "../models/files.ts";
import { foldSpeakers, listClips, officialSplit } from "../models/lab/fsdd.ts";
import { float32ToFloat16Bits } from "../models/model_format.ts";
import { evaluate, rocAucOneVsRest } from "../models/lab/metrics.ts";
import type { MetricsFile } from "../models/lab/report.ts";
import { initTf, tf } from "../models/tfjs.ts";
import {
  DEFAULT_TRAIN,
  disposeModel,
  fillTargets,
  loadAudio,
  loadVoices,
  makeExamples,
  mixBatch,
  predictAudio,
  trainOnAudio,
} from "../models/lab/training.ts";
import { betaSample, seededRandom } from "../dsp/random.ts";
import { encodeWav16 } from "../dsp/wav.ts";
import { FSDD, tone } from "./helpers.ts";

await initTf();

Deno.test("float32ToFloat16Bits matches known half-precision patterns", () => {
  const cases: Array<[number, number]> = [
    [0, 0],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [1e6, 0x7c00],
    [5.960464477539063e-8, 0x0001],
    [0.333251953125, 0x3555],
  ];
  for (const [value, bits] of cases) assert.equal(float32ToFloat16Bits(value), bits, `${value}`);
});

Deno.test("metrics: accuracy, F1 and ROC AUC on a hand-made case", () => {
  const e = evaluate([0, 0, 1, 1], [[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]], 2);
  assert.equal(e.accuracy, 0.75);
  assert.deepEqual(e.confusion, [[1, 1], [0, 2]]);
  assert.equal(e.perClass[1].precision, 2 / 3);
  assert.equal(rocAucOneVsRest([true, false, true, false], [0.9, 0.1, 0.8, 0.85]), 0.75);
});

Deno.test("metrics: a row of zeros (no speech found) is a miss, even for a zero, and still counts in the class's support", () => {
  const e = evaluate([0, 0, 1], [[0, 0], [0.9, 0.1], [0.2, 0.8]], 2);
  assert.equal(e.accuracy, 2 / 3);
  assert.equal(e.unanswered, 1);
  assert.deepEqual(e.confusion, [[1, 0], [0, 1]]);
  assert.equal(e.perClass[0].support, 2);
  assert.equal(e.perClass[0].recall, 0.5);
});

Deno.test("fillTargets: one-hot rows, smoothed rows that still sum to 1", () => {
  const y = new Float32Array(20);
  fillTargets(y, [3, 7], 0);
  assert.deepEqual(Array.from(y.subarray(0, 10)), [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  fillTargets(y, [3, 7], 0.1);
  assert.ok(Math.abs(y[13 + 4] - 0.91) < 1e-6 && Math.abs(y[10] - 0.01) < 1e-6);
  assert.ok(Math.abs(y.subarray(10).reduce((a, b) => a + b, 0) - 1) < 1e-6);
});

Deno.test("mixBatch blends each row with one partner by one weight, inputs and targets alike, repeatably", () => {
  const size = 4, width = 3;
  const x = Float32Array.from({ length: 32 }, (_, i) => (i < size * width ? Math.floor(i / width) : -1)); // row b = [b, b, b]
  const y = new Float32Array(8 * 10);
  fillTargets(y, [0, 1, 2, 3], 0);
  const [x1, y1] = [x.slice(), y.slice()];
  mixBatch(x1, y1, size, width, 0.4, seededRandom(3));
  const [x2, y2] = [x.slice(), y.slice()];
  mixBatch(x2, y2, size, width, 0.4, seededRandom(3));
  assert.deepEqual([x1, y1], [x2, y2]);
  assert.ok(x1.subarray(size * width).every((v) => v === -1), "rows past the batch are left alone");
  for (let b = 0; b < size; b++) {
    const row = y1.subarray(b * 10, b * 10 + 10);
    assert.ok(Math.abs(row.reduce((a, v) => a + v, 0) - 1) < 1e-6);
    // Input row b is lambda * b + (1 - lambda) * p: the same mix as its target's weights on digits b and p.
    const expected = row.reduce((a, v, d) => a + v * d, 0);
    assert.ok(Math.abs(x1[b * width] - expected) < 1e-5, `row ${b}: ${x1[b * width]} vs ${expected}`);
  }
  assert.notDeepEqual(x1, x, "something was mixed");
});

Deno.test("betaSample: in [0, 1], with Beta(a, b)'s mean a / (a + b)", () => {
  for (const [a, b] of [[0.2, 0.2], [2, 5], [1, 1]]) {
    const random = seededRandom(11);
    const draws = Array.from({ length: 20000 }, () => betaSample(random, a, b));
    assert.ok(draws.every((v) => v >= 0 && v <= 1));
    const mean = draws.reduce((s, v) => s + v, 0) / draws.length;
    assert.ok(Math.abs(mean - a / (a + b)) < 0.01, `Beta(${a}, ${b}): mean ${mean}`);
  }
  // Beta(0.2, 0.2) is U-shaped: most weights near 0 or 1, so most mixed examples stay close to one clip.
  const random = seededRandom(5);
  const u = Array.from({ length: 10000 }, () => betaSample(random, 0.2, 0.2));
  assert.ok(u.filter((v) => v < 0.1 || v > 0.9).length > 0.5 * u.length);
});

Deno.test({
  name: "train a 2-member ensemble 1 epoch on 200 clips, save as float16 and uint8, load, same answers, no leaked tensors",
  ignore: !FSDD,
  fn: async () => {
    const { train, test } = officialSplit(listClips(FSDD!));
    const subset = train.filter((_, i) => i % 13 === 0).slice(0, 200);
    const audio = await loadAudio(subset.map((c) => c.path), 8000);
    const clips = subset.map((c, i) => ({ samples: audio[i], digit: c.digit, speaker: c.speaker }));
    const options = { ...DEFAULT_TRAIN, epochs: 1, augmentCopies: 1, members: 2 };
    const tensorsBefore = tf.memory().numTensors;
    const { model, stats, examples } = await trainOnAudio(clips, DEFAULT_FEATURES, options);
    assert.ok(examples > 600, `${examples} examples: 2 members x (200 clips + 1 augmented copy each)`);
    const testAudio = await loadAudio(test.slice(0, 30).map((c) => c.path), 8000);
    const trained = predictAudio(model, stats, DEFAULT_FEATURES, testAudio);
    for (const encoding of ["float16", "uint8"] as const) {
      const dir = await Deno.makeTempDir();
      await saveModelFolder(dir, model, { config: DEFAULT_FEATURES, stats }, encoding);
      const loaded = await loadClassifier(dir);
      const reloaded = predictAudio(loaded.model, loaded.features.stats, loaded.features.config, testAudio);
      // Stored weights are rounded: probabilities move by a little, the answers do not.
      trained.forEach((p, i) => p.forEach((v, d) => assert.ok(Math.abs(v - reloaded[i][d]) < 0.02, `${encoding}: clip ${i} digit ${d}`)));
      loaded.model.dispose();
      await Deno.remove(dir, { recursive: true });
    }
    disposeModel(model);
    assert.equal(tf.memory().numTensors, tensorsBefore);
  },
});

Deno.test({
  name: "training is repeatable under a seed: same examples, same weights, whether members train here or in workers",
  ignore: !FSDD,
  fn: async () => {
    const subset = listClips(FSDD!).filter((_, i) => i % 50 === 0);
    const audio = await loadAudio(subset.map((c) => c.path), 8000);
    const clips = subset.map((c, i) => ({ samples: audio[i], digit: c.digit, speaker: c.speaker }));
    const options = { ...DEFAULT_TRAIN, epochs: 1, augmentCopies: 1, seed: 7, members: 2 };
    const a = makeExamples(clips, DEFAULT_FEATURES, options);
    const b = makeExamples(clips, DEFAULT_FEATURES, options);
    assert.deepEqual(a.x, b.x);
    const run = async (jobs: number) => {
      const { model } = await trainOnAudio(clips, DEFAULT_FEATURES, options, undefined, jobs);
      const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
      disposeModel(model);
      return weights;
    };
    const here = await run(1);
    assert.deepEqual(await run(1), here);
    assert.deepEqual(await run(2), here, "two members in two Web Workers: the same ensemble");
  },
});

Deno.test({
  name:
    "deno task eval --loso runs folds end to end in two worker processes and reports each speaker (smoke: two speakers, 1 epoch, 300 clips)",
  ignore: !FSDD,
  fn: async () => {
    // A copy of the committed model folder, so that the report can be written and read back.
    const dir = await Deno.makeTempDir({ prefix: "loso-smoke-" });
    for (const file of ["model.json", "weights.bin", "features.json", "metrics.json"]) {
      await Deno.copyFile(`models/mlp/${file}`, `${dir}/${file}`);
    }
    let report: MetricsFile;
    try {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "models/lab/eval.ts",
          "--model",
          dir,
          "--data",
          FSDD!,
          "--loso",
          "--save-folds",
          `${dir}/folds`,
          "--jobs",
          "2",
          "--speakers",
          "theo,lucas",
          "--voices",
          "",
          "--epochs",
          "1",
          "--members",
          "2",
          "--augment",
          "0",
          "--max-clips",
          "300",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(stdout);
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      for (const speaker of ["theo", "lucas"]) {
        const m = new RegExp(`held out ${speaker}: ([\\d.]+)% \\(\\d+ clips; by members ([\\d.]+)%, ([\\d.]+)%\\)`).exec(out);
        assert.ok(m, out);
        assert.equal(m[1], m[3], "the fold's figure is the whole ensemble's");
        assert.ok(+m[1] > 20, `a 1-epoch fold should still beat chance (10%): ${speaker} ${m[1]}%`);
      }
      assert.match(out, /leave-one-speaker-out: mean/);
      report = JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`));
      // Each fold's model is kept for --enroll, --strings and --reject (here, in the temporary folder).
      for (const speaker of ["theo", "lucas"]) assert.ok(Deno.statSync(`${dir}/folds/${speaker}/model.json`).isFile);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const { loso } = report;
    const total = (confusion: number[][]) => confusion.flat().reduce((a, b) => a + b, 0);
    // Every clip of each held-out speaker is scored once, in that speaker's matrix and in the summed one.
    assert.deepEqual(Object.keys(loso!.confusionBySpeaker!).sort(), ["lucas", "theo"]);
    for (const speaker of ["theo", "lucas"]) {
      const own = loso!.confusionBySpeaker![speaker];
      assert.equal(total(own), 500);
      assert.ok(Math.abs(own.reduce((hits, row, d) => hits + row[d], 0) / 500 - loso!.perSpeaker[speaker]) < 1e-9);
    }
    assert.deepEqual(
      loso!.confusion,
      loso!.confusionBySpeaker!.theo.map((row, i) => row.map((v, j) => v + loso!.confusionBySpeaker!.lucas[i][j])),
    );
  },
});

Deno.test("loadVoices reads comma-separated voice folders in order, labelled by file name, and names an empty one", async () => {
  const [a, b, empty] = [await Deno.makeTempDir(), await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    await Deno.writeFile(`${a}/3_engine-x.wav`, encodeWav16(tone(300, 0.3, 16000), 16000));
    await Deno.writeFile(`${b}/7_engine-y.wav`, encodeWav16(tone(500, 0.3, 16000), 16000));
    await Deno.writeFile(`${b}/1_engine-y.wav`, encodeWav16(tone(700, 0.3, 16000), 16000));
    const clips = await loadVoices(`${a},${b}`, 8000);
    assert.deepEqual(clips.map((c) => [c.digit, c.speaker]), [[3, "engine-x"], [1, "engine-y"], [7, "engine-y"]]);
    assert.equal(clips[0].samples.length, 2400); // 0.3 s resampled to 8 kHz
    assert.deepEqual(await loadVoices("", 8000), []);
    await assert.rejects(loadVoices(`${a},${empty}`, 8000), new RegExp(`no synthetic voices in ${empty}`));
  } finally {
    for (const dir of [a, b, empty]) await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("foldSpeakers: every other speaker by default; K of them for a learning curve, each fold dropping different ones", () => {
  const all = ["theo", "george", "lucas", "jackson", "yweweler", "nicolas"];
  assert.deepEqual(foldSpeakers(all, "lucas"), ["nicolas", "theo", "yweweler", "george", "jackson"]);
  assert.deepEqual(foldSpeakers(all, "yweweler", 3), ["george", "jackson", "lucas"]);
  // With four of five, each of the six folds leaves out a different speaker (the next-but-four in name order).
  const dropped = all.map((held) => all.find((s) => s !== held && !foldSpeakers(all, held, 4).includes(s)));
  assert.equal(new Set(dropped).size, 6);
  assert.deepEqual(foldSpeakers(all, "theo", 0), []);
  assert.throws(() => foldSpeakers(all, "theo", 6), /0 to 5 speakers/);
  assert.throws(() => foldSpeakers(all, "theo", -1), /0 to 5 speakers/);
  assert.throws(() => foldSpeakers(all, "theo", NaN), /0 to 5 speakers/);
});
