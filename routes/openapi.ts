/**
 * GET /openapi.json (OpenAPI 3.1, generated from the route definitions: routes/definitions.ts) and GET /docs,
 * Swagger UI on the same document.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { API_INFO, apiApp, type ApiDefinitions } from "./definitions.ts";

type OpenApiDocument = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;

/** The document of every route `app` has registered so far (call it once they all are). */
export function openApiDocument(app: OpenAPIHono): OpenApiDocument {
  return app.getOpenAPI31Document(API_INFO);
}

const escape = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]!);

/** /openapi.json and /docs; `document` is asked for on the first request, when every route is registered. */
export function openApiRoutes(definitions: ApiDefinitions, document: () => OpenApiDocument) {
  let doc: OpenApiDocument | undefined;
  const current = () => (doc ??= document());
  return apiApp().openapi(definitions.openapi, (c) => c.json(current() as unknown as Record<string, unknown>, 200))
    // Swagger UI (bundled from npm into static/build/swagger by islands/build.ts) where a visitor can send a clip;
    // under it, for readers without JavaScript, every operation and its answers as plain HTML.
    .openapi(definitions.docs, (c) => c.html(docsPage(current())));
}

function docsPage(doc: OpenApiDocument): string {
  const sections = Object.entries(doc.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(
      methods as Record<string, { summary?: string; description?: string; responses?: Record<string, { description: string }> }>,
    ).map(([method, op]) =>
      `<section><h2><code>${method.toUpperCase()} ${escape(path)}</code></h2><p>${escape(op.summary ?? "")}</p>` +
      (op.description ? `<p>${escape(op.description)}</p>` : "") +
      `<ul>${
        Object.entries(op.responses ?? {}).map(([status, r]) => `<li><b>${status}</b> ${escape(r.description)}</li>`).join("")
      }</ul></section>`
    )
  ).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>Spoken Digits API</title><link rel="icon" href="/favicon.ico" type="image/svg+xml">` +
    `<link rel="stylesheet" href="/static/style.css"><link rel="stylesheet" href="/static/build/swagger/swagger-ui.css">` +
    `<script src="/static/build/swagger/swagger-ui-bundle.js" defer></script><script src="/static/docs.js" defer></script></head>` +
    `<body><main class="docs"><h1>Spoken Digits API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). ` +
    `Back to <a href="/">the app</a>. Open an operation, press <b>Try it out</b>, choose a clip and <b>Execute</b>.</p>` +
    `<div id="swagger-ui"></div><noscript>${sections}</noscript></main></body></html>`;
}
