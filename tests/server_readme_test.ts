/**
 * The README's API snippets run as pasted from a clone: every ```sh and ```python block that calls the server
 * (http://localhost:7860) is run against a live one (its URL swapped in) and must succeed and print an answer.
 */
import assert from "node:assert/strict";
import { toolOrSkip } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";

const PYTHON = Deno.env.get("PYTHON") ?? ".venv/bin/python";
const ready = toolOrSkip("curl", ["--version"]) && toolOrSkip(PYTHON, ["-c", "import requests, gradio_client"]);
const README_ORIGIN = "http://localhost:7860";

/**
 * Fenced blocks of `lang` in the README that call the API (curl, requests or gradio_client against README_ORIGIN); blocks that
 * run `deno task …` (the quick start, training) are not API calls and are left out.
 */
function apiBlocks(lang: string): string[] {
  const readme = Deno.readTextFileSync("README.md");
  const blocks = [...readme.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
  return blocks.filter((b) =>
    b.includes(README_ORIGIN) && /\bcurl |import requests|from gradio_client import/.test(b) && !b.includes("deno task")
  );
}

Deno.test({
  name: "README: every sh and python block that calls the API runs against the live server and prints its answer",
  ignore: !ready,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const blocks = [
      ...apiBlocks("sh").map((code) => ({ lang: "sh", code })),
      ...apiBlocks("python").map((code) => ({ lang: "python", code })),
    ];
    assert.ok(blocks.length >= 3, `only ${blocks.length} API blocks in the README`);
    const server = await startServer();
    try {
      for (const { lang, code } of blocks) {
        const script = code.replaceAll(README_ORIGIN, server.url);
        const [cmd, args] = lang === "sh" ? ["bash", ["-euo", "pipefail", "-c", script]] : [PYTHON, ["-c", script]];
        const child = new Deno.Command(cmd, { args: args as string[], stdout: "piped", stderr: "piped" }).spawn();
        // A snippet that hangs fails the test instead of stalling the suite.
        const timer = setTimeout(() => child.kill(), 30_000);
        const { success, stdout, stderr } = await child.output().finally(() => clearTimeout(timer));
        const out = new TextDecoder().decode(stdout);
        assert.ok(success, `${lang} block failed:\n${code}\n${new TextDecoder().decode(stderr)}`);
        assert.ok(out.trim().length > 0, `${lang} block printed nothing:\n${code}`);
        assert.doesNotMatch(out, /"error"/, `${lang} block got an error:\n${code}\n${out}`);
      }
    } finally {
      await server.stop();
    }
  },
});
