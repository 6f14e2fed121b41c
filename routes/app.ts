/** The Hono app: sub-apps mounted in one place, request log, CORS when asked, errors as JSON. */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { Classifier } from "../models/classifier.ts";
import type { ServerConfig } from "./config.ts";
import { errorResponse, handleError } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { openApiRoutes } from "./openapi.ts";
import { pageRoutes } from "./page.ts";
import { predictRoutes } from "./predict.ts";
import { staticFolder } from "./static.ts";

export function createApp(classifier: Classifier, config: ServerConfig, runtime: { backend: string; simd: boolean }) {
  const app = new Hono();
  if (config.logRequests) {
    app.use(async (c, next) => {
      const started = performance.now();
      await next();
      console.log(`${c.req.method} ${c.req.path} ${c.res.status} ${(performance.now() - started).toFixed(1)}ms`);
    });
  }
  if (config.corsOrigin) {
    const origins = config.corsOrigin === "*" ? "*" : config.corsOrigin.split(",").map((s) => s.trim());
    app.use(cors({ origin: origins, allowMethods: ["GET", "POST", "OPTIONS"] }));
  }
  app.route("/", predictRoutes(classifier, config));
  app.route("/", healthRoutes(classifier, runtime));
  app.route("/", openApiRoutes(config));
  app.route("/", pageRoutes(classifier, config));
  app.route("/", staticFolder("/model", config.modelDir));
  app.route("/", staticFolder("/static", "static"));
  app.route("/", staticFolder("/examples", config.examplesDir));
  app.notFound((c) => errorResponse(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.onError(handleError);
  return app;
}
