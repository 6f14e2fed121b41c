/**
 * "Not a digit" as the network's 11th class: trained from labelled words and sounds, split from the ten
 * digits at the output (their probabilities keep summing to 1), refused at the point features.json keeps.
 */
import assert from "node:assert/strict";
import { CNN_FEATURES } from "../dsp/config.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { extractFeatures } from "../dsp/features.ts";
import { answerClips, type Classifier, classifyClips, clipAnswer, hasUnknownClass, splitOutput } from "../models/classifier.ts";
import { embedClips } from "../models/profile.ts";
import { judgeClips, labelFields } from "../models/recognize.ts";
import {
  buildNetwork,
  classesOf,
  DEFAULT_TRAIN,
  disposeModel,
  fillTargets,
  NOT_A_DIGIT,
  trainOnAudio,
  type TrainOptions,
} from "../models/lab/training.ts";
import { notSpeech } from "../models/lab/nondigits.ts";
import { seededRandom } from "../dsp/random.ts";
import { initTf, tf } from "../models/tfjs.ts";
import { clipPath, FSDD } from "./helpers.ts";

await initTf();

Deno.test("splitOutput: an 11-class row gives the ten digits renormalized and P(not a digit); a 10-class row is as it was", () => {
  const row = Float32Array.from([0.1, 0.2, 0, 0, 0, 0, 0, 0, 0, 0.1, 0.6]);
  const { probabilities, unknown } = splitOutput(row);
  assert.equal(probabilities.length, 10);
  assert.ok(Math.abs(unknown! - 0.6) < 1e-7);
  assert.ok(Math.abs(probabilities[1] - 0.5) < 1e-6);
  assert.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  const ten = Float32Array.from([0.5, 0.5, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(splitOutput(ten), { probabilities: ten });
});

Deno.test("clipAnswer: a 10-class model refusing by confidence says 1 - its top digit; without the setting, no unknown", () => {
  const row = Float32Array.from([0.1, 0.7, 0.2, 0, 0, 0, 0, 0, 0, 0]);
  const model = (refusal?: object) => ({ features: { refusal } }) as unknown as Classifier;
  const byConfidence = clipAnswer(model({ threshold: 0.5, by: "confidence" }), row);
  assert.ok(Math.abs(byConfidence.unknown! - 0.3) < 1e-6);
  assert.deepEqual(byConfidence.probabilities, row);
  assert.equal(clipAnswer(model(), row).unknown, undefined);
  // An 11-class row keeps its own class, whatever the setting says.
  const eleven = Float32Array.from([0.1, 0.2, 0, 0, 0, 0, 0, 0, 0, 0.1, 0.6]);
  assert.ok(Math.abs(clipAnswer(model({ threshold: 0.5, by: "confidence" }), eleven).unknown! - 0.6) < 1e-7);
});

Deno.test("fillTargets: eleven columns when non-digits are trained in, the 11th for NOT_A_DIGIT", () => {
  assert.equal(classesOf({ nonDigits: 0 }), 10);
  assert.equal(classesOf({ nonDigits: 100 }), 11);
  const out = new Float32Array(2 * 11);
  fillTargets(out, [3, NOT_A_DIGIT], 0.11, 11);
  assert.ok(Math.abs(out[3] - 0.9) < 1e-6 && Math.abs(out[0] - 0.01) < 1e-6);
  assert.ok(Math.abs(out[11 + 10] - 0.9) < 1e-6);
  assert.ok(Math.abs(out.subarray(11).reduce((a, b) => a + b, 0) - 1) < 1e-6);
});

Deno.test({
  name:
    "an 11-class DS-CNN: trained on digits and sounds, its answers carry unknown; refused at features.json's point or ?reject, never when off",
  ignore: !FSDD,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const names = ["0_jackson_5.wav", "1_jackson_5.wav", "2_theo_7.wav", "3_lucas_9.wav", "4_george_8.wav", "5_nicolas_6.wav"];
    const digits = await Promise.all(names.map(async (name) => ({
      samples: (await decodeAudio(await Deno.readFile(clipPath(name)))).samples,
      digit: +name[0],
      speaker: name.split("_")[1],
    })));
    const sounds = notSpeech(8000, 6, seededRandom(3)).map((samples) => ({ samples, digit: NOT_A_DIGIT, speaker: "not a digit" }));
    const options: TrainOptions = {
      ...DEFAULT_TRAIN,
      architecture: "dscnn",
      channels: 8,
      blocks: 2,
      epochs: 3,
      augmentCopies: 0,
      members: 1,
    };
    assert.throws(() => buildNetwork(100, CNN_FEATURES, { ...options, architecture: "mlp", nonDigits: 6 }), /DS-CNN only/);
    const { model, stats } = await trainOnAudio([...digits, ...sounds], CNN_FEATURES, { ...options, nonDigits: sounds.length });
    const classifier: Classifier = { model, features: { config: CNN_FEATURES, stats }, identity: { name: "test", version: "0" } };
    try {
      assert.ok(hasUnknownClass(classifier));
      const clips = [...digits.slice(0, 2), ...sounds.slice(0, 2)].map((c) => extractFeatures(c.samples, CNN_FEATURES).views);
      const before = tf.memory().numTensors;
      const answers = answerClips(classifier, clips);
      const judged = judgeClips(classifier, clips);
      const embedded = embedClips(classifier, clips);
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
      answers.forEach((a, i) => {
        assert.equal(a.probabilities.length, 10);
        assert.ok(Math.abs(a.probabilities.reduce((s, p) => s + p, 0) - 1) < 1e-5);
        assert.ok(a.unknown! >= 0 && a.unknown! <= 1);
        assert.ok(Math.abs(judged[i].unknown! - a.unknown!) < 1e-6);
        assert.ok(Math.abs(embedded[i].unknown! - a.unknown!) < 1e-6);
        classifyClips(classifier, [clips[i]])[0].forEach((p, d) => assert.ok(Math.abs(p - a.probabilities[d]) < 1e-6));
      });
      // No point in features.json: refused only when asked; with one, refused at it; "off" never.
      const j = { probabilities: answers[0].probabilities, unknown: 0.7 };
      assert.equal(labelFields(j, classifier).label, String(labelFields(j, classifier, "off").digit));
      assert.equal(labelFields(j, classifier, 0.5).label, "unknown");
      const withPoint = { ...classifier, features: { ...classifier.features, refusal: { threshold: 0.6 } } };
      assert.deepEqual(labelFields(j, withPoint), { digit: null, label: "unknown", confidence: 0.7, unknown: 0.7, refusal_point: 0.6 });
      assert.notEqual(labelFields(j, withPoint, "off").digit, null);
      assert.notEqual(labelFields(j, withPoint, 0.8).digit, null);
    } finally {
      disposeModel(model);
    }
  },
});
