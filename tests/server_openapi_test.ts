/** The OpenAPI document and the app agree: every API route the app serves is documented, and every documented one is served. */
import assert from "node:assert/strict";
import { loadServedModels } from "../models/served.ts";
import { initTf } from "../models/tfjs.ts";
import { createApp } from "../routes/app.ts";
import { readConfig } from "../routes/config.ts";
import type { AudioDecoder } from "../routes/decoding.ts";
import { openApiDocument } from "../routes/openapi.ts";

Deno.test("openapi: the document's operations are exactly the app's routes (static files and the favicon aside)", async () => {
  const runtime = await initTf();
  const config = readConfig(() => undefined);
  const served = await loadServedModels(config.modelDirs, config.modelsOrdered);
  const app = createApp(served, {} as AudioDecoder, config, runtime);
  const routes = new Set(
    app.routes.filter((r) => r.method !== "ALL" && !r.path.includes("*") && r.path !== "/favicon.ico")
      .map((r) => `${r.method.toLowerCase()} ${r.path}`),
  );
  const doc = openApiDocument(config, served);
  const documented = new Set(Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`)));
  assert.deepEqual([...routes].sort(), [...documented].sort());
});
