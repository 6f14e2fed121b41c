/**
 * Spoken Digits server: loads the models, starts and warms the decoding and inference workers, then serves.
 *   PORT (7860), HOST (0.0.0.0), MODELS / MODELS_DIR / MODEL_DIR, MAX_BODY_BYTES, MAX_AUDIO_SECONDS,
 *   BODY_TIMEOUT_S, DECODE_*, INFERENCE_*, CORS_ORIGIN: see README. SIGTERM drains (finishes what is in flight) and exits.
 */
import { loadServedModels } from "./models/served.ts";
import { initTf } from "./models/tfjs.ts";
import { createApp } from "./routes/app.ts";
import { createDrain, exitOnSigterm } from "./routes/drain.ts";
import { readConfig } from "./routes/config.ts";
import { createDecoder } from "./routes/decoding.ts";
import { createInference } from "./routes/inference.ts";

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
// Every worker loads the models and warms them (tfjs kernels, resampler tables, the JIT) before the first request.
const inference = createInference({
  modelDirs: served.models.map((m) => m.dir),
  workers: config.inferenceWorkers,
  timeoutMs: config.inferenceTimeoutS * 1000,
  maxQueue: config.inferenceQueue,
});
await Promise.all([decoder.ready, inference.ready]);

const drain = createDrain();
const app = createApp(served, decoder, config, runtime, drain, inference);
const names = served.models.map((m) => `${m.name}@${m.classifier.identity.version}`).join(", ");
const server = Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ hostname, port }) =>
    console.log(
      `Spoken Digits on http://${
        hostname === "0.0.0.0" ? "localhost" : hostname
      }:${port} (models ${names}; default ${served.default.name}; ${runtime.backend}${
        runtime.simd ? " SIMD" : ""
      }; ${config.inferenceWorkers} inference workers)`,
    ),
}, app.fetch);
// SIGTERM (a container or Space restarting): what is in flight finishes, new requests get 503, exit within 10 s.
exitOnSigterm(drain, server, () => (decoder.close(), inference.close()));
