/**
 * Model folders on disk, for Deno: our own file IOHandler around tfjs's layers format (tfjs-node, which
 * would do this, downloads a native binary at install time, so we do not use it). Weights are stored as
 * float16, which halves the file and changed none of the 300 official test predictions (measured).
 */
import { tf } from "./tfjs.ts";
import { type Classifier } from "./classifier.ts";
import { float32ToFloat16Bits, type FeaturesFile, type ModelIdentity } from "./model_format.ts";

type WeightSpec = TfWeightSpec & { quantization?: { dtype: "float16" } };
type TfWeightSpec = { name: string; shape: number[]; dtype: string };

function joinBuffers(data: ArrayBuffer | ArrayBuffer[]): ArrayBuffer {
  if (!Array.isArray(data)) return data;
  const total = data.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  return out.buffer;
}

/** float32 weight bytes -> float16 bytes with the matching `quantization` entries in the specs. */
function toFloat16(specs: TfWeightSpec[], data: ArrayBuffer): { specs: WeightSpec[]; data: Uint8Array } {
  const floats = new Float32Array(data);
  const halves = new Uint16Array(floats.length);
  for (let i = 0; i < floats.length; i++) halves[i] = float32ToFloat16Bits(floats[i]);
  if (specs.some((s) => s.dtype !== "float32")) throw new Error("only float32 weights can be stored as float16");
  return { specs: specs.map((s) => ({ ...s, quantization: { dtype: "float16" } })), data: new Uint8Array(halves.buffer) };
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Writes model.json, weights.bin and features.json into `dir`; returns the model's version (weights hash). */
export async function saveModelFolder(dir: string, model: tf.LayersModel, features: FeaturesFile): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    artifacts = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  if (!artifacts?.weightSpecs || !artifacts.weightData) throw new Error("tfjs returned no weights to save");
  const { specs, data } = toFloat16(artifacts.weightSpecs as TfWeightSpec[], joinBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]));
  const modelJson = {
    format: "layers-model",
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: "spoken-digits models/files.ts (float16 weights)",
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ["weights.bin"], weights: specs }],
  };
  await Deno.writeFile(`${dir}/weights.bin`, data);
  await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(modelJson));
  await Deno.writeTextFile(`${dir}/features.json`, JSON.stringify(features, null, 1) + "\n");
  return (await sha256Hex(data)).slice(0, 8);
}

/** Reads a model folder written by saveModelFolder (or any tfjs layers model with a features.json beside it). */
export async function loadClassifier(dir: string): Promise<Classifier> {
  const modelJson = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  const weights = await Deno.readFile(`${dir}/weights.bin`);
  const features = JSON.parse(await Deno.readTextFile(`${dir}/features.json`)) as FeaturesFile;
  const weightSpecs = modelJson.weightsManifest.flatMap((group: { weights: WeightSpec[] }) => group.weights);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: modelJson.modelTopology,
    weightSpecs,
    weightData: weights.slice().buffer,
  }));
  const name = dir.replace(/\/+$/, "").split("/").pop() ?? "model";
  const identity: ModelIdentity = { name, version: (await sha256Hex(weights)).slice(0, 8) };
  return { model, features, identity };
}
