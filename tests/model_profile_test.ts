/** models/profile.ts: prototypes, the blend, and the profile string, on the committed models. */
import assert from "node:assert/strict";
import { initTf } from "../models/tfjs.ts";
import { loadClassifier } from "../models/files.ts";
import { readWav } from "../dsp/wav.ts";
import { featuresFromAudio } from "../dsp/index.ts";
import { classifyClips } from "../models/classifier.ts";
import {
  applyProfile,
  decodeProfile,
  DEFAULT_PROFILE_SETTINGS,
  embedClips,
  encodeProfile,
  makeProfile,
  MAX_PROFILE_CHARS,
  ProfileError,
  profileSize,
} from "../models/profile.ts";
import { tf } from "../models/tfjs.ts";

await initTf();
const models = { cnn: await loadClassifier("models/cnn"), mlp: await loadClassifier("models/mlp") };
const examples = [...Deno.readDirSync("static/examples")].map((e) => e.name).filter((n) => n.endsWith(".wav")).sort();

function viewsOf(name: string, classifier = models.cnn) {
  const { samples, sampleRate } = readWav(Deno.readFileSync(`static/examples/${name}`));
  return featuresFromAudio(samples, sampleRate, classifier.features.config).views;
}

Deno.test("embedClips answers the generic probabilities exactly, with a unit embedding of the penultimate layer's size, leaking no tensor", () => {
  for (const classifier of Object.values(models)) {
    const clips = examples.slice(0, 4).map((n) => viewsOf(n, classifier));
    const before = tf.memory().numTensors;
    const embedded = embedClips(classifier, clips);
    assert.equal(tf.memory().numTensors, before);
    const generic = classifyClips(classifier, clips);
    embedded.forEach((e, i) => {
      e.probabilities.forEach((p, d) => assert.ok(Math.abs(p - generic[i][d]) < 1e-5));
      assert.equal(e.embedding.length, profileSize(classifier));
      assert.equal(e.voice, e.embedding); // space "network": the same vector
      assert.ok(Math.abs(Math.hypot(...e.embedding) - 1) < 1e-4);
    });
  }
  // Both are two-member ensembles: the embedding is both members' penultimate layers side by side.
  assert.equal(profileSize(models.mlp), 256);
  assert.equal(profileSize(models.cnn), 64);
});

