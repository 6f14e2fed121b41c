/** /predict against the real server: real clips in many encodings, every error class, a garbage burst. */
import assert from "node:assert/strict";
import { encodeWav16 } from "../dsp/wav.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { resample } from "../dsp/resample.ts";
import { clipPath, ffmpegEncode, FSDD, toolOrSkip } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";

const HAVE_FFMPEG = toolOrSkip("ffmpeg");
// MODELS pins the default to the MLP, whose answers these tests know; which model is the default is server_models_test's.
const server = await startServer({ MAX_BODY_BYTES: String(2 * 1024 * 1024), MAX_AUDIO_SECONDS: "20", MODELS: "mlp,cnn" });
// Deno's sanitizers would see the server's pipes as leaks of the first test; they belong to the whole file.
const opts = { sanitizeResources: false, sanitizeOps: false };
const CLIPS = [["7_jackson_32.wav", 7], ["3_theo_2.wav", 3], ["0_george_4.wav", 0], ["9_yweweler_2.wav", 9], ["5_nicolas_0.wav", 5], [
  "2_lucas_3.wav",
  2,
]] as const;

async function post(body: BodyInit | Uint8Array, headers: Record<string, string> = {}, path = "/predict") {
  const response = await fetch(server.url + path, { method: "POST", body: body as BodyInit, headers });
  return { status: response.status, json: await response.json() };
}

interface PredictionJson {
  digit: number;
  confidence: number;
  probabilities: number[];
  speech: { start_s: number; end_s: number };
  timing_ms: Record<string, number>;
  model: string;
}

function assertPrediction(json: PredictionJson, digit: number, label: string) {
  assert.equal(json.digit, digit, `${label}: got ${json.digit} (${JSON.stringify(json.probabilities)})`);
  assert.equal(json.probabilities.length, 10);
  const sum = json.probabilities.reduce((a: number, b: number) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-4, `${label}: probabilities sum to ${sum}`);
  assert.equal(json.confidence, json.probabilities[digit]);
  assert.deepEqual(Object.keys(json).sort(), [
    "audio",
    "confidence",
    "digit",
    "label",
    "model",
    "probabilities",
    "speech",
    "timing_ms",
    "utterances",
  ]);
  assert.ok(json.speech.end_s > json.speech.start_s);
  for (const key of ["decode", "features", "inference", "total"]) assert.ok(json.timing_ms[key] >= 0);
  assert.match(json.model, /^mlp@[0-9a-f]{8}$/);
}

