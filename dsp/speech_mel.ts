/**
 * The front end of the speech embedding (config.embedding): a fixed crop of audio around the speech, its level set,
 * then the log-mel that Google's speech_embedding was trained on, as openWakeWord's melspectrogram.onnx computes it:
 *   librosa.power_to_db(librosa.feature.melspectrogram(y, sr=16000, n_fft=512, win_length=400, hop_length=160,
 *     center=False, power=2, n_mels=32, fmin=60, fmax=3800, htk=False, norm="slaney"), ref=1, amin=1e-10,
 *     top_db=80) / 10 + 2
 * with y in 16-bit integer units. Note the floor: 80 dB below the loudest value of the whole crop, so the same word
 * gives other numbers in a longer crop. That is why the crop has a fixed length and is what training, the server
 * and the browser all feed (tests/dsp_speech_mel_test.ts checks it against onnxruntime).
 */
import type { FeatureConfig } from "./config.ts";
import { removeDc } from "./dc.ts";
import { gaussian, seededRandom } from "./random.ts";
import { resample } from "./resample.ts";
import type { SpeechSegment } from "./speech.ts";
import { melSpectrogram, powerSpectrogram, powerToDb, type Spectrogram } from "./spectrogram.ts";

/** The dither's seed: fixed, so that a clip always gets the same answer. */
const DITHER_SEED = 0x5eed;

function embeddingOf(config: FeatureConfig) {
  if (!config.embedding) throw new Error("this feature config has no speech embedding front end");
  return config.embedding;
}

/** Samples (at the embedding's rate) the crop spans: `frames` frames, not centred. */
export function cropSamples(config: FeatureConfig): number {
  return (config.frames - 1) * config.hopLength + config.nFft;
}

/**
 * The network's log-mel input for samples at the embedding's rate and full scale, [frames][nMels]; `db` is the same
 * before the x * dbScale + dbOffset step (the picture shown to people). `warp` scales the filterbank (training only).
 */
export function speechMel(samples: Float32Array, config: FeatureConfig, warp = 1): { input: Spectrogram; db: Spectrogram } {
  const embedding = embeddingOf(config);
  const power = powerSpectrogram(samples, config.nFft, config.hopLength, config.center ?? true, config.winLength ?? config.nFft);
  const mel = melSpectrogram(power, { ...config, sampleRate: embedding.sampleRate }, warp);
  const db = powerToDb(mel, config.amin, config.topDb);
  const input = new Float32Array(db.data.length);
  for (let i = 0; i < input.length; i++) input[i] = db.data[i] * embedding.dbScale + embedding.dbOffset;
  return { input: { ...db, data: input }, db };
}

/** Samples of the crop at config.sampleRate, before it is brought to the embedding's rate (cropSamples there). */
export function cropInputSamples(config: FeatureConfig): number {
  const embedding = embeddingOf(config);
  return Math.ceil(cropSamples(config) / (embedding.sampleRate / config.sampleRate));
}

/**
 * The gain that brings speech of RMS `rms` to the embedding's `levelRms`, capped at 60 dB: a near-silent input is
 * not blown up into pure noise at full level.
 */
export function levelGain(rms: number, config: FeatureConfig): number {
  return rms > 0 ? Math.min(embeddingOf(config).levelRms / rms, 1000) : 1;
}

/**
 * Audio at config.sampleRate -> what the embedding's front end reads: scaled by `gain`, plus the fixed dither (digital
 * silence looks like a quiet room), at the embedding's rate and full scale. The crop and the spotter's whole
 * recordings both go through here.
 */
export function toEmbeddingScale(samples: Float32Array, gain: number, config: FeatureConfig): Float32Array {
  const embedding = embeddingOf(config);
  const dither = fixedDither(samples.length, embedding.ditherRms);
  const scaled = new Float32Array(samples.length);
  for (let i = 0; i < scaled.length; i++) scaled[i] = samples[i] * gain + dither[i];
  const out = resample(scaled, config.sampleRate, embedding.sampleRate);
  for (let i = 0; i < out.length; i++) out[i] *= embedding.fullScale;
  return out;
}

/**
 * The audio the embedding judges, at its rate and full scale: `cropSamples` samples centred on the speech (zeros
 * past the clip's ends), scaled so that the speech has RMS `levelRms`, plus a fixed dither. `samples` are at
 * config.sampleRate with the DC removed.
 */
