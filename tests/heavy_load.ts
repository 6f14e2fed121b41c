/**
 * The heavy load of issue 30 (point 2), against a running server: `clients` loops each posting the heaviest valid
 * requests back to back (a 60 s recording of digits to /transcribe, 60 s of 48 kHz stereo to /predict, alternating),
 * while /health and a short /predict (one FSDD clip) are timed, one at a time, every `pingMs`. Shared by
 * tests/server_inference_test.ts (generous bounds: CI machines vary) and tests/bench.ts (the strict figure).
 */
import { decodeAudio } from "../dsp/decode.ts";

/** A 60 s recording of `takes` (8 kHz) repeated with 0.4 s pauses, in faint noise, as 16-bit WAV (~960 KB). */
export function sixtySecondsOfDigits(takes: Float32Array[]): Uint8Array<ArrayBuffer> {
  const samples = new Float32Array(60 * 8000).map(() => (Math.random() - 0.5) * 0.002);
  for (let at = 2000, d = 0; at + 12000 < samples.length; d++) {
    const take = takes[d % takes.length];
    samples.set(take, at);
    at += take.length + 3200;
  }
  return wav(samples, 8000, 1, 16);
}

/** 60 s of 48 kHz stereo: the digits above upsampled, as 8-bit PCM (5.8 MB: 16-bit would be over the 10 MB limit). */
export function sixtySecondsStereo48k(takes: Float32Array[]): Uint8Array<ArrayBuffer> {
  const wav8k = sixtySecondsOfDigits(takes);
  const mono = new Float32Array(60 * 8000);
  const view = new DataView(wav8k.buffer);
  for (let i = 0; i < mono.length; i++) mono[i] = view.getInt16(44 + 2 * i, true) / 32768;
  const stereo = new Float32Array(60 * 48000 * 2);
  for (let i = 0; i < 60 * 48000; i++) stereo[2 * i] = stereo[2 * i + 1] = mono[Math.floor(i / 6)];
  return wav(stereo, 48000, 2, 8);
}

function wav(interleaved: Float32Array, rate: number, channels: number, bits: 8 | 16): Uint8Array<ArrayBuffer> {
  const bytesPer = bits / 8;
  const bytes = new Uint8Array(44 + interleaved.length * bytesPer);
  const view = new DataView(bytes.buffer);
  const text = (at: number, s: string) => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + interleaved.length * bytesPer, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * channels * bytesPer, true);
  view.setUint16(32, channels * bytesPer, true);
  view.setUint16(34, bits, true);
  text(36, "data");
  view.setUint32(40, interleaved.length * bytesPer, true);
  for (let i = 0; i < interleaved.length; i++) {
    const s = Math.max(-1, Math.min(1, interleaved[i]));
    if (bits === 16) view.setInt16(44 + 2 * i, Math.round(s < 0 ? s * 32768 : s * 32767), true);
    else view.setUint8(44 + i, Math.round(128 + s * 127));
  }
  return bytes;
}

export interface HeavyLoadResult {
  health: { p50_ms: number; p99_ms: number; max_ms: number; n: number };
  short_predict: { p50_ms: number; p99_ms: number; max_ms: number; n: number };
  /** Heavy requests answered, by status. */
  heavy: Record<string, number>;
  /** Every short /predict's status, by status. */
  short_status: Record<string, number>;
  /** Probes over 200 ms: [ms since probing began, ms taken]. */
  slow: [number, number][];
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 10) / 10;
};
const summary = (xs: number[]) => ({ p50_ms: percentile(xs, 50), p99_ms: percentile(xs, 99), max_ms: percentile(xs, 100), n: xs.length });

/** The FSDD takes the load is made of (one per digit, theo's 7th). */
export async function loadTakes(fsdd: string): Promise<Float32Array[]> {
  return await Promise.all(
    Array.from({ length: 10 }, async (_, d) => (await decodeAudio(await Deno.readFile(`${fsdd}/recordings/${d}_theo_7.wav`))).samples),
  );
}

export async function heavyLoad(
  url: string,
  fsdd: string,
  { clients = 16, seconds = 8, pingMs = 25, kinds = ["/transcribe", "/predict"] }: {
    clients?: number;
    seconds?: number;
    pingMs?: number;
    /** The heavy requests, taken in turn by the clients. */
    kinds?: ("/transcribe" | "/predict")[];
  } = {},
): Promise<HeavyLoadResult> {
  const takes = await loadTakes(fsdd);
  const transcribeBody = sixtySecondsOfDigits(takes);
  const predictBody = sixtySecondsStereo48k(takes);
  const shortBody = await Deno.readFile(`${fsdd}/recordings/7_jackson_32.wav`);
  const heavy: Record<string, number> = {};
  const shortStatus: Record<string, number> = {};
  let running = true;
  const loops = Array.from({ length: clients }, async (_, i) => {
    while (running) {
      const path = kinds[i % kinds.length];
      const body = path === "/transcribe" ? transcribeBody : predictBody;
      const response = await fetch(`${url}${path}`, { method: "POST", body, headers: { "content-type": "audio/wav" } });
      await response.body?.cancel();
      heavy[response.status] = (heavy[response.status] ?? 0) + 1;
    }
  });
  // Let every heavy request start before timing.
  await new Promise((r) => setTimeout(r, 500));
  const health: number[] = [];
  const short: number[] = [];
  const started = performance.now();
  const until = started + seconds * 1000;
  /** Probes over 200 ms: [ms since probing began, ms taken]. */
  const slow: [number, number][] = [];
  // Two probes, each one request at a time: /health, and a short /predict.
  const probe = async (times: number[], ask: () => Promise<Response>) => {
    while (performance.now() < until) {
      const t0 = performance.now();
      const response = await ask();
      await response.body?.cancel();
      times.push(performance.now() - t0);
      if (performance.now() - t0 > 200) slow.push([Math.round(t0 - started), Math.round(performance.now() - t0)]);
      if (times === short) shortStatus[response.status] = (shortStatus[response.status] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, pingMs));
    }
  };
  await Promise.all([
    probe(health, () => fetch(`${url}/health`)),
    probe(short, () => fetch(`${url}/predict`, { method: "POST", body: shortBody, headers: { "content-type": "audio/wav" } })),
  ]);
  running = false;
  await Promise.all(loops);
  return { health: summary(health), short_predict: summary(short), heavy, short_status: shortStatus, slow };
}
