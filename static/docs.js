// /docs: Swagger UI on this server's own OpenAPI document (a file, not inline: the page's CSP allows only our scripts).
globalThis.addEventListener("DOMContentLoaded", () => {
  globalThis.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: true,
    defaultModelsExpandDepth: 0,
  });
});
