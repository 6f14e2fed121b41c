/**
 * Spoken Digits server: loads the models once, warms the decoding workers and the models, then serves.
 *   PORT (7860), HOST (0.0.0.0), MODELS / MODELS_DIR / MODEL_DIR, MAX_BODY_BYTES, MAX_AUDIO_SECONDS,
 *   BODY_TIMEOUT_S, DECODE_*, CORS_ORIGIN: see README. SIGTERM drains (finishes what is in flight) and exits.
 */
import { featuresFromAudio, resample } from "./dsp/index.ts";
import { classifyClips } from "./models/classifier.ts";
import { embedClips } from "./models/profile.ts";
import { loadServedModels } from "./models/served.ts";
import { initTf } from "./models/tfjs.ts";
import { createApp } from "./routes/app.ts";
import { createDrain, exitOnSigterm } from "./routes/drain.ts";
import { readConfig } from "./routes/config.ts";
import { createDecoder } from "./routes/decoding.ts";

const config = readConfig();
const runtime = await initTf();
const served = await loadServedModels(config.modelDirs, config.modelsOrdered);
const decoder = createDecoder({
  maxDurationS: config.maxAudioSeconds,
  // Decoded audio is resampled (in the worker) to the default model's rate; another rate is resampled again.
  targetRate: served.default.classifier.features.config.sampleRate,
  workers: config.decodeWorkers,
  timeoutMs: config.decodeTimeoutS * 1000,
  memoryBudgetBytes: config.decodeMemoryMb * 2 ** 20,
  inlineWavBytes: 1024 * 1024,
});
// The first prediction compiles tfjs kernels, builds the resampler's tables for the input's rate and lets
// the JIT see the DSP code; the first decode of each codec compiles its WASM (in the decoding workers).
// Pay all of it now, with a tone burst at the common microphone rates, rather than on a user's request.
const burst = Float32Array.from({ length: 8000 }, (_, i) => (i > 2000 && i < 6000 ? 0.5 * Math.sin(i / 3) : 0));
for (const { classifier } of served.models) {
  for (let round = 0; round < 5; round++) {
    for (const rate of [8000, 16000, 22050, 44100, 48000]) {
      const views = featuresFromAudio(resample(burst, 8000, rate), rate, classifier.features.config).views;
      // Both paths: the plain network, and the one with the embedding (profiles, the refusal head).
      classifyClips(classifier, [views]);
      embedClips(classifier, [views]);
    }
  }
}
await decoder.ready;

const drain = createDrain();
const app = createApp(served, decoder, config, runtime, drain);
const names = served.models.map((m) => `${m.name}@${m.classifier.identity.version}`).join(", ");
const server = Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ hostname, port }) =>
    console.log(
      `Spoken Digits on http://${
        hostname === "0.0.0.0" ? "localhost" : hostname
      }:${port} (models ${names}; default ${served.default.name}; ${runtime.backend}${runtime.simd ? " SIMD" : ""})`,
    ),
}, app.fetch);
// SIGTERM (a container or Space restarting): what is in flight finishes, new requests get 503, exit within 10 s.
exitOnSigterm(drain, server, () => decoder.close());
