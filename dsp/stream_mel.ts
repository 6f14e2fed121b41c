/**
 * The embedding's log-mel for a stream (live listening, models/spotter_stream.ts): sequenceMel (dsp/speech_mel.ts)
 * made causal, so that each 10 ms frame is final as soon as its audio has arrived. What sequenceMel takes from the
 * whole recording, this takes from what has been heard so far:
 *   - DC: a one-pole DC blocker (~6 Hz) instead of the recording's mean;
 *   - level: the gain that brings the loudest 0.1 s heard so far to levelRms, updated every 10 ms, never above what
 *     speech at MIN_SPEECH_RMS would get (silence before the first word is not blown up into loud noise);
 *   - the dB floor: topDb below the loudest value so far, not the whole recording's.
 * The same lead of silence starts the stream, so vector j is centred at j * vectorStepS, as in sequenceMel. The lab
 * trains the live spotter on exactly these frames (streamMel over a whole sequence): pushed in pieces or all at once,
 * the frames are the same (tests/dsp_stream_mel_test.ts).
 */
import type { FeatureConfig } from "./config.ts";
import { gaussian, seededRandom } from "./random.ts";
import { createStreamResampler } from "./resample.ts";
import { leadSamples, levelGain } from "./speech_mel.ts";
import { melSpectrogram, powerSpectrogram } from "./spectrogram.ts";

/** Speech this quiet (RMS, full scale 1) or louder is brought to levelRms; quieter sound gets the gain it would. */
export const MIN_SPEECH_RMS = 0.02;
/** The DC blocker's pole at 8 kHz (cut-off ~6 Hz; the mel starts at 60 Hz). */
const DC_POLE_8K = 0.995;
/** The dither's seed (sequenceMel's is another: the stream's noise need not repeat the crop's). */
const DITHER_SEED = 0x11fe;
/**
 * The level is measured over this window, in blocks of 10 ms. Short, so that the first word is brought to level
 * within its first 0.1 s: over 0.5 s (sequenceMel's window) the first loud word's onset came out up to 10 dB too loud,
 * and the dB floor, set from the loudest value so far, stayed raised by it for good.
 */
const LEVEL_WINDOW_S = 0.1;
/** Changes whenever these frames change: the lab's caches of the live head's vectors are keyed by it. */
export const STREAM_MEL_VERSION = 2;

export interface StreamMel {
  /** Samples at config.sampleRate -> the frames they complete, flat [n][nMels] (the network's input units). */
  push(samples: Float32Array): Float32Array;
  /** Frames given so far. */
  readonly frames: number;
  /** Seconds of audio pushed so far (the lead not counted). */
  readonly positionS: number;
}

