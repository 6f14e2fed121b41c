/**
 * Short-time Fourier transform, mel filterbank and dB scaling, written to match librosa:
 *   stft:        librosa.stft(y, n_fft, hop_length, win_length=n_fft, window="hann", center=True, pad_mode="constant")
 *   mel filters: librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney")
 *   dB:          librosa.power_to_db(S, ref=1.0, amin, top_db)
 *   mfcc:        librosa.feature.mfcc(S=power_to_db(mel), n_mfcc, dct_type=2, norm="ortho")
 * Spectrogram layout everywhere: `frames` rows of `bins` values, row-major (time-major), one Float32Array.
 */
import FFT from "fft.js";

export interface Spectrogram {
  /** Row-major [frames][bins]. */
  data: Float32Array;
  frames: number;
  bins: number;
}

/** Periodic Hann window (scipy.signal.get_window("hann", n, fftbins=True), what librosa uses). */
export function hannWindow(n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/** A Hann window of `winLength` zero-padded on both sides to `nFft` (librosa's `win_length` < `n_fft`). */
export function paddedHannWindow(nFft: number, winLength: number): Float32Array {
  const window = new Float32Array(nFft);
  window.set(hannWindow(winLength), (nFft - winLength) >> 1);
  return window;
}

const ffts = new Map<string, { fft: FFT; window: Float32Array }>();
function fftOf(nFft: number, winLength: number) {
  const key = `${nFft}:${winLength}`;
  let entry = ffts.get(key);
  if (!entry) {
    entry = { fft: new FFT(nFft), window: paddedHannWindow(nFft, winLength) };
    ffts.set(key, entry);
  }
  return entry;
}

/**
 * Power spectrogram |STFT|^2, shape [1 + floor(n / hop)][nFft / 2 + 1]. With `center`, the signal is padded
 * by nFft / 2 zeros on both sides so that frame t is centred on sample t * hop (librosa center=True). The Hann
 * window is `winLength` long, centred in the frame (librosa `win_length`).
 */
export function powerSpectrogram(samples: Float32Array, nFft: number, hopLength: number, center = true, winLength = nFft): Spectrogram {
  const { fft, window } = fftOf(nFft, winLength);
  const pad = center ? nFft >> 1 : 0;
  const padded = samples.length + 2 * pad;
  const frames = padded < nFft ? 0 : 1 + Math.floor((padded - nFft) / hopLength);
  const bins = (nFft >> 1) + 1;
  const data = new Float32Array(frames * bins);
  const frame = new Float64Array(nFft);
  const spectrum = fft.createComplexArray() as number[];
  for (let t = 0; t < frames; t++) {
    const start = t * hopLength - pad;
    for (let i = 0; i < nFft; i++) {
      const j = start + i;
      frame[i] = j >= 0 && j < samples.length ? samples[j] * window[i] : 0;
    }
    fft.realTransform(spectrum, frame as unknown as number[]);
    const row = t * bins;
    for (let k = 0; k < bins; k++) {
      const re = spectrum[2 * k];
      const im = spectrum[2 * k + 1];
      data[row + k] = re * re + im * im;
    }
  }
  return { data, frames, bins };
}

/** Slaney mel scale (librosa hz_to_mel with htk=False): linear below 1 kHz, logarithmic above. */
export function hzToMel(hz: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return hz < minLogHz ? hz / fSp : minLogMel + Math.log(hz / minLogHz) / logStep;
}

export function melToHz(mel: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return mel < minLogMel ? mel * fSp : minLogHz * Math.exp(logStep * (mel - minLogMel));
}

/** What a mel filterbank depends on; a FeatureConfig is one. Names map to librosa's sr, n_fft, n_mels, fmin, fmax. */
export interface MelParams {
  sampleRate: number;
  nFft: number;
  nMels: number;
  fMin: number;
  fMax: number;
}

/**
 * Triangular mel filters, Slaney-normalized (each has unit area in Hz), shape [nMels][nFft / 2 + 1].
 * `warp` scales the frequency axis (vocal-tract-length perturbation in training; 1 everywhere else).
 */
export function melFilterbank({ sampleRate, nFft, nMels, fMin, fMax }: MelParams, warp = 1): Float32Array[] {
  const bins = (nFft >> 1) + 1;
  const fftFreqs = Array.from({ length: bins }, (_, k) => Math.min(sampleRate / 2, (k * sampleRate) / nFft * warp));
  const melMin = hzToMel(fMin);
  const melMax = hzToMel(fMax);
  const edges = Array.from({ length: nMels + 2 }, (_, i) => melToHz(melMin + ((melMax - melMin) * i) / (nMels + 1)));
  const filters: Float32Array[] = [];
  for (let m = 0; m < nMels; m++) {
    const [lo, mid, hi] = [edges[m], edges[m + 1], edges[m + 2]];
    const norm = 2 / (hi - lo);
    const filter = new Float32Array(bins);
    for (let k = 0; k < bins; k++) {
      const rising = (fftFreqs[k] - lo) / (mid - lo);
      const falling = (hi - fftFreqs[k]) / (hi - mid);
      filter[k] = Math.max(0, Math.min(rising, falling)) * norm;
    }
    filters.push(filter);
  }
  return filters;
}

/**
 * A filterbank with each filter's nonzero bins [first, last): a triangle spans a few of the 129 bins, so
 * skipping the zeros does a small fraction of the work, with the same sums (only zero terms are left out).
 */
interface SparseFilterbank {
  filters: Float32Array[];
  first: Int32Array;
  last: Int32Array;
}

const filterbanks = new Map<string, SparseFilterbank>();
function cachedFilterbank(params: MelParams, warp: number): SparseFilterbank {
  const key = [params.sampleRate, params.nFft, params.nMels, params.fMin, params.fMax, warp].join(":");
  let bank = filterbanks.get(key);
  if (!bank) {
    const filters = melFilterbank(params, warp);
    const first = Int32Array.from(filters, (f) => Math.max(0, f.findIndex((v) => v !== 0)));
    const last = Int32Array.from(filters, (f) => f.findLastIndex((v) => v !== 0) + 1);
    bank = { filters, first, last };
    // Warps are random per training clip: only keep the unwarped bank and a bounded number of others.
    if (warp === 1 || filterbanks.size < 256) filterbanks.set(key, bank);
  }
  return bank;
}

/** Mel power spectrogram: power spectrogram times the filterbank, shape [frames][nMels]. */
export function melSpectrogram(power: Spectrogram, params: MelParams, warp = 1): Spectrogram {
  const { nMels } = params;
  const { filters, first, last } = cachedFilterbank(params, warp);
  const data = new Float32Array(power.frames * nMels);
  for (let t = 0; t < power.frames; t++) {
    const row = t * power.bins;
    for (let m = 0; m < nMels; m++) {
      const filter = filters[m];
      let acc = 0;
      for (let k = first[m]; k < last[m]; k++) acc += filter[k] * power.data[row + k];
      data[t * nMels + m] = acc;
    }
  }
  return { data, frames: power.frames, bins: nMels };
}

/** librosa.power_to_db with ref=1.0: 10 log10(max(amin, S)), then floored at (max - topDb). */
export function powerToDb(spec: Spectrogram, amin: number, topDb: number | null): Spectrogram {
  const data = new Float32Array(spec.data.length);
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    data[i] = 10 * Math.log10(Math.max(amin, spec.data[i]));
    if (data[i] > max) max = data[i];
  }
  if (topDb !== null) {
    const floor = max - topDb;
    for (let i = 0; i < data.length; i++) if (data[i] < floor) data[i] = floor;
  }
  return { ...spec, data };
}

