/** examples/predict.ipynb, executed with nbclient (Python venv made by .ci/run) against the live server. */
import assert from "node:assert/strict";
import { clipPath, FSDD, toolOrSkip } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";

const PYTHON = Deno.env.get("PYTHON") ?? ".venv/bin/python";
const ready = !!FSDD && toolOrSkip(PYTHON, ["-c", "import nbclient, nbformat, requests, ipykernel"]);

Deno.test({
  name: "the example notebook runs against the server, prints the right digits for a folder of FSDD clips, and teaches it their voices",
  ignore: !ready,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const clips = ["1_george_0.wav", "5_jackson_3.wav", "8_lucas_1.wav", "6_yweweler_4.wav"];
    const folder = await Deno.makeTempDir();
    for (const clip of clips) await Deno.copyFile(clipPath(clip), `${folder}/${clip}`);
    const server = await startServer();
    try {
      const { success, stdout, stderr } = await new Deno.Command(PYTHON, {
        args: ["tests/fixtures/run_notebook.py", "examples/predict.ipynb"],
        env: { SPOKEN_DIGITS_URL: server.url, DIGITS_FOLDER: folder },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(stdout);
      assert.ok(success, new TextDecoder().decode(stderr));
      // Cell 2 prints the first file's digit; cell 3 a table row per file.
      assert.match(out, /1_george_0\.wav -> 1 /);
      for (const clip of clips) {
        const row = new RegExp(`^${clip.replace(".", "\\.")}\\s+(\\d)\\s+[\\d.]+\\s+[\\d.]+$`, "m").exec(out);
        assert.ok(row, `no table row for ${clip} in:\n${out}`);
        assert.equal(row[1], clip[0], `${clip} was recognized as ${row[1]}`);
        // The last cell teaches the folder's voices and answers each clip with that profile.
        const taught = new RegExp(`^${clip.replace(".", "\\.")}\\s+(\\d)  \\(generic model alone: (\\d)\\)$`, "m").exec(out);
        assert.ok(taught, `no profile row for ${clip} in:\n${out}`);
        assert.equal(taught[2], row[1]);
      }
      assert.match(out, /^taught 4 takes; the profile is \d+ characters$/m);
    } finally {
      await server.stop();
      await Deno.remove(folder, { recursive: true });
    }
  },
});
