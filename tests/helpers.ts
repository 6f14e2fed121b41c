/** Test helpers: where FSDD and external tools are, and what to do when they are missing. */
import assert from "node:assert/strict";
import { findFsdd } from "../models/lab/fsdd.ts";

const inCi = Deno.env.get("CI") === "true";

/**
 * Something tests need is missing. Under CI=true that is a failure, never a silent skip; elsewhere the
 * tests that need it are ignored, with a message.
 */
export function failInCiElseSkip(missing: string): void {
  if (inCi) throw new Error(`${missing}, and CI=true: failing instead of skipping`);
  console.warn(`SKIP: ${missing}; tests that need it are ignored`);
}

/** The FSDD folder, or undefined (see failInCiElseSkip). */
export function fsddOrSkip(): string | undefined {
  const dir = findFsdd();
  if (!dir) failInCiElseSkip("FSDD not found at $FSDD_DIR or ../shared/datasets/fsdd");
  return dir;
}

/** Whether a command-line tool runs; under CI=true a missing tool is a failure. */
export function toolOrSkip(command: string, args = ["-version"]): boolean {
  try {
    const ok = new Deno.Command(command, { args, stdout: "null", stderr: "null" }).outputSync().success;
    if (ok) return true;
  } catch { /* not installed */ }
  failInCiElseSkip(`${command} is not installed`);
  return false;
}

export const FSDD = fsddOrSkip();
export const clipPath = (name: string) => `${FSDD}/recordings/${name}`;

/** Encodes a WAV file with ffmpeg into another container; returns the encoded bytes. */
export async function ffmpegEncode(input: string, ext: string, args: string[] = []): Promise<Uint8Array> {
  const out = await Deno.makeTempFile({ suffix: `.${ext}` });
  try {
    const { success, stderr } = await new Deno.Command("ffmpeg", {
      args: ["-y", "-loglevel", "error", "-i", input, ...args, out],
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`ffmpeg -> ${ext} failed: ${new TextDecoder().decode(stderr)}`);
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

/** A sine tone. */
export function tone(hz: number, seconds: number, sampleRate: number, amplitude = 0.5): Float32Array {
  return Float32Array.from(
    { length: Math.round(seconds * sampleRate) },
    (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate),
  );
}

export function rmsDb(samples: Float32Array, from = 0, to = samples.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i] * samples[i];
  return 10 * Math.log10(sum / (to - from));
}

/** An M4A made by ffmpeg with one table's 4-byte count (after the box's type, version and flags) overwritten. */
export async function forgedM4a(table: "stco" | "stsz", count: number): Promise<Uint8Array> {
  const m4a = await ffmpegEncode(clipPath("7_jackson_32.wav"), "m4a", ["-c:a", "aac", "-ar", "16000"]);
  const at = new TextDecoder("latin1").decode(m4a).indexOf(table);
  assert.ok(at > 0, `no ${table} box`);
  // stco: type, version+flags, count; stsz: type, version+flags, sample size, count.
  new DataView(m4a.buffer, m4a.byteOffset).setUint32(at + (table === "stco" ? 8 : 12), count);
  return m4a;
}

export const FORGERIES: Array<["stco" | "stsz", number]> = [
  ["stco", 0x10000000],
  ["stco", 0x7fffffff],
  ["stco", 0xffffffff],
  ["stsz", 0x20000000],
];
