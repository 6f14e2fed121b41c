/**
 * GET /: the page, rendered on the server (Fresh-style). Everything here is static HTML except the
 * Recognizer island, which is rendered too and then hydrated by static/build/islands.js.
 */
import { render } from "preact-render-to-string";
import { html } from "../islands/html.ts";
import { type Example, Recognizer, type RecognizerProps } from "../islands/Recognizer.ts";
import type { MetricsFile } from "../models/lab/report.ts";
import type { ServedModel, ServedModels } from "../models/served.ts";
import type { ServerConfig } from "./config.ts";
import { AUDIO_FIELD, PATHS, PROFILE_FIELD } from "./contract.ts";
import { apiApp, type ApiDefinitions } from "./definitions.ts";

/** A server-rendered island: its HTML now, its props for hydration later. */
function Island({ name, props, children }: { name: string; props: RecognizerProps; children: unknown }) {
  return html`<div data-island=${name} data-props=${JSON.stringify(props)}>${children}</div>`;
}

const DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

/** Example clips are files named like `7_<voice>.wav` (`7_real-<corpus>-<speaker>.wav` for a person); the label says the digit and the voice. */
function listExamples(dir: string): Example[] {
  try {
    return [...Deno.readDirSync(dir)]
      .map((e) => e.name)
      .filter((n) => /^\d_[\w-]+\.wav$/.test(n))
      .sort()
      .map((n): Example => {
        // 6_real-audiomnist-56-woman.wav: a person; 7_flite-kal.wav: a text-to-speech voice.
        const voice = n.slice(2, -4);
        const real = voice.startsWith("real-");
        const who = real
          ? voice.slice(5).replace(/^(\w+)-(.+)$/, (_, corpus, rest) => `${corpus === "fsdd" ? "FSDD" : "AudioMNIST"} ${rest}`)
          : voice;
        return {
          label: `"${DIGIT_NAMES[+n[0]]}" (${who.replace(/[_-]/g, " ")})`,
          url: `/examples/${n}`,
          kind: real ? "real" : "synthetic",
        };
      })
      // Real voices first, each group in digit order.
      .sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "real" ? -1 : 1));
  } catch {
    return [];
  }
}

const pct = (x: number | undefined) => (x === undefined ? "–" : `${(x * 100).toFixed(1)}%`);

/** One line on what a model is, from its metrics.json (the recipe it was trained with). */
function describe(metrics: MetricsFile | null): string {
  const training = metrics?.training ?? {};
  const members = Number(training.members ?? 1);
  if (training.architecture === "embedding") {
    const head = `a small convolution over its vectors (${training.filters} channels)`;
    return `Google's pretrained speech embedding (one 96-value vector every 80 ms of a 1.6 s crop) and ${
      members > 1 ? `the average of ${members} heads, each ${head}` : head
    }, trained here`;
  }
  if (training.architecture === "dscnn") {
    const net = `a depthwise-separable CNN (${training.channels} channels, ${training.blocks} blocks) on 40 log-mel bands over 1 s`;
    return members > 1 ? `The average of ${members} of ${net}` : net[0].toUpperCase() + net.slice(1);
  }
  const layers = `${(training.hidden as number[] | undefined)?.join("-") ?? "512-256-128"}, ReLU, dropout`;
  const net = members > 1 ? `the average of ${members} MLPs (each ${layers})` : `an MLP (${layers})`;
  return `The seed app's model: ${net} on 20 MFCCs with deltas, stretched over the detected speech`;
}

/** A word for the model picker. */
function kindOf(metrics: MetricsFile | null): string {
  const architecture = metrics?.training?.architecture;
  return architecture === "embedding" ? "speech embedding" : architecture === "dscnn" ? "CNN" : "MLP";
}

/** FSDD has six speakers; a model measured on fewer folds says which (its mean is not comparable with six). */
function partialLoso(m: ServedModel): string {
  const speakers = Object.keys(m.metrics?.loso?.perSpeaker ?? {});
  return speakers.length > 0 && speakers.length < 6 ? ` (${speakers.length} of 6 speakers: ${speakers.join(", ")})` : "";
}

/** Whether the model folder has this plot (the refusal curve exists only where refusal was measured). */
function hasPlot(m: ServedModel, file: string): boolean {
  try {
    return Deno.statSync(`${m.dir}/plots/${file}`).isFile;
  } catch {
    return false;
  }
}

