/**
 * Band-limited resampling with a Kaiser-windowed sinc (the method of librosa's `res_type="kaiser_best"`
 * family, not its exact filter). For a rational ratio L/M (after dividing by the gcd) the filter taps of
 * every one of the L output phases are computed once and cached: that table is what makes a 1 s clip cost
 * about a millisecond instead of ~19 ms for taps computed per sample.
 *
 * Bounded for untrusted rates: a ratio whose exact table would be large (L over 4,096 phases, or over 2^20
 * taps: 47,999 -> 8,000, 191,998 -> 8,000) uses one small table of 512 phases instead, each tap interpolated
 * linearly between two rows (error ~4e-6 of the tap, -100 dB); the cache keeps the last 8 filters only.
 * Before: each such rate computed every tap with a Bessel series (3.3 s for a 1 MB WAV at 383,999 Hz), or
 * kept a ~19.5 MB table for good (thirty rates: +560 MB).
 */

/**
 * Zero crossings of the sinc on each side: the filter is 2 * ZEROS / cutoff input samples long. With the
 * Kaiser beta below, 12 gives a transition band of about 0.27 x the new Nyquist (48 -> 8 kHz: 3.6 to ~4.15 kHz)
 * at half the cost of 24.
 */
const ZEROS = 12;
/** Kaiser beta: ~60 dB stop-band attenuation, well below what 16-bit speech at 8 kHz needs. */
const KAISER_BETA = 6;
/** Pass-band edge as a fraction of the lower Nyquist; the transition band takes the rest. */
const ROLLOFF = 0.9;
/** Ratios with more phases than this, or more taps than MAX_TABLE_TAPS, use the interpolated table. */
const MAX_TABLE_PHASES = 4096;
const MAX_TABLE_TAPS = 1 << 20;
/** Phases of the interpolated table (one more row is kept: phase 1, for interpolating the last step). */
const INTERPOLATED_PHASES = 512;
/** Filters kept (least recently used dropped first). */
const CACHE_ENTRIES = 8;

interface PolyphaseFilter {
  up: number;
  down: number;
  /** Taps each side of the centre, in input samples. */
  half: number;
  /**
   * `exact`: `up` rows of `2 * half + 1` taps; row p is the filter for output phase p. Otherwise
   * INTERPOLATED_PHASES + 1 rows; row r is the filter at fractional delay r / INTERPOLATED_PHASES.
   */
  taps: Float32Array;
  exact: boolean;
  cutoff: number;
}

/** A Map iterates in insertion order: re-inserting on use keeps the least recently used first. */
const cache = new Map<string, PolyphaseFilter>();

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind, by its power series. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

/** The filter's value at `t` input samples from the output instant. */
function kernel(t: number, cutoff: number, half: number): number {
  if (Math.abs(t) > half) return 0;
  const x = t / half;
  const window = besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - x * x))) / besselI0(KAISER_BETA);
  const arg = Math.PI * cutoff * t;
  const sinc = arg === 0 ? 1 : Math.sin(arg) / arg;
  return cutoff * sinc * window;
}

function filterFor(fromRate: number, toRate: number): PolyphaseFilter {
  const key = `${fromRate}:${toRate}`;
  const cached = cache.get(key);
  if (cached) {
    cache.delete(key);
    cache.set(key, cached);
    return cached;
  }
  const { up, down, half, cutoff, exact } = shape(fromRate, toRate);
  const width = 2 * half + 1;
  const rows = exact ? up : INTERPOLATED_PHASES + 1;
  const taps = new Float32Array(rows * width);
  for (let p = 0; p < rows; p++) {
    const frac = exact ? p / up : p / INTERPOLATED_PHASES;
    for (let k = -half; k <= half; k++) taps[p * width + k + half] = kernel(k - frac, cutoff, half);
  }
  const filter = { up, down, half, taps, exact, cutoff };
  cache.set(key, filter);
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  return filter;
}

function shape(fromRate: number, toRate: number) {
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  // The cutoff, relative to the input Nyquist, falls below 1 when we decimate, which is the anti-aliasing.
  const cutoff = Math.min(1, up / down) * ROLLOFF;
  const half = Math.ceil(ZEROS / cutoff);
  const exact = up <= MAX_TABLE_PHASES && up * (2 * half + 1) <= MAX_TABLE_TAPS;
  return { up, down, half, cutoff, exact };
}

/**
 * Roughly how many multiply-adds resampling `length` samples costs, building the filter included when it is
 * not cached (a tap of the table costs ~30: a Bessel series). Callers use it to keep large jobs off a thread
 * that must stay responsive.
 */
