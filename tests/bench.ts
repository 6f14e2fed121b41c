/**
 * deno task bench: speed and memory of the real thing, printed as JSON (medians and percentiles).
 *   - in process, for every model folder (mlp, cnn): features and inference for a 1 s clip (median of many runs),
 *     teaching ten takes, inference with a profile, transcribing a 20 s recording of digits, and (a model with a
 *     live spotter) listening to it as a stream;
 *   - the real server (`deno task start`'s main.ts) on a free port: cold start to the first 200,
 *     wrk (Debian) posting a real FSDD clip to each model at concurrency 1 and 16 (p50/p99, requests/s),
 *     the per-stage medians the server reports in timing_ms, and its RSS after the load;
 *   - what the Gradio protocol costs a call over REST /predict (tests/gradio_bench.ts);
 *   - /health and a short /predict while 16 of the heaviest valid requests run (tests/heavy_load.ts), and the
 *     server's RSS at its peak there.
 * Timings here are never asserted by tests: machines are shared and noisy.
 */
import { decodeAudio } from "../dsp/decode.ts";
import { extractFeatures, featuresFromAudio } from "../dsp/index.ts";
import { type Classifier, classifyClips } from "../models/classifier.ts";
import { adaptToTakes } from "../models/profile.ts";
import { judgeClips } from "../models/recognize.ts";
import { transcribe } from "../models/transcribe.ts";
import { createSpotterStream } from "../models/spotter_stream.ts";
import { loadClassifier } from "../models/files.ts";
import { findFsdd } from "../models/lab/fsdd.ts";
import { findModelFolders } from "../models/served.ts";
import { initTf } from "../models/tfjs.ts";
import { gradioOverhead } from "./gradio_bench.ts";
import { heavyLoad } from "./heavy_load.ts";
import { startServer } from "./server_helpers.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Math.round(x * 1000) / 1000;

