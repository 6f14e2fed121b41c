/**
 * Every utterance in a recording, in order: for digit strings ("4 2 0 7"), where findSpeech keeps only the
 * loudest one. The same frame-energy detector and thresholds as findSpeech, with three differences:
 *   - runs join across gaps shorter than `joinGapS` only (a pause between digits is longer than the stops
 *     inside a word: the closure of "six", "eight", "two"),
 *   - a piece too short to be a word joins its nearest neighbour when it is close, and is dropped otherwise
 *     (a click, a breath),
 *   - a run long enough to be two digits said without a pause is split at its deepest energy dip, when that
 *     dip is deep enough and leaves a word's length on both sides.
 * Pure and deterministic; each segment is then recognized exactly as /predict recognizes a clip.
 */
import { DEFAULT_SPEECH, type SpeechConfig } from "./config.ts";
import { removeDc } from "./dc.ts";
import { AudioError } from "./errors.ts";
import { frameLevelsDb, type SpeechSegment } from "./speech.ts";
import { highPass } from "./highpass.ts";

export interface UtteranceConfig {
  /** Active runs closer than this are one utterance, seconds. */
  joinGapS: number;
  /** A run longer than this may hold two digits said together: look for a dip to split it at, seconds. */
  splitAboveS: number;
  /** The dip must be this far below the quieter of the two peaks around it, dB. */
  splitDipDb: number;
  /** Each side of a split keeps at least this much, seconds. */
  minPartS: number;
  /**
   * High-pass (2nd-order Butterworth) before the frame levels, Hz; 0 = none. Background noise strongest in
   * the bass (pink, traffic, hum) swings ~8 dB from frame to frame and passes for speech; speech's formants
   * lie above the cut.
   */
  highPassHz: number;
}

export const DEFAULT_UTTERANCES: UtteranceConfig = { joinGapS: 0.1, splitAboveS: 0.7, splitDipDb: 12, minPartS: 0.2, highPassHz: 200 };

interface Run {
  first: number;
  last: number;
}

/**
 * The utterances of `samples`, in time order, each padded by `speech.padS` but never into its neighbour.
 * Throws AudioError("no_speech") when there is none, as findSpeech does.
 */
export function findUtterances(
  clip: Float32Array,
  sampleRate: number,
  speech: SpeechConfig,
  config: UtteranceConfig = DEFAULT_UTTERANCES,
): SpeechSegment[] {
  const samples = removeDc(clip);
  if (samples.length === 0) throw new AudioError("no_speech", "the audio holds no samples");
  const { levels, frameLength, hop } = highPassedLevels(samples, sampleRate, speech, config);
  const peak = levels.reduce((a, b) => Math.max(a, b), -Infinity);
  if (peak < speech.minPeakDbfs) {
    throw new AudioError("no_speech", `no speech found: the audio is silent (loudest ${peak.toFixed(0)} dBFS)`);
  }
  const floor = Float32Array.from(levels).sort()[Math.floor(0.05 * (levels.length - 1))];
  const threshold = Math.max(peak - speech.rangeDb, floor + speech.aboveFloorDb);
  const frames = (seconds: number) => Math.max(1, Math.round(seconds * sampleRate / hop));

  let runs = activeRuns(levels, threshold, frames(config.joinGapS));
  runs = absorbShort(runs, frames(speech.minSpeechS ?? DEFAULT_SPEECH.minSpeechS!), frames(speech.mergeGapS));
  runs = runs.flatMap((run) => splitAtDips(levels, run, frames(config.splitAboveS), frames(config.minPartS), config.splitDipDb));
  if (runs.length === 0) throw new AudioError("no_speech", "no speech found: no sound long enough to be a word");

  const pad = Math.round(speech.padS * sampleRate);
  const bounds = runs.map((r) => ({ start: r.first * hop, end: Math.min(samples.length, r.last * hop + frameLength) }));
  return bounds.map(({ start, end }, i) => {
    // Padding stops halfway to the neighbour, so no segment hears a piece of the next digit.
    const lo = i > 0 ? Math.ceil((bounds[i - 1].end + start) / 2) : 0;
    const hi = i < bounds.length - 1 ? Math.floor((end + bounds[i + 1].start) / 2) : samples.length;
    const s = Math.max(lo, start - pad);
    const e = Math.min(hi, end + pad);
    return { start: s, end: e, startS: s / sampleRate, endS: e / sampleRate };
  });
}

