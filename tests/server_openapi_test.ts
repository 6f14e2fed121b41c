/**
 * The OpenAPI document is generated from the route definitions (routes/definitions.ts): every route the app
 * serves is documented and every documented one is served; the names the page's client and snippets use are
 * the document's; and every query value outside its schema is a 400 in our error shape, never a 500.
 */
import assert from "node:assert/strict";
import { loadServedModels } from "../models/served.ts";
import { initTf } from "../models/tfjs.ts";
import { createApp } from "../routes/app.ts";
import { readConfig } from "../routes/config.ts";
import { AUDIO_FIELD, PATHS, PROFILE_FIELD, QUERY, TAKE_FIELDS } from "../routes/contract.ts";
import type { AudioDecoder } from "../routes/decoding.ts";
import { API_ERROR_CODES } from "../routes/errors.ts";
import { openApiDocument } from "../routes/openapi.ts";

const runtime = await initTf();
const config = readConfig(() => undefined);
const served = await loadServedModels(config.modelDirs, config.modelsOrdered);
const app = createApp(served, {} as AudioDecoder, config, runtime);
const doc = openApiDocument(app);

interface Operation {
  parameters?: { name: string; in: string; schema: { enum?: string[]; pattern?: string } }[];
  requestBody?: { content: Record<string, { schema: { required?: string[]; properties?: Record<string, unknown> } }> };
}
const operation = (path: string, method: string) => (doc.paths![path] as Record<string, Operation>)[method];

Deno.test("openapi: the document's operations are exactly the app's routes (static files and the favicon aside)", () => {
  const routes = new Set(
    app.routes.filter((r) => r.method !== "ALL" && !r.path.includes("*") && r.path !== "/favicon.ico")
      .map((r) => `${r.method.toLowerCase()} ${r.path}`),
  );
  const documented = new Set(Object.entries(doc.paths ?? {}).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`)));
  assert.deepEqual([...routes].sort(), [...documented].sort());
});

Deno.test("openapi: the names the page's client and snippets use (routes/contract.ts) are the document's", () => {
  assert.deepEqual(Object.keys(doc.paths!).sort(), Object.values(PATHS).sort());
  for (const path of [PATHS.predict, PATHS.transcribe]) {
    const form = operation(path, "post").requestBody!.content["multipart/form-data"].schema;
    assert.deepEqual(form.required, [AUDIO_FIELD]);
    assert.ok(PROFILE_FIELD in form.properties!);
    const names = operation(path, "post").parameters!.map((p) => p.name);
    assert.ok(names.every((n) => Object.values(QUERY).includes(n as never)), names.join());
  }
  const takes = operation(PATHS.adapt, "post").requestBody!.content["multipart/form-data"].schema;
  assert.deepEqual(Object.keys(takes.properties!), [...TAKE_FIELDS]);
  assert.deepEqual(operation(PATHS.predict, "post").parameters!.map((p) => p.schema.enum ?? p.schema.pattern).length, 3);
});

Deno.test("openapi: every query parameter, given a value its schema refuses, answers 400 in the error shape", async () => {
  const bad: Record<string, string> = { [QUERY.model]: "no-such-model", [QUERY.reject]: "1.5", [QUERY.include]: "everything" };
  let tried = 0;
  for (const [path, methods] of Object.entries(doc.paths!)) {
    for (const [method, op] of Object.entries(methods as Record<string, Operation>)) {
      for (const parameter of op.parameters ?? []) {
        assert.ok(parameter.name in bad, `no bad value to try for ${parameter.name}`);
        const response = await app.request(`${path}?${parameter.name}=${bad[parameter.name]}`, { method: method.toUpperCase(), body: "x" });
        const body = await response.json();
        assert.equal(response.status, 400, `${method} ${path}?${parameter.name}: ${JSON.stringify(body)}`);
        assert.ok(API_ERROR_CODES.includes(body.error.code), body.error.code);
        assert.equal(body.error.code, parameter.name === QUERY.model ? "unknown_model" : "bad_parameter");
        assert.match(body.error.message, new RegExp(parameter.name === QUERY.model ? "no-such-model" : parameter.name));
        tried++;
      }
    }
  }
  assert.equal(tried, 6); // predict: model, reject, include; transcribe: model, reject; adapt: model
});
