/**
 * dsp/ against librosa (tests/fixtures/librosa_reference.json, written by make_librosa_fixtures.py).
 * Tolerances: power and mel within 1e-4 of the largest value (float32 vs float64 arithmetic),
 * dB within 0.01 dB, MFCC within 0.01.
 */
import assert from "node:assert/strict";
import { melSpectrogram, mfcc, powerSpectrogram, powerToDb, type Spectrogram } from "../dsp/spectrogram.ts";
import { DEFAULT_FEATURES as F } from "../dsp/config.ts";

const fixture = JSON.parse(await Deno.readTextFile(new URL("./fixtures/librosa_reference.json", import.meta.url)));

function assertClose(
  name: string,
  ours: Spectrogram,
  ref: { frames: number; bins: number; data: number[] },
  tolerance: number,
  relative: boolean,
) {
  assert.equal(ours.frames, ref.frames, `${name}: frames`);
  assert.equal(ours.bins, ref.bins, `${name}: bins`);
  const scale = relative ? Math.max(...ref.data.map(Math.abs)) : 1;
  let worst = 0;
  ref.data.forEach((v, i) => worst = Math.max(worst, Math.abs(ours.data[i] - v) / scale));
  assert.ok(worst <= tolerance, `${name}: worst difference ${worst.toExponential(2)} > ${tolerance}`);
}

Deno.test("the fixture was made with the parameters dsp/ uses", () => {
  const p = fixture.params;
  assert.deepEqual([p.sr, p.n_fft, p.hop_length, p.n_mels, p.fmin, p.fmax, p.n_mfcc, p.amin, p.top_db], [
    F.sampleRate,
    F.nFft,
    F.hopLength,
    F.nMels,
    F.fMin,
    F.fMax,
    F.nMfcc,
    F.amin,
    F.topDb,
  ]);
});

type Reference = { samples: number[] } & Record<"power" | "mel" | "db" | "mfcc", { frames: number; bins: number; data: number[] }>;

for (const [name, ref] of Object.entries(fixture.signals) as Array<[string, Reference]>) {
  Deno.test(`librosa parity (${name}): STFT power, mel, power_to_db, MFCC`, () => {
    const samples = Float32Array.from(ref.samples);
    const power = powerSpectrogram(samples, F.nFft, F.hopLength);
    assertClose("stft power", power, ref.power, 1e-4, true);
    const mel = melSpectrogram(power, F);
    assertClose("mel", mel, ref.mel, 1e-4, true);
    const db = powerToDb(mel, F.amin, F.topDb);
    assertClose("power_to_db", db, ref.db, 0.01, false);
    assertClose("mfcc", mfcc(db, F.nMfcc), ref.mfcc, 0.01, false);
  });
}
