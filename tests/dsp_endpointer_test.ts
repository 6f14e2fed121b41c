/** dsp/endpointer.ts: utterances found in a stream as it arrives, each soon after it ends. */
import assert from "node:assert/strict";
import { decodeAudio } from "../dsp/decode.ts";
import { addNoise, meanSquare, whiteNoise } from "../dsp/augment.ts";
import { seededRandom } from "../dsp/random.ts";
import { createEndpointer, DEFAULT_ENDPOINTER } from "../dsp/endpointer.ts";
import { clipPath, FSDD } from "./helpers.ts";

const RATE = 8000;

Deno.test({
  name: "endpointer: four digits 0.3 s apart, in noise, fed in 1,024-sample chunks: four utterances, each out within hangover + a chunk",
  ignore: !FSDD,
  fn: async () => {
    const clips = await Promise.all(
      ["4_jackson_0.wav", "2_jackson_1.wav", "0_jackson_2.wav", "7_jackson_3.wav"].map(async (n) =>
        (await decodeAudio(await Deno.readFile(clipPath(n)))).samples
      ),
    );
    const lead = RATE, gap = Math.round(0.3 * RATE);
    const total = lead + clips.reduce((n, c) => n + c.length + gap, 0) + RATE;
    const clean = new Float32Array(total);
    const spans: [number, number][] = [];
    let at = lead;
    for (const clip of clips) {
      clean.set(clip, at);
      spans.push([at, at + clip.length]);
      at += clip.length + gap;
    }
    const power = clips.reduce((s, c) => s + meanSquare(c), 0) / clips.length;
    const stream = addNoise(clean, whiteNoise(total, seededRandom(2)), 25, power);
    const endpointer = createEndpointer(RATE);
    const found: { startS: number; endS: number; heardAt: number }[] = [];
    for (let i = 0; i < stream.length; i += 1024) {
      for (const u of endpointer.push(stream.subarray(i, i + 1024))) found.push({ ...u, heardAt: i + 1024 });
    }
    assert.equal(found.length, 4, JSON.stringify(found));
    found.forEach((u, k) => {
      const [start, end] = spans[k];
      assert.ok(u.startS * RATE < (start + end) / 2 && u.endS * RATE > (start + end) / 2, `utterance ${k}: ${JSON.stringify(u)}`);
      // Out no later than the clip's end + the hangover + one frame + one chunk.
      const limit = end + (DEFAULT_ENDPOINTER.hangoverS + DEFAULT_ENDPOINTER.frameS) * RATE + 1024;
      assert.ok(u.heardAt <= limit, `utterance ${k} heard at ${u.heardAt}, clip ends ${end}`);
    });
  },
});

Deno.test("endpointer: silence, steady noise and a click give nothing; a long tone is cut at maxUtteranceS", () => {
  const endpointer = createEndpointer(RATE);
  const noise = whiteNoise(5 * RATE, seededRandom(4)).map((v) => v * 0.01);
  noise.fill(0.8, 2 * RATE, 2 * RATE + 16);
  const heard = [];
  for (let i = 0; i < noise.length; i += 500) heard.push(...endpointer.push(noise.subarray(i, i + 500)));
  assert.deepEqual(heard, []);
  const tone = Float32Array.from({ length: 5 * RATE }, (_, i) => 0.3 * Math.sin(2 * Math.PI * 440 * i / RATE));
  const cuts = [];
  for (let i = 0; i < tone.length; i += 800) cuts.push(...endpointer.push(tone.subarray(i, i + 800)));
  assert.ok(
    cuts.length >= 2 && cuts.every((u) => u.endS - u.startS <= DEFAULT_ENDPOINTER.maxUtteranceS + 2 * DEFAULT_ENDPOINTER.padS + 0.05),
  );
});
