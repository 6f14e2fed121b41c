/**
 * The speech finder on noisy, untrimmed clips (`deno task eval --speech-finder`): each official test clip is
 * put into 0.3-1.2 s of silence on each side, then white or pink noise is added at 5-20 dB SNR (against the
 * word's own power), the way a microphone recording of one digit looks. For each finder setting: how often
 * the span found is longer than the word by more than 0.2 s (it took in noise), how often it misses more than
 * a fifth of the word, and the model's accuracy on those clips, against the clean clips'. Seeded: every
 * setting and every model hears the same clips.
 */
import { addNoise, meanSquare, pinkNoise, whiteNoise } from "../../dsp/augment.ts";
import type { FeatureConfig } from "../../dsp/config.ts";
import { AudioError } from "../../dsp/errors.ts";
import { extractFeatures } from "../../dsp/features.ts";
import { seededRandom, uniform } from "../../dsp/random.ts";
import { findSpeech } from "../../dsp/speech.ts";
import { argmax, type Classifier, classifyClips } from "../classifier.ts";

export interface FinderScore {
  highPassHz: number;
  /** Share of clips whose span exceeds the word by more than 0.2 s. */
  tooLong: number;
  /** Share whose span leaves out more than a fifth of the word. */
  cutShort: number;
  /** Share where no speech was found at all (the server would answer 422). */
  notFound: number;
  /** The model's accuracy on the noisy clips (not found = wrong), and on the clean ones with the same setting. */
  accuracy: number;
  cleanAccuracy: number;
  clips: number;
}

interface NoisyClip {
  samples: Float32Array;
  /** Where the word is, samples. */
  start: number;
  end: number;
}

/** The test clips padded and noised (seeded). The word's extent is the clean clip's own speech span. */
export function noisyClips(clean: Float32Array[], config: FeatureConfig, seed = 5): NoisyClip[] {
  const random = seededRandom(seed);
  const rate = config.sampleRate;
  return clean.map((clip, i) => {
    // The word: the clean clip's speech, found the same way whatever setting is measured.
    const word = findSpeech(clip, rate, { ...config.speech, padS: 0, highPassHz: 0 });
    const before = Math.round(uniform(random, 0.3, 1.2) * rate);
    const after = Math.round(uniform(random, 0.3, 1.2) * rate);
    const padded = new Float32Array(before + clip.length + after);
    padded.set(clip, before);
    const power = meanSquare(clip.subarray(word.start, word.end));
    const noise = i % 2 ? pinkNoise(padded.length, random) : whiteNoise(padded.length, random);
    return { samples: addNoise(padded, noise, uniform(random, 5, 20), power), start: before + word.start, end: before + word.end };
  });
}

function accuracyOf(classifier: Classifier, config: FeatureConfig, clips: Float32Array[], labels: number[]): number {
  const views: (Float32Array[] | null)[] = clips.map((c) => {
    try {
      return extractFeatures(c, config).views;
    } catch (e) {
      if (e instanceof AudioError) return null;
      throw e;
    }
  });
  const found = views.filter((v): v is Float32Array[] => v !== null);
  const answers = found.length ? classifyClips({ ...classifier, features: { ...classifier.features, config } }, found) : [];
  let k = 0, right = 0;
  views.forEach((v, i) => {
    if (v !== null && argmax(answers[k++]) === labels[i]) right++;
  });
  return right / clips.length;
}

/** Each high-pass setting's score for `classifier` on the same clean and noisy clips. */
export function evaluateSpeechFinder(classifier: Classifier, clean: Float32Array[], labels: number[], settings: number[]): FinderScore[] {
  const base = classifier.features.config;
  const noisy = noisyClips(clean, base);
  return settings.map((highPassHz) => {
    const config: FeatureConfig = { ...base, speech: { ...base.speech, highPassHz } };
    let tooLong = 0, cutShort = 0, notFound = 0;
    for (const clip of noisy) {
      try {
        const span = findSpeech(clip.samples, config.sampleRate, config.speech);
        const pad = config.speech.padS * config.sampleRate;
        if (span.end - span.start - 2 * pad > clip.end - clip.start + 0.2 * config.sampleRate) tooLong++;
        const covered = Math.max(0, Math.min(span.end, clip.end) - Math.max(span.start, clip.start));
        if (covered < 0.8 * (clip.end - clip.start)) cutShort++;
      } catch (e) {
        if (!(e instanceof AudioError)) throw e;
        notFound++;
      }
    }
    const n = noisy.length;
    return {
      highPassHz,
      tooLong: tooLong / n,
      cutShort: cutShort / n,
      notFound: notFound / n,
      accuracy: accuracyOf(classifier, config, noisy.map((c) => c.samples), labels),
      cleanAccuracy: accuracyOf(classifier, config, clean, labels),
      clips: n,
    };
  });
}
