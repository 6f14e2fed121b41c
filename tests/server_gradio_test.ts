/**
 * The Gradio protocol (routes/gradio.ts) against the live server, driven by Gradio's own clients: the real
 * `gradio_client` (Python, pinned in .ci/run's venv) and the real `@gradio/client` (npm, pinned in deno.json).
 * Each: view_api, /predict on FSDD official test clips (the same answer as REST /predict, to the probability),
 * /transcribe on a joined digit string, errors carrying our code, 16 calls at once, /adapt then a profile.
 * And the upload store's bounds (expiry, bytes, read once), and what the raw protocol refuses.
 *
 * GRADIO_TEST_CLIPS=all runs all 300 official test clips through both clients instead of a sample of 30.
 */
import assert from "node:assert/strict";
import { Client } from "@gradio/client";
import { decodeAudio } from "../dsp/decode.ts";
import { encodeWav16 } from "../dsp/wav.ts";
import { GRADIO_PREFIX, MAX_EVENTS, Queue, RESULT_TTL_MS, UPLOAD_TTL_MS, UploadStore } from "../routes/gradio.ts";
import { clipPath, FSDD, toolOrSkip } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";

const PYTHON = Deno.env.get("PYTHON") ?? ".venv/bin/python";
const opts = { sanitizeResources: false, sanitizeOps: false, ignore: !FSDD };
const server = FSDD ? await startServer() : undefined;

/** FSDD's official test split (takes 0-4: 300 clips), or every 10th of it. */
function officialTestClips(): string[] {
  const all = [...Deno.readDirSync(`${FSDD}/recordings`)].map((e) => e.name)
    .filter((n) => /^\d_[a-z]+_[0-4]\.wav$/.test(n)).sort();
  assert.equal(all.length, 300);
  return Deno.env.get("GRADIO_TEST_CLIPS") === "all" ? all : all.filter((_, i) => i % 10 === 0);
}
const digitOf = (name: string) => name.split("/").pop()!.split("_")[0];

async function joined(names: string[], pauseS: number): Promise<Uint8Array<ArrayBuffer>> {
  const clips = await Promise.all(names.map(async (n) => (await decodeAudio(await Deno.readFile(clipPath(n)))).samples));
  const gap = new Float32Array(Math.round(pauseS * 8000));
  const parts = [gap, ...clips.flatMap((c) => [c, gap])];
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return new Uint8Array(encodeWav16(out, 8000));
}
const STRING = ["4_yweweler_10.wav", "2_yweweler_11.wav", "0_yweweler_12.wav", "7_yweweler_13.wav"];
const SILENCE = new Uint8Array(encodeWav16(new Float32Array(8000), 8000));
const TAKES: Record<string, string[]> = { "1": ["1_theo_10.wav", "1_theo_11.wav"], "9": ["9_theo_10.wav"], "3": ["3_theo_10.wav"] };

