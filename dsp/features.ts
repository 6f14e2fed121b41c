/**
 * The one feature pipeline: model-rate samples -> DC removed -> speech segment -> log-mel -> MFCC (+ deltas)
 * -> per-utterance CMN/CMVN -> fixed time grid -> normalization with the training set's statistics;
 * at prediction, once per test-time warp of the mel filterbank (config.testWarps).
 * Training, the server and the browser all call `extractFeatures` with the model's FeatureConfig.
 */
import type { FeatureConfig, FeatureStats } from "./config.ts";
import { featureLength } from "./config.ts";
import { removeDc } from "./dc.ts";
import { findSpeech, type SpeechSegment } from "./speech.ts";
import { dctMatrix, melSpectrogram, mfcc, powerSpectrogram, powerToDb, type Spectrogram } from "./spectrogram.ts";
import { embeddingCrop, speechMel } from "./speech_mel.ts";

export interface Features {
  /**
   * Flat, length featureLength(config), not yet normalized: time-major [frames][coefficients], or with
   * config.timeDct coefficient-major [coefficients][timeDct].
   */
  values: Float32Array;
  /**
   * The clip seen under each of config.testWarps, in that order (the model averages its answers over them);
   * just [values] when a training warp was given.
   */
  views: Float32Array[];
  /** Log-mel (dB) of the speech segment: the picture of what the model judged. */
  logMel: Spectrogram;
  speech: SpeechSegment;
}

export interface FeatureOptions {
  /** Vocal-tract-length perturbation factor for the mel filterbank (training only). */
  warp?: number;
  /** Skip speech finding (the caller already cut the clip). */
  segment?: SpeechSegment;
  /**
   * Applied to the time grid (flat [frames][perFrame]) before any time DCT (training only: SpecAugment
   * masks and time warps act on frames, whatever the model is fed).
   */
  augmentGrid?: (grid: Float32Array, frames: number, perFrame: number) => Float32Array;
}

export function extractFeatures(clip: Float32Array, config: FeatureConfig, options: FeatureOptions = {}): Features {
  const samples = removeDc(clip);
  const speech = options.segment ?? findSpeech(samples, config.sampleRate, config.speech);
  if (config.embedding) {
    // The embedding's own front end: its values are the network's input (no grid, no statistics here).
    const { input, db } = speechMel(embeddingCrop(samples, speech, config), config, options.warp ?? 1);
    return { values: input.data, views: [input.data], logMel: db, speech };
  }
  const power = powerSpectrogram(analysedPart(samples, speech, config), config.nFft, config.hopLength);
  if (options.warp !== undefined) {
    const { values, logMel } = gridUnderWarp(power, config, options.warp, options.augmentGrid);
    return { values, views: [values], logMel, speech };
  }
  const warps = config.testWarps ?? [1];
  // The spectrogram shown to people is the unwarped one, whatever the views.
  const plain = gridUnderWarp(power, config, 1);
  const views = warps.map((warp) => (warp === 1 ? plain.values : gridUnderWarp(power, config, warp).values));
  return { values: plain.values, views, logMel: plain.logMel, speech };
}

/**
 * The samples the spectrogram is taken over: the speech segment, or for a "window" grid `frames` hops of audio
 * centred on it, with silence (zeros: the DC is already removed) where the window runs past the clip.
 */
function analysedPart(samples: Float32Array, speech: SpeechSegment, config: FeatureConfig): Float32Array {
  if (config.timeGrid !== "window") return samples.subarray(speech.start, speech.end);
  // powerSpectrogram centres its frames: (frames - 1) hops give exactly `frames` frames.
  const length = (config.frames - 1) * config.hopLength;
  const start = Math.round((speech.start + speech.end) / 2 - length / 2);
  const window = new Float32Array(length);
  const from = Math.max(0, start);
  const to = Math.min(samples.length, start + length);
  if (to > from) window.set(samples.subarray(from, to), from - start);
  return window;
}

