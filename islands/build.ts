/**
 * Bundles the islands for the browser into static/build/: islands.js (the page's only script: Preact,
 * the Recognizer), inference.js (tfjs + WebGPU/WebGL/WASM + dsp/, loaded only for in-browser
 * inference), live_worker.js (live mode's spotter: tfjs on WASM in a Web Worker), plus the tfjs WASM binaries. Run by `deno task build`, which `deno task start` runs first.
 */
const OUT = "static/build";
const OUTPUTS = [
  "islands.js",
  "inference.js",
  "live_worker.js",
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "swagger/swagger-ui-bundle.js",
  "swagger/swagger-ui.css",
];
// Everything the bundles import (a test checks that this list covers them).
const SOURCES = [
  "islands",
  "dsp",
  "models/classifier.ts",
  "models/model_format.ts",
  "models/network.ts",
  "models/embedding.ts",
  "models/steps.ts",
  "models/recognize.ts",
  "models/transcribe.ts",
  "models/profile.ts",
  "models/reject.ts",
  "models/spotter.ts",
  "models/spotter_stream.ts",
  "routes/contract.ts",
  "deno.json",
  "deno.lock",
];

function newestMtime(path: string): number {
  const info = Deno.statSync(path);
  if (!info.isDirectory) return info.mtime?.getTime() ?? 0;
  return Math.max(0, ...[...Deno.readDirSync(path)].map((e) => newestMtime(`${path}/${e.name}`)));
}

function upToDate(): boolean {
  try {
    const built = Math.min(...OUTPUTS.map((f) => Deno.statSync(`${OUT}/${f}`).mtime?.getTime() ?? 0));
    return Math.max(...SOURCES.map(newestMtime)) <= built;
  } catch {
    return false;
  }
}

// A built tree (the Docker image, a read-only checkout) starts without rebuilding or writing anything.
if (upToDate() && !Deno.args.includes("--force")) {
  console.log(`${OUT} is up to date`);
  Deno.exit(0);
}
await Deno.mkdir(OUT, { recursive: true });

async function bundle(entry: string, output: string) {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "--minify", "-o", `${OUT}/${output}`, entry],
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`bundling ${entry} failed:\n${new TextDecoder().decode(stderr)}`);
}

// One after the other: in a fresh DENO_DIR each `deno bundle` unpacks esbuild, and two at once race on it.
await bundle("islands/client.ts", "islands.js");
await bundle("islands/inference.ts", "inference.js");
await bundle("islands/live_worker.ts", "live_worker.js");

// setWasmPaths("/static/build/") makes the WASM backend fetch these; copy them from the npm package.
const wasmDir = new URL(import.meta.resolve("@tensorflow/tfjs-backend-wasm")).pathname.replace(/dist\/.*$/, "dist");
for (const name of ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"]) {
  await Deno.copyFile(`${wasmDir}/${name}`, `${OUT}/${name}`);
}
// The API reference at /docs: Swagger UI from npm, served from here (the Space has no network to reach a CDN).
const swaggerDir = new URL(import.meta.resolve("swagger-ui-dist")).pathname.replace(/\/[^/]*$/, "");
await Deno.mkdir(`${OUT}/swagger`, { recursive: true });
for (const name of ["swagger-ui-bundle.js", "swagger-ui.css"]) await Deno.copyFile(`${swaggerDir}/${name}`, `${OUT}/swagger/${name}`);

for (const f of ["islands.js", "inference.js", "live_worker.js"]) {
  console.log(`${OUT}/${f}: ${((await Deno.stat(`${OUT}/${f}`)).size / 1024).toFixed(0)} KiB`);
}
