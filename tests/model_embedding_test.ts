/**
 * The speech embedding in tfjs (models/embedding.ts, weights converted by models/lab/convert_speech_embedding.py)
 * against openWakeWord's embedding_model.onnx run by onnxruntime, one 76-frame window at a time
 * (tests/fixtures/make_speech_embedding_fixtures.py): one pass over the whole spectrogram must give every window's vector.
 */
import assert from "node:assert/strict";
import { initTf, tf } from "../models/tfjs.ts";
import { embed, vectorCount } from "../models/embedding.ts";
import { loadSpeechEmbedding } from "../models/files.ts";

await initTf();
const fixture = JSON.parse(await Deno.readTextFile(new URL("./fixtures/speech_embedding_reference.json", import.meta.url)));
const embedding = await loadSpeechEmbedding("models/speech_embedding");

for (const [name, signal] of Object.entries<{ mel: number[]; vectors: number[] }>(fixture.signals)) {
  Deno.test(`embedding: one pass over ${name} gives onnxruntime's vector of every window to 1e-4`, () => {
    const frames = fixture.frames;
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => embed(embedding, tf.tensor3d(Float32Array.from(signal.mel), [1, frames, 32])).dataSync());
    assert.equal(tf.memory().numTensors, before, "every tensor freed");
    assert.equal(out.length, vectorCount(embedding.graph, frames) * 96);
    assert.equal(out.length, signal.vectors.length);
    let worst = 0;
    for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - signal.vectors[i]));
    assert.ok(worst <= 1e-4, `largest difference ${worst}`);
  });
}

Deno.test("embedding: a batch gives each spectrogram's vectors as alone", () => {
  const frames = fixture.frames;
  const [a, b] = Object.values<{ mel: number[] }>(fixture.signals).map((s) => Float32Array.from(s.mel));
  const both = new Float32Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  const together = tf.tidy(() => embed(embedding, tf.tensor3d(both, [2, frames, 32])).dataSync());
  const alone = tf.tidy(() => embed(embedding, tf.tensor3d(b, [1, frames, 32])).dataSync());
  const half = together.length / 2;
  for (let i = 0; i < alone.length; i++) assert.ok(Math.abs(together[half + i] - alone[i]) < 1e-4);
});

Deno.test("embedding: only 76 + 8k frames and 32 bands are taken", () => {
  assert.equal(vectorCount(embedding.graph, 75), 0);
  assert.equal(vectorCount(embedding.graph, 76), 1);
  assert.equal(vectorCount(embedding.graph, 156), 11);
  const before = tf.memory().numTensors;
  assert.throws(() => tf.tidy(() => embed(embedding, tf.zeros([1, 80, 32]) as tf.Tensor3D)), /76 \+ k \* 8 frames/);
  assert.throws(() => tf.tidy(() => embed(embedding, tf.zeros([1, 76, 40]) as tf.Tensor3D)), /32 mel bands/);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("embedding: the committed weights are the converted ones (graph.json's manifest, 328,224 float32 values)", async () => {
  const graph = JSON.parse(await Deno.readTextFile("models/speech_embedding/graph.json"));
  const values = graph.weightsManifest[0].weights.reduce((n: number, w: { shape: number[] }) => n + w.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(values, 328224);
  assert.equal((await Deno.stat("models/speech_embedding/weights.bin")).size, values * 4);
  const notice = await Deno.readTextFile("models/speech_embedding/NOTICE");
  assert.match(notice, new RegExp(graph.source.onnxSha256));
  assert.match(await Deno.readTextFile("models/speech_embedding/LICENSE"), /Apache License/);
});