/** REST /predict's probabilities for each clip: what the Gradio path must answer too. */
async function restProbabilities(names: string[]): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const name of names) {
    const response = await fetch(`${server!.url}/predict`, { method: "POST", body: await Deno.readFile(clipPath(name)) });
    out.set(name, (await response.json()).probabilities);
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

Deno.test("gradio upload store: a file is gone after its time to live, and sweeping frees its bytes", () => {
  let now = 0;
  const store = new UploadStore(1000, 60_000, () => now);
  try {
    const [path] = store.put([{ bytes: new Uint8Array(300), name: "a.wav" }]);
    now = 59_999;
    assert.equal(store.bytes, 300);
    const [kept] = store.put([{ bytes: new Uint8Array(100), name: "b.wav" }]);
    now = 60_000;
    store.sweep();
    assert.equal(store.bytes, 100, "the first file expired at 60 s");
    assert.equal(store.take(path), undefined);
    assert.equal(store.take(kept)?.bytes.length, 100, "the second has 60 s from its own upload");
    assert.equal(store.size, 0);
  } finally {
    store.close();
  }
});

Deno.test("gradio upload store: a fixed byte bound (503 busy past it, all files or none), each file read once, unguessable paths", () => {
  const store = new UploadStore(1000, 60_000);
  try {
    const [a, b] = store.put([{ bytes: new Uint8Array(400), name: "a.wav" }, { bytes: new Uint8Array(400), name: "b.wav" }]);
    assert.throws(
      () => store.put([{ bytes: new Uint8Array(100), name: "c.wav" }, { bytes: new Uint8Array(150), name: "d.wav" }]),
      (e: { status: number; code: string }) => e.status === 503 && e.code === "busy",
    );
    assert.equal(store.bytes, 800, "nothing of a refused upload is kept");
    assert.equal(store.take(a)?.bytes.length, 400);
    assert.equal(store.take(a), undefined, "read once");
    assert.equal(store.bytes, 400);
    store.put([{ bytes: new Uint8Array(600), name: "e.wav" }]);
    assert.equal(store.bytes, 1000);
    // 128 random bits per path; the name alone, or a path of the same shape, reads nothing.
    assert.match(b, /^[0-9a-f]{32}\/b\.wav$/);
    assert.equal(store.take("b.wav"), undefined);
    assert.equal(store.take(`${"0".repeat(32)}/b.wav`), undefined);
    const many = new Set(Array.from({ length: 200 }, () => new UploadStore(10, 1000).put([{ bytes: new Uint8Array(1), name: "x" }])[0]));
    assert.equal(many.size, 200);
  } finally {
    store.close();
  }
});

Deno.test("gradio queue: at most MAX_EVENTS waiting (503 busy past it); a session no stream reads is dropped after RESULT_TTL_MS", () => {
  let now = 0;
  const queue = new Queue(() => now);
  const { session } = queue.join("a");
  queue.send(session, { msg: "process_completed", event_id: "x" });
  for (let i = 1; i < MAX_EVENTS; i++) queue.join(`s${i}`);
  assert.throws(() => queue.join("b"), (e: { status: number; code: string }) => e.status === 503 && e.code === "busy");
  now = RESULT_TTL_MS;
  queue.sweep();
  assert.equal(queue.sessions.size, MAX_EVENTS, "not yet");
  now = RESULT_TTL_MS + 1;
  queue.sweep();
  assert.equal(queue.sessions.size, 0, "every session idle past its time, results undelivered, is gone");
  assert.ok(RESULT_TTL_MS <= 10 * 60_000 && UPLOAD_TTL_MS <= 10 * 60_000);
  queue.join("c");
  queue.sessions.clear();
  queue.sweep();
});

Deno.test({
  ...opts,
  name: "gradio: GET /config and /gradio_api/info describe /predict, /transcribe and /adapt as the clients read them",
  fn: async () => {
    const config = await (await fetch(`${server!.url}/config`)).json();
    assert.equal(config.protocol, "sse_v3");
    assert.equal(config.api_prefix, GRADIO_PREFIX);
    assert.ok(config.version);
    assert.deepEqual(config.dependencies.map((d: { api_name: string }) => d.api_name), ["predict", "transcribe", "adapt"]);
    const ids = new Set(config.components.map((c: { id: number }) => c.id));
    for (const d of config.dependencies) assert.ok([...d.inputs, ...d.outputs].every((id: number) => ids.has(id)));
    assert.deepEqual(await (await fetch(`${server!.url}${GRADIO_PREFIX}/config`)).json(), config);
    const info = await (await fetch(`${server!.url}${GRADIO_PREFIX}/info?serialize=False`)).json();
    assert.deepEqual(Object.keys(info.named_endpoints), ["/predict", "/transcribe", "/adapt"]);
    // Not part of the REST API's OpenAPI document.
    const doc = await (await fetch(`${server!.url}/openapi.json`)).json();
    assert.ok(!Object.keys(doc.paths).some((p) => p.includes("config") || p.includes(GRADIO_PREFIX)));
  },
});

Deno.test({
  ...opts,
  name: "gradio: the raw protocol refuses what it should: unknown and reused upload paths, URLs, bad joins, unknown sessions, big uploads",
  fn: async () => {
    const api = `${server!.url}${GRADIO_PREFIX}`;
    const upload = async (bytes: Uint8Array<ArrayBuffer>, name = "clip.wav") => {
      const form = new FormData();
      form.append("files", new Blob([bytes]), name);
      return await fetch(`${api}/upload`, { method: "POST", body: form });
    };
    /** Joins and reads the session's stream: the event's process_completed (and, `toEnd`, the close_stream after it). */
    const call = async (data: unknown[], fn_index = 0, toEnd = false) => {
      const session_hash = crypto.randomUUID();
      const joined = await fetch(`${api}/queue/join`, { method: "POST", body: JSON.stringify({ data, fn_index, session_hash }) });
      const { event_id } = await joined.json();
      const stream = (await fetch(`${api}/queue/data?session_hash=${session_hash}`)).body!.pipeThrough(new TextDecoderStream());
      let text = "";
      for await (const chunk of stream) {
        text += chunk;
        if (!toEnd && text.includes('"process_completed"') && text.endsWith("\n\n")) break;
      }
      const messages = text.split("\n\n").filter(Boolean).map((m) => JSON.parse(m.replace(/^data: /, "")));
      if (toEnd) assert.equal(messages.at(-1).msg, "close_stream");
      return messages.find((m) => m.msg === "process_completed" && m.event_id === event_id);
    };
    const clip = await Deno.readFile(clipPath("7_theo_0.wav"));
    const [path] = await (await upload(clip, "../../etc/passwd")).json();
    assert.match(path, /^[0-9a-f]{32}\/[A-Za-z0-9._-]+$/, "the name is made safe");
    const ok = await call([{ path, meta: { _type: "gradio.FileData" } }], 0, true);
    assert.equal(ok.success, true);
    assert.equal(ok.output.data[0], "7");
    // Read once: the same path again, or one made up, finds nothing.
    for (const p of [path, `${"ab".repeat(16)}/clip.wav`, "https://example.com/clip.wav"]) {
      const failed = await call([{ path: p, meta: { _type: "gradio.FileData" } }]);
      assert.equal(failed.success, false, p);
      assert.equal(failed.output.title, "bad_parameter");
      assert.match(failed.output.error, /^bad_parameter: /);
    }
    const silent = await call([{ path: (await (await upload(SILENCE)).json())[0] }], 1);
    assert.equal(silent.output.title, "no_speech");
    // Envelope errors are HTTP errors in our shape, with FastAPI's "detail" that the clients show.
    const bad = await fetch(`${api}/queue/join`, { method: "POST", body: JSON.stringify({ data: [], fn_index: 9, session_hash: "x" }) });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, "bad_parameter");
    assert.equal((await fetch(`${api}/queue/data?session_hash=nobody`)).status, 404);
    const nowhere = await fetch(`${api}/file=anything`);
    assert.equal(nowhere.status, 404, "no route serves an upload back");
    assert.equal((await nowhere.json()).error.code, "not_found");
    const tooBig = await upload(new Uint8Array(10 * 2 ** 20 + 1));
    assert.equal(tooBig.status, 413);
    assert.equal((await tooBig.json()).error.code, "too_large");
    // The store's bound (64 MiB): seven 9 MiB files fit, the eighth is refused; once read, they make room again.
    const paths: string[] = [];
    for (let i = 0; i < 7; i++) {
      const response = await upload(new Uint8Array(9 * 2 ** 20).fill(i + 1));
      assert.equal(response.status, 200);
      paths.push((await response.json())[0]);
    }
    const full = await upload(new Uint8Array(9 * 2 ** 20));
    assert.equal(full.status, 503);
    assert.equal((await full.json()).error.code, "busy");
    for (const p of paths) assert.equal((await call([{ path: p }])).output.title, "undecodable"); // read, and refused: not audio
    assert.equal((await upload(new Uint8Array(9 * 2 ** 20))).status, 200);
  },
});