/** A WAV of a clip in another layout: sample rate, channels, sample format. */
function variantWav(samples: Float32Array, rate: number, channels: number, kind: "pcm16" | "pcm24" | "float32"): Uint8Array {
  const bytesPer = kind === "pcm16" ? 2 : kind === "pcm24" ? 3 : 4;
  const data = new Uint8Array(samples.length * channels * bytesPer);
  const dv = new DataView(data.buffer);
  samples.forEach((v, i) => {
    for (let c = 0; c < channels; c++) {
      const at = (i * channels + c) * bytesPer;
      if (kind === "pcm16") dv.setInt16(at, Math.round(v * 32767), true);
      else if (kind === "float32") dv.setFloat32(at, v, true);
      else {
        const x = Math.round(v * 8388607);
        dv.setUint8(at, x & 0xff), dv.setUint8(at + 1, (x >> 8) & 0xff), dv.setInt8(at + 2, x >> 16);
      }
    }
  });
  const header = encodeWav16(new Float32Array(0), rate);
  const hv = new DataView(header.buffer);
  hv.setUint16(20, kind === "float32" ? 3 : 1, true);
  hv.setUint16(22, channels, true);
  hv.setUint32(28, rate * channels * bytesPer, true);
  hv.setUint16(32, channels * bytesPer, true);
  hv.setUint16(34, bytesPer * 8, true);
  hv.setUint32(40, data.length, true);
  hv.setUint32(4, 36 + data.length, true);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

Deno.test({
  ...opts,
  name: "GET /health answers ok with the model and the WASM SIMD backend",
  fn: async () => {
    const health = await (await fetch(`${server.url}/health`)).json();
    assert.equal(health.status, "ok");
    assert.equal(health.backend, "wasm");
    assert.equal(health.simd, true);
    assert.match(health.model, /^mlp@/);
  },
});

Deno.test({
  ...opts,
  name: "POST /predict: FSDD clips, raw and multipart (field audio or file), give the right digit",
  ignore: !FSDD,
  fn: async () => {
    for (const [name, digit] of CLIPS) {
      const bytes = await Deno.readFile(clipPath(name));
      assertPrediction((await post(bytes, { "content-type": "audio/wav" })).json, digit, `${name} raw`);
      const form = new FormData();
      form.append("audio", new File([bytes], name, { type: "audio/wav" }));
      assertPrediction((await post(form)).json, digit, `${name} multipart audio`);
      const form2 = new FormData();
      form2.append("file", new File([bytes], name));
      assertPrediction((await post(form2)).json, digit, `${name} multipart file`);
    }
  },
});

Deno.test({
  ...opts,
  name: "POST /predict: WAV at 44.1 and 48 kHz, 24-bit, float, stereo give the right digit",
  ignore: !FSDD,
  fn: async () => {
    for (const [name, digit] of CLIPS.slice(0, 3)) {
      const clip = await decodeAudio(await Deno.readFile(clipPath(name)));
      for (
        const [rate, channels, kind] of [[44100, 1, "pcm16"], [48000, 2, "pcm24"], [48000, 1, "float32"], [16000, 2, "pcm16"]] as const
      ) {
        const wav = variantWav(resample(clip.samples, 8000, rate), rate, channels, kind);
        const { status, json } = await post(wav, { "content-type": "application/octet-stream" });
        assert.equal(status, 200);
        assertPrediction(json, digit, `${name} ${rate} Hz ${channels} ch ${kind}`);
        assert.equal(json.audio.sample_rate, rate);
        assert.equal(json.audio.channels, channels);
      }
    }
  },
});

Deno.test({
  ...opts,
  name: "POST /predict: MP3, OGG, Opus, FLAC, WebM and M4A made by ffmpeg give the right digit",
  ignore: !FSDD || !HAVE_FFMPEG,
  fn: async () => {
    const formats: Array<[string, string[]]> = [
      ["mp3", ["-b:a", "64k"]],
      ["ogg", ["-c:a", "libvorbis"]],
      ["opus", ["-ar", "48000"]],
      ["flac", []],
      ["webm", ["-c:a", "libopus"]],
      ["m4a", ["-c:a", "aac", "-ar", "16000"]],
    ];
    for (const [name, digit] of CLIPS.slice(0, 3)) {
      for (const [ext, args] of formats) {
        const { status, json } = await post(await ffmpegEncode(clipPath(name), ext, args), { "content-type": "application/octet-stream" });
        assert.equal(status, 200, `${name} ${ext}: ${JSON.stringify(json)}`);
        assertPrediction(json, digit, `${name} as ${ext}`);
      }
    }
  },
});

Deno.test({
  ...opts,
  name: "POST /predict: a digit in the middle of 3 s of quiet noise is found and recognized",
  ignore: !FSDD,
  fn: async () => {
    const clip = await decodeAudio(await Deno.readFile(clipPath("4_jackson_1.wav")));
    const padded = new Float32Array(24000).map(() => (Math.random() - 0.5) * 0.004);
    padded.set(clip.samples.map((v, i) => v + padded[10000 + i]), 10000);
    const { json } = await post(encodeWav16(padded, 8000), { "content-type": "audio/wav" });
    assertPrediction(json, 4, "padded");
    assert.ok(
      Math.abs(json.speech.start_s - 1.25) < 0.1 && Math.abs(json.speech.end_s - (1.25 + clip.durationS)) < 0.1,
      JSON.stringify(json.speech),
    );
  },
});

Deno.test({
  ...opts,
  name: "POST /predict: every error class has its status and code, then a good request still works",
  ignore: !FSDD,
  fn: async () => {
    const silence = encodeWav16(new Float32Array(16000), 8000);
    const noise = encodeWav16(new Float32Array(16000).map(() => (Math.random() - 0.5) * 0.5), 8000);
    const long = encodeWav16(new Float32Array(8000 * 25), 8000);
    const good = await Deno.readFile(clipPath("7_jackson_32.wav"));
    const midi = new Uint8Array(64);
    midi.set(new TextEncoder().encode("MThd\x00\x00\x00\x06"));
    const cases: Array<[BodyInit | Uint8Array, number, string]> = [
      [new Uint8Array(0), 400, "empty_body"],
      [good.slice(0, 30), 400, "undecodable"],
      [crypto.getRandomValues(new Uint8Array(3000)), 400, "undecodable"],
      [new TextEncoder().encode("hello, this is text"), 400, "undecodable"],
      [new Uint8Array(3 * 1024 * 1024), 413, "too_large"],
      [long, 413, "too_long"],
      [midi, 415, "unsupported_format"],
      [silence, 422, "no_speech"],
      [noise, 422, "no_speech"],
    ];
    for (const [body, status, code] of cases) {
      const response = await post(body, { "content-type": "application/octet-stream" });
      assert.equal(response.status, status, `${code}: ${JSON.stringify(response.json)}`);
      assert.equal(response.json.error.code, code);
      assert.equal(typeof response.json.error.message, "string");
    }
    const form = new FormData();
    form.append("something", "else");
    assert.equal((await post(form)).json.error.code, "empty_body");
    assertPrediction((await post(good)).json, 7, "after the errors");
  },
});

Deno.test({
  ...opts,
  name: "POST /predict: a body over the limit is refused from its Content-Length, before it is read",
  fn: async () => {
    // A stream that would send 50 MB: the answer must come without the server reading it all.
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent >= 50 * 1024 * 1024) return controller.close();
        sent += 65536;
        controller.enqueue(new Uint8Array(65536));
      },
    });
    const response = await fetch(`${server.url}/predict`, { method: "POST", body, headers: { "content-type": "audio/wav" } });
    assert.equal(response.status, 413);
    assert.equal((await response.json()).error.code, "too_large");
    assert.ok(sent < 50 * 1024 * 1024, `the client sent ${sent} bytes`);
  },
});