function activeRuns(levels: Float32Array, threshold: number, joinGap: number): Run[] {
  const runs: Run[] = [];
  for (let t = 0; t < levels.length; t++) {
    if (levels[t] < threshold) continue;
    const last = runs[runs.length - 1];
    if (last && t - last.last <= joinGap) last.last = t;
    else runs.push({ first: t, last: t });
  }
  return runs;
}

/** Runs shorter than `minFrames` join the nearer neighbour within `mergeGap` frames, or go. */
function absorbShort(runs: Run[], minFrames: number, mergeGap: number): Run[] {
  const out = runs.map((r) => ({ ...r }));
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0; i < out.length; i++) {
      const run = out[i];
      if (run.last - run.first + 1 >= minFrames) continue;
      const before = i > 0 ? run.first - out[i - 1].last : Infinity;
      const after = i < out.length - 1 ? out[i + 1].first - run.last : Infinity;
      if (Math.min(before, after) <= mergeGap) {
        if (before <= after) out[i - 1].last = run.last;
        else out[i + 1].first = run.first;
      }
      out.splice(i, 1);
      changed = true;
      break;
    }
  }
  return out;
}

/**
 * Splits a long run at its deepest dip (level smoothed over 5 frames) while one is deep enough, then each part
 * again. Linear per pass: the loudest point on each side comes from running maxima.
 */
function splitAtDips(levels: Float32Array, run: Run, above: number, minPart: number, dipDb: number): Run[] {
  const length = run.last - run.first + 1;
  if (length <= above) return [run];
  const smooth = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    let sum = 0, n = 0;
    for (let k = Math.max(0, i - 2); k <= Math.min(length - 1, i + 2); k++, n++) sum += levels[run.first + k];
    smooth[i] = sum / n;
  }
  const leftMax = new Float32Array(length);
  const rightMax = new Float32Array(length);
  for (let i = 0; i < length; i++) leftMax[i] = Math.max(smooth[i], i > 0 ? leftMax[i - 1] : -Infinity);
  for (let i = length - 1; i >= 0; i--) rightMax[i] = Math.max(smooth[i], i < length - 1 ? rightMax[i + 1] : -Infinity);
  let best = -1, bestDepth = dipDb;
  for (let i = minPart; i < length - minPart; i++) {
    const depth = Math.min(leftMax[i - 1], rightMax[i + 1]) - smooth[i];
    if (depth >= bestDepth) [best, bestDepth] = [i, depth];
  }
  if (best < 0) return [run];
  const at = run.first + best;
  return [
    ...splitAtDips(levels, { first: run.first, last: at - 1 }, above, minPart, dipDb),
    ...splitAtDips(levels, { first: at + 1, last: run.last }, above, minPart, dipDb),
  ];
}

/**
 * How far the loud frames stand above the quiet ones, dB: the 95th percentile of the frame levels (after the same
 * high-pass as findUtterances) less the 5th. Speech in a quiet room: 30-40 dB; under noise 10-12 dB below the speech:
 * 13-22 dB (FSDD strings, measured). A recording with no pause at all (speech in 95% of its frames) reads low too.
 */
export function levelSpreadDb(
  clip: Float32Array,
  sampleRate: number,
  speech: SpeechConfig,
  config: UtteranceConfig = DEFAULT_UTTERANCES,
): number {
  const samples = removeDc(clip);
  if (samples.length === 0) return 0;
  const sorted = highPassedLevels(samples, sampleRate, speech, config).levels.sort();
  const at = (q: number) => sorted[Math.floor(q * (sorted.length - 1))];
  return at(0.95) - at(0.05);
}

/** Frame levels in dBFS of DC-free samples after the utterance high-pass, with the frame length and hop (samples). */
function highPassedLevels(samples: Float32Array, sampleRate: number, speech: SpeechConfig, config: UtteranceConfig) {
  const frameLength = Math.max(1, Math.round(speech.frameS * sampleRate));
  const hop = Math.max(1, Math.round(speech.hopS * sampleRate));
  return { levels: frameLevelsDb(highPass(samples, sampleRate, config.highPassHz).samples, frameLength, hop), frameLength, hop };
}