export function embeddingCrop(samples: Float32Array, speech: SpeechSegment, config: FeatureConfig): Float32Array {
  const length = cropInputSamples(config);
  const start = Math.round((speech.start + speech.end) / 2 - length / 2);
  const crop = new Float32Array(length);
  const from = Math.max(0, start);
  const to = Math.min(samples.length, start + length);
  if (to > from) crop.set(samples.subarray(from, to), from - start);
  let energy = 0;
  for (let i = speech.start; i < speech.end; i++) energy += samples[i] * samples[i];
  const rms = Math.sqrt(energy / Math.max(1, speech.end - speech.start));
  return toEmbeddingScale(crop, levelGain(rms, config), config).slice(0, cropSamples(config));
}

/** The last dither made: every crop of a model has the same length and level, so it is the same noise each time. */
let lastDither: { length: number; rms: number; noise: Float64Array } | undefined;

/**
 * `length` samples of seeded Gaussian noise at RMS `rms`: the same numbers on every call (DITHER_SEED). Kept from
 * one call to the next because drawing them (Box-Muller, 6,400 samples) cost as much as the resampling after it. Float64: the sum is rounded once, as before.
 */
function fixedDither(length: number, rms: number): Float64Array {
  if (lastDither?.length !== length || lastDither.rms !== rms) {
    const random = seededRandom(DITHER_SEED);
    const noise = new Float64Array(length);
    for (let i = 0; i < length; i++) noise[i] = rms * gaussian(random);
    lastDither = { length, rms, noise };
  }
  return lastDither.noise;
}

// ---------------------------------------------------------------------------------------------------------------
// A whole recording (the spotter, models/spotter.ts): every 80 ms vector of it in one pass

/** Seconds between two vectors: stepFrames hops. */
export function vectorStepS(config: FeatureConfig): number {
  const e = embeddingOf(config);
  return (e.stepFrames * config.hopLength) / e.sampleRate;
}

/**
 * Samples (at config.sampleRate) put before the recording so that vector j is centred at j * vectorStepS: the first
 * window's centre lies (windowFrames - 1) / 2 hops + nFft / 2 samples into the input.
 */
export function leadSamples(config: FeatureConfig): number {
  const e = embeddingOf(config);
  const centre = ((e.windowFrames - 1) / 2) * config.hopLength + config.nFft / 2;
  return Math.round((centre * config.sampleRate) / e.sampleRate);
}

/** RMS of the loudest `windowS` seconds (hops of 10 ms), or of everything when shorter. */
export function loudestRms(samples: Float32Array, sampleRate: number, windowS = 0.5): number {
  const width = Math.min(samples.length, Math.round(windowS * sampleRate));
  if (width === 0) return 0;
  const prefix = new Float64Array(samples.length + 1);
  for (let i = 0; i < samples.length; i++) prefix[i + 1] = prefix[i] + samples[i] * samples[i];
  const hop = Math.max(1, Math.round(0.01 * sampleRate));
  let loudest = 0;
  for (let at = 0; at + width <= samples.length; at += hop) loudest = Math.max(loudest, prefix[at + width] - prefix[at]);
  return Math.sqrt(loudest / width);
}

/**
 * The embedding's log-mel input for a whole recording (samples at config.sampleRate), [frames][nMels] with
 * frames = windowFrames + k * stepFrames. The served crop sets the speech's RMS to levelRms; a long input has many
 * words, so its loudest 0.5 s (about one digit) is set to levelRms instead. That keeps the dB floor (80 dB below the
 * input's maximum) where the crop has it. Padded with leadSamples of silence at both ends, dithered as the crop is.
 */
export function sequenceMel(samples: Float32Array, config: FeatureConfig): { data: Float32Array; frames: number } {
  const e = embeddingOf(config);
  const x = removeDc(samples);
  // The crop's level and dither, over the whole recording padded with silence.
  const lead = leadSamples(config);
  const padded = new Float32Array(lead + x.length + lead);
  padded.set(x, lead);
  const up = toEmbeddingScale(padded, levelGain(loudestRms(x, config.sampleRate), config), config);
  const { input } = speechMel(up, config);
  const frames = input.frames < e.windowFrames
    ? 0
    : e.windowFrames + Math.floor((input.frames - e.windowFrames) / e.stepFrames) * e.stepFrames;
  // Cannot happen: the padding alone is more than one window.
  if (frames === 0) throw new Error("the recording is too short for one embedding window");
  return { data: input.data.subarray(0, frames * config.nMels), frames };
}
