import assert from "node:assert/strict";
import { AudioError } from "../dsp/errors.ts";
import { encodeWav16, readWav } from "../dsp/wav.ts";
import { decodeAudio } from "../dsp/decode.ts";

/** Builds a WAV file by hand: any format code, bit depth, channel count and extra chunks. */
function buildWav(
  opts: {
    format?: number;
    bits: number;
    channels: number;
    rate: number;
    frames: number[][];
    extensible?: boolean;
    extraChunks?: Array<[string, Uint8Array]>;
  },
): Uint8Array {
  const { bits, channels, rate } = opts;
  const format = opts.format ?? 1;
  const bytesPer = bits / 8;
  const data = new Uint8Array(opts.frames.length * channels * bytesPer);
  const dv = new DataView(data.buffer);
  opts.frames.forEach((frame, i) =>
    frame.forEach((v, c) => {
      const at = (i * channels + c) * bytesPer;
      if (format === 3) bits === 32 ? dv.setFloat32(at, v, true) : dv.setFloat64(at, v, true);
      else if (bits === 8) dv.setUint8(at, Math.round(v * 127) + 128);
      else if (bits === 16) dv.setInt16(at, Math.round(v * 32767), true);
      else if (bits === 24) {
        const x = Math.round(v * 8388607);
        dv.setUint8(at, x & 0xff);
        dv.setUint8(at + 1, (x >> 8) & 0xff);
        dv.setInt8(at + 2, x >> 16);
      } else dv.setInt32(at, Math.round(v * 2147483647), true);
    })
  );
  const fmt = new Uint8Array(opts.extensible ? 40 : 16);
  const fv = new DataView(fmt.buffer);
  fv.setUint16(0, opts.extensible ? 0xfffe : format, true);
  fv.setUint16(2, channels, true);
  fv.setUint32(4, rate, true);
  fv.setUint32(8, rate * channels * bytesPer, true);
  fv.setUint16(12, channels * bytesPer, true);
  fv.setUint16(14, bits, true);
  if (opts.extensible) {
    fv.setUint16(16, 22, true);
    fv.setUint16(18, bits, true);
    fv.setUint16(24, format, true); // SubFormat GUID starts with the format code
  }
  const chunks: Array<[string, Uint8Array]> = [...(opts.extraChunks ?? []), ["fmt ", fmt], ["data", data]];
  const size = chunks.reduce((n, [, b]) => n + 8 + b.length + (b.length & 1), 4);
  const out = new Uint8Array(8 + size);
  const ov = new DataView(out.buffer);
  const text = (at: number, s: string) => [...s].forEach((ch, i) => out[at + i] = ch.charCodeAt(0));
  text(0, "RIFF");
  ov.setUint32(4, size, true);
  text(8, "WAVE");
  let at = 12;
  for (const [id, body] of chunks) {
    text(at, id);
    ov.setUint32(at + 4, body.length, true);
    out.set(body, at + 8);
    at += 8 + body.length + (body.length & 1);
  }
  return out;
}

const ramp = Array.from({ length: 64 }, (_, i) => [Math.sin(i / 5) * 0.5]);

for (
  const [label, opts, tolerance] of [
    ["8-bit PCM", { bits: 8 }, 1 / 64],
    ["16-bit PCM", { bits: 16 }, 1e-4],
    ["24-bit PCM", { bits: 24 }, 1e-6],
    ["32-bit PCM", { bits: 32 }, 1e-7],
    ["float32", { bits: 32, format: 3 }, 1e-7],
    ["float64", { bits: 64, format: 3 }, 1e-7],
    ["WAVE_FORMAT_EXTENSIBLE 24-bit", { bits: 24, extensible: true }, 1e-6],
  ] as const
) {
  Deno.test(`readWav: ${label} round-trips its samples`, () => {
    const wav = readWav(buildWav({ ...opts, channels: 1, rate: 16000, frames: ramp }));
    assert.equal(wav.sampleRate, 16000);
    assert.equal(wav.samples.length, ramp.length);
    ramp.forEach(([v], i) => assert.ok(Math.abs(wav.samples[i] - v) <= tolerance, `${label} sample ${i}: ${wav.samples[i]} vs ${v}`));
  });
}

Deno.test("readWav: stereo is averaged to mono, and odd-sized LIST chunks are skipped with their pad byte", () => {
  const frames = ramp.map(([v]) => [v, -v / 2]);
  const wav = readWav(
    buildWav({ bits: 16, channels: 2, rate: 44100, frames, extraChunks: [["LIST", new Uint8Array(7)], ["fact", new Uint8Array(4)]] }),
  );
  assert.equal(wav.channels, 2);
  frames.forEach(([a, b], i) => assert.ok(Math.abs(wav.samples[i] - (a + b) / 2) < 1e-4));
});

