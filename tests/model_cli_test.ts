/** The command lines (deno task train / eval / voices / nondigits / predict): --help answers at once and names every option each one parses. */
import assert from "node:assert/strict";

/** Options a parent process passes to its own workers; people never type them. */
const INTERNAL = new Set(["fold-json", "recipe-json", "help"]);

/** The option names declared in a script's parseArgs call (`name: { type` or `"name-x": { type`). */
function declaredOptions(source: string): string[] {
  return [...source.matchAll(/^\s+"?([a-z][a-z-]*)"?: \{ type: "(?:string|boolean)"/gm)].map((m) => m[1]).filter((n) => !INTERNAL.has(n));
}

for (
  const script of [
    "models/lab/train.ts",
    "models/lab/eval.ts",
    "models/lab/voices.ts",
    "models/lab/nondigits.ts",
    "models/batch/predict.ts",
  ]
) {
  Deno.test(`${script} --help lists every option and exits 0`, async () => {
    const options = declaredOptions(await Deno.readTextFile(script));
    assert.ok(options.length >= 3, `${script}: found only ${options.join(", ")}`);
    const { code, stdout } = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", script, "--help"], stdout: "piped" }).output();
    assert.equal(code, 0);
    const help = new TextDecoder().decode(stdout);
    for (const option of options) assert.match(help, new RegExp(`--${option}\\b`), `${script} --help does not mention --${option}`);
  });
}
