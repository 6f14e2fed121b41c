/** models/lab/enroll.ts: the enrollment measurement on a manifest, and that teaching nothing changes nothing. */
import assert from "node:assert/strict";
import { evaluateEnrollment, readManifest } from "../models/lab/enroll.ts";
import { initTf } from "../models/tfjs.ts";
import { clipPath, FSDD } from "./helpers.ts";

Deno.test("readManifest: path,label,speaker in any order, paths relative to the file, a bad label refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/m.csv`, "speaker,path,label\nann,a/0.wav,0\nbob,/abs/7.wav,7\n");
    assert.deepEqual(readManifest(`${dir}/m.csv`), [
      { path: `${dir}/a/0.wav`, digit: 0, speaker: "ann" },
      { path: "/abs/7.wav", digit: 7, speaker: "bob" },
    ]);
    await Deno.writeTextFile(`${dir}/bad.csv`, "path,label,speaker\nx.wav,seven,ann\n");
    assert.throws(() => readManifest(`${dir}/bad.csv`), /not a digit/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "evaluateEnrollment: K = 0 equals the generic model exactly (nothing leaks); reports every K, mean and worst",
  ignore: !FSDD,
  fn: async () => {
    await initTf();
    const clips = ["theo", "lucas"].flatMap((speaker) =>
      Array.from({ length: 10 }, (_, d) => [0, 1, 2].map((t) => ({ path: clipPath(`${d}_${speaker}_${t}.wav`), digit: d, speaker }))).flat()
    );
    const result = await evaluateEnrollment(clips, () => "models/cnn", [0, 1], "test");
    const [none, one] = result.reports;
    assert.equal(none.k, 0);
    for (const r of Object.values(none.perSpeaker)) assert.equal(r.profile, r.generic);
    assert.equal(one.k, 1);
    assert.ok(one.worst <= one.profile && ["theo", "lucas"].includes(one.worstSpeaker));
  },
});
