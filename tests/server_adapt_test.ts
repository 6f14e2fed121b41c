/** POST /adapt and /predict's "profile" field, on the real server: a speaker's takes reshape its answers. */
import assert from "node:assert/strict";
import { encodeWav16 } from "../dsp/index.ts";
import { clipPath, FSDD } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";
import { MAX_PROFILE_CHARS } from "../models/profile.ts";

const opts = { sanitizeResources: false, sanitizeOps: false, ignore: !FSDD };
const server = FSDD ? await startServer() : undefined;
const wav = (name: string) => new Blob([Deno.readFileSync(clipPath(name))], { type: "audio/wav" });

async function adapt(takes: [string, Blob][], query = "") {
  const form = new FormData();
  takes.forEach(([field, blob], i) => form.append(field, blob, `take${i}.wav`));
  const response = await fetch(`${server!.url}/adapt${query}`, { method: "POST", body: form });
  return { status: response.status, json: await response.json() };
}

async function predict(audio: Blob, profile: string, query = "") {
  const form = new FormData();
  form.append("audio", audio, "clip.wav");
  form.append("profile", profile);
  const response = await fetch(`${server!.url}/predict${query}`, { method: "POST", body: form });
  return { status: response.status, json: await response.json() };
}

Deno.test({
  ...opts,
  name: "/adapt answers a small profile, the takes per digit, the model, and what the generic model heard in each take",
  fn: async () => {
    const takes: [string, Blob][] = [0, 1, 2].flatMap((d) => [0, 1].map((t): [string, Blob] => [String(d), wav(`${d}_jackson_${t}.wav`)]));
    const { status, json } = await adapt(takes);
    assert.equal(status, 200, JSON.stringify(json));
    assert.deepEqual(json.takes, [2, 2, 2, 0, 0, 0, 0, 0, 0, 0]);
    assert.match(json.model, /^[a-z0-9_]+@[0-9a-f]{8}$/);
    assert.ok(json.profile.length > 100 && json.profile.length < MAX_PROFILE_CHARS, `${json.profile.length} chars`);
    assert.deepEqual(json.heard.map((h: { digit: number; take: number }) => [h.digit, h.take]), [[0, 1], [0, 2], [1, 1], [1, 2], [2, 1], [
      2,
      2,
    ]]);
    for (const h of json.heard) assert.ok(h.answer >= 0 && h.answer <= 9 && h.confidence > 0 && h.confidence <= 1);
  },
});

Deno.test({
  ...opts,
  name: "a profile steers the answer toward its prototypes: taught sevens labelled 1, a new seven answers 1, and says the generic 7",
  fn: async () => {
    // Swapped labels make the profile's effect unmistakable: the generic model hears 7, the profile says "1".
    const swapped: [string, Blob][] = [0, 1, 2].flatMap((
      t,
    ): [string, Blob][] => [["1", wav(`7_theo_${t}.wav`)], ["7", wav(`1_theo_${t}.wav`)]]);
    const made = await adapt(swapped);
    assert.equal(made.status, 200, JSON.stringify(made.json));
    const seven = wav("7_theo_10.wav");
    const plain = await (await fetch(`${server!.url}/predict`, { method: "POST", body: seven })).json();
    assert.equal(plain.digit, 7);
    assert.equal(plain.profile, undefined);
    const { status, json } = await predict(seven, made.json.profile);
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.profile, true);
    assert.deepEqual(json.generic, { digit: 7, confidence: plain.confidence });
    assert.equal(json.digit, 1);
    assert.ok(Math.abs(json.probabilities.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-4);
    // Digits the profile has no take of keep their generic probabilities.
    for (const d of [0, 2, 3, 4, 5, 6, 8, 9]) assert.ok(Math.abs(json.probabilities[d] - plain.probabilities[d]) < 1e-5);
  },
});

Deno.test({
  ...opts,
  name: "a profile for another model is 409 profile_mismatch; a forged or damaged one is 400 bad_profile",
  fn: async () => {
    const made = await adapt([["4", wav("4_lucas_0.wav")], ["5", wav("5_lucas_0.wav")]], "?model=mlp");
    assert.equal(made.status, 200, JSON.stringify(made.json));
    const seven = wav("7_lucas_1.wav");
    assert.equal((await predict(seven, made.json.profile, "?model=mlp")).status, 200);
    const other = await predict(seven, made.json.profile, "?model=cnn");
    assert.equal(other.status, 409);
    assert.equal(other.json.error.code, "profile_mismatch");
    const inner = JSON.parse(atob(made.json.profile.replaceAll("-", "+").replaceAll("_", "/")));
    const reencode = (o: unknown) => btoa(JSON.stringify(o)).replaceAll("+", "-").replaceAll("/", "_");
    const forged = [
      "hello",
      "x".repeat(MAX_PROFILE_CHARS + 1),
      reencode({ ...inner, format: "other/1" }),
      reencode({ ...inner, dim: 7 }),
      reencode({ ...inner, takes: [1, 1, 1, 1, 1, 1, 1, 1, 1, 99] }),
      reencode({ ...inner, prototypes: btoa("abc") }),
      reencode({ ...inner, takes: inner.takes.map(() => 1) }), // claims prototypes that are all zeros
      made.json.profile.slice(0, made.json.profile.length - 40),
    ];
    for (const profile of forged) {
      const { status, json } = await predict(seven, profile, "?model=mlp");
      assert.equal(status, 400, `${profile.slice(0, 40)}: ${JSON.stringify(json)}`);
      assert.equal(json.error.code, "bad_profile");
    }
    assert.equal((await (await fetch(`${server!.url}/health`)).json()).status, "ok");
  },
});

Deno.test({
  ...opts,
  name: "/adapt refuses what is not a set of takes, naming the take at fault",
  fn: async () => {
    const silence = new Blob([encodeWav16(new Float32Array(8000), 8000)], { type: "audio/wav" });
    let r = await adapt([["3", wav("3_george_0.wav")], ["3", silence]]);
    assert.equal(r.status, 422);
    assert.equal(r.json.error.code, "no_speech");
    assert.match(r.json.error.message, /take 2 of "3"/);
    r = await adapt(Array.from({ length: 6 }, (): [string, Blob] => ["2", wav("2_george_0.wav")]));
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, "bad_takes");
    r = await adapt([["seven", wav("7_george_0.wav")]]);
    assert.equal(r.json.error.code, "bad_takes");
    r = await adapt([["4", new Blob([new Uint8Array([1, 2, 3, 4])])]]);
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /take 1 of "4"/);
    const empty = await fetch(`${server!.url}/adapt`, { method: "POST", body: new FormData() });
    assert.equal(empty.status, 400);
    const raw = await fetch(`${server!.url}/adapt`, { method: "POST", body: Deno.readFileSync(clipPath("7_george_0.wav")) });
    assert.equal((await raw.json()).error.code, "bad_takes");
  },
});

Deno.test({ ...opts, name: "stop the server", fn: async () => await server?.stop() });