Deno.test("encodeWav16 -> readWav keeps samples to 16-bit precision", () => {
  const samples = Float32Array.from(ramp.map(([v]) => v));
  const back = readWav(encodeWav16(samples, 8000));
  samples.forEach((v, i) => assert.ok(Math.abs(back.samples[i] - v) < 1 / 32000));
});

function assertAudioError(fn: () => unknown, code: string) {
  assert.throws(fn, (e: unknown) => e instanceof AudioError && e.code === code);
}

Deno.test("readWav: bad files give typed errors", () => {
  const good = buildWav({ bits: 16, channels: 1, rate: 8000, frames: ramp });
  assertAudioError(() => readWav(buildWav({ bits: 16, channels: 0, rate: 8000, frames: [] })), "no_channels");
  assertAudioError(() => readWav(buildWav({ bits: 16, channels: 1, rate: 5, frames: ramp })), "bad_sample_rate");
  assertAudioError(() => readWav(buildWav({ bits: 16, channels: 1, rate: 4_000_000, frames: ramp })), "bad_sample_rate");
  assertAudioError(() => readWav(buildWav({ bits: 12, channels: 1, rate: 8000, frames: [] })), "unsupported_format");
  assertAudioError(() => readWav(buildWav({ bits: 16, channels: 1, rate: 8000, frames: [] })), "empty");
  assertAudioError(() => readWav(good.slice(0, 30)), "truncated"); // cut inside the fmt chunk
  assertAudioError(() => readWav(good.slice(0, 44)), "truncated"); // header only, no samples
  assertAudioError(() => readWav(buildWav({ bits: 16, channels: 1, rate: 8000, frames: ramp }), 0.001), "too_long");
});

Deno.test("readWav: a truncated data chunk yields the samples that are there", () => {
  const good = buildWav({ bits: 16, channels: 1, rate: 8000, frames: ramp });
  assert.equal(readWav(good.slice(0, good.length - 20)).samples.length, ramp.length - 10);
});

Deno.test("decodeAudio: empty, tiny, garbage and text bodies give typed errors, never something else", async () => {
  const cases: Array<[Uint8Array, string]> = [
    [new Uint8Array(0), "empty"],
    [new Uint8Array([1, 2, 3]), "truncated"],
    [crypto.getRandomValues(new Uint8Array(5000)), "undecodable"],
    [new TextEncoder().encode("<html><body>not audio at all, just a web page</body></html>"), "undecodable"],
  ];
  for (const [bytes, code] of cases) {
    await assert.rejects(decodeAudio(bytes), (e: unknown) => e instanceof AudioError && e.code === code, `expected ${code}`);
  }
});

Deno.test("decodeAudio: garbage after a valid container header is undecodable, not a crash", async () => {
  for (const magic of ["ID3\x03\x00\x00\x00\x00\x00\x10", "OggS\x00\x02", "fLaC\x00\x00\x00\x22"]) {
    const bytes = new Uint8Array(4096);
    crypto.getRandomValues(bytes);
    bytes.set([...magic].map((c) => c.charCodeAt(0)));
    await assert.rejects(decodeAudio(bytes), (e: unknown) => e instanceof AudioError, `magic ${JSON.stringify(magic)}`);
  }
});

Deno.test("readWav: G.711 mu-law and A-law (format tags 7 and 6) expand to the ITU values", () => {
  // Reference points of ITU-T G.711 (as 16-bit linear): mu-law 0x00 -> -32124, 0x80 -> 32124, 0xff -> 0, 0x7f -> 0;
  // A-law 0xd5 -> 8, 0x55 -> -8, 0xaa -> 32256, 0x2a -> -32256.
  const g711 = (tag: number, codes: number[]) => {
    const wav = buildWav({ bits: 8, channels: 1, rate: 8000, frames: codes.map(() => [0]) });
    const view = new DataView(wav.buffer);
    view.setUint16(20, tag, true);
    wav.set(codes, 44);
    return readWav(wav).samples.map((v) => Math.round(v * 32768));
  };
  assert.deepEqual(Array.from(g711(7, [0x00, 0x80, 0xff, 0x7f])), [-32124, 32124, 0, 0]);
  assert.deepEqual(Array.from(g711(6, [0xd5, 0x55, 0xaa, 0x2a])), [8, -8, 32256, -32256]);
});