Deno.test({
  ...opts,
  name: "gradio_client (Python): view_api, /predict on official test clips as REST answers, /transcribe, errors, 16 at once, /adapt",
  ignore: !FSDD || !toolOrSkip(PYTHON, ["-c", "import gradio_client"]),
  fn: async () => {
    const clips = officialTestClips();
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/clips.json`, JSON.stringify(clips.map(clipPath)));
      await Deno.writeFile(`${dir}/joined.wav`, await joined(STRING, 0.3));
      await Deno.writeFile(`${dir}/silent.wav`, SILENCE);
      const takes = Object.fromEntries(Object.entries(TAKES).map(([d, names]) => [d, names.map(clipPath)]));
      await Deno.writeTextFile(`${dir}/takes.json`, JSON.stringify(takes));
      const args = [
        "tests/gradio_client_check.py",
        server!.url,
        `${dir}/clips.json`,
        `${dir}/joined.wav`,
        `${dir}/silent.wav`,
        `${dir}/takes.json`,
      ];
      const child = new Deno.Command(PYTHON, { args, stdout: "piped", stderr: "piped", env: { GRADIO_ANALYTICS_ENABLED: "False" } })
        .spawn();
      const timer = setTimeout(() => child.kill(), 600_000);
      const { success, stdout, stderr } = await child.output().finally(() => clearTimeout(timer));
      assert.ok(success, new TextDecoder().decode(stderr));
      const report = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);

      assert.deepEqual(report.endpoints["/predict"], { parameters: ["audio", "profile", "model", "reject"], returns: ["label", "answer"] });
      assert.deepEqual(report.endpoints["/transcribe"].returns, ["text", "answer"]);
      assert.deepEqual(report.endpoints["/adapt"].parameters, [...Array.from({ length: 10 }, (_, d) => `digit_${d}`), "model"]);
      assert.match(report.view_api, /predict\(audio, profile, model, reject, api_name="\/predict"\) -> \(label, answer\)/);

      const rest = await restProbabilities(clips);
      let right = 0;
      report.predict.forEach((p: { path: string; label: string; probabilities: number[] }, i: number) => {
        assert.deepEqual(p.probabilities, rest.get(clips[i]), `${clips[i]}: the Gradio path answers as REST does`);
        if (p.label === digitOf(clips[i])) right++;
      });
      console.log(
        `gradio_client: ${right}/${clips.length} right; a call ${
          (median(report.predict.map((p: { s: number }) => p.s)) * 1000).toFixed(1)
        } ms ` +
          `(median, client included); 16 at once ${(report.concurrent.s * 1000).toFixed(0)} ms`,
      );
      assert.ok(right >= clips.length * 0.95, `${right}/${clips.length}`);

      assert.equal(report.transcribe.text, STRING.map(digitOf).join(""));
      assert.equal(report.errors.silence.title, "no_speech");
      assert.match(report.errors.silence.message, /^no_speech: /);
      assert.equal(report.errors.reject.title, "bad_parameter");
      assert.equal(report.errors.model.title, "unknown_model");
      assert.deepEqual(report.concurrent.labels, report.predict.slice(0, 16).map((p: { label: string }) => p.label));
      assert.deepEqual(report.adapt.takes, [0, 2, 0, 1, 0, 0, 0, 0, 0, 1]);
      assert.equal(report.adapt.with_profile, true);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name: "@gradio/client (JavaScript): view_api, /predict on official test clips as REST answers, /transcribe, errors, 16 at once, /adapt",
  fn: async () => {
    const client = await Client.connect(server!.url);
    try {
      const info = await client.view_api();
      assert.deepEqual(Object.keys(info.named_endpoints), ["/predict", "/transcribe", "/adapt"]);
      assert.deepEqual(info.named_endpoints["/predict"].parameters.map((p) => p.parameter_name), ["audio", "profile", "model", "reject"]);

      const clips = officialTestClips();
      const blob = async (name: string) => new Blob([await Deno.readFile(clipPath(name))]);
      const rest = await restProbabilities(clips);
      const times: number[] = [];
      let right = 0;
      for (const name of clips) {
        const started = performance.now();
        const { data } = await client.predict("/predict", { audio: await blob(name) });
        times.push(performance.now() - started);
        const [label, answer] = data as [string, { probabilities: number[] }];
        assert.deepEqual(answer.probabilities, rest.get(name), `${name}: the Gradio path answers as REST does`);
        if (label === digitOf(name)) right++;
      }
      const started = performance.now();
      const together = await Promise.all(clips.slice(0, 16).map(async (name) => await client.predict("/predict", [await blob(name)])));
      const togetherMs = performance.now() - started;
      console.log(
        `@gradio/client: ${right}/${clips.length} right; a call ${median(times).toFixed(1)} ms (median); 16 at once ${
          togetherMs.toFixed(0)
        } ms`,
      );
      assert.ok(right >= clips.length * 0.95, `${right}/${clips.length}`);
      for (const [i, { data }] of together.entries()) {
        assert.deepEqual((data as [string, { probabilities: number[] }])[1].probabilities, rest.get(clips[i]));
      }

      const { data: transcribed } = await client.predict("/transcribe", [new Blob([await joined(STRING, 0.3)])]);
      assert.equal((transcribed as [string])[0], STRING.map(digitOf).join(""));

      const failure = await client.predict("/predict", [new Blob([SILENCE])]).then(() => undefined, (e) => e);
      assert.ok(failure instanceof Error, "no_speech rejects");
      assert.match(failure.message, /^no_speech: /);
      assert.equal((failure as Error & { title: string }).title, "no_speech");

      const takes: Record<string, Blob[]> = {};
      for (const [d, names] of Object.entries(TAKES)) takes[`digit_${d}`] = await Promise.all(names.map(blob));
      const { data: adapted } = await client.predict("/adapt", takes);
      const [profile, adaptation] = adapted as [string, { takes: number[] }];
      assert.deepEqual(adaptation.takes, [0, 2, 0, 1, 0, 0, 0, 0, 0, 1]);
      const { data: personal } = await client.predict("/predict", { audio: await blob(clips[0]), profile });
      assert.equal((personal as [string, { profile?: boolean }])[1].profile, true);
    } finally {
      // Once the session's stream has closed (close_stream), close() has nothing left to abort.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      client.close();
    }
  },
});

Deno.test({ ...opts, name: "gradio: stop the server", fn: async () => await server?.stop() });
