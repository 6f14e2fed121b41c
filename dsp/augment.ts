/**
 * Training-time augmentations: pure functions of samples and a seeded Random, so that a training run
 * repeats exactly. They stand in for what FSDD lacks: other voices (speed, vocal-tract warp), other rooms
 * (reverberation, noise), other microphones (band-limiting, gain) and sloppy recordings (silence, shifts).
 */
import { gaussian, type Random, uniform } from "./random.ts";
import { resample } from "./resample.ts";

export function meanSquare(samples: Float32Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return samples.length ? sum / samples.length : 0;
}

/** Plays the clip `factor` times faster (pitch and tempo together, like Kaldi's speed perturbation). */
export function changeSpeed(samples: Float32Array, sampleRate: number, factor: number): Float32Array {
  return resample(samples, Math.round(sampleRate * factor), sampleRate);
}

export function applyGain(samples: Float32Array, db: number): Float32Array {
  const g = 10 ** (db / 20);
  return samples.map((s) => s * g);
}

export function whiteNoise(length: number, random: Random): Float32Array {
  return Float32Array.from({ length }, () => gaussian(random));
}

/** Pink (1/f) noise by Paul Kellet's economy filter over white noise. */
export function pinkNoise(length: number, random: Random): Float32Array {
  const out = new Float32Array(length);
  let b0 = 0, b1 = 0, b2 = 0;
  for (let i = 0; i < length; i++) {
    const white = gaussian(random);
    b0 = 0.99765 * b0 + white * 0.099046;
    b1 = 0.96300 * b1 + white * 0.2965164;
    b2 = 0.57000 * b2 + white * 1.0526913;
    out[i] = b0 + b1 + b2 + white * 0.1848;
  }
  return out;
}

/** Babble: several other utterances summed, each looped to `length` from a random offset. */
export function babbleNoise(length: number, others: Float32Array[], voices: number, random: Random): Float32Array {
  const out = new Float32Array(length);
  for (let v = 0; v < voices && others.length; v++) {
    const source = others[Math.floor(random() * others.length)];
    const offset = Math.floor(random() * source.length);
    for (let i = 0; i < length; i++) out[i] += source[(offset + i) % source.length];
  }
  return out;
}

/**
 * Adds `noise` (looped as needed) scaled so that signal power over noise power is `snrDb`. The signal's
 * power is the clip's own unless `signalPower` is given (the speech alone, before silence was padded on).
 */
export function addNoise(samples: Float32Array, noise: Float32Array, snrDb: number, signalPower = meanSquare(samples)): Float32Array {
  const looped = Float32Array.from(samples, (_, i) => noise[i % noise.length]);
  const noisePower = meanSquare(looped);
  if (signalPower === 0 || noisePower === 0) return samples.slice();
  const scale = Math.sqrt(signalPower / (noisePower * 10 ** (snrDb / 10)));
  return samples.map((s, i) => s + looped[i] * scale);
}

/**
 * A small room: convolution with exponentially decaying noise whose level falls by 60 dB in `rt60S`
 * (the impulse response is cut at 60 dB), mixed with the dry sound at `wet` and level-matched.
 */
export function reverberate(samples: Float32Array, sampleRate: number, rt60S: number, wet: number, random: Random): Float32Array {
  const length = Math.max(1, Math.round(rt60S * sampleRate));
  const decay = Math.log(1000) / length; // amplitude reaches -60 dB at the end
  const ir = Float32Array.from({ length }, (_, i) => gaussian(random) * Math.exp(-decay * i));
  ir[0] = 0;
  let irEnergy = 0;
  for (const v of ir) irEnergy += v * v;
  const norm = 1 / Math.sqrt(irEnergy || 1);
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s === 0) continue;
    const end = Math.min(length, samples.length - i);
    for (let k = 0; k < end; k++) out[i + k] += s * ir[k] * norm;
  }
  const dryGain = 1 - wet;
  const mixed = samples.map((s, i) => dryGain * s + wet * out[i]);
  const rescale = Math.sqrt(meanSquare(samples) / (meanSquare(mixed) || 1));
  return mixed.map((s) => s * rescale);
}

/** Second-order (RBJ cookbook) high-pass then low-pass: a telephone or cheap-microphone band. */
export function bandLimit(samples: Float32Array, sampleRate: number, lowHz: number, highHz: number): Float32Array {
  let out = samples;
  if (lowHz > 0) out = biquad(out, sampleRate, lowHz, "highpass");
  if (highHz < sampleRate / 2) out = biquad(out, sampleRate, highHz, "lowpass");
  return out;
}

