/**
 * Schemathesis (PyPI, in .venv) against the live server's /openapi.json: generated requests for every
 * operation, bounded and seeded, with every check but one. `positive_data_acceptance` expects any body that
 * fits the schema to be accepted, and a schema cannot say "decodable audio": random bytes that are schema-valid
 * binary are rightly answered 400 `undecodable`.
 */
import assert from "node:assert/strict";
import { failInCiElseSkip } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";

const SCHEMATHESIS = ".venv/bin/schemathesis";
const available = (() => {
  try {
    return new Deno.Command(SCHEMATHESIS, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();
if (!available) failInCiElseSkip("schemathesis is not installed in .venv (.ci/run installs it)");

Deno.test({
  name: "schemathesis: every operation in /openapi.json, 50 examples each, all checks but positive_data_acceptance",
  ignore: !available,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startServer();
    try {
      const { code, stdout, stderr } = await new Deno.Command(SCHEMATHESIS, {
        args: [
          "run",
          `${server.url}/openapi.json`,
          "--checks",
          "all",
          "--exclude-checks",
          "positive_data_acceptance",
          "--max-examples",
          "50",
          "--seed",
          "1",
          "--max-response-time",
          "2",
        ],
        env: { NO_COLOR: "1", SCHEMATHESIS_TELEMETRY: "false" },
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(120_000),
      }).output();
      const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
      assert.equal(code, 0, text.slice(-4000));
      assert.match(text, /passed/);
    } finally {
      await server.stop();
    }
  },
});
