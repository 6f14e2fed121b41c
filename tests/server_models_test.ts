/** Several models served at once: listed, picked with ?model=, each answering with its own name; the page offers them. */
import assert from "node:assert/strict";
import { startServer } from "./server_helpers.ts";

const server = await startServer();
const opts = { sanitizeResources: false, sanitizeOps: false };
const CLIP = await Deno.readFile("static/examples/7_flite-kal.wav");

async function predict(query: string) {
  const response = await fetch(`${server.url}/predict${query}`, { method: "POST", body: CLIP, headers: { "content-type": "audio/wav" } });
  return { status: response.status, json: await response.json() };
}

Deno.test({
  ...opts,
  name: "/health lists every model, the default first; the default is the best on unseen speakers (all six) of those >= 97% official",
  fn: async () => {
    const health = await (await fetch(`${server.url}/health`)).json();
    assert.deepEqual([...health.models].sort(), ["cnn", "embed", "mlp"]);
    const figures = await Promise.all(health.models.map(async (name: string) => {
      const metrics = JSON.parse(await Deno.readTextFile(`models/${name}/metrics.json`));
      // A LOSO over fewer than FSDD's six speakers does not compete (models/served.ts).
      const full = Object.keys(metrics.loso?.perSpeaker ?? {}).length >= 6;
      return { name, official: metrics.official.accuracy as number, loso: full ? metrics.loso.mean as number : 0 };
    }));
    const eligible = figures.filter((f) => f.official >= 0.97).sort((a, b) => b.loso - a.loso);
    assert.equal(health.models[0], eligible[0].name);
    assert.match(health.model, new RegExp(`^${eligible[0].name}@[0-9a-f]{8}$`));
  },
});

Deno.test({
  ...opts,
  name: "?model= picks the model that answers, the answer names it; an unknown name is 400 unknown_model",
  fn: async () => {
    for (const name of ["cnn", "embed", "mlp"]) {
      const { status, json } = await predict(`?model=${name}`);
      assert.equal(status, 200, JSON.stringify(json));
      assert.match(json.model, new RegExp(`^${name}@[0-9a-f]{8}$`));
      assert.equal(json.probabilities.length, 10);
    }
    const { status, json } = await predict("?model=nope");
    assert.equal(status, 400);
    assert.equal(json.error.code, "unknown_model");
    assert.match(json.error.message, /cnn/);
  },
});

Deno.test({
  ...opts,
  name:
    "each model's folder (and the speech embedding under embed) is served for in-browser inference; the page offers a picker and every column",
  fn: async () => {
    for (const name of ["cnn", "embed", "mlp"]) {
      const response = await fetch(`${server.url}/models/${name}/model.json`);
      assert.equal(response.status, 200);
      assert.equal((await response.json()).format, "layers-model");
    }
    const graph = await fetch(`${server.url}/models/speech_embedding/graph.json`);
    assert.equal(graph.status, 200);
    assert.equal((await graph.json()).outputSize, 96);
    const weights = await fetch(`${server.url}/models/speech_embedding/weights.bin`);
    assert.equal((await weights.arrayBuffer()).byteLength, 328224 * 4);
    const page = await (await fetch(server.url)).text();
    assert.match(page, /<select[^>]*>.*<option[^>]* value="cnn"/s);
    assert.match(page, /<th scope="col">cnn<\/th>/);
    assert.match(page, /<th scope="col">mlp<\/th>/);
    assert.match(page, /<th scope="col">embed<\/th>/);
    // The refusal curve (issue: "not a digit") sits on the model panel beside the other plots, and is served.
    assert.match(page, /<img src="\/models\/cnn\/plots\/reject_curve.svg"/);
    const curve = await fetch(`${server.url}/models/cnn/plots/reject_curve.svg`);
    assert.equal(curve.status, 200);
    assert.match(curve.headers.get("content-type") ?? "", /image\/svg\+xml/);
    assert.match(await curve.text(), /<svg/);
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    const model = doc.paths["/predict"].post.parameters.find((p: { name: string }) => p.name === "model");
    assert.deepEqual([...model.schema.enum].sort(), ["cnn", "embed", "mlp"]);
  },
});

Deno.test({ ...opts, name: "stop the server", fn: () => server.stop() });