/** Normalized biquad coefficients [b0, b1, b2, a1, a2] (a0 divided out). */
type Biquad = [number, number, number, number, number];

function biquad(samples: Float32Array, sampleRate: number, f0: number, kind: "lowpass" | "highpass"): Float32Array {
  const w0 = (2 * Math.PI * f0) / sampleRate;
  const alpha = Math.sin(w0) / (2 * Math.SQRT1_2);
  const cos = Math.cos(w0);
  const b1 = kind === "lowpass" ? 1 - cos : -(1 + cos);
  const b0 = kind === "lowpass" ? (1 - cos) / 2 : (1 + cos) / 2;
  const a0 = 1 + alpha;
  return runBiquad(samples, [b0 / a0, b1 / a0, b0 / a0, (-2 * cos) / a0, (1 - alpha) / a0]);
}

function runBiquad(samples: Float32Array, [b0, b1, b2, a1, a2]: Biquad): Float32Array {
  const out = new Float32Array(samples.length);
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i];
    const y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
    [x2, x1, y2, y1] = [x1, x, y1, y];
    out[i] = y;
  }
  return out;
}

/**
 * A shelving filter (RBJ cookbook, slope 1): frequencies below (low shelf) or above (high shelf) `cornerHz`
 * move by `gainDb`, the rest stay. Two shelves make a microphone's tilt: one bright and thin, another dull
 * and boomy; FSDD's george, for one, has 8 dB less bass and 7 dB more treble than the other five.
 */
export function shelve(samples: Float32Array, sampleRate: number, kind: "low" | "high", cornerHz: number, gainDb: number): Float32Array {
  const a = Math.pow(10, gainDb / 40);
  const w0 = (2 * Math.PI * cornerHz) / sampleRate;
  const cos = Math.cos(w0);
  const alpha = (Math.sin(w0) / 2) * Math.SQRT2; // the cookbook's alpha at shelf slope S = 1
  const twoSqrtAAlpha = 2 * Math.sqrt(a) * alpha;
  const sign = kind === "low" ? 1 : -1;
  const b0 = a * ((a + 1) - sign * (a - 1) * cos + twoSqrtAAlpha);
  const b1 = sign * 2 * a * ((a - 1) - sign * (a + 1) * cos);
  const b2 = a * ((a + 1) - sign * (a - 1) * cos - twoSqrtAAlpha);
  const a0 = (a + 1) + sign * (a - 1) * cos + twoSqrtAAlpha;
  const a1 = -sign * 2 * ((a - 1) + sign * (a + 1) * cos);
  const a2 = (a + 1) + sign * (a - 1) * cos - twoSqrtAAlpha;
  return runBiquad(samples, [b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0]);
}

/** Silence (or the given noise floor) before and after: a clip as a microphone records it. */
export function padWithSilence(samples: Float32Array, before: number, after: number): Float32Array {
  const out = new Float32Array(before + samples.length + after);
  out.set(samples, before);
  return out;
}

/**
 * SpecAugment-style masks on a time-major feature grid [frames][bins]: `timeMasks` runs of up to
 * `maxTime` frames and `freqMasks` bands of up to `maxFreq` coefficients are blanked. `fill` "zero" sets them
 * to 0, which training (masking before normalization) sees as 0 where c0 is -200 to -380: a masked run
 * looks like a loud flat sound. "mean" sets each masked value to its coefficient's mean over this grid, which
 * hides what was there without drawing anything new.
 */
export function specAugment(
  values: Float32Array,
  frames: number,
  bins: number,
  random: Random,
  { timeMasks = 1, maxTime = 4, freqMasks = 1, maxFreq = 3, fill = "zero" as "zero" | "mean" } = {},
): Float32Array {
  const out = values.slice();
  const blank = new Float32Array(bins);
  if (fill === "mean") {
    for (let t = 0; t < frames; t++) for (let k = 0; k < bins; k++) blank[k] += values[t * bins + k] / frames;
  }
  for (let m = 0; m < timeMasks; m++) {
    const width = Math.floor(random() * (maxTime + 1));
    const start = Math.floor(random() * Math.max(1, frames - width));
    for (let t = start; t < start + width; t++) out.set(blank, t * bins);
  }
  for (let m = 0; m < freqMasks; m++) {
    const width = Math.floor(random() * (maxFreq + 1));
    const start = Math.floor(random() * Math.max(1, bins - width));
    for (let t = 0; t < frames; t++) out.set(blank.subarray(start, start + width), t * bins + start);
  }
  return out;
}

