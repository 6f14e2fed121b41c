/// <reference lib="dom" />
/** /docs in headless Chromium: Swagger UI, served locally, lists every operation and sends a clip to /predict from the page. */
import assert from "node:assert/strict";
import { toolOrSkip } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";
import { launch } from "./ui_helpers.ts";

const ready = toolOrSkip("/usr/bin/chromium", ["--version"]);

Deno.test({
  name: "ui: /docs shows every operation of /openapi.json, loads nothing from elsewhere, and Try it out on /predict answers 200",
  ignore: !ready,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startServer();
    const browser = await launch();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
      page.on("pageerror", (e) => problems.push(e.message));
      page.on("request", (r) => !r.url().startsWith(server.url) && !r.url().startsWith("data:") && problems.push(`outside: ${r.url()}`));
      await page.goto(`${server.url}/docs`, { waitUntil: "networkidle" });
      const doc = await (await fetch(`${server.url}/openapi.json`)).json();
      const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods as object).map((m) => `${m} ${path}`));
      await page.locator(".opblock").first().waitFor();
      const shown = await page.locator(".opblock-summary").evaluateAll((els) =>
        els.map((e) => {
          const method = e.querySelector(".opblock-summary-method")?.textContent?.toLowerCase();
          const path = e.querySelector(".opblock-summary-path")?.getAttribute("data-path");
          return `${method} ${path}`;
        })
      );
      assert.deepEqual([...shown].sort(), [...operations].sort());
      // Try it out: POST /predict with a clip the repository ships.
      const predict = page.locator(".opblock-post").filter({ has: page.locator('[data-path="/predict"]') });
      await predict.locator(".opblock-summary").click();
      await predict.getByRole("button", { name: "Try it out" }).click().catch(() => {/* tryItOutEnabled: already open */});
      await predict.locator('input[type="file"]').setInputFiles("static/examples/7_flite-kal.wav");
      await predict.getByRole("button", { name: "Execute" }).click();
      await predict.locator(".live-responses-table tbody .response-col_status").first().waitFor();
      assert.equal((await predict.locator(".live-responses-table tbody .response-col_status").first().textContent())?.trim(), "200");
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});