const dcts = new Map<string, Float32Array>();
/** Orthonormal DCT-II matrix [nOut][nIn] (scipy.fftpack.dct(type=2, norm="ortho"), what librosa uses). */
export function dctMatrix(nIn: number, nOut: number): Float32Array {
  const key = `${nIn}:${nOut}`;
  let m = dcts.get(key);
  if (!m) {
    m = new Float32Array(nOut * nIn);
    for (let k = 0; k < nOut; k++) {
      const scale = k === 0 ? Math.sqrt(1 / nIn) : Math.sqrt(2 / nIn);
      for (let n = 0; n < nIn; n++) m[k * nIn + n] = scale * Math.cos((Math.PI * k * (2 * n + 1)) / (2 * nIn));
    }
    dcts.set(key, m);
  }
  return m;
}

/** MFCC from a log-mel (dB) spectrogram, shape [frames][nMfcc]. */
export function mfcc(logMel: Spectrogram, nMfcc: number): Spectrogram {
  const m = dctMatrix(logMel.bins, nMfcc);
  const data = new Float32Array(logMel.frames * nMfcc);
  for (let t = 0; t < logMel.frames; t++) {
    for (let k = 0; k < nMfcc; k++) {
      let acc = 0;
      for (let n = 0; n < logMel.bins; n++) acc += m[k * logMel.bins + n] * logMel.data[t * logMel.bins + n];
      data[t * nMfcc + k] = acc;
    }
  }
  return { data, frames: logMel.frames, bins: nMfcc };
}
