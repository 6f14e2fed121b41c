/** POST /transcribe on the real server: a digit string read in order, each digit as /predict hears it alone. */
import assert from "node:assert/strict";
import { decodeAudio } from "../dsp/decode.ts";
import { encodeWav16 } from "../dsp/wav.ts";
import { clipPath, FSDD } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false, ignore: !FSDD };
const server = FSDD ? await startServer() : undefined;
const CLIPS = ["4_yweweler_10.wav", "2_yweweler_11.wav", "0_yweweler_12.wav", "7_yweweler_13.wav", "9_yweweler_14.wav"];

async function joined(names: string[], pauseS: number): Promise<Uint8Array<ArrayBuffer>> {
  const clips = await Promise.all(names.map(async (n) => (await decodeAudio(await Deno.readFile(clipPath(n)))).samples));
  const gap = new Float32Array(Math.round(pauseS * 8000));
  const parts = [gap, ...clips.flatMap((c) => [c, gap])];
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return new Uint8Array(encodeWav16(out, 8000));
}

const post = async (path: string, body: BodyInit | Uint8Array<ArrayBuffer>) => {
  const response = await fetch(`${server!.url}${path}`, { method: "POST", body });
  return { status: response.status, json: await response.json() };
};

Deno.test({
  ...opts,
  name: "/transcribe reads five digits said 0.2 s apart, in order, each as /predict answers that clip alone",
  fn: async () => {
    for (const model of ["cnn", "mlp"]) {
      const { status, json } = await post(`/transcribe?model=${model}`, await joined(CLIPS, 0.2));
      assert.equal(status, 200, JSON.stringify(json));
      const alone = await Promise.all(
        CLIPS.map(async (n) => (await post(`/predict?model=${model}`, await Deno.readFile(clipPath(n)))).json.digit),
      );
      assert.deepEqual(json.digits, alone, model);
      assert.equal(json.text, alone.join(""));
      assert.equal(json.segments.length, 5);
      json.segments.forEach((s: { start_s: number; end_s: number; label: string; digit: number; probabilities: number[] }, i: number) => {
        assert.equal(s.label, String(s.digit));
        assert.equal(s.probabilities.length, 10);
        assert.ok(s.end_s > s.start_s && (i === 0 || s.start_s >= json.segments[i - 1].end_s));
      });
      for (const key of ["decode", "segment", "features", "inference", "total"]) assert.ok(json.timing_ms[key] >= 0, key);
      assert.match(json.model, new RegExp(`^${model}@`));
    }
  },
});

Deno.test({
  ...opts,
  name: "/predict on a string still answers one digit, and says how many utterances it heard",
  fn: async () => {
    const { status, json } = await post("/predict", await joined(CLIPS.slice(0, 3), 0.4));
    assert.equal(status, 200);
    assert.equal(json.utterances, 3);
    assert.equal((await post("/predict", await Deno.readFile(clipPath(CLIPS[0])))).json.utterances, 1);
  },
});

Deno.test({
  ...opts,
  name: "/transcribe: silence is 422 no_speech, garbage 400, and a profile applies to every digit",
  fn: async () => {
    const silence = await post("/transcribe", new Uint8Array(encodeWav16(new Float32Array(16000), 8000)));
    assert.equal(silence.status, 422);
    assert.equal(silence.json.error.code, "no_speech");
    assert.equal((await post("/transcribe", new Uint8Array([1, 2, 3, 4, 5]))).status, 400);
    const takes = new FormData();
    for (const n of ["4_yweweler_0.wav", "2_yweweler_0.wav"]) takes.append(n[0], new Blob([await Deno.readFile(clipPath(n))]), n);
    const { json: adapted } = await post("/adapt", takes);
    const form = new FormData();
    form.append("audio", new Blob([await joined(CLIPS.slice(0, 2), 0.3)]), "s.wav");
    form.append("profile", adapted.profile);
    const { status, json } = await post("/transcribe", form);
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.profile, true);
    assert.equal(json.segments.length, 2);
  },
});

Deno.test({
  ...opts,
  name: "/transcribe on a 45 s recording of 16 digits 1.5-2.5 s apart: 16 segments, each where its digit was said",
  fn: async () => {
    const names = Array.from({ length: 16 }, (_, i) => `${(i * 7) % 10}_jackson_${20 + i}.wav`);
    const clips = await Promise.all(names.map(async (n) => (await decodeAudio(await Deno.readFile(clipPath(n)))).samples));
    const starts: number[] = [];
    const total = clips.reduce((n, c, i) => n + c.length + Math.round((1.5 + (i % 3) * 0.5) * 8000), 8000);
    const long = new Float32Array(total);
    clips.reduce((at, c, i) => (starts.push(at), long.set(c, at), at + c.length + Math.round((1.5 + (i % 3) * 0.5) * 8000)), 8000);
    const { status, json } = await post("/transcribe", new Uint8Array(encodeWav16(long, 8000)));
    assert.equal(status, 200, JSON.stringify(json));
    assert.ok(json.audio.duration_s > 40);
    assert.equal(json.segments.length, 16);
    json.segments.forEach((s: { start_s: number; end_s: number }, i: number) => {
      const middle = (starts[i] + clips[i].length / 2) / 8000;
      assert.ok(s.start_s < middle && s.end_s > middle, `segment ${i}: ${s.start_s}-${s.end_s}, digit at ${middle}`);
    });
  },
});

Deno.test({ ...opts, name: "stop the server", fn: async () => await server?.stop() });