/**
 * Statistics shared along time, for a "window" grid: one mean and deviation per band, pooled over every frame
 * (a convolution sees each band the same at every moment), repeated to the flat vector's length.
 */
export function tieStatsOverTime(stats: FeatureStats, frames: number): FeatureStats {
  const perFrame = stats.mean.length / frames;
  const mean = new Array<number>(stats.mean.length);
  const std = new Array<number>(stats.std.length);
  for (let k = 0; k < perFrame; k++) {
    let m = 0, sq = 0;
    for (let t = 0; t < frames; t++) {
      const i = t * perFrame + k;
      m += stats.mean[i];
      sq += stats.std[i] ** 2 + stats.mean[i] ** 2;
    }
    m /= frames;
    const s = Math.max(Math.sqrt(Math.max(sq / frames - m * m, 0)), 1e-3);
    for (let t = 0; t < frames; t++) [mean[t * perFrame + k], std[t * perFrame + k]] = [Math.fround(m), Math.fround(s)];
  }
  return { mean, std };
}

/** Power spectrogram -> mel (filterbank warped by `warp`) -> dB -> MFCC (+ deltas) -> fixed time grid (-> time DCT). */
function gridUnderWarp(
  power: Spectrogram,
  config: FeatureConfig,
  warp: number,
  augmentGrid?: FeatureOptions["augmentGrid"],
): { values: Float32Array; logMel: Spectrogram } {
  const logMel = powerToDb(melSpectrogram(power, config, warp), config.amin, config.topDb);
  let coefficients = config.nMfcc > 0 ? mfcc(logMel, config.nMfcc) : logMel;
  if (config.utteranceNorm === "level") coefficients = removeLevel(coefficients, config.nMfcc > 0);
  if (config.deltas) coefficients = appendDeltas(coefficients);
  if (config.utteranceNorm === "mean" || config.utteranceNorm === "meanvar") {
    coefficients = normalizeOverTime(coefficients, config.utteranceNorm === "meanvar");
  }
  let grid = config.timeGrid === "stretch" ? stretchFrames(coefficients, config.frames) : centerFrames(coefficients, config.frames);
  if (augmentGrid) grid = { ...grid, data: augmentGrid(grid.data, grid.frames, grid.bins) };
  const values = config.timeDct ? timeCosines(grid, config.timeDct) : grid.data;
  if (values.length !== featureLength(config)) throw new Error("feature length does not match the config");
  return { values, logMel };
}

/** (x - mean) / std per value, with the statistics saved in features.json. */
export function normalize(values: Float32Array, stats: FeatureStats): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - stats.mean[i]) / stats.std[i];
  return out;
}

/** Per-value mean and standard deviation over a set of feature vectors (std floored to avoid division by ~0). */
export function computeStats(vectors: Float32Array[]): FeatureStats {
  const n = vectors[0].length;
  const mean = new Float64Array(n);
  const sq = new Float64Array(n);
  for (const v of vectors) {
    for (let i = 0; i < n; i++) {
      mean[i] += v[i];
      sq[i] += v[i] * v[i];
    }
  }
  const count = vectors.length;
  const std = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    mean[i] /= count;
    std[i] = Math.sqrt(Math.max(sq[i] / count - mean[i] * mean[i], 0)) || 1;
    std[i] = Math.max(std[i], 1e-3);
  }
  return { mean: Array.from(mean, (x) => Math.fround(x)), std: std.map((x) => Math.fround(x)) };
}

/** Regression deltas over +-2 frames (the HTK formula), edges repeated; appended after each frame's values. */
export function appendDeltas(spec: Spectrogram): Spectrogram {
  const { frames, bins } = spec;
  const out = new Float32Array(frames * bins * 2);
  const at = (t: number, k: number) => spec.data[Math.min(frames - 1, Math.max(0, t)) * bins + k];
  for (let t = 0; t < frames; t++) {
    for (let k = 0; k < bins; k++) {
      out[t * 2 * bins + k] = spec.data[t * bins + k];
      out[t * 2 * bins + bins + k] = ((at(t + 1, k) - at(t - 1, k)) + 2 * (at(t + 2, k) - at(t - 2, k))) / 10;
    }
  }
  return { data: out, frames, bins: bins * 2 };
}