function ModelPanel({ models }: { models: ServedModel[] }) {
  const synthetic = Number(models[0].metrics?.data?.syntheticClips ?? 0);
  const rows: Array<[string, (m: ServedModel) => string]> = [
    ["What it is", (m) => describe(m.metrics)],
    ["Official FSDD test split (300 clips, the same six speakers)", (m) => pct(m.metrics?.official?.accuracy)],
    ["Unseen speaker, leave-one-speaker-out, mean", (m) => pct(m.metrics?.loso?.mean) + partialLoso(m)],
    ["Unseen speaker, worst", (m) => (m.metrics?.loso ? `${pct(m.metrics.loso.worst)} (${m.metrics.loso.worstSpeaker})` : "–")],
    ["Weights", (m) => `${Math.round(Deno.statSync(`${m.dir}/weights.bin`).size / 1024)} KB`],
  ];
  return html`
    <section class="panel model-panel" id="model" aria-labelledby="model-title">
      <h2 id="model-title">The models</h2>
      <p>${models.length > 1 ? `${models.length} models answer; ${models[0].name} is the default, the others are a pick away. ` : ""}
          Trained with tfjs in Deno on the${" "}
          <a href="https://github.com/Jakobovski/free-spoken-digit-dataset">Free Spoken Digit Dataset</a> (FSDD, Z. Jackson et al., CC BY-SA 4.0):
          six male English speakers${synthetic
            ? `, plus ${synthetic.toLocaleString("en")} synthetic digits from text-to-speech voices`
            : ""}, and
          augmented copies of the clips.</p>
      <div class="table-scroll">
        <table class="metrics">
          <tr><th scope="col"></th>${models.map((m) => html`<th scope="col">${m.name}</th>`)}</tr>
          ${rows.map(([label, value]) => html`<tr><th scope="row">${label}</th>${models.map((m) => html`<td>${value(m)}</td>`)}</tr>`)}
        </table>
      </div>
      <p
        class="hint">Voices unlike the six in FSDD (women, children, strong accents) are recognized less well: the leave-one-speaker-out figures are the honest guide.</p>
      ${models.map((m) =>
        html`
          <h3>${m.name}</h3>
          <div class="plots">
            <img src=${`/models/${m.name}/plots/confusion.svg`} alt=${`${m.name}: confusion matrix on the official test split`} loading="lazy" />
            <img src=${`/models/${m.name}/plots/roc.svg`} alt=${`${m.name}: ROC curves, one digit against the rest`} loading="lazy" />
            ${m.metrics?.loso &&
              html`<img src=${`/models/${m.name}/plots/speakers.svg`} alt=${`${m.name}: accuracy for each held-out speaker`} loading="lazy" />`}
            ${hasPlot(m, "reject_curve.svg") &&
              html`<img src=${`/models/${m.name}/plots/reject_curve.svg`} alt=${`${m.name}: "not a digit": clips refused against real digits lost, held-out speakers`} loading="lazy" />`}
          </div>
        `
      )}
    </section>
  `;
}

/** Where the snippets say the server is; the page swaps in its own origin once it runs in a browser. */
const LOCAL_ORIGIN = "http://localhost:7860";
/** A clip the repository ships, so the snippets run as pasted from a clone. */
const EXAMPLE_FILE = "static/examples/7_flite-kal.wav";
// Paths and field names from routes/contract.ts, as the route definitions and /openapi.json use them.
const CURL_SNIPPET = `curl -s --data-binary @${EXAMPLE_FILE} -H 'content-type: audio/wav' ${LOCAL_ORIGIN}${PATHS.predict}`;
const PYTHON_SNIPPET = [
  "import requests",
  `with open("${EXAMPLE_FILE}", "rb") as f:`,
  `    r = requests.post("${LOCAL_ORIGIN}${PATHS.predict}", files={"${AUDIO_FIELD}": f})`,
  'print(r.json()["digit"], r.json()["probabilities"])',
].join("\n");

/** Gradio's own Python client: the server speaks its protocol too (routes/gradio.ts). */
const GRADIO_SNIPPET = [
  "from gradio_client import Client, handle_file",
  `client = Client("${LOCAL_ORIGIN}")`,
  `label, answer = client.predict(handle_file("${EXAMPLE_FILE}"), api_name="${PATHS.predict}")`,
  'print(label, answer["probabilities"])',
].join("\n");

