/** deno task predict: a folder labelled in process, one row per file, failures in their rows, CSV and JSONL for pandas. */
import assert from "node:assert/strict";
import { encodeWav16 } from "../dsp/wav.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { clipPath, FSDD, toolOrSkip } from "./helpers.ts";

const PYTHON = Deno.env.get("PYTHON") ?? ".venv/bin/python";
const HAVE_PANDAS = toolOrSkip(PYTHON, ["-c", "import pandas"]);
const CLIPS = ["1_george_3.wav", "5_jackson_4.wav", "8_lucas_2.wav", "0_nicolas_1.wav", "6_theo_0.wav", "9_yweweler_0.wav"];

async function run(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "models/batch/predict.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, stdout: new TextDecoder().decode(stdout), stderr: new TextDecoder().decode(stderr) };
}

/** FSDD clips (half in a subfolder), a string of three, garbage, silence and a text file that is not audio. */
async function folder(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/more`);
  for (const [i, clip] of CLIPS.entries()) await Deno.copyFile(clipPath(clip), `${dir}/${i % 2 ? "more/" : ""}${clip}`);
  await Deno.writeFile(`${dir}/garbage.wav`, new Uint8Array(500).map((_, i) => (i * 7919) % 256));
  await Deno.writeFile(`${dir}/silence.wav`, encodeWav16(new Float32Array(8000), 8000));
  await Deno.writeTextFile(`${dir}/notes.txt`, "not audio");
  // A link back up the tree (read once, not forever) and a link to a clip (followed).
  await Deno.symlink(dir, `${dir}/more/loop`);
  await Deno.symlink(Deno.realPathSync(clipPath("2_george_7.wav")), `${dir}/linked_2.wav`);
  const parts = await Promise.all(
    ["4_theo_9.wav", "2_theo_9.wav", "7_theo_9.wav"].map(async (n) => (await decodeAudio(await Deno.readFile(clipPath(n)))).samples),
  );
  const string = new Float32Array(parts.reduce((n, p) => n + p.length + 3200, 3200));
  parts.reduce((at, p) => (string.set(p, at), at + p.length + 3200), 3200);
  await Deno.writeFile(`${dir}/string_427.wav`, encodeWav16(string, 8000));
  return dir;
}

Deno.test({
  name: "predict: a folder to CSV, recursively; each FSDD clip right; garbage and silence get their error codes; the run exits 0",
  ignore: !FSDD,
  fn: async () => {
    const dir = await folder();
    try {
      const { code, stderr } = await run(dir, "--out", `${dir}/out.csv`, "--transcribe", "--jobs", "2");
      assert.equal(code, 0, stderr);
      assert.match(stderr, /8 labelled, 2 failed, 10 files/);
      const [header, ...lines] = (await Deno.readTextFile(`${dir}/out.csv`)).trim().split("\n");
      const columns = header.split(",");
      const rows = lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [columns[i], v])));
      assert.equal(rows.length, 10);
      assert.equal(rows.find((r) => r.path.endsWith("linked_2.wav"))!.digit, "2");
      for (const clip of CLIPS) {
        const row = rows.find((r) => r.path.endsWith(clip))!;
        assert.equal(row.digit, clip[0], `${clip}: ${JSON.stringify(row)}`);
        assert.equal(row.error, "");
      }
      assert.equal(rows.find((r) => r.path.endsWith("garbage.wav"))!.error, "undecodable");
      assert.equal(rows.find((r) => r.path.endsWith("silence.wav"))!.error, "no_speech");
      const string = rows.find((r) => r.path.endsWith("string_427.wav"))!;
      assert.equal(string.utterances, "3");
      assert.equal(string.text.length, 3);
      assert.ok(!rows.some((r) => r.path.endsWith("notes.txt")));
      if (HAVE_PANDAS) {
        await run(dir, "--out", `${dir}/out.jsonl`);
        const check = await new Deno.Command(PYTHON, {
          args: [
            "-c",
            `import pandas as pd
c = pd.read_csv("${dir}/out.csv"); j = pd.read_json("${dir}/out.jsonl", lines=True)
assert c.shape[0] == 10 and j.shape[0] == 10, (c.shape, j.shape)
assert set(c.columns) >= {"path", "digit", "confidence", "p0", "p9", "text", "error"}
ok = c[c.error.isna()]; assert (ok[[f"p{d}" for d in range(10)]].sum(axis=1) - 1).abs().max() < 1e-4
assert j.probabilities.dropna().map(len).eq(10).all()`,
          ],
        }).output();
        assert.ok(check.success, new TextDecoder().decode(check.stderr));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "predict: with a profile from the page's Export file, rows say profile true; nothing readable exits 1; a bad profile stops at once",
  ignore: !FSDD,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // A profile made by the same code the server runs (POST /adapt), exported the way the page does it.
      const { initTf } = await import("../models/tfjs.ts");
      const { loadClassifier } = await import("../models/files.ts");
      const { adaptToTakes, encodeProfile } = await import("../models/profile.ts");
      const { featuresFromAudio } = await import("../dsp/index.ts");
      await initTf();
      const classifier = await loadClassifier("models/cnn");
      const takes = await Promise.all(["3_lucas_1.wav", "8_lucas_1.wav"].map(async (n) => {
        const a = await decodeAudio(await Deno.readFile(clipPath(n)));
        return { digit: +n[0], views: featuresFromAudio(a.samples, a.sampleRate, classifier.features.config).views };
      }));
      const profile = encodeProfile(adaptToTakes(classifier, takes).profile);
      await Deno.writeTextFile(`${dir}/me.json`, JSON.stringify({ format: "spoken-digits-profile-file/1", profile, model: "cnn" }));
      await Deno.copyFile(clipPath("3_lucas_2.wav"), `${dir}/3_lucas_2.wav`);
      const { code, stdout, stderr } = await run(`${dir}/3_lucas_2.wav`, "--model", "models/cnn", "--profile", `${dir}/me.json`);
      assert.equal(code, 0, stderr);
      const [header, row] = stdout.trim().split("\n").map((l) => l.split(","));
      assert.equal(row[header.indexOf("profile")], "true");
      assert.match(row[header.indexOf("generic_digit")], /^\d$/);
      const other = await run(`${dir}/3_lucas_2.wav`, "--model", "models/mlp", "--profile", `${dir}/me.json`);
      assert.equal(other.code, 2);
      assert.match(other.stderr, /made for the model cnn@/);
      await Deno.writeTextFile(`${dir}/bad.wav`, "nope");
      assert.equal((await run(`${dir}/bad.wav`, `${dir}/missing.wav`)).code, 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