function timeMs(fn: () => void, runs: number): number {
  for (let i = 0; i < 20; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return round(median(times));
}

const fsdd = findFsdd();
if (!fsdd) throw new Error("bench needs FSDD (FSDD_DIR or ../shared/datasets/fsdd)");
const clipFile = `${fsdd}/recordings/7_jackson_32.wav`;
const clip = await decodeAudio(await Deno.readFile(clipFile));

await initTf();
const tenTakes = await Promise.all(
  Array.from(
    { length: 10 },
    async (_, d) => ({ digit: d, samples: (await decodeAudio(await Deno.readFile(`${fsdd}/recordings/${d}_theo_7.wav`))).samples }),
  ),
);
const profile = (classifier: Classifier) =>
  adaptToTakes(classifier, tenTakes.map((t) => ({ digit: t.digit, views: extractFeatures(t.samples, classifier.features.config).views })))
    .profile;
const twentySeconds = (() => {
  const samples = new Float32Array(20 * 8000);
  let at = 2000, d = 0;
  while (at + 12000 < samples.length) {
    const take = tenTakes[d++ % 10].samples;
    samples.set(take, at);
    at += take.length + 3200;
  }
  return { samples, sampleRate: 8000, format: "wav", channels: 1, digits: d };
})();
const names = findModelFolders("models");
const inProcess: Record<string, Record<string, number>> = {};
for (const name of names) {
  const classifier = await loadClassifier(`models/${name}`);
  const config = classifier.features.config;
  // A 1 s clip: the FSDD digit centred in a second of quiet noise (what a short recording looks like).
  const oneSecond = new Float32Array(config.sampleRate).map(() => (Math.random() - 0.5) * 0.002);
  oneSecond.set(clip.samples.slice(0, config.sampleRate), Math.max(0, (config.sampleRate - clip.samples.length) >> 1));
  const views = extractFeatures(oneSecond, config).views;
  const oneSecond48k = new Float32Array(48000).map((_, i) => oneSecond[Math.floor(i / 6)]);
  inProcess[name] = {
    features_ms_1s_clip_8k: timeMs(() => extractFeatures(oneSecond, config), 500),
    features_ms_1s_clip_48k_with_resampling: timeMs(() => featuresFromAudio(oneSecond48k, 48000, config), 200),
    // Every test-time warp's view in one batch, averaged: what a prediction costs.
    inference_ms: timeMs(() => classifyClips(classifier, [views]), 500),
    test_time_views: views.length,
    // Teaching: ten takes (one per digit) -> features -> profile (what /adapt does after decoding).
    adapt_ms_10_takes: timeMs(
      () => adaptToTakes(classifier, tenTakes.map((t) => ({ digit: t.digit, views: extractFeatures(t.samples, config).views }))),
      20,
    ),
    inference_ms_with_profile: ((speaker) => timeMs(() => judgeClips(classifier, [views], speaker), 500))(profile(classifier)),
    // A 20 s recording of digits 0.4 s apart: segmentation, features and inference of every digit.
    transcribe_ms_20s: timeMs(() => transcribe(classifier, twentySeconds, 0), 20),
    weights_bytes: (await Deno.stat(`models/${name}/weights.bin`)).size,
    ...(classifier.liveSpotter ? liveSpotting(classifier) : {}),
  };
}

/**
 * Live listening (models/spotter_stream.ts, what the page runs on the microphone): the 20 s recording pushed in
 * 21 ms pieces, as a 48 kHz microphone's 1024-sample chunks arrive; the compute per second of audio, and the median
 * and slowest push (a push that completes a vector runs the embedding on its window).
 */
function liveSpotting(classifier: Classifier): Record<string, number> {
  const piece = Math.round(0.0213 * 8000);
  const run = () => {
    const stream = createSpotterStream(classifier.liveSpotter!, classifier.embedding!, classifier.features.config);
    const pushes: number[] = [];
    for (let at = 0; at < twentySeconds.samples.length; at += piece) {
      const t0 = performance.now();
      stream.push(twentySeconds.samples.subarray(at, at + piece));
      pushes.push(performance.now() - t0);
    }
    return pushes;
  };
  run();
  const runs = [run(), run(), run()];
  const totals = runs.map((p) => p.reduce((a, b) => a + b, 0));
  const pushes = runs.flat().sort((a, b) => a - b);
  return {
    live_ms_per_s_of_audio: round(median(totals) / 20),
    live_push_ms_p50: round(pushes[Math.floor(pushes.length / 2)]),
    live_push_ms_max: round(pushes[pushes.length - 1]),
  };
}

async function wrk(url: string, model: string, connections: number, seconds: number) {
  const script = await Deno.makeTempFile({ suffix: ".lua" });
  await Deno.writeTextFile(
    script,
    `local f = io.open("${clipFile}", "rb"); wrk.body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.headers["Content-Type"] = "audio/wav"
function done(summary, latency, requests)
  io.write(string.format('{"p50_ms":%f,"p99_ms":%f,"requests":%d,"errors":%d,"non2xx":%d,"seconds":%f}\\n',
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status,
    summary.duration / 1e6))
end`,
  );
  const { stdout, success, stderr } = await new Deno.Command("wrk", {
    args: [
      "-t",
      String(Math.min(2, connections)),
      "-c",
      String(connections),
      "-d",
      `${seconds}s`,
      "-s",
      script,
      `${url}/predict?model=${model}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(script);
  if (!success) throw new Error(`wrk failed: ${new TextDecoder().decode(stderr)}`);
  const line = new TextDecoder().decode(stdout).trim().split("\n").pop()!;
  const r = JSON.parse(line);
  return {
    p50_ms: round(r.p50_ms),
    p99_ms: round(r.p99_ms),
    requests_per_s: Math.round(r.requests / r.seconds),
    requests: r.requests,
    errors: r.errors + r.non2xx,
  };
}

const coldStart = performance.now();
const server = await startServer();
// Wait for the first 200 on a real prediction, not just the listen line.
const body = await Deno.readFile(clipFile);
while (
  (await fetch(`${server.url}/predict`, { method: "POST", body }).then((r) => r.body?.cancel().then(() => r.status)).catch(() => 0)) !== 200
);
const coldStartMs = Math.round(performance.now() - coldStart);

const perModel: Record<string, unknown> = {};
for (const name of names) {
  const stageTimes: Record<string, number[]> = { decode: [], features: [], inference: [], total: [] };
  for (let i = 0; i < 200; i++) {
    const r = await (await fetch(`${server.url}/predict?model=${name}`, { method: "POST", body })).json();
    for (const k of Object.keys(stageTimes)) stageTimes[k].push(r.timing_ms[k]);
  }
  perModel[name] = {
    stage_medians_ms: Object.fromEntries(Object.entries(stageTimes).map(([k, v]) => [k, round(median(v))])),
    concurrency_1: await wrk(server.url, name, 1, 8),
    concurrency_16: await wrk(server.url, name, 16, 8),
  };
}
const gradio = await gradioOverhead(server.url, body);
const rssMb = Math.round(await server.rssMb());
let rssPeakMb = rssMb;
const sampling = setInterval(async () => (rssPeakMb = Math.max(rssPeakMb, Math.round(await server.rssMb()))), 200);
const heavy = await heavyLoad(server.url, fsdd, { clients: 16, seconds: 8 });
clearInterval(sampling);
await server.stop();

console.log(JSON.stringify(
  {
    machine: { cpus: navigator.hardwareConcurrency, deno: Deno.version.deno },
    clip: { file: "7_jackson_32.wav", duration_s: clip.durationS, bytes: body.length },
    in_process: inProcess,
    server: {
      cold_start_ms: coldStartMs,
      models: perModel,
      gradio,
      rss_mb_after_load: rssMb,
      under_heavy_load: { ...heavy, rss_mb_peak: rssPeakMb },
    },
    targets: {
      p50_ms_c1: 2,
      gradio_overhead_p50_ms: 2,
      requests_per_s_c16: 800,
      rss_mb: 600,
      health_p99_ms_under_heavy_load: 50,
      short_predict_p99_ms_under_heavy_load: 50,
      cold_start_ms: 1500,
      features_ms: 1,
      inference_ms: 1,
      adapt_ms_10_takes: 200,
      inference_ms_with_profile: 3,
      transcribe_ms_20s: 30,
      weights_bytes: 2 * 1024 * 1024,
    },
  },
  null,
  2,
));
