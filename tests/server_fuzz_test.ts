/**
 * A bounded, seeded mutation fuzzer against the real server: an FSDD clip in every format we read, each
 * mutated hundreds of ways (bit flips, interesting integers over header fields, truncation, splices), posted
 * four at a time. Every answer must be JSON, never a 5xx, never slower than 2 s, and the server's memory must
 * stay bounded. A failing input is written to test-output/fuzz/ with its seed, to become a fixture.
 */
import assert from "node:assert/strict";
import { type Random, seededRandom } from "../dsp/random.ts";
import { clipPath, ffmpegEncode, FSDD, toolOrSkip } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";

const HAVE_FFMPEG = toolOrSkip("ffmpeg");
const MUTANTS_PER_FORMAT = 500;
const SEED = 20261129;

const FORMATS: Array<[string, string, string[]]> = [
  ["wav", "wav", []],
  ["wav-mulaw", "wav", ["-c:a", "pcm_mulaw"]],
  ["mp3", "mp3", ["-b:a", "64k"]],
  ["ogg", "ogg", ["-c:a", "libvorbis"]],
  ["opus", "opus", ["-ar", "48000"]],
  ["webm", "webm", ["-c:a", "libopus"]],
  ["flac", "flac", []],
  ["m4a", "m4a", ["-c:a", "aac", "-ar", "16000"]],
];

/** 32-bit values that break parsers: sizes and counts at the edges. */
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x10000000, 0x20000000, 0x7fffffff, 0x80000000, 0xffffffff];

/** An offset biased towards the container headers, where sizes and counts live. */
function offset(bytes: Uint8Array, random: Random): number {
  const span = random() < 0.7 ? Math.min(bytes.length, 1024) : bytes.length;
  return Math.floor(random() * span);
}

function mutate(source: Uint8Array, random: Random): Uint8Array {
  let bytes = source.slice();
  const rounds = 1 + Math.floor(random() * 4);
  for (let r = 0; r < rounds; r++) {
    const kind = Math.floor(random() * 6);
    if (bytes.length < 8) break;
    if (kind === 0) {
      for (let k = 0; k < 1 + Math.floor(random() * 8); k++) bytes[offset(bytes, random)] ^= 1 << Math.floor(random() * 8);
    } else if (kind === 1) {
      bytes[offset(bytes, random)] = INTERESTING[Math.floor(random() * 5)];
    } else if (kind === 2) {
      const at = Math.min(offset(bytes, random), bytes.length - 4);
      new DataView(bytes.buffer).setUint32(at, INTERESTING[Math.floor(random() * INTERESTING.length)], random() < 0.5);
    } else if (kind === 3) {
      bytes = bytes.slice(0, Math.floor(random() * bytes.length));
    } else if (kind === 4) {
      const from = offset(bytes, random);
      const length = Math.floor(random() * 512);
      const to = offset(bytes, random);
      const out = new Uint8Array(bytes.length + length);
      out.set(bytes.subarray(0, to));
      out.set(bytes.subarray(from, from + length), to);
      out.set(bytes.subarray(to), to + Math.min(length, bytes.length - from));
      bytes = out.slice(0, bytes.length + Math.min(length, bytes.length - from));
    } else {
      const at = offset(bytes, random);
      const noise = Uint8Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256));
      const out = new Uint8Array(bytes.length + noise.length);
      out.set(bytes.subarray(0, at));
      out.set(noise, at);
      out.set(bytes.subarray(at), at + noise.length);
      bytes = out;
    }
  }
  return bytes;
}

Deno.test({
  name: `fuzz: ${MUTANTS_PER_FORMAT} mutants of a clip in each of ${FORMATS.length} formats: JSON, no 5xx, none over 2 s, memory bounded`,
  ignore: !FSDD || !HAVE_FFMPEG,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startServer({ MAX_BODY_BYTES: String(2 * 1024 * 1024) });
    try {
      const sources = await Promise.all(FORMATS.map(([, ext, args]) => ffmpegEncode(clipPath("7_jackson_32.wav"), ext, args)));
      const random = seededRandom(SEED);
      const cases = FORMATS.flatMap(([name], f) =>
        Array.from({ length: MUTANTS_PER_FORMAT }, (_, i) => ({ label: `${name} #${i}`, bytes: mutate(sources[f], random) }))
      );
      const rssBefore = await server.rssMb();
      let rssPeak = rssBefore;
      const failures: string[] = [];
      const statuses = new Map<number, number>();
      let next = 0;
      const worker = async () => {
        while (next < cases.length) {
          const { label, bytes } = cases[next++];
          const started = performance.now();
          const response = await fetch(`${server.url}/predict`, {
            method: "POST",
            body: bytes as Uint8Array<ArrayBuffer>,
            headers: { "content-type": "application/octet-stream" },
          });
          const text = await response.text();
          const ms = performance.now() - started;
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          let json: { digit?: number; error?: { code: string } } | null = null;
          try {
            json = JSON.parse(text);
          } catch { /* reported below */ }
          const problem = response.status >= 500
            ? `status ${response.status}`
            : !json || (json.digit === undefined && !json.error?.code)
            ? `not our JSON: ${text.slice(0, 80)}`
            : ms > 2000
            ? `${ms.toFixed(0)} ms`
            : null;
          if (problem) {
            failures.push(`${label}: ${problem}`);
            await Deno.mkdir("test-output/fuzz", { recursive: true });
            await Deno.writeFile(`test-output/fuzz/${label.replace(/\W+/g, "_")}.bin`, bytes);
          }
          if (next % 100 === 0) rssPeak = Math.max(rssPeak, await server.rssMb());
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      rssPeak = Math.max(rssPeak, await server.rssMb());
      console.log(
        `fuzz: ${cases.length} inputs, statuses ${JSON.stringify(Object.fromEntries(statuses))}, RSS ${rssBefore.toFixed(0)} -> peak ${
          rssPeak.toFixed(0)
        } MB`,
      );
      assert.deepEqual(failures, []);
      assert.ok(rssPeak - rssBefore < 150, `RSS grew from ${rssBefore.toFixed(0)} to ${rssPeak.toFixed(0)} MB`);
    } finally {
      await server.stop();
    }
  },
});
