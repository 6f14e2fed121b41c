/**
 * What an outside review broke, each checked against the real server: forged MP4 tables that froze the event
 * loop, DC offset, sub-word "digits", slow bodies, HTTP method conventions, multipart parsing, G.711 WAV,
 * security headers. Each test fails without its fix.
 */
import assert from "node:assert/strict";
import { encodeWav16 } from "../dsp/wav.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { clipPath, ffmpegEncode, forgedM4a, FORGERIES, FSDD, toolOrSkip } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";

const HAVE_FFMPEG = toolOrSkip("ffmpeg");
const server = await startServer({ BODY_TIMEOUT_S: "1" });
const opts = { sanitizeResources: false, sanitizeOps: false };

async function post(body: BodyInit | Uint8Array, headers: Record<string, string> = { "content-type": "application/octet-stream" }) {
  const response = await fetch(`${server.url}/predict`, { method: "POST", body: body as BodyInit, headers });
  return { status: response.status, json: await response.json(), headers: response.headers };
}

Deno.test({
  ...opts,
  name: "forged M4A tables: 400 at once, /health answers within 200 ms all along, memory stays flat",
  ignore: !FSDD || !HAVE_FFMPEG,
  fn: async () => {
    const files = await Promise.all(FORGERIES.map(([table, count]) => forgedM4a(table, count)));
    const rssBefore = await server.rssMb();
    let running = true;
    const healthTimes: number[] = [];
    const pinger = (async () => {
      while (running) {
        const started = performance.now();
        await (await fetch(`${server.url}/health`)).body?.cancel();
        healthTimes.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    // Four at once, three rounds: before the fix each one held the loop for ~9 s and took 1.2-1.5 GB.
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(files.map((bytes) => post(bytes)));
      for (const { status, json } of answers) {
        assert.equal(status, 400);
        assert.equal(json.error.code, "undecodable");
      }
    }
    running = false;
    await pinger;
    const worst = Math.max(...healthTimes);
    assert.ok(healthTimes.length > 0 && worst < 200, `/health took up to ${worst.toFixed(0)} ms`);
    const grown = (await server.rssMb()) - rssBefore;
    assert.ok(grown < 100, `RSS grew by ${grown.toFixed(0)} MB`);
  },
});

Deno.test({
  ...opts,
  name: "a clip with a DC offset of 0.05-0.2 is recognized as surely as without it",
  ignore: !FSDD,
  fn: async () => {
    const { samples } = await decodeAudio(await Deno.readFile(clipPath("7_jackson_32.wav")));
    const plain = (await post(encodeWav16(samples, 8000))).json;
    assert.equal(plain.digit, 7);
    for (const offset of [0.05, 0.1, 0.2]) {
      const { status, json } = await post(encodeWav16(samples.map((v) => v + offset), 8000));
      assert.equal(status, 200, `offset ${offset}: ${JSON.stringify(json)}`);
      assert.equal(json.digit, 7);
      assert.ok(Math.abs(json.confidence - plain.confidence) < 0.01, `offset ${offset}: ${json.confidence} vs ${plain.confidence}`);
    }
  },
});

Deno.test({
  ...opts,
  name: "sound too short to be a word (8 samples, 1 ms of sine, a 60-byte WAV, 28 samples) is 422 no_speech, too short",
  fn: async () => {
    const sine = (n: number, rate: number) => encodeWav16(Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin(i * 0.7)), rate);
    const sixtyBytes = sine(8, 8000);
    assert.equal(sixtyBytes.length, 60);
    const cutShort = sine(4000, 8000).slice(0, 44 + 56); // a header that promises 4,000 samples, then 28 of them
    for (
      const [label, bytes] of [["8 samples", sixtyBytes], ["1 ms at 48 kHz", sine(48, 48000)], ["28 of 4,000 samples", cutShort]] as const
    ) {
      const { status, json } = await post(bytes);
      assert.equal(status, 422, `${label}: ${JSON.stringify(json)}`);
      assert.equal(json.error.code, "no_speech");
      assert.match(json.error.message, /too short/, label);
    }
  },
});

/** A raw HTTP/1.1 exchange: what the server sends back to a client that sends `sent` and then nothing. */
async function rawExchange(sent: string, waitMs: number): Promise<{ text: string; ms: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(server.url).port) });
  const started = performance.now();
  await conn.write(new TextEncoder().encode(sent));
  const buffer = new Uint8Array(4096);
  const read = conn.read(buffer);
  const timeout = new Promise<null>((r) => setTimeout(() => r(null), waitMs));
  const n = await Promise.race([read, timeout]);
  const ms = performance.now() - started;
  conn.close();
  await read.catch(() => null);
  return { text: n ? new TextDecoder().decode(buffer.subarray(0, n)) : "", ms };
}