export function createStreamMel(config: FeatureConfig): StreamMel {
  const e = config.embedding;
  if (!e) throw new Error("this feature config has no speech embedding front end");
  const rate = config.sampleRate;
  const block = Math.max(1, Math.round(0.01 * rate));
  const windowBlocks = Math.round(LEVEL_WINDOW_S / 0.01);
  const pole = DC_POLE_8K ** (8000 / rate);
  const random = seededRandom(DITHER_SEED);
  const upsampler = createStreamResampler(rate, e.sampleRate);
  const melParams = { ...config, sampleRate: e.sampleRate };
  const winLength = config.winLength ?? config.nFft;

  let pending = new Float32Array(0); // samples waiting for a whole 10 ms block
  let dcIn = 0, dcOut = 0;
  const blockEnergy: number[] = [];
  let loudest = 0;
  let pushed = 0;
  let wide = new Float32Array(0); // audio at the embedding's rate from the next frame's first sample on
  let frames = 0;
  let maxDb = -Infinity;

  /** Level-set, dithered, at the embedding's rate and full scale: what the frames are cut from. */
  const toWide = (samples: Float32Array, gain: number) => {
    const scaled = new Float32Array(samples.length);
    for (let i = 0; i < samples.length; i++) scaled[i] = samples[i] * gain + e.ditherRms * gaussian(random);
    const up = upsampler.push(scaled);
    for (let i = 0; i < up.length; i++) up[i] *= e.fullScale;
    const joined = new Float32Array(wide.length + up.length);
    joined.set(wide);
    joined.set(up, wide.length);
    wide = joined;
  };

  /** Every frame `wide` now holds whole, in the network's units; `wide` keeps what the next frame needs. */
  const cutFrames = (): Float32Array => {
    const n = wide.length < config.nFft ? 0 : 1 + Math.floor((wide.length - config.nFft) / config.hopLength);
    if (n === 0) return new Float32Array(0);
    const power = powerSpectrogram(
      wide.subarray(0, (n - 1) * config.hopLength + config.nFft),
      config.nFft,
      config.hopLength,
      false,
      winLength,
    );
    const mel = melSpectrogram(power, melParams);
    wide = wide.slice(n * config.hopLength);
    frames += n;
    const out = new Float32Array(mel.data.length);
    // Frame by frame, so that a frame's floor is the same however the audio was cut into pushes.
    for (let f = 0; f < n; f++) {
      const row = f * config.nMels;
      for (let m = 0; m < config.nMels; m++) {
        const db = 10 * Math.log10(Math.max(config.amin, mel.data[row + m]));
        if (db > maxDb) maxDb = db;
        out[row + m] = db;
      }
      const floor = maxDb - config.topDb;
      for (let m = 0; m < config.nMels; m++) out[row + m] = Math.max(out[row + m], floor) * e.dbScale + e.dbOffset;
    }
    return out;
  };

  // The lead of silence (dither only) that centres vector 0 at the stream's start, as sequenceMel's padding does.
  toWide(new Float32Array(leadSamples(config)), levelGain(MIN_SPEECH_RMS, config));

  return {
    get frames() {
      return frames;
    },
    get positionS() {
      return pushed / rate;
    },
    push(samples) {
      pushed += samples.length;
      const input = new Float32Array(pending.length + samples.length);
      input.set(pending);
      input.set(samples, pending.length);
      const whole = input.length - (input.length % block);
      const out: Float32Array[] = [];
      for (let at = 0; at < whole; at += block) {
        const piece = new Float32Array(block);
        let energy = 0;
        for (let i = 0; i < block; i++) {
          // y[n] = x[n] - x[n-1] + pole * y[n-1]
          dcOut = input[at + i] - dcIn + pole * dcOut;
          dcIn = input[at + i];
          piece[i] = dcOut;
          energy += dcOut * dcOut;
        }
        blockEnergy.push(energy);
        if (blockEnergy.length > windowBlocks) blockEnergy.shift();
        const rms = Math.sqrt(blockEnergy.reduce((a, b) => a + b, 0) / (blockEnergy.length * block));
        loudest = Math.max(loudest, rms);
        toWide(piece, levelGain(Math.max(loudest, MIN_SPEECH_RMS), config));
        // Frames cut as they complete, so `wide` stays one frame long however much is pushed at once.
        out.push(cutFrames());
      }
      pending = input.slice(whole);
      const frames = new Float32Array(out.reduce((n, f) => n + f.length, 0));
      let at = 0;
      for (const f of out) (frames.set(f, at), at += f.length);
      return frames;
    },
  };
}

/**
 * The frames a stream of `samples` (config.sampleRate) gives once all of it has arrived, cut to whole windows
 * (windowFrames + k * stepFrames), as sequenceMel cuts them: what the lab trains and measures the live spotter on.
 */
export function streamMel(samples: Float32Array, config: FeatureConfig): { data: Float32Array; frames: number } {
  const e = config.embedding!;
  const data = createStreamMel(config).push(samples);
  const all = data.length / config.nMels;
  const frames = all < e.windowFrames ? 0 : e.windowFrames + Math.floor((all - e.windowFrames) / e.stepFrames) * e.stepFrames;
  return { data: data.subarray(0, frames * config.nMels), frames };
}

/**
 * Seconds from a vector's centre to the moment its window's last sample has arrived in a stream: vector j of a
 * stream is known at j * vectorStepS + this (0.39 s for the speech embedding: half its 0.78 s window).
 */
export function vectorKnownAfterS(config: FeatureConfig): number {
  const e = config.embedding!;
  return ((e.windowFrames - 1) * config.hopLength + config.nFft) / e.sampleRate - leadSamples(config) / config.sampleRate;
}
