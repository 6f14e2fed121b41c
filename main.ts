/**
 * Spoken Digits server: loads the model once, warms every decoder and the model, then serves.
 *   PORT (7860), HOST (0.0.0.0), MODEL_DIR, MAX_BODY_BYTES, MAX_AUDIO_SECONDS, CORS_ORIGIN: see README.
 */
import { warmDecoders } from "./dsp/decode.ts";
import { featureLength } from "./dsp/config.ts";
import { classify } from "./models/classifier.ts";
import { loadClassifier } from "./models/files.ts";
import { initTf } from "./models/tfjs.ts";
import { createApp } from "./routes/app.ts";
import { readConfig } from "./routes/config.ts";

const config = readConfig();
const runtime = await initTf();
const classifier = await loadClassifier(config.modelDir);
// The first prediction compiles tfjs kernels and the first decode of each codec compiles its WASM:
// pay both now rather than on a user's request.
classify(classifier, [new Float32Array(featureLength(classifier.features.config))]);
await warmDecoders();

const app = createApp(classifier, config, runtime);
Deno.serve({
  port: config.port,
  hostname: config.host,
  onListen: ({ hostname, port }) =>
    console.log(`Spoken Digits on http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${port} (model ${classifier.identity.name}@${classifier.identity.version}, ${runtime.backend}${runtime.simd ? " SIMD" : ""})`),
}, app.fetch);