Deno.test({
  ...opts,
  name: "a body that stops arriving is answered 408 timeout after BODY_TIMEOUT_S (1 s here), with Connection: close",
  fn: async () => {
    const { text, ms } = await rawExchange(
      "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: 100000\r\n\r\nRIFF....WAVE",
      5000,
    );
    assert.match(text, /^HTTP\/1\.1 408/, text);
    assert.match(text, /connection: close/i);
    assert.match(text, /"code":"timeout"/);
    assert.ok(ms >= 900 && ms < 3000, `answered after ${ms.toFixed(0)} ms`);
  },
});

Deno.test({
  ...opts,
  name: "GET and PUT /predict, TRACE / are 405 with an Allow header; unknown paths stay 404",
  fn: async () => {
    for (const [method, path] of [["GET", "/predict"], ["PUT", "/predict"]]) {
      const response = await fetch(server.url + path, { method });
      assert.equal(response.status, 405, `${method} ${path}`);
      assert.equal(response.headers.get("allow"), "POST");
      assert.equal((await response.json()).error.code, "method_not_allowed");
    }
    // fetch() refuses to send TRACE, so it goes over a raw socket.
    const { text } = await rawExchange("TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 5000);
    assert.match(text, /^HTTP\/1\.1 405/, text);
    assert.match(text, /\r\nallow: GET, HEAD\r\n/i);
    const missing = await fetch(`${server.url}/nothing-here`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  },
});

Deno.test({
  ...opts,
  name: "an unterminated multipart body says it could not be parsed, not that the field is missing",
  fn: async () => {
    const body = '--XX\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\nRIFF....WAVE';
    const { status, json } = await post(body, { "content-type": "multipart/form-data; boundary=XX" });
    assert.equal(status, 400);
    assert.equal(json.error.code, "undecodable");
    assert.match(json.error.message, /could not be parsed/);
    // A well-formed form without the field still says which field is missing.
    const empty = await post("--XX--\r\n", { "content-type": "multipart/form-data; boundary=XX" });
    assert.equal(empty.status, 400);
    assert.match(empty.json.error.message, /no file field named "audio"/);
  },
});

Deno.test({
  ...opts,
  name: "mu-law and A-law WAV (telephone recordings) are recognized",
  ignore: !FSDD || !HAVE_FFMPEG,
  fn: async () => {
    for (const codec of ["pcm_mulaw", "pcm_alaw"]) {
      const { status, json } = await post(await ffmpegEncode(clipPath("7_jackson_32.wav"), "wav", ["-c:a", codec]));
      assert.equal(status, 200, `${codec}: ${JSON.stringify(json)}`);
      assert.equal(json.digit, 7, codec);
    }
  },
});

Deno.test({
  ...opts,
  name: "security headers on HTML and JSON; the page has no inline script for the CSP to allow; a favicon",
  fn: async () => {
    for (const path of ["/", "/docs", "/health"]) {
      const response = await fetch(server.url + path);
      const text = await response.text();
      assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
      assert.ok(response.headers.get("referrer-policy"), path);
      const csp = response.headers.get("content-security-policy") ?? "";
      assert.match(csp, /script-src 'self'/, path);
      assert.doesNotMatch(csp.match(/script-src[^;]*/)![0], /unsafe-inline/, path);
      // Every <script> must load from this origin: an inline one would be blocked by the policy.
      for (const tag of text.match(/<script[^>]*>[^<]*<\/script>/g) ?? []) assert.match(tag, /<script[^>]* src="\/[^"]+"[^>]*><\/script>/);
    }
    const icon = await fetch(`${server.url}/favicon.ico`);
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get("content-type"), "image/svg+xml");
    await icon.body?.cancel();
  },
});

Deno.test({
  ...opts,
  name: "/openapi.json marks the multipart audio field required and lists every status /predict answers",
  fn: async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    const predict = doc.paths["/predict"].post;
    assert.deepEqual(predict.requestBody.content["multipart/form-data"].schema.required, ["audio"]);
    for (const status of ["200", "400", "408", "413", "415", "422"]) {
      assert.ok(predict.responses[status], `status ${status} is not documented`);
    }
    const codes = doc.components.schemas.Error.properties.error.properties.code.enum;
    for (const code of ["method_not_allowed", "timeout", "no_speech"]) assert.ok(codes.includes(code), code);
  },
});

Deno.test({ ...opts, name: "stop the server", fn: () => server.stop() });
