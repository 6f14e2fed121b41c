/**
 * dsp/: pure TypeScript audio processing, shared unchanged by the trainer, the server and the browser.
 * No Deno, DOM, tfjs or Hono imports live here: arrays in, arrays out.
 *
 *   bytes --decodeAudio--> mono samples --resample--> model rate --extractFeatures--> fixed grid --normalize-->
 */
import type { FeatureConfig } from "./config.ts";
import { extractFeatures, type Features } from "./features.ts";
import { resample } from "./resample.ts";

export * from "./config.ts";
export * from "./dc.ts";
export * from "./errors.ts";
export * from "./features.ts";
export * from "./resample.ts";
export * from "./speech.ts";
export * from "./utterances.ts";
export * from "./highpass.ts";
export * from "./endpointer.ts";
export * from "./spectrogram.ts";
export * from "./speech_mel.ts";
export { encodeWav16, readWav } from "./wav.ts";

/** Samples at any rate -> model-rate features. The path every prediction takes after decoding. */
export function featuresFromAudio(samples: Float32Array, sampleRate: number, config: FeatureConfig): Features {
  return extractFeatures(resample(samples, sampleRate, config.sampleRate), config);
}