/**
 * Subtracts the clip's loudness: c0's mean over time from c0 (`cepstral`), or else the mean over every band and
 * frame from all of them. A gain of g dB adds g to every log-mel band, hence g * sqrt(nMels) to c0 and nothing
 * to the other coefficients (orthonormal DCT), so either way the result no longer depends on the gain.
 */
export function removeLevel(spec: Spectrogram, cepstral: boolean): Spectrogram {
  const { frames, bins } = spec;
  const data = spec.data.slice();
  const counted = cepstral ? 1 : bins;
  let sum = 0;
  for (let t = 0; t < frames; t++) for (let k = 0; k < counted; k++) sum += data[t * bins + k];
  const mean = sum / (frames * counted);
  for (let t = 0; t < frames; t++) for (let k = 0; k < counted; k++) data[t * bins + k] -= mean;
  return { data, frames, bins };
}

/** Subtracts each coefficient's mean over time and, with `variance`, divides by its deviation (CMN / CMVN). */
export function normalizeOverTime(spec: Spectrogram, variance: boolean): Spectrogram {
  const { frames, bins } = spec;
  const out = new Float32Array(spec.data.length);
  for (let k = 0; k < bins; k++) {
    let sum = 0;
    let sq = 0;
    for (let t = 0; t < frames; t++) {
      const v = spec.data[t * bins + k];
      sum += v;
      sq += v * v;
    }
    const mean = sum / frames;
    const std = variance ? Math.sqrt(Math.max(sq / frames - mean * mean, 0)) + 1e-5 : 1;
    for (let t = 0; t < frames; t++) out[t * bins + k] = (spec.data[t * bins + k] - mean) / std;
  }
  return { data: out, frames, bins };
}

/**
 * The lowest `count` orthonormal DCT-II terms of each coefficient's trajectory over the grid's frames
 * (scipy.fft.dct(grid, type=2, norm="ortho", axis=0)[:count].T), flat [bins][count]. The grid's
 * slow movements survive, frame-to-frame jitter does not; with count = frames it is a rotation (nothing lost).
 */
export function timeCosines(grid: Spectrogram, count: number): Float32Array {
  const { frames, bins } = grid;
  const m = dctMatrix(frames, count);
  const out = new Float32Array(bins * count);
  for (let k = 0; k < bins; k++) {
    for (let c = 0; c < count; c++) {
      let acc = 0;
      for (let t = 0; t < frames; t++) acc += m[c * frames + t] * grid.data[t * bins + k];
      out[k * count + c] = acc;
    }
  }
  return out;
}

/** Linear interpolation along time onto exactly `frames` frames (frame centres aligned at both ends). */
export function stretchFrames(spec: Spectrogram, frames: number): Spectrogram {
  const { bins } = spec;
  const out = new Float32Array(frames * bins);
  for (let t = 0; t < frames; t++) {
    const x = spec.frames === 1 || frames === 1 ? 0 : (t * (spec.frames - 1)) / (frames - 1);
    const i = Math.floor(x);
    const frac = x - i;
    const j = Math.min(spec.frames - 1, i + 1);
    for (let k = 0; k < bins; k++) {
      out[t * bins + k] = spec.data[i * bins + k] * (1 - frac) + spec.data[j * bins + k] * frac;
    }
  }
  return { data: out, frames, bins };
}

/** The middle `frames` frames, zero-padded equally on both sides when the speech is shorter. */
export function centerFrames(spec: Spectrogram, frames: number): Spectrogram {
  const { bins } = spec;
  const out = new Float32Array(frames * bins);
  const offset = Math.floor((frames - spec.frames) / 2);
  for (let t = 0; t < frames; t++) {
    const source = t - offset;
    if (source >= 0 && source < spec.frames) out.set(spec.data.subarray(source * bins, (source + 1) * bins), t * bins);
  }
  return { data: out, frames, bins };
}
