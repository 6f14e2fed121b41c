/**
 * The interactive part of the page: choose or record audio, submit, see the digit, the probabilities,
 * the spectrogram, the waveform and the timings. Server-side it renders the empty form; in the browser it
 * hydrates. With "Run in this browser" (or ?inference=browser) nothing is uploaded.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.ts";
import { plainWords, type Prediction, predictOnServer } from "./api.ts";
import { ProbabilityBars, SpectrogramCanvas, WaveformCanvas } from "./charts.ts";
import { MAX_RECORDING_S, type Recording, samplesForDisplay, startRecording } from "./recorder.ts";

export interface Example {
  label: string;
  url: string;
}

export interface RecognizerProps {
  examples: Example[];
  model: string;
}

type Inference = typeof import("./inference.ts");
// A computed URL keeps the bundler from inlining tfjs into the page's main bundle.
const INFERENCE_BUNDLE = ["/static", "build", "inference.js"].join("/");

export function Recognizer({ examples, model }: RecognizerProps) {
  const [tab, setTab] = useState<"upload" | "record">("upload");
  const [audio, setAudio] = useState<{ blob: Blob; name: string } | null>(null);
  const [audioUrl, setAudioUrl] = useState<string | null>(null);
  const [result, setResult] = useState<Prediction | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [inBrowser, setInBrowser] = useState(false);
  const [backendNote, setBackendNote] = useState<string | null>(null);
  const [level, setLevel] = useState(0);
  const [recording, setRecording] = useState<Recording | null>(null);
  const [wave, setWave] = useState<{ samples: Float32Array; sampleRate: number } | null>(null);
  const dragDepth = useRef(0);
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    if (new URLSearchParams(location.search).get("inference") === "browser") setInBrowser(true);
  }, []);

  useEffect(() => {
    if (!audio) return setAudioUrl(null);
    const url = URL.createObjectURL(audio.blob);
    setAudioUrl(url);
    samplesForDisplay(audio.blob).then(setWave);
    return () => URL.revokeObjectURL(url);
  }, [audio]);

  const choose = (blob: Blob, name: string) => {
    setAudio({ blob, name });
    setResult(null);
    setError(null);
  };

  const submit = async (blob = audio?.blob) => {
    if (!blob) return setError("Choose a file, record yourself, or click an example first.");
    setBusy(true);
    setError(null);
    try {
      if (inBrowser) {
        const inference = await import(INFERENCE_BUNDLE) as Inference;
        const prediction = await inference.predictInBrowser(blob, model);
        setBackendNote(
          prediction.backend === "webgpu"
            ? "Ran in this browser on WebGPU."
            : `Ran in this browser on ${prediction.backend?.toUpperCase()} (WebGPU is not available here).`,
        );
        setResult(prediction);
      } else {
        setBackendNote(null);
        setResult(await predictOnServer(blob));
      }
    } catch (e) {
      setResult(null);
      setError(plainWords(e));
    } finally {
      setBusy(false);
    }
  };

  const runExample = async (example: Example) => {
    const blob = await (await fetch(example.url)).blob();
    choose(blob, example.label);
    await submit(blob);
  };

  const toggleRecording = async () => {
    if (recording) return recording.stop();
    setError(null);
    try {
      const rec = await startRecording(setLevel);
      setRecording(rec);
      const wav = await rec.done;
      choose(wav, "recording.wav");
    } catch (e) {
      setError(`The microphone could not be used: ${(e as Error).message}`);
    } finally {
      setRecording(null);
    }
  };

  const clear = () => {
    setAudio(null);
    setResult(null);
    setError(null);
    setWave(null);
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    dragDepth.current = 0;
    setDragging(false);
    const file = e.dataTransfer?.files?.[0];
    if (file) choose(file, file.name);
  };

  return html`
    <div class="recognizer">
      <section class="panel input-panel" aria-labelledby="input-title">
          <h2 id="input-title">Input</h2>
          <div class="tabs" role="tablist">
            <button role="tab" id="tab-upload" aria-selected=${tab === "upload"} aria-controls="panel-upload" onClick=${() =>
              setTab("upload")}>Upload</button>
            <button role="tab" id="tab-record" aria-selected=${tab === "record"} aria-controls="panel-record" onClick=${() =>
              setTab("record")}>Record</button>
          </div>
          <div id="panel-upload" role="tabpanel" aria-labelledby="tab-upload" hidden=${tab !== "upload"}>
            <label class=${`dropzone${dragging ? " dragging" : ""}`}
              onDragEnter=${(e: DragEvent) => {
                e.preventDefault();
                dragDepth.current++;
                setDragging(true);
              }}
              onDragOver=${(e: DragEvent) => e.preventDefault()}
              onDragLeave=${() => {
                if (--dragDepth.current <= 0) setDragging(false);
              }}
              onDrop=${onDrop}>
              <span>Drop an audio file here, or <u>choose one</u></span>
              <input type="file" accept="audio/*,.wav,.mp3,.ogg,.opus,.webm,.flac,.m4a" aria-label="Audio file"
                onChange=${(e: Event) => {
                  const f = (e.target as HTMLInputElement).files?.[0];
                  if (f) choose(f, f.name);
                }} />
            </label>
          </div>
          <div id="panel-record" role="tabpanel" aria-labelledby="tab-record" hidden=${tab !== "record"}>
            <button class=${`record${recording ? " active" : ""}`} onClick=${toggleRecording}>${recording
              ? "Stop"
              : "Start recording"}</button>
            <meter class="level" min="0" max="1" value=${level} aria-label="Microphone level"></meter>
            <p class="hint">Say one digit. Recording stops by itself after ${MAX_RECORDING_S} s.</p>
          </div>
          ${audio &&
            html`<div class="chosen"><span>${audio.name}</span>${
              audioUrl && html`<audio controls src=${audioUrl} aria-label="Play the chosen audio"></audio>`
            }</div>`}
          <div class="actions">
            <button class="primary" onClick=${() => submit()} disabled=${busy || !!recording}>${busy ? "Working…" : "Submit"}</button>
            <button onClick=${clear} disabled=${busy}>Clear</button>
          </div>
          <label class="toggle"><input type="checkbox" checked=${inBrowser} onChange=${(e: Event) =>
            setInBrowser((e.target as HTMLInputElement).checked)} />
            Run in this browser (WebGPU; nothing is uploaded)</label>
          ${examples.length > 0 && html`<div class="examples"><h3>Examples</h3>
        ${
            examples.map((ex) =>
              html`<button class="example" key=${ex.url} onClick=${() => runExample(ex)} disabled=${busy}>${ex.label}</button>`
            )
          }</div>`}
        </section>
      <section class="panel output-panel" aria-labelledby="output-title" aria-live="polite">
          <h2 id="output-title">Result</h2>
          ${error && html`<p class="error" role="alert">${error}</p>`}
          ${!result && !error && html`<p class="placeholder">The digit will appear here.</p>`}
          ${result && html`<div class="result">
        <div class="digit" data-testid="digit" aria-label=${`Recognized digit ${result.digit}`}>${result.digit}</div>
        <div class="confidence">${(result.confidence * 100).toFixed(1)}% sure</div>
        <${ProbabilityBars} probabilities=${result.probabilities} />
        ${
            result.spectrogram && html`
              <h3>What the model heard</h3>
              <${SpectrogramCanvas} ...${result.spectrogram} />
            `
          }
        ${
            wave && html`
              <h3>Waveform</h3>
              <${WaveformCanvas} samples=${wave.samples} sampleRate=${wave.sampleRate} speech=${result.speech} />
            `
          }
        <p class="timings">Decode ${result.timing_ms.decode.toFixed(1)} ms · features ${result.timing_ms.features.toFixed(1)} ms ·
          model ${result.timing_ms.inference.toFixed(1)} ms · total ${result.timing_ms.total.toFixed(1)} ms</p>
        ${backendNote && html`<p class="backend" data-testid="backend">${backendNote}</p>`}
      </div>`}
        </section>
    </div>
  `;
}
