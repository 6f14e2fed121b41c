/**
 * Live listening by spotting (issue "Digit strings by spotting"): audio goes in as it arrives, digits come out as
 * soon as they are final, with no wait for silence. The page's live mode runs it on the microphone.
 *
 *   samples -> dsp/stream_mel.ts (causal log-mel) -> one embedding vector per 80 ms, as soon as its 0.78 s window
 *   is whole -> the live head (models/<name>/spotter_live/: a causal window of vectors, lookahead 0) -> posteriors
 *   -> decodeDigits over everything so far; a digit is handed on once nothing still to come can change it.
 *
 * The digits are exactly what decodeDigits gives the stream's posteriors once all of it has arrived: a digit is handed
 * on once its run is minRun vectors long and their smoothed values are final (confirmVectors); its probabilities and
 * confidence are those of the run so far (tests/model_spotter_stream_test.ts). Touches no file
 * system and no DOM: the page runs it (and the lab and the tests, on recordings pushed in pieces).
 */
import * as tf from "@tensorflow/tfjs";
import type { FeatureConfig } from "../dsp/config.ts";
import { createStreamMel, vectorKnownAfterS } from "../dsp/stream_mel.ts";
import { vectorStepS } from "../dsp/speech_mel.ts";
import { EMBEDDING_SIZE, embedVectors, type SpeechEmbedding } from "./embedding.ts";
import { confirmVectors, decodeDigits, normalizedVectors, type Spotted, type Spotter, writeWindow } from "./spotter.ts";

/** A digit heard in a stream; times in seconds of audio pushed. */
export interface StreamDigit extends Spotted {
  /** How much audio had been pushed when it was handed on. */
  finalAtS: number;
}

export interface SpotterStream {
  /** Samples at config.sampleRate -> the digits now confirmed. Past maxS of audio: an error. */
  push(samples: Float32Array): StreamDigit[];
  /** The stream has ended: silence long enough to make the last digit final, pushed. */
  flush(): StreamDigit[];
  /** Seconds pushed so far. */
  readonly positionS: number;
}

/** A live head that reads the stream's own front end; a spotter for whole recordings is refused. */
export function createSpotterStream(spotter: Spotter, embedding: SpeechEmbedding, config: FeatureConfig, maxS = 60): SpotterStream {
  if (spotter.frontEnd !== "stream") throw new Error("this spotter was trained on whole recordings, not on a stream");
  // A run would be handed on before its peak was known (confirmVectors).
  if (spotter.decoder.peak > 0) throw new Error("a live spotter's decoder has no peak to wait for (peak 0)");
  const e = config.embedding!;
  const step = vectorStepS(config);
  const shiftS = spotter.labelShiftS ?? 0;
  const mel = createStreamMel(config);
  // maxS of audio, the flush's silence after it, and the lead before it.
  const maxVectors = Math.ceil((maxS + 2) / step) + 16;
  let frames = new Float32Array(0); // mel frames from frame `framesFrom` on
  let framesFrom = 0;
  const normalized = new Float32Array(maxVectors * EMBEDDING_SIZE);
  let vectors = 0;
  const posteriors: Float32Array[] = [];
  let emitted = 0;

  /** The vectors whose windows the new frames complete, in one pass of the network. */
  const addVectors = (added: Float32Array) => {
    const joined = new Float32Array(frames.length + added.length);
    joined.set(frames);
    joined.set(added, frames.length);
    frames = joined;
    const have = framesFrom + frames.length / config.nMels;
    const count = have < e.windowFrames ? 0 : Math.floor((have - e.windowFrames) / e.stepFrames) + 1 - vectors;
    if (count <= 0) return;
    const from = (vectors * e.stepFrames - framesFrom) * config.nMels;
    const width = e.windowFrames + (count - 1) * e.stepFrames;
    const fresh = embedVectors(embedding, frames.subarray(from, from + width * config.nMels), width);
    normalized.set(normalizedVectors(fresh, spotter.stats), vectors * EMBEDDING_SIZE);
    vectors += count;
    // Keep only the frames the next vector's window starts from.
    const keepFrom = vectors * e.stepFrames;
    frames = frames.slice((keepFrom - framesFrom) * config.nMels);
    framesFrom = keepFrom;
  };

  /** Posteriors of every vector whose window of the head (lookahead after it) is now whole. */
  const addPosteriors = () => {
    const ready = vectors - spotter.lookahead - posteriors.length;
    if (ready <= 0) return;
    const width = spotter.context * EMBEDDING_SIZE;
    const known = normalized.subarray(0, vectors * EMBEDDING_SIZE);
    const x = new Float32Array(ready * width);
    for (let k = 0; k < ready; k++) writeWindow(x, k * width, known, posteriors.length + k, spotter.context, spotter.lookahead);
    const output = tf.tidy(() => spotter.model.predict(tf.tensor2d(x, [ready, width])) as tf.Tensor);
    const out = output.dataSync() as Float32Array;
    output.dispose();
    const classes = out.length / ready;
    for (let k = 0; k < ready; k++) posteriors.push(out.slice(k * classes, (k + 1) * classes));
  };

  /**
   * The decoder over everything so far; the digits not handed on before whose runs are now confirmed (confirmVectors:
   * minRun vectors, smoothed values final): decodeDigits of the whole stream will have them, whatever comes next.
   */
  const confirmedDigits = (): StreamDigit[] => {
    const decoded = decodeDigits(posteriors, spotter.decoder, step);
    const wait = confirmVectors(spotter.decoder);
    // start_s = (first - 0.5) * step, clamped at 0: ceil gives first back, 0 included.
    const firstOf = (d: Spotted) => Math.ceil(d.start_s / step - 1e-6);
    const confirmed = decoded.filter((d) => firstOf(d) + wait < posteriors.length);
    const fresh = confirmed.slice(emitted);
    emitted = confirmed.length;
    return fresh.map((d) => ({ ...d, ...timesOf(d), finalAtS: mel.positionS }));
  };

  /**
   * Where the digit was said, in seconds of the stream. The head labels what is said shiftS after a vector's centre;
   * one labelled at word ends says only where the word ended (its run's first vector + shiftS; start_s is set to it).
   */
  const timesOf = (d: Spotted): { start_s: number; end_s: number } => {
    if (spotter.endWindowS) {
      const end = d.start_s + shiftS;
      return { start_s: end, end_s: end };
    }
    return { start_s: d.start_s + shiftS, end_s: d.end_s + shiftS };
  };

  const push = (samples: Float32Array, flushing = false) => {
    if (!flushing && mel.positionS + samples.length / config.sampleRate > maxS) throw new Error(`live listening stops after ${maxS} s`);
    const before = posteriors.length;
    addVectors(mel.push(samples));
    addPosteriors();
    return posteriors.length > before ? confirmedDigits() : [];
  };

  return {
    push,
    flush: () => {
      // Enough for the last word's run to be confirmed whatever its length: its window, then the run and smoothing.
      const silenceS = vectorKnownAfterS(config) + (shiftS + (spotter.endWindowS ?? 0)) +
        (confirmVectors(spotter.decoder) + spotter.lookahead + 2) * step;
      return push(new Float32Array(Math.ceil(silenceS * config.sampleRate)), true);
    },
    get positionS() {
      return mel.positionS;
    },
  };
}
