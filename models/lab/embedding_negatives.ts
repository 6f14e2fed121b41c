/**
 * "Not a digit" examples for the embedding head's 11th class, as embedding vectors (cached like the digits'):
 *   - non-digit words spoken by the training engines (models/lab/nondigits.ts: never a held-out word or engine);
 *   - the training speakers' own digits made into non-digits (reversed, scrambled, halved, two run together), made
 *     per speaker so that a LOSO fold never sees its held-out speaker's;
 *   - non-speech (coughs, breaths, clicks, tones, chords); clips in which no speech is found are left out (the
 *     server answers those 422 no_speech without reaching the model).
 */
import type { FeatureConfig } from "../../dsp/config.ts";
import { seededRandom } from "../../dsp/random.ts";
import type { SpeechEmbedding } from "../embedding.ts";
import { cachedFileVectors, cachedVectors } from "./embedding_head.ts";
import type { Clip } from "./fsdd.ts";
import { madeFromDigits, notSpeech } from "./nondigits.ts";
import { nonDigitWords } from "./reject.ts";
import { loadAudio } from "./training.ts";

/** Digits made into non-digits, per training speaker. */
export const MADE_PER_SPEAKER = 300;
/** Non-speech clips (before those with no speech found are dropped). */
export const NOT_SPEECH = 600;

const present = (rows: (Float32Array | null)[]) => rows.filter((r): r is Float32Array => r !== null);

/** Vectors of the training non-digits for a head trained on `digits` (FSDD clips: their speakers' made non-digits). */
export async function nonDigitVectors(
  embedding: SpeechEmbedding,
  config: FeatureConfig,
  digits: Clip[],
  log: (line: string) => void = () => {},
): Promise<Float32Array[]> {
  const load = (paths: string[]) => loadAudio(paths, config.sampleRate);
  const words = nonDigitWords(false);
  const out = present(await cachedFileVectors(embedding, config, words.map((w) => w.path), load, log));
  for (const speaker of [...new Set(digits.map((c) => c.speaker))].sort()) {
    const paths = digits.filter((c) => c.speaker === speaker).map((c) => c.path);
    const seed = [...speaker].reduce((h, ch) => h * 31 + ch.charCodeAt(0), 17) >>> 0;
    const made = madeFromDigits(await load(paths), config.sampleRate, config.speech, MADE_PER_SPEAKER, seededRandom(seed));
    const key = { made: paths, count: MADE_PER_SPEAKER, seed };
    out.push(...present(await cachedVectors(embedding, config, key, made.length, (a, b) => made.slice(a, b), log)));
  }
  const sounds = notSpeech(config.sampleRate, NOT_SPEECH, seededRandom(7));
  out.push(
    ...present(
      await cachedVectors(embedding, config, { notSpeech: NOT_SPEECH, seed: 7 }, sounds.length, (a, b) => sounds.slice(a, b), log),
    ),
  );
  return out;
}
