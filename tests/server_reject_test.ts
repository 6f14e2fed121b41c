/** "Not a digit" on the real server: label and unknown in every answer, ?reject= moves or turns off the refusal. */
import assert from "node:assert/strict";
import { encodeWav16 } from "../dsp/wav.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { clipPath, FSDD } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false, ignore: !FSDD };
const server = FSDD ? await startServer() : undefined;
const SEVEN = FSDD ? await Deno.readFile(clipPath("7_theo_12.wav")) : new Uint8Array();

const post = async (path: string, body: Uint8Array) => {
  const response = await fetch(`${server!.url}${path}`, { method: "POST", body: body as Uint8Array<ArrayBuffer> });
  return { status: response.status, json: await response.json() };
};

Deno.test({
  ...opts,
  name: "every answer has a label; cnn (which can tell) also unknown, in 0-1; mlp (which cannot) none",
  fn: async () => {
    const cnn = await post("/predict?model=cnn", SEVEN);
    assert.equal(cnn.json.label, String(cnn.json.digit));
    assert.ok(cnn.json.unknown >= 0 && cnn.json.unknown <= 1, JSON.stringify(cnn.json));
    const mlp = await post("/predict?model=mlp", SEVEN);
    assert.equal(mlp.json.label, String(mlp.json.digit));
    assert.equal(mlp.json.unknown, undefined);
  },
});

Deno.test({
  ...opts,
  name: "?reject=: a refusal point below the clip's unknown refuses it (digit null, label unknown, confidence = unknown); off never does",
  fn: async () => {
    const { json: plain } = await post("/predict?model=cnn&reject=off", SEVEN);
    assert.equal(plain.digit, 7);
    const low = Math.max(1e-6, plain.unknown / 2);
    const { json: refused } = await post(`/predict?model=cnn&reject=${low}`, SEVEN);
    assert.deepEqual([refused.digit, refused.label, refused.confidence], [null, "unknown", plain.unknown]);
    assert.deepEqual(refused.probabilities, plain.probabilities);
    // In a string, a refused utterance stays in segments but leaves the text.
    const seven = (await decodeAudio(SEVEN)).samples;
    const twice = new Float32Array(2 * seven.length + 4000);
    twice.set(seven);
    twice.set(seven, seven.length + 4000);
    const string = new Uint8Array(encodeWav16(twice, 8000));
    const { json: transcript } = await post(`/transcribe?model=cnn&reject=${low}`, string);
    assert.equal(transcript.text, "");
    assert.ok(
      transcript.segments.length >= 1 &&
        transcript.segments.every((s: { label: string; digit: null }) => s.label === "unknown" && s.digit === null),
    );
  },
});

Deno.test({
  ...opts,
  name: "?reject= that is neither off nor a number in (0, 1] is 400 bad_parameter",
  fn: async () => {
    for (const bad of ["2", "0", "-1", "yes", "NaN"]) {
      const { status, json } = await post(`/predict?reject=${bad}`, SEVEN);
      assert.equal(status, 400, bad);
      assert.equal(json.error.code, "bad_parameter");
    }
  },
});

Deno.test({ ...opts, name: "stop the server", fn: async () => await server?.stop() });
