/**
 * Live listening: finds utterances in a stream as it arrives (chunks of any size), so each word can be
 * recognized as soon as it ends. Frame levels as in findSpeech (after the same 200 Hz high-pass as
 * findUtterances); the noise floor is tracked as a slow running minimum, since a stream has no "whole clip" to
 * take a percentile of. An utterance ends after `hangoverS` below the threshold; it is emitted with `padS`
 * of audio on each side. Pure: no audio APIs, arrays in and out.
 */
import { highPass } from "./highpass.ts";

export interface EndpointerConfig {
  frameS: number;
  /** A frame is speech at this many dB above the tracked floor. */
  aboveFloorDb: number;
  /** Quieter than this (dBFS) is never speech. */
  minLevelDbfs: number;
  /** Silence this long ends an utterance (longer than the stops inside a word), seconds. */
  hangoverS: number;
  /** Speech shorter than this is a click, not a word, seconds. */
  minSpeechS: number;
  /** Longest utterance: cut and emitted when reached, seconds. */
  maxUtteranceS: number;
  /** Audio kept around each utterance, seconds. */
  padS: number;
  /** How fast the floor rises toward a louder background, dB per second (it falls at once). */
  floorRiseDbPerS: number;
  highPassHz: number;
}

export const DEFAULT_ENDPOINTER: EndpointerConfig = {
  frameS: 0.02,
  aboveFloorDb: 12,
  minLevelDbfs: -55,
  hangoverS: 0.2,
  minSpeechS: 0.12,
  maxUtteranceS: 2,
  padS: 0.1,
  floorRiseDbPerS: 3,
  highPassHz: 200,
};

export interface StreamUtterance {
  samples: Float32Array;
  /** Position in the stream, seconds from its start (with the padding). */
  startS: number;
  endS: number;
  /** Where the speech itself ended: the end of the word (endS less the padding, unless cut at maxUtteranceS). */
  speechEndS: number;
}

export interface Endpointer {
  /** Feeds the next chunk; returns the utterances that ended within it. */
  push(chunk: Float32Array): StreamUtterance[];
  /** Seconds of stream pushed so far. */
  readonly positionS: number;
  /** Level of the last frame and the current floor, dBFS (for a meter). */
  readonly levelDb: number;
  readonly floorDb: number;
}

export function createEndpointer(sampleRate: number, config: EndpointerConfig = DEFAULT_ENDPOINTER): Endpointer {
  const frame = Math.max(1, Math.round(config.frameS * sampleRate));
  const keep = Math.round((config.maxUtteranceS + 2 * config.padS + 1) * sampleRate);
  // The recent audio, raw (what is emitted) and high-passed (what is measured), as one growing window.
  let raw: Float32Array = new Float32Array(0);
  let rawStart = 0; // stream index of raw[0]
  let filterState: Float32Array = new Float32Array(4);
  let pending: Float32Array = new Float32Array(0); // high-passed samples not yet a whole frame
  let frameIndex = 0;
  let floorDb = Infinity;
  let levelDb = -120;
  let speechStart = -1; // stream sample index of the first speech frame of the current utterance
  let lastSpeech = -1; // stream sample index just after the last speech frame
  const emitted: StreamUtterance[] = [];

  const emit = (start: number, end: number) => {
    const from = Math.max(rawStart, start - Math.round(config.padS * sampleRate));
    const to = Math.min(rawStart + raw.length, end + Math.round(config.padS * sampleRate));
    if (end - start >= config.minSpeechS * sampleRate) {
      emitted.push({
        samples: raw.slice(from - rawStart, to - rawStart),
        startS: from / sampleRate,
        endS: to / sampleRate,
        speechEndS: end / sampleRate,
      });
    }
  };

  return {
    push(chunk: Float32Array): StreamUtterance[] {
      emitted.length = 0;
      raw = concat(raw, chunk);
      if (raw.length > keep) {
        const drop = raw.length - keep;
        raw = raw.slice(drop);
        rawStart += drop;
      }
      const filtered = highPass(chunk, sampleRate, config.highPassHz, filterState);
      filterState = filtered.state;
      pending = concat(pending, filtered.samples);
      let at = 0;
      for (; at + frame <= pending.length; at += frame) {
        let sum = 0;
        for (let i = at; i < at + frame; i++) sum += pending[i] * pending[i];
        levelDb = 10 * Math.log10(sum / frame + 1e-12);
        const frameEnd = (frameIndex + 1) * frame;
        floorDb = Math.min(levelDb, floorDb + config.floorRiseDbPerS * config.frameS);
        const speech = levelDb >= config.minLevelDbfs && levelDb >= floorDb + config.aboveFloorDb;
        if (speech) {
          if (speechStart < 0) speechStart = frameIndex * frame;
          lastSpeech = frameEnd;
          if (lastSpeech - speechStart >= config.maxUtteranceS * sampleRate) {
            emit(speechStart, lastSpeech);
            speechStart = -1;
          }
        } else if (speechStart >= 0 && frameEnd - lastSpeech >= config.hangoverS * sampleRate) {
          emit(speechStart, lastSpeech);
          speechStart = -1;
        }
        frameIndex++;
      }
      pending = pending.slice(at);
      return [...emitted];
    },
    get positionS() {
      return (rawStart + raw.length) / sampleRate;
    },
    get levelDb() {
      return levelDb;
    },
    get floorDb() {
      return floorDb;
    },
  };
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
