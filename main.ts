/**
 * Spoken Digits server: loads the model once, warms every decoder and the model, then serves.
 *   PORT (7860), HOST (0.0.0.0), MODEL_DIR, MAX_BODY_BYTES, MAX_AUDIO_SECONDS, CORS_ORIGIN: see README.
 */
import { warmDecoders } from "./dsp/decode.ts";
import { featuresFromAudio, resample } from "./dsp/index.ts";
import { classifyClips } from "./models/classifier.ts";
import { loadClassifier } from "./models/files.ts";
import { initTf } from "./models/tfjs.ts";
import { createApp } from "./routes/app.ts";
import { readConfig } from "./routes/config.ts";

const config = readConfig();
const runtime = await initTf();
const classifier = await loadClassifier(config.modelDir);
// The first prediction compiles tfjs kernels, builds the resampler's tables for the input's rate and lets
// the JIT see the DSP code; the first decode of each codec compiles its WASM. Pay all of it now, with a
// tone burst at the common microphone rates, rather than on a user's request.
const burst = Float32Array.from({ length: 8000 }, (_, i) => (i > 2000 && i < 6000 ? 0.5 * Math.sin(i / 3) : 0));
for (let round = 0; round < 5; round++) {
  for (const rate of [8000, 16000, 22050, 44100, 48000]) {
    classifyClips(classifier, [featuresFromAudio(resample(burst, 8000, rate), rate, classifier.features.config).views]);
  }
}
await warmDecoders();

const app = createApp(classifier, config, runtime);
Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ hostname, port }) =>
    console.log(
      `Spoken Digits on http://${
        hostname === "0.0.0.0" ? "localhost" : hostname
      }:${port} (model ${classifier.identity.name}@${classifier.identity.version}, ${runtime.backend}${runtime.simd ? " SIMD" : ""})`,
    ),
}, app.fetch);
