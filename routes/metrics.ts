/**
 * GET /metrics: Prometheus text format (0.0.4), what operators of inference servers expect (TF Serving,
 * Triton and vLLM all have it): requests by route, method and status; request latency, decode, feature and
 * inference time as histograms; requests in flight, the decoding queue, the models loaded, tfjs tensors and
 * resident memory as gauges, and the inference workers' queue. One registry per process (`metrics`): the routes
 * record into it, /metrics reads it.
 * Route labels are the routes' patterns ("/predict", "/static/*"), never raw paths, so a scan of random URLs
 * cannot grow the label set ("unmatched" stands for every path no route has).
 */
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { modelId } from "../models/model_format.ts";
import type { ServedModels } from "../models/served.ts";
import type { AudioDecoder } from "./decoding.ts";
import type { Inference } from "./inference.ts";
import { apiApp, type ApiDefinitions } from "./definitions.ts";

/** Seconds: from a cached /health (~0.1 ms) to a 60 s /transcribe or a stalled decode. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly buckets: number[]) {
    this.counts = new Array(buckets.length).fill(0);
  }
  observe(value: number) {
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) this.counts[i]++;
    this.sum += value;
    this.count++;
  }
  lines(name: string, labels: string): string[] {
    const sep = labels ? "," : "";
    return [
      ...this.buckets.map((b, i) => `${name}_bucket{${labels}${sep}le="${b}"} ${this.counts[i]}`),
      `${name}_bucket{${labels}${sep}le="+Inf"} ${this.count}`,
      `${name}_sum${labels ? `{${labels}}` : ""} ${round(this.sum)}`,
      `${name}_count${labels ? `{${labels}}` : ""} ${this.count}`,
    ];
  }
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
const label = (value: string) => value.replace(/[\\"\n]/g, (ch) => (ch === "\n" ? "\\n" : `\\${ch}`));

/** Timings an answer carries (timing_ms of /predict and /transcribe), milliseconds. */
export interface AnswerTimings {
  features: number;
  inference: number;
}

export class Metrics {
  readonly requests = new Map<string, number>();
  readonly latency = new Map<string, Histogram>();
  readonly decode = new Histogram(STAGE_BUCKETS);
  readonly features = new Map<string, Histogram>();
  readonly inference = new Map<string, Histogram>();
  inFlight = 0;