/**
 * SpecAugment's time warp on a time-major grid [frames][bins]: a random knot frame moves by up to `maxShift`
 * frames and the time axis on each side of it is stretched linearly to follow, so one part of the word gets
 * longer and the other shorter. Uniform speed changes vanish on the stretched grid; this is the uneven part
 * that speakers differ by (a long "s", a clipped vowel). The first and last frames stay put.
 */
export function timeWarp(values: Float32Array, frames: number, bins: number, maxShift: number, random: Random): Float32Array {
  const last = frames - 1;
  if (last < 4 || maxShift <= 0) return values.slice();
  const knot = Math.round(uniform(random, 0.3, 0.7) * last);
  // The knot's new place, kept two frames from either end so both sides still have frames to stretch.
  const moved = Math.min(last - 2, Math.max(2, knot + uniform(random, -maxShift, maxShift)));
  const out = new Float32Array(values.length);
  for (let t = 0; t <= last; t++) {
    // Output frame t reads source position x: the inverse of the piecewise-linear map knot -> moved.
    const x = t <= moved ? (t * knot) / moved : knot + ((t - moved) * (last - knot)) / (last - moved);
    const i = Math.min(last, Math.floor(x));
    const j = Math.min(last, i + 1);
    const frac = x - i;
    for (let k = 0; k < bins; k++) out[t * bins + k] = values[i * bins + k] * (1 - frac) + values[j * bins + k] * frac;
  }
  return out;
}

/** Knobs of the random augmentation recipe; ranges are uniform unless said otherwise. */
export interface AugmentRecipe {
  speed: [number, number];
  /** Vocal-tract-length warp of the mel filterbank (passed to extractFeatures as `warp`). */
  warp: [number, number];
  gainDb: [number, number];
  /** Probability of adding noise, and its SNR range. */
  noiseProbability: number;
  snrDb: [number, number];
  reverbProbability: number;
  rt60S: [number, number];
  bandLimitProbability: number;
  /** Probability of a random microphone tilt: a low shelf (200-600 Hz) and a high shelf (1.5-3 kHz), each by a gain in `shelfDb`. */
  eqProbability: number;
  shelfDb: [number, number];
  /** Seconds of silence (with the noise, if any) added before and after, each. */
  padS: [number, number];
}

export const DEFAULT_RECIPE: AugmentRecipe = {
  speed: [0.88, 1.12],
  warp: [0.88, 1.12],
  gainDb: [-12, 6],
  noiseProbability: 0.6,
  snrDb: [5, 30],
  reverbProbability: 0.3,
  rt60S: [0.1, 0.35],
  bandLimitProbability: 0.3,
  eqProbability: 0,
  shelfDb: [-10, 10],
  padS: [0, 0.6],
};

/** Speeds are drawn from a grid of 0.02 so the resampler's cached filter tables stay few. */
function quantizedSpeed(random: Random, [lo, hi]: [number, number]): number {
  return Math.round(uniform(random, lo, hi) * 50) / 50;
}

/** One random augmentation of a clip; returns the new samples and the mel warp to use for it. */
export function augmentClip(
  samples: Float32Array,
  sampleRate: number,
  recipe: AugmentRecipe,
  random: Random,
  babbleSources: Float32Array[],
): { samples: Float32Array; warp: number } {
  let out = changeSpeed(samples, sampleRate, quantizedSpeed(random, recipe.speed));
  if (random() < recipe.reverbProbability) {
    out = reverberate(out, sampleRate, uniform(random, ...recipe.rt60S), uniform(random, 0.2, 0.6), random);
  }
  // Recipes written before the tilt existed have no eqProbability, and draw nothing for it.
  if (recipe.eqProbability > 0 && random() < recipe.eqProbability) {
    out = shelve(out, sampleRate, "low", uniform(random, 200, 600), uniform(random, ...recipe.shelfDb));
    out = shelve(out, sampleRate, "high", uniform(random, 1500, 3000), uniform(random, ...recipe.shelfDb));
  }
  if (random() < recipe.bandLimitProbability) out = bandLimit(out, sampleRate, uniform(random, 100, 400), uniform(random, 2600, 3800));
  const speechPower = meanSquare(out);
  const pad = () => Math.floor(uniform(random, ...recipe.padS) * sampleRate);
  out = padWithSilence(out, pad(), pad());
  if (random() < recipe.noiseProbability) {
    const kind = random();
    const noise = kind < 0.35
      ? whiteNoise(out.length, random)
      : kind < 0.7
      ? pinkNoise(out.length, random)
      : babbleNoise(out.length, babbleSources, 3, random);
    out = addNoise(out, noise, uniform(random, ...recipe.snrDb), speechPower);
  }
  out = applyGain(out, uniform(random, ...recipe.gainDb));
  return { samples: out, warp: uniform(random, ...recipe.warp) };
}