export function resampleCost(length: number, fromRate: number, toRate: number): number {
  if (fromRate === toRate) return 0;
  const { up, down, half, exact } = shape(fromRate, toRate);
  const width = 2 * half + 1;
  const build = cache.has(`${fromRate}:${toRate}`) ? 0 : 30 * width * (exact ? up : INTERPOLATED_PHASES + 1);
  return build + Math.ceil((length * up) / down) * width * (exact ? 1 : 2);
}

/**
 * Resamples `samples` from `fromRate` to `toRate` Hz. Output length is ceil(n * toRate / fromRate)
 * (librosa `resample(..., fix=True)` length). Samples outside the input count as zero.
 */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return samples;
  const filter = filterFor(fromRate, toRate);
  const out = new Float32Array(Math.ceil((samples.length * filter.up) / filter.down));
  // Two loops rather than one with a branch inside: the table loop is the hot path and stays simple.
  if (filter.exact) resampleWithTable(samples, out, filter);
  else resampleInterpolated(samples, out, filter);
  return out;
}

function resampleWithTable(samples: Float32Array, out: Float32Array, { up, down, half, taps }: PolyphaseFilter) {
  const width = 2 * half + 1;
  const n = samples.length;
  for (let i = 0; i < out.length; i++) {
    // Output i sits at input time i * down / up = base + phase / up.
    const position = i * down;
    const base = Math.floor(position / up);
    const row = (position - base * up) * width + half - base;
    const lo = Math.max(base - half, 0);
    const hi = Math.min(base + half, n - 1);
    let acc = 0;
    for (let j = lo; j <= hi; j++) acc += samples[j] * taps[row + j];
    out[i] = acc;
  }
}

/** Each tap interpolated between the two rows around the output's fractional delay. */
function resampleInterpolated(samples: Float32Array, out: Float32Array, { up, down, half, taps }: PolyphaseFilter) {
  const width = 2 * half + 1;
  const n = samples.length;
  for (let i = 0; i < out.length; i++) {
    const position = i * down;
    const base = Math.floor(position / up);
    const phase = ((position - base * up) / up) * INTERPOLATED_PHASES;
    const r = Math.floor(phase);
    const w = phase - r;
    const row = r * width + half - base;
    const next = row + width;
    const lo = Math.max(base - half, 0);
    const hi = Math.min(base + half, n - 1);
    let acc = 0;
    for (let j = lo; j <= hi; j++) {
      const a = taps[row + j];
      acc += samples[j] * (a + w * (taps[next + j] - a));
    }
    out[i] = acc;
  }
}

/** A resampler fed in pieces: resample() of everything pushed so far, output by output, as soon as each is final. */
export interface StreamResampler {
  /** The outputs that `samples` (the next input) completes; the same numbers resample() gives the whole input. */
  push(samples: Float32Array): Float32Array;
}

/**
 * resample() for a stream (live listening): output i is final once the input reaches its last tap, base + half, so
 * each push returns the outputs it completes and keeps the `2 * half` inputs the next ones still need. Inputs
 * before the first count as zero, as in resample(); the stream never ends, so there is no zero padding after it.
 */
export function createStreamResampler(fromRate: number, toRate: number): StreamResampler {
  if (fromRate === toRate) return { push: (samples) => samples.slice() };
  const filter = filterFor(fromRate, toRate);
  const { up, down, half, taps, exact } = filter;
  const width = 2 * half + 1;
  let kept = new Float32Array(0);
  /** Absolute index of kept[0]. */
  let keptFrom = 0;
  let next = 0;
  return {
    push(samples) {
      const input = new Float32Array(kept.length + samples.length);
      input.set(kept);
      input.set(samples, kept.length);
      const total = keptFrom + input.length;
      const out: number[] = [];
      for (;; next++) {
        const position = next * down;
        const base = Math.floor(position / up);
        if (base + half >= total) break;
        const lo = Math.max(base - half, 0);
        let acc = 0;
        if (exact) {
          const row = (position - base * up) * width + half - base;
          for (let j = lo; j <= base + half; j++) acc += input[j - keptFrom] * taps[row + j];
        } else {
          const phase = ((position - base * up) / up) * INTERPOLATED_PHASES;
          const r = Math.floor(phase);
          const w = phase - r;
          const row = r * width + half - base;
          for (let j = lo; j <= base + half; j++) {
            const a = taps[row + j];
            acc += input[j - keptFrom] * (a + w * (taps[row + width + j] - a));
          }
        }
        out.push(acc);
      }
      // What the next output reaches back to: base - half of the output `next`.
      const needFrom = Math.max(0, Math.floor((next * down) / up) - half);
      kept = input.slice(Math.min(input.length, Math.max(0, needFrom - keptFrom)));
      keptFrom = Math.max(keptFrom, Math.min(total, needFrom));
      return Float32Array.from(out);
    },
  };
}