Deno.test("applyProfile moves mass only among the digits the profile has, keeps the sum, and weight 0 is the generic answer", () => {
  const probabilities = Float32Array.from([0.05, 0.6, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0]);
  const axis = (k: number) => Float32Array.from({ length: 4 }, (_, i) => (i === k ? 1 : 0));
  const profile = makeProfile("m@1", [{ digit: 1, voice: axis(0) }, { digit: 7, voice: axis(1) }, { digit: 7, voice: axis(1) }]);
  assert.deepEqual(profile.takes, [0, 1, 0, 0, 0, 0, 0, 2, 0, 0]);
  const sounds7 = { probabilities, embedding: axis(2), voice: axis(1) };
  const out = applyProfile(profile, sounds7, { temperature: 0.05, weight: 1 });
  assert.ok(Math.abs(out.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.ok(out[7] > 0.64 && out[1] < 0.01, `${out[1]} ${out[7]}`); // all of 1's and 7's mass goes to 7
  for (const d of [0, 2, 3, 4, 5, 6, 8, 9]) assert.equal(out[d], probabilities[d]);
  assert.deepEqual(applyProfile(profile, sounds7, { temperature: 0.05, weight: 0 }), probabilities);
  assert.deepEqual(applyProfile(makeProfile("m@1", []), sounds7, DEFAULT_PROFILE_SETTINGS), probabilities);
  // weightByTakes: 7 (two takes) trusted at 1, 1 (one take) at 0; the two keep their generic mass between them.
  const mixed = applyProfile(profile, sounds7, { temperature: 0.05, weight: 0.5, weightByTakes: [0, 1] });
  assert.ok(Math.abs(mixed[1] + mixed[7] - (probabilities[1] + probabilities[7])) < 1e-6);
  // 7: all of the pair's mass (weight 1, the vote is for 7); 1: its own 0.6 (weight 0); then scaled back to 0.65.
  const scale = 0.65 / (0.65 + 0.6);
  assert.ok(Math.abs(mixed[7] - 0.65 * scale) < 1e-3 && Math.abs(mixed[1] - 0.6 * scale) < 1e-3, `${mixed[1]} ${mixed[7]}`);
});

Deno.test("applyProfile, geometric blend: weight 0 is the generic answer, the digits keep their mass, and a digit the vote finds unlikely loses more than linearly", () => {
  const probabilities = Float32Array.from([0.02, 0.6, 0.3, 0.02, 0.02, 0.01, 0.01, 0.01, 0.01, 0]);
  const axis = (k: number) => Float32Array.from({ length: 3 }, (_, i) => (i === k ? 1 : 0));
  const profile = makeProfile("m@1", [{ digit: 1, voice: axis(0) }, { digit: 2, voice: axis(1) }, { digit: 5, voice: axis(2) }]);
  // The clip sounds like the prototype of 5, which the generic model thinks unlikely (1%).
  const sounds5 = { probabilities, embedding: axis(0), voice: axis(2) };
  const geometric = { temperature: 0.1, weight: 0.5, blend: "geometric" as const };
  const plain = applyProfile(profile, sounds5, { ...geometric, weight: 0 });
  plain.forEach((p, d) => assert.ok(Math.abs(p - probabilities[d]) < 1e-6, `${d}: ${p}`));
  const out = applyProfile(profile, sounds5, geometric);
  const mass = (x: Float32Array) => x[1] + x[2] + x[5];
  assert.ok(Math.abs(mass(out) - mass(probabilities)) < 1e-6);
  for (const d of [0, 3, 4, 6, 7, 8, 9]) assert.equal(out[d], probabilities[d]);
  // The vote is all for 5: the linear blend keeps half of 1's generic 0.6; the product keeps far less.
  const linear = applyProfile(profile, sounds5, { ...geometric, blend: "linear" });
  assert.ok(out[1] < linear[1] / 2 && out[5] > linear[5], `1: ${out[1]} vs ${linear[1]}; 5: ${out[5]} vs ${linear[5]}`);
});

Deno.test("a profile string round-trips, is small, and is refused for another model (mismatch) or when damaged (bad)", () => {
  const takes = examples.map((name) => ({ digit: +name[0], views: viewsOf(name) }));
  const embedded = embedClips(models.cnn, takes.map((t) => t.views));
  const id = `${models.cnn.identity.name}@${models.cnn.identity.version}`;
  const profile = makeProfile(id, takes.map((t, i) => ({ digit: t.digit, voice: embedded[i].voice })));
  const text = encodeProfile(profile);
  assert.match(text, /^[A-Za-z0-9_-]+$/);
  // Ten prototypes of 64 float32 (the two members' features side by side), base64url inside JSON: a few KB.
  assert.ok(text.length < 6144, `${text.length} chars`);
  const back = decodeProfile(text, models.cnn);
  assert.deepEqual(back.takes, profile.takes);
  back.prototypes.forEach((p, d) => assert.deepEqual(p, profile.prototypes[d]));
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as ProfileError).code;
    }
  };
  assert.equal(code(() => decodeProfile(text, models.mlp)), "profile_mismatch");
  for (const bad of ["", "%%%", text.slice(1), text.slice(0, -8), btoa("[1,2]"), btoa("null")]) {
    assert.equal(code(() => decodeProfile(bad, models.cnn)), "bad_profile", bad.slice(0, 20));
  }
});

Deno.test("space \"vectors\": an embedding model's prototypes are its head's input (11 x 96, normalized), and a profile from another space is refused", async () => {
  const embed = await loadClassifier("models/embed");
  const onVectors = { ...embed, features: { ...embed.features, profile: { ...DEFAULT_PROFILE_SETTINGS, space: "vectors" as const } } };
  const onNetwork = { ...embed, features: { ...embed.features, profile: { ...DEFAULT_PROFILE_SETTINGS, space: "network" as const } } };
  assert.equal(profileSize(onVectors), 11 * 96);
  assert.equal(profileSize(onNetwork), 64);
  const takes = examples.map((name) => ({ digit: +name[0], views: viewsOf(name, embed) }));
  const before = tf.memory().numTensors;
  const embedded = embedClips(onVectors, takes.map((t) => t.views));
  assert.equal(tf.memory().numTensors, before);
  const generic = classifyClips(embed, takes.map((t) => t.views));
  embedded.forEach((e, i) => {
    assert.equal(e.voice.length, 11 * 96);
    assert.equal(e.embedding.length, 64);
    assert.ok(Math.abs(Math.hypot(...e.voice) - 1) < 1e-4);
    e.probabilities.forEach((p, d) => assert.ok(Math.abs(p - generic[i][d]) < 1e-5));
  });
  const id = `${embed.identity.name}@${embed.identity.version}`;
  const profile = makeProfile(id, takes.map((t, i) => ({ digit: t.digit, voice: embedded[i].voice })));
  const text = encodeProfile(profile);
  assert.ok(text.length < MAX_PROFILE_CHARS, `${text.length} chars`);
  decodeProfile(text, onVectors).prototypes.forEach((p, d) => assert.deepEqual(p, profile.prototypes[d]));
  const codeOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return [(e as ProfileError).code, (e as Error).message];
    }
  };
  const [code, message] = codeOf(() => decodeProfile(text, onNetwork))!;
  assert.equal(code, "profile_mismatch");
  assert.match(message, /1056 values .* profiles 64.*teach it again/);
  embed.model.dispose();
});
