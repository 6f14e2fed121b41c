/**
 * Finds the spoken part of a clip with a frame-energy detector and a hangover, so that a 3 s microphone
 * recording with the digit in the middle is cut like a tightly trimmed FSDD clip. Pure and deterministic.
 */
import { DEFAULT_SPEECH, type SpeechConfig } from "./config.ts";
import { AudioError } from "./errors.ts";
import { highPass } from "./highpass.ts";

export interface SpeechSegment {
  /** Sample indices, end exclusive. */
  start: number;
  end: number;
  startS: number;
  endS: number;
}

/** Frame levels in dBFS (RMS of each frame). */
export function frameLevelsDb(samples: Float32Array, frameLength: number, hop: number): Float32Array {
  const frames = samples.length <= frameLength ? 1 : 1 + Math.floor((samples.length - frameLength) / hop);
  const levels = new Float32Array(frames);
  for (let t = 0; t < frames; t++) {
    let sum = 0;
    const start = t * hop;
    const end = Math.min(samples.length, start + frameLength);
    for (let i = start; i < end; i++) sum += samples[i] * samples[i];
    levels[t] = 10 * Math.log10(sum / Math.max(1, end - start) + 1e-12);
  }
  return levels;
}

function percentile(values: Float32Array, q: number): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))];
}

/**
 * The segment holding the loudest utterance: frames within `rangeDb` of the peak and `aboveFloorDb` above
 * the noise floor, runs closer than `mergeGapS` joined, the run with the most energy kept, `padS` added.
 * Throws AudioError("no_speech") for silence and for sound without level contrast (constant noise, a hum).
 */
export function findSpeech(samples: Float32Array, sampleRate: number, config: SpeechConfig): SpeechSegment {
  if (samples.length === 0) throw new AudioError("no_speech", "the audio holds no samples");
  const frameLength = Math.max(1, Math.round(config.frameS * sampleRate));
  const hop = Math.max(1, Math.round(config.hopS * sampleRate));
  const detected = config.highPassHz ? highPass(samples, sampleRate, config.highPassHz).samples : samples;
  const levels = frameLevelsDb(detected, frameLength, hop);
  let peak = -Infinity;
  for (const level of levels) peak = Math.max(peak, level);
  if (peak < config.minPeakDbfs) {
    throw new AudioError("no_speech", `no speech found: the audio is silent (loudest ${peak.toFixed(0)} dBFS)`);
  }
  const floor = percentile(levels, 0.05);
  const threshold = Math.max(peak - config.rangeDb, floor + config.aboveFloorDb);
  const runs = activeRuns(levels, threshold, Math.round(config.mergeGapS * sampleRate / hop));
  // A clip shorter than a few frames has no floor to speak of: take it whole.
  if (levels.length < 4) runs.push({ first: 0, last: levels.length - 1, energy: 1 });
  if (runs.length === 0) {
    throw new AudioError("no_speech", "no speech found: the sound has no louder part (constant noise or hum?)");
  }
  const best = runs.reduce((a, b) => (b.energy > a.energy ? b : a));
  const spokenS = soundingSpan(detected, levels, best, peak - config.rangeDb, hop, frameLength) / sampleRate;
  // features.json written before minSpeechS existed: today's default.
  const minSpeechS = config.minSpeechS ?? DEFAULT_SPEECH.minSpeechS!;
  if (spokenS < minSpeechS) {
    throw new AudioError(
      "no_speech",
      `no speech found: the only sound lasts ${Math.round(spokenS * 1000)} ms, too short to be a word (at least ${
        Math.round(minSpeechS * 1000)
      } ms)`,
    );
  }
  const pad = Math.round(config.padS * sampleRate);
  const start = Math.max(0, best.first * hop - pad);
  const end = Math.min(samples.length, best.last * hop + frameLength + pad);
  return { start, end, startS: start / sampleRate, endS: end / sampleRate };
}

/**
 * How long the sound around the chosen run lasts, in samples: the run widened over its neighbouring frames
 * within `rangeDb` of the peak, without the noise-floor test, then narrowed to the first and last sample at
 * that level (a frame's RMS as an amplitude). A clip that is all speech (FSDD trims some takes to the word, so
 * their "floor" is speech too and the run is only the loudest few frames) counts whole; a click or a few stray
 * samples in silence stay a few milliseconds long. Measured to the sample, not the frame: counting whole frames
 * added up to a frame and a hop on each side (an 80 ms tone counted ~125 ms and passed the 120 ms rule).
 */
function soundingSpan(
  samples: Float32Array,
  levels: Float32Array,
  run: Run,
  thresholdDb: number,
  hop: number,
  frameLength: number,
): number {
  let first = run.first;
  let last = run.last;
  while (first > 0 && levels[first - 1] >= thresholdDb) first--;
  while (last < levels.length - 1 && levels[last + 1] >= thresholdDb) last++;
  const from = first * hop;
  const to = Math.min(samples.length, last * hop + frameLength) - 1;
  const amplitude = 10 ** (thresholdDb / 20);
  let start = from;
  while (start < to && Math.abs(samples[start]) < amplitude) start++;
  let end = to;
  while (end > start && Math.abs(samples[end]) < amplitude) end--;
  return end - start + 1;
}

interface Run {
  first: number;
  last: number;
  energy: number;
}

function activeRuns(levels: Float32Array, threshold: number, mergeGap: number): Run[] {
  const runs: Run[] = [];
  for (let t = 0; t < levels.length; t++) {
    if (levels[t] < threshold) continue;
    const energy = 10 ** (levels[t] / 10);
    const last = runs[runs.length - 1];
    if (last && t - last.last <= mergeGap) {
      last.last = t;
      last.energy += energy;
    } else {
      runs.push({ first: t, last: t, energy });
    }
  }
  return runs;
}