  observeRequest(route: string, method: string, status: number, seconds: number) {
    const key = `route="${label(route)}",method="${label(method)}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const byRoute = `route="${label(route)}"`;
    if (!this.latency.has(byRoute)) this.latency.set(byRoute, new Histogram(LATENCY_BUCKETS));
    this.latency.get(byRoute)!.observe(seconds);
  }

  /** An answer's own feature and inference times, by the model that gave it (name@version). */
  observeAnswer(answer: { model: string; timing_ms: AnswerTimings }) {
    const key = `model="${label(answer.model)}"`;
    for (const [map, ms] of [[this.features, answer.timing_ms.features], [this.inference, answer.timing_ms.inference]] as const) {
      if (!map.has(key)) map.set(key, new Histogram(STAGE_BUCKETS));
      map.get(key)!.observe(ms / 1000);
    }
  }

  /** `decoder`, its decode times recorded. */
  timed(decoder: AudioDecoder): AudioDecoder {
    return {
      ...decoder,
      ready: decoder.ready,
      close: () => decoder.close(),
      load: () => decoder.load?.() ?? { queued: 0, busy: 0 },
      decode: async (bytes, options) => {
        const started = performance.now();
        try {
          return await decoder.decode(bytes, options);
        } finally {
          this.decode.observe((performance.now() - started) / 1000);
        }
      },
    };
  }

  render(served: ServedModels, decoder: AudioDecoder, inference: Inference, draining: boolean): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family("spoken_digits_http_requests_total", "counter", "HTTP requests answered, by route pattern, method and status.");
    for (const [key, n] of this.requests) out.push(`spoken_digits_http_requests_total{${key}} ${n}`);
    family("spoken_digits_http_request_duration_seconds", "histogram", "Time from a request's arrival to its answer, by route.");
    for (const [key, h] of this.latency) out.push(...h.lines("spoken_digits_http_request_duration_seconds", key));
    family("spoken_digits_http_requests_in_flight", "gauge", "Requests being answered now.");
    out.push(`spoken_digits_http_requests_in_flight ${this.inFlight}`);
    family(
      "spoken_digits_decode_seconds",
      "histogram",
      "Time to decode an upload to samples (in place or in a worker, queueing included).",
    );
    out.push(...this.decode.lines("spoken_digits_decode_seconds", ""));
    family("spoken_digits_features_seconds", "histogram", "Speech finding and features per answer, by model.");
    for (const [key, h] of this.features) out.push(...h.lines("spoken_digits_features_seconds", key));
    family("spoken_digits_inference_seconds", "histogram", "The networks' forward passes per answer, by model.");
    for (const [key, h] of this.inference) out.push(...h.lines("spoken_digits_inference_seconds", key));
    const load = decoder.load?.() ?? { queued: 0, busy: 0 };
    family("spoken_digits_decode_queue_depth", "gauge", "Uploads waiting for a decoding worker.");
    out.push(`spoken_digits_decode_queue_depth ${load.queued}`);
    family("spoken_digits_decode_workers_busy", "gauge", "Decoding workers at work.");
    out.push(`spoken_digits_decode_workers_busy ${load.busy}`);
    const work = inference.load();
    family("spoken_digits_inference_queue_depth", "gauge", "Inference jobs waiting for a core (beyond one per busy worker).");
    out.push(`spoken_digits_inference_queue_depth ${work.queued}`);
    family("spoken_digits_inference_jobs", "gauge", "Inference jobs submitted and not yet answered (running and waiting).");
    out.push(`spoken_digits_inference_jobs ${work.jobs}`);
    family("spoken_digits_inference_workers", "gauge", "Inference workers (INFERENCE_WORKERS).");
    out.push(`spoken_digits_inference_workers ${work.workers}`);
    family("spoken_digits_inference_workers_busy", "gauge", "Inference workers with a job.");
    out.push(`spoken_digits_inference_workers_busy ${work.busy}`);
    family(
      "spoken_digits_inference_refused_total",
      "counter",
      "Requests answered 503: the queue full (busy) or past the budget (timeout).",
    );
    out.push(`spoken_digits_inference_refused_total{reason="busy"} ${work.refused.busy}`);
    out.push(`spoken_digits_inference_refused_total{reason="timeout"} ${work.refused.timeout}`);
    family("spoken_digits_models_loaded", "gauge", "Models this server answers with.");
    out.push(`spoken_digits_models_loaded ${served.models.length}`);
    family("spoken_digits_model_info", "gauge", "One series per model served: its name, version, and whether it is the default.");
    for (const m of served.models) {
      const id = modelId(m.classifier.identity);
      out.push(`spoken_digits_model_info{model="${label(m.name)}",id="${label(id)}",default="${m === served.default}"} 1`);
    }
    family("spoken_digits_tfjs_tensors", "gauge", "Live tfjs tensors, every worker's (constant between requests, or something leaks).");
    out.push(`spoken_digits_tfjs_tensors ${inference.tensors()}`);
    family("spoken_digits_draining", "gauge", "1 once SIGTERM was received: finishing what is in flight, refusing the rest.");
    out.push(`spoken_digits_draining ${draining ? 1 : 0}`);
    family("process_resident_memory_bytes", "gauge", "Resident memory of the server process.");
    out.push(`process_resident_memory_bytes ${Deno.memoryUsage().rss}`);
    return out.join("\n") + "\n";
  }
}

/** The process's registry. */
export const metrics = new Metrics();

/** Counts every request and its latency under its route's pattern. Mount first, so that errors count too. */
export function metricsMiddleware(registry = metrics): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    registry.inFlight++;
    try {
      await next();
    } finally {
      registry.inFlight--;
      const route = matchedRoutes(c)[c.req.routeIndex];
      // Middleware is registered as "*" or "/*": a request that reached no route stops at it.
      const pattern = route && route.path !== "*" && route.path !== "/*" ? route.path : "unmatched";
      registry.observeRequest(pattern, c.req.method, c.res.status, (performance.now() - started) / 1000);
    }
  };
}

export function metricsRoutes(
  definitions: ApiDefinitions,
  served: ServedModels,
  decoder: AudioDecoder,
  inference: Inference,
  draining: () => boolean,
  registry = metrics,
) {
  return apiApp().openapi(
    definitions.metrics,
    (c) => c.text(registry.render(served, decoder, inference, draining()), 200, { "content-type": METRICS_CONTENT_TYPE }),
  );
}
