/** The Hono app: sub-apps mounted in one place, request log, security headers, CORS when asked, errors as JSON. */
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { embeddingFolders, type ServedModels } from "../models/served.ts";
import type { ServerConfig } from "./config.ts";
import type { AudioDecoder } from "./decoding.ts";
import { adaptRoutes } from "./adapt.ts";
import { errorResponse, handleError } from "./errors.ts";
import { GRADIO_PREFIX, gradioRoutes } from "./gradio.ts";
import { healthRoutes } from "./health.ts";
import { type Inference, inlineInference } from "./inference.ts";
import { metrics, metricsMiddleware, metricsRoutes } from "./metrics.ts";
import { createDrain, type Drain } from "./drain.ts";
import { openApiDocument, openApiRoutes } from "./openapi.ts";
import { apiApp, apiDefinitions } from "./definitions.ts";
import { pageRoutes } from "./page.ts";
import { predictRoutes } from "./predict.ts";
import { staticFile, staticFolder } from "./static.ts";

/**
 * What the page and /docs need, and nothing more: no inline script (the page has none), tfjs's WASM backend
 * (wasm-unsafe-eval), recordings played from blob: URLs, inline style attributes (the probability bars).
 * No frame-ancestors and no X-Frame-Options: a Hugging Face Space shows the app inside an iframe.
 */
const SECURITY_HEADERS = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:", "blob:"],
    mediaSrc: ["'self'", "blob:"],
    connectSrc: ["'self'"],
    workerSrc: ["'self'", "blob:"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
  },
  referrerPolicy: "strict-origin-when-cross-origin",
  xFrameOptions: false,
  crossOriginResourcePolicy: false,
});

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

export function createApp(
  served: ServedModels,
  decoder: AudioDecoder,
  config: ServerConfig,
  runtime: { backend: string; simd: boolean },
  /** SIGTERM's drain (main.ts); in process (tests), one that is never started. */
  drain: Drain = createDrain(),
  /** The inference workers (main.ts); in process (tests), inference on the calling thread. */
  inference: Inference = inlineInference(served),
) {
  // An OpenAPIHono: the sub-apps' route definitions merge into it, and /openapi.json is its document.
  const app = apiApp();
  // Every request is counted (GET /metrics), and refused once the server is draining (SIGTERM: routes/drain.ts).
  app.use(metricsMiddleware(), drain.middleware);
  decoder = metrics.timed(decoder);
  const definitions = apiDefinitions({
    models: served.models.map((m) => m.name),
    maxBodyBytes: config.maxBodyBytes,
    bodyTimeoutS: config.bodyTimeoutS,
    maxAudioSeconds: config.maxAudioSeconds,
  });
  if (config.logRequests) {
    app.use(async (c, next) => {
      const started = performance.now();
      await next();
      console.log(`${c.req.method} ${c.req.path} ${c.res.status} ${(performance.now() - started).toFixed(1)}ms`);
    });
  }
  app.use(SECURITY_HEADERS);
  if (config.corsOrigin) {
    const origins = config.corsOrigin === "*" ? "*" : config.corsOrigin.split(",").map((s) => s.trim());
    app.use(cors({ origin: origins, allowMethods: ["GET", "POST", "OPTIONS"] }));
  }
  const limits = { maxBytes: config.maxBodyBytes, timeoutMs: config.bodyTimeoutS * 1000 };
  app.route("/", predictRoutes(definitions, served, decoder, limits, inference));
  app.route("/", adaptRoutes(definitions, served, decoder, limits, inference));
  // The Gradio protocol (routes/gradio.ts): a self-describing API of its own (/config, /gradio_api/info), mounted
  // beside the REST routes and, like the static folders, not part of /openapi.json.
  const gradio = gradioRoutes(served, decoder, inference, limits).app;
  app.mount(GRADIO_PREFIX, gradio.fetch);
  app.all("/config", (c) => gradio.fetch(c.req.raw));
  app.route("/", healthRoutes(definitions, served, runtime, () => inference.tensors()));
  app.route("/", metricsRoutes(definitions, served, decoder, inference, () => drain.draining));
  app.route("/", openApiRoutes(definitions, () => openApiDocument(app)));
  app.route("/", pageRoutes(definitions, served, config));
  app.route("/", staticFile("/favicon.ico", "static/favicon.svg"));
  // Each model's folder for in-browser inference and its plots; /model is the default one.
  for (const model of served.models) app.route("/", staticFolder(`/models/${model.name}`, model.dir));
  // The speech embedding the models sit on, for the in-browser mode (once, however many models share it).
  for (const [name, dir] of embeddingFolders(served)) app.route("/", staticFolder(`/models/${name}`, dir));
  app.route("/", staticFolder("/model", served.default.dir));
  app.route("/", staticFolder("/static", "static"));
  app.route("/", staticFolder("/examples", config.examplesDir));
  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length === 0) return errorResponse(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`);
    return errorResponse(c, 405, "method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allowed.join(", ")}`, {
      allow: allowed.join(", "),
    });
  });
  app.onError(handleError);
  return app;
}

/** The methods some route (not middleware) answers on `path`: the Allow header of a 405. GET implies HEAD. */
function allowedMethods(app: { router: { match(method: string, path: string): unknown } }, path: string): string[] {
  const allowed = METHODS.filter((method) => {
    const [matches] = app.router.match(method, path) as unknown as [[[unknown, { method: string }], unknown][]];
    return matches.some(([[, route]]) => route.method !== "ALL");
  });
  return allowed.includes("GET") && !allowed.includes("HEAD") ? [...allowed.slice(0, 1), "HEAD", ...allowed.slice(1)] : allowed;
}