/** Teaching a voice: takes as fields named by their digit, then the profile beside each clip. */
const TEACH_SNIPPET = [
  "import requests",
  'takes = [("1", open("static/examples/1_flite-slt.wav", "rb")), ("9", open("static/examples/9_flite-slt.wav", "rb"))]',
  `profile = requests.post("${LOCAL_ORIGIN}${PATHS.adapt}", files=takes).json()["profile"]`,
  'with open("static/examples/1_flite-slt.wav", "rb") as f:',
  `    r = requests.post("${LOCAL_ORIGIN}${PATHS.predict}", files={"${AUDIO_FIELD}": f}, data={"${PROFILE_FIELD}": profile})`,
  'print(r.json()["digit"], "generic:", r.json()["generic"]["digit"])',
].join("\n");

function ApiPanel() {
  // Snippets go in as text values: whitespace inside a template literal would carry this file's indentation.
  return html`
    <section class="panel api-panel" aria-labelledby="api-title">
      <h2 id="api-title">Use via API</h2>
      <p>POST any audio file to <code>${PATHS.predict}</code>; the answer is JSON. <a href=${PATHS.docs}>API reference</a> · <a
          href=${PATHS.openapi}>OpenAPI</a></p>
      <h3>curl</h3>
      <pre><code class="snippet" data-origin=${LOCAL_ORIGIN}>${CURL_SNIPPET}</code></pre>
      <h3>Python</h3>
      <pre><code class="snippet" data-origin=${LOCAL_ORIGIN}>${PYTHON_SNIPPET}</code></pre>
      <h3>Python, with Gradio's client</h3>
      <pre><code class="snippet" data-origin=${LOCAL_ORIGIN}>${GRADIO_SNIPPET}</code></pre>
      <h3>Teach it a voice (Python)</h3>
      <p>A few takes per digit, as fields named by the digit, make a profile (<code>POST ${PATHS
        .adapt}</code>); send it beside each clip.</p>
      <pre><code class="snippet" data-origin=${LOCAL_ORIGIN}>${TEACH_SNIPPET}</code></pre>
    </section>
  `;
}

export function renderPage(props: RecognizerProps, served: ServedModels): string {
  const body = render(html`
    <main>
      <header>
        <h1>Spoken Digits</h1>
        <p class="lead">Say a digit from zero to nine, or upload a recording, and see which digit it hears and how sure it is.</p>
        <details>
          <summary>How to use</summary>
          <ol>
            <li>Upload a file (WAV, MP3, OGG, Opus, WebM, FLAC, M4A), or open <b>Record</b> and say one digit, or click an example.</li>
            <li>Press <b>Submit</b>. The big number is the answer; the bars show every digit's probability.</li>
            <li>Tick <b>Run in this browser</b> to recognize without uploading anything.</li>
          </ol>
        </details>
      </header>
      <${Island} name="Recognizer" props=${props}>
        <${Recognizer} ...${props} />
        <//>
        <${ApiPanel} />
        <${ModelPanel} models=${served.models} />
        <footer>Model trained on the Free Spoken Digit Dataset (CC BY-SA 4.0). Built with Deno, Hono, Preact and TensorFlow.js.</footer>
        </main>
  `);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>Spoken Digits</title><meta name="description" content="Recognize a spoken digit, in your browser or through an API.">` +
    `<link rel="icon" href="/favicon.ico" type="image/svg+xml"><link rel="stylesheet" href="/static/style.css"></head><body>${body}` +
    // No inline script: the Content-Security-Policy allows scripts from this origin only.
    `<script type="module" src="/static/build/islands.js"></script></body></html>`;
}

export function pageRoutes(definitions: ApiDefinitions, served: ServedModels, config: ServerConfig) {
  const props: RecognizerProps = {
    examples: listExamples(config.examplesDir),
    models: served.models.map((m) => ({
      name: m.name,
      id: `${m.name}@${m.classifier.identity.version}`,
      rejectHead: m.classifier.reject !== undefined,
      spotter: m.classifier.spotter !== undefined,
      liveSpotter: m.classifier.liveSpotter !== undefined,
      label: `${m.name} (${kindOf(m.metrics)}${
        m.metrics?.loso ? `, ${pct(m.metrics.loso.mean)} on unseen speakers${partialLoso(m)}` : ""
      })`,
    })),
  };
  const page = renderPage(props, served);
  return apiApp().openapi(definitions.page, (c) => c.html(page));
}