Deno.test({
  ...opts,
  name: "a burst of 1,000 random and garbage bodies: no 5xx, the server lives, tensor count unchanged",
  ignore: !FSDD,
  fn: async () => {
    const good = await Deno.readFile(clipPath("2_lucas_3.wav"));
    await post(good);
    const tensorsBefore = (await (await fetch(`${server.url}/health`)).json()).tensors;
    const mutate = (i: number): Uint8Array => {
      const kind = i % 5;
      if (kind === 0) return crypto.getRandomValues(new Uint8Array(1 + (i * 37) % 4000));
      if (kind === 1) return good.slice(0, (i * 7919) % good.length); // truncated WAV
      if (kind === 2) { // a WAV with random bytes flipped in its header
        const b = good.slice();
        for (let k = 0; k < 4; k++) b[(i * 13 + k * 7) % 44] = (i * 31 + k) & 0xff;
        return b;
      }
      if (kind === 3) return new TextEncoder().encode(`RIFF${"x".repeat(i % 100)}WAVE`);
      return good; // real requests interleaved with the garbage
    };
    for (let start = 0; start < 1000; start += 50) {
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, k) => post(mutate(start + k), { "content-type": "application/octet-stream" })),
      );
      for (const r of responses) assert.ok(r.status < 500, `a ${r.status}: ${JSON.stringify(r.json)}`);
    }
    const after = await (await fetch(`${server.url}/health`)).json();
    assert.equal(after.status, "ok");
    assert.equal(after.tensors, tensorsBefore);
    assertPrediction((await post(good)).json, 2, "after the burst");
    assert.doesNotMatch(server.output(), /internal error|Uncaught/);
  },
});

Deno.test({
  ...opts,
  name: "10,000 predictions leave the tfjs tensor count where the first left it",
  ignore: !FSDD,
  fn: async () => {
    const bodies = await Promise.all(CLIPS.map(([name]) => Deno.readFile(clipPath(name))));
    await post(bodies[0]);
    const first = (await (await fetch(`${server.url}/health`)).json()).tensors;
    let started = 0;
    const worker = async () => {
      while (started < 10_000) {
        const i = started++;
        const { status } = await post(bodies[i % bodies.length]);
        assert.equal(status, 200);
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    assert.equal(started, 10_000);
    assert.equal((await (await fetch(`${server.url}/health`)).json()).tensors, first);
  },
});

Deno.test({
  ...opts,
  name: "OpenAPI, docs, static files with no traversal, 404s as JSON",
  fn: async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    assert.equal(doc.openapi, "3.1.0");
    assert.ok(doc.paths["/predict"].post && doc.paths["/health"].get);
    assert.equal((await fetch(`${server.url}/docs`)).headers.get("content-type")?.startsWith("text/html"), true);
    const modelJson = await fetch(`${server.url}/model/model.json`);
    assert.equal(modelJson.headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal((await modelJson.json()).format, "layers-model");
    assert.equal((await fetch(`${server.url}/model/weights.bin`)).headers.get("content-type"), "application/octet-stream");
    for (
      const path of [
        "/model/../main.ts",
        "/model/%2e%2e/main.ts",
        "/static/..%2fdeno.json",
        "/model/.hidden",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/model/plots/../../../README.md",
      ]
    ) {
      const response = await fetch(server.url + path);
      assert.equal(response.status, 404, path);
      assert.equal((await response.json()).error.code, "not_found");
    }
    const missing = await fetch(`${server.url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, "not_found");
  },
});

Deno.test({
  ...opts,
  name: "CORS is off by default",
  fn: async () => {
    const response = await fetch(`${server.url}/health`, { headers: { origin: "https://example.org" } });
    await response.body?.cancel();
    assert.equal(response.headers.get("access-control-allow-origin"), null);
  },
});

Deno.test({
  ...opts,
  name: "the page offers real voices (AudioMNIST, FSDD test takes) apart from the synthetic ones, credits them, and each example is served",
  fn: async () => {
    const page = await (await fetch(server.url)).text();
    assert.ok(page.indexOf("Real voices") < page.indexOf("Synthetic voices") && page.indexOf("Real voices") > 0);
    assert.match(page, /AudioMNIST<\/a> \(Becker et al\. 2018, MIT/);
    assert.match(page, /CC BY-SA 4\.0/);
    const files = [...Deno.readDirSync("static/examples")].map((e) => e.name).filter((n) => n.endsWith(".wav"));
    assert.ok(files.filter((n) => n.includes("_real-")).length >= 10);
    for (const name of files) {
      assert.ok(page.includes(`/examples/${name}`), name);
      const response = await fetch(`${server.url}/examples/${name}`);
      assert.equal(response.status, 200);
      await response.body?.cancel();
    }
    assert.match(page, /&quot;six&quot; \(AudioMNIST 56 woman\)<\/button>/);
  },
});

Deno.test({ ...opts, name: "stop the server", fn: () => server.stop() });
