/**
 * The embedding's causal log-mel for live listening (dsp/stream_mel.ts): the same frames however the audio is cut into
 * pushes (the lab trains the live head on streamMel of whole sequences, the page pushes 21 ms chunks), its level set
 * from what has been heard, silence before the first word left quiet, and vector j known 0.39 s after its centre.
 */
import assert from "node:assert/strict";
import { EMBEDDING_FEATURES } from "../dsp/config.ts";
import { createStreamMel, MIN_SPEECH_RMS, streamMel, vectorKnownAfterS } from "../dsp/stream_mel.ts";
import { leadSamples, vectorStepS } from "../dsp/speech_mel.ts";

const config = EMBEDDING_FEATURES;
const rate = config.sampleRate;

/** 0.4 s vowel-like words at `gain`, each in 0.6 s of silence. */
function words(gain: number, count: number): Float32Array {
  const one = new Float32Array(rate);
  for (let i = 0.3 * rate; i < 0.7 * rate; i++) {
    const t = i / rate;
    one[i] = gain * (Math.sin(2 * Math.PI * 140 * t) + 0.5 * Math.sin(2 * Math.PI * 700 * t) + 0.3 * Math.sin(2 * Math.PI * 1900 * t));
  }
  const out = new Float32Array(count * rate);
  for (let k = 0; k < count; k++) out.set(one, k * rate);
  return out;
}

/** The frame whose window is centred `seconds` into the stream (the lead of silence comes first). */
const frameAt = (seconds: number) =>
  Math.round((seconds * rate + leadSamples(config)) / (config.hopLength / 2) - config.nFft / config.hopLength / 2);

const frameMean = (data: Float32Array, from: number, to: number) => {
  let sum = 0;
  for (let i = from * 32; i < to * 32; i++) sum += data[i];
  return sum / ((to - from) * 32);
};

Deno.test("stream mel: pushed in pieces of any size, the frames are streamMel's, bit for bit", () => {
  const audio = words(0.2, 3);
  const whole = streamMel(audio, config);
  const stream = createStreamMel(config);
  const pieces: number[] = [];
  for (let at = 0, k = 1; at < audio.length; k++) {
    const n = Math.min(audio.length - at, (k * 173) % 700 + 1);
    pieces.push(...stream.push(audio.subarray(at, at + n)));
    at += n;
  }
  assert.ok(whole.frames > 200);
  assert.deepEqual(Float32Array.from(pieces).subarray(0, whole.data.length), whole.data);
  assert.equal(stream.positionS, 3);
});

Deno.test("stream mel: the level is set from what was heard, so a word 20 dB quieter gives the same frames once heard", () => {
  const loud = streamMel(words(0.3, 3), config).data;
  const quiet = streamMel(words(0.03, 3), config).data;
  // The third word, 2.3-2.7 s, and the silence before it.
  const [from, to] = [frameAt(2.35), frameAt(2.65)];
  const difference = frameMean(loud, from, to) - frameMean(quiet, from, to);
  assert.ok(Math.abs(difference) < 0.05, `${difference.toFixed(3)} (x 10 dB)`);
  assert.ok(frameMean(loud, from, to) > frameMean(loud, frameAt(1.8), frameAt(2.2)) + 1.5);
});

Deno.test("stream mel: quiet noise before anyone speaks is not brought up to speech level", () => {
  let seed = 1;
  const noise = Float32Array.from({ length: 2 * rate }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.003);
  const quiet = streamMel(noise, config).data;
  // Below MIN_SPEECH_RMS, 20 times louder noise comes out 26 dB louder: it is not levelled as speech would be.
  const louder = streamMel(noise.map((v) => v * 20), config).data;
  assert.ok(Math.sqrt(noise.reduce((a, v) => a + v * v, 0) / noise.length) * 20 < MIN_SPEECH_RMS);
  const [from, to] = [frameAt(0.5), frameAt(1.5)];
  const rise = frameMean(louder, from, to) - frameMean(quiet, from, to);
  assert.ok(Math.abs(rise - 2.6) < 0.2, `${rise.toFixed(2)} (x 10 dB)`);
});

Deno.test("stream mel: vector j is whole 0.39 s after its centre (half its window), as the live spotter's latency counts", () => {
  const e = config.embedding!;
  const stream = createStreamMel(config);
  let frames = 0;
  // Push 10 ms at a time; vector 5 (centre 0.4 s) needs frames up to 5 * stepFrames + windowFrames.
  const need = 5 * e.stepFrames + e.windowFrames;
  let pushedS = 0;
  while (frames < need) {
    frames += stream.push(new Float32Array(rate / 100)).length / 32;
    pushedS += 0.01;
  }
  const knownS = 5 * vectorStepS(config) + vectorKnownAfterS(config);
  assert.ok(Math.abs(pushedS - knownS) <= 0.012, `vector 5 whole after ${pushedS.toFixed(3)} s, said ${knownS.toFixed(3)} s`);
});
