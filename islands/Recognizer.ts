/**
 * The interactive part of the page: choose or record audio, submit, see the digit, the probabilities,
 * the spectrogram, the waveform and the timings. Server-side it renders the empty form; in the browser it
 * hydrates. With "Run in this browser" (or ?inference=browser) nothing is uploaded.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.ts";
import { plainWords, type Prediction, predictOnServer, transcribeOnServer, type Transcription } from "./api.ts";
import { ProbabilityBars, SpectrogramCanvas, WaveformCanvas } from "./charts.ts";
import { MAX_RECORDING_S, type Recording, samplesForDisplay, startRecording } from "./recorder.ts";
import { DIGIT_WORDS, TeachPanel } from "./Teach.ts";
import { type Listening, MAX_LIVE_S, startListening, startStreaming } from "./live.ts";
import { type LiveSpotting, type SpottedLive, startLiveSpotting } from "./live_spotting.ts";
import { createEndpointer, DEFAULT_ENDPOINTER, type Endpointer, type StreamUtterance } from "../dsp/endpointer.ts";
import { encodeWav16 } from "../dsp/wav.ts";
import type { StoredProfile } from "./profile_store.ts";
import { argmax } from "../models/model_format.ts";

const TABS = ["upload", "record"] as const;
type Tab = typeof TABS[number];

/** Why a clip was refused: the most likely of the ten digits, and the refusal point "not a digit" reached. */
function refusalWhy(probabilities: number[], refusalPoint: number | null | undefined): string {
  const digit = argmax(probabilities);
  const percent = (p: number) => `${(p * 100).toFixed(0)}%`;
  return `Closest digit: ${digit} (“${DIGIT_WORDS[digit]}”) (${percent(probabilities[digit])} among the ten). Refused because ` +
    `“not a digit” reached the refusal point, ${percent(refusalPoint ?? 0)};`;
}

export interface Example {
  label: string;
  url: string;
  /** A person's recording, or a text-to-speech voice. */
  kind: "real" | "synthetic";
}

export interface ModelChoice {
  /** What ?model= takes. */
  name: string;
  /** name@version. */
  id: string;
  label: string;
  /**
   * Whether its folder has a "not a digit" head (reject.json) for the in-browser mode to load. A network with
   * "not a digit" as an 11th class needs none: its own output says it.
   */
  rejectHead: boolean;
  /** Whether its folder has a digit spotter (spotter/) that splits digits said without a pause in strings. */
  spotter: boolean;
  /** Whether it has a live spotter (spotter_live/): live mode then hears digits as they are said, in the page. */
  liveSpotter: boolean;
}

export interface RecognizerProps {
  examples: Example[];
  /** The default first. */
  models: ModelChoice[];
}

type Inference = typeof import("./inference.ts");

/** How far a spotted word's end may lie from its utterance's (the spotter places it within ~0.1 s), seconds. */
const END_MARGIN_S = 0.1;

/** A digit live mode has shown: `endS` where its word ended in the stream; provisional until its utterance's answer. */
interface LiveHeard {
  label: string;
  confidence: number;
  latencyMs: number;
  endS: number;
  provisional?: boolean;
}
// A computed URL keeps the bundler from inlining tfjs into the page's main bundle.
const INFERENCE_BUNDLE = ["/static", "build", "inference.js"].join("/");

export function Recognizer({ examples, models }: RecognizerProps) {
  const [modelName, setModelName] = useState(models[0]?.name ?? "");
  const model = models.find((m) => m.name === modelName) ?? models[0];
  const [tab, setTab] = useState<Tab>("upload");
  const [audio, setAudio] = useState<{ blob: Blob; name: string } | null>(null);
  const [audioUrl, setAudioUrl] = useState<string | null>(null);
  const [result, setResult] = useState<Prediction | null>(null);
  /** When the recording holds more than one digit: all of them (/transcribe). */
  const [transcript, setTranscript] = useState<Transcription | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** What a long step is doing (first in-browser run: engine start, model download), shown while busy. */
  const [status, setStatus] = useState<string | null>(null);
  const [recordedS, setRecordedS] = useState(0);
  const [inBrowser, setInBrowser] = useState(false);
  const [backendNote, setBackendNote] = useState<string | null>(null);
  const [level, setLevel] = useState(0);
  const [recording, setRecording] = useState<Recording | null>(null);
  const [wave, setWave] = useState<{ samples: Float32Array; sampleRate: number } | null>(null);
  const dragDepth = useRef(0);
  const fileInput = useRef<HTMLInputElement>(null);
  const resultPanel = useRef<HTMLElement>(null);
  const tabButtons = useRef<Record<Tab, HTMLButtonElement | null>>({ upload: null, record: null });
  const [dragging, setDragging] = useState(false);
  /** The visitor's voice profile for this model (Teach panel), and whether answers use it. */
  const [profile, setProfile] = useState<StoredProfile | null>(null);
  const [useProfile, setUseProfile] = useState(true);
  /** Live mode: listening continuously, and the digits heard so far with their latency. */
  const [live, setLive] = useState(false);
  const [listening, setListening] = useState<Listening | null>(null);
  const [heardLive, setHeardLive] = useState<LiveHeard[]>([]);
  /** How live mode hears: the spotter as audio arrives (then each utterance's final answer), or per utterance only. */
  const [liveWay, setLiveWay] = useState<"spotter" | "pauses">("pauses");
  const [liveNote, setLiveNote] = useState<string | null>(null);
  const activeProfile = useProfile && profile?.model === model.id ? profile.profile : undefined;

  useEffect(() => {
    if (new URLSearchParams(location.search).get("inference") === "browser") setInBrowser(true);
  }, []);

  useEffect(() => {
    if (!audio) return setAudioUrl(null);
    const url = URL.createObjectURL(audio.blob);
    setAudioUrl(url);
    // A slow decode of an earlier file must not draw its waveform under this file's result.
    let current = true;
    samplesForDisplay(audio.blob).then((w) => current && setWave(w));
    return () => {
      current = false;
      URL.revokeObjectURL(url);
    };
  }, [audio]);

  // On a narrow screen the result is far below the form: bring it into view when it arrives.
  useEffect(() => {
    const panel = resultPanel.current;
    if (!(result || error) || !panel) return;
    const box = panel.getBoundingClientRect();
    if (box.top < 0 || box.top > innerHeight - 80) panel.scrollIntoView({ block: "start" });
  }, [result, error]);

  const choose = (blob: Blob, name: string) => {
    setAudio({ blob, name });
    setResult(null);
    setTranscript(null);
    setError(null);
    setWave(null);
  };

  // Busy buttons are aria-disabled, not disabled, and these guards ignore them: a disabled button would drop
  // keyboard focus to <body> in the middle of a run.
  const submit = async (blob = audio?.blob) => {
    if (busy || recording) return;
    if (!blob) return setError("Choose a file, record yourself, or click an example first.");
    setBusy(true);
    setError(null);
    setTranscript(null);
    try {
      let prediction: Prediction;
      if (inBrowser) {
        setStatus("Loading the in-browser engine…");
        const inference = await import(INFERENCE_BUNDLE) as Inference;
        prediction = await inference.predictInBrowser(blob, model, setStatus, activeProfile);
        setBackendNote(
          prediction.backend === "webgpu"
            ? "Ran in this browser on WebGPU."
            : `Ran in this browser on ${prediction.backend?.toUpperCase()} (WebGPU is not available here).`,
        );
      } else {
        setStatus("Sending to the server…");
        setBackendNote(null);
        prediction = await predictOnServer(blob, model.name, activeProfile);
      }
      // Several digits said: show the whole string (each digit judged as /predict judges a clip).
      if (prediction.utterances > 1) {
        setStatus("Reading every digit…");
        setTranscript(
          inBrowser
            ? await (await import(INFERENCE_BUNDLE) as Inference).transcribeInBrowser(blob, model, activeProfile)
            : await transcribeOnServer(blob, model.name, activeProfile),
        );
      }
      setResult(prediction);
    } catch (e) {
      setResult(null);
      setError(plainWords(e));
    } finally {
      setBusy(false);
      setStatus(null);
    }
  };

  /** The generic model's answer for a take being taught (no profile: the take is judged as it is). */
  const hear = async (blob: Blob) =>
    inBrowser
      ? await (await import(INFERENCE_BUNDLE) as Inference).predictInBrowser(blob, model, setStatus)
      : await predictOnServer(blob, model.name);
  const adaptInBrowser = async (takes: { digit: number; blob: Blob }[]) =>
    await (await import(INFERENCE_BUNDLE) as Inference).adaptInBrowser(takes, model, setStatus);

  const runExample = async (example: Example) => {
    if (busy || recording) return;
    const blob = await (await fetch(example.url)).blob();
    choose(blob, example.label);
    await submit(blob);
  };

  const toggleRecording = async () => {
    if (recording) return recording.stop();
    if (busy || listening) return;
    // The last result belongs to the last audio: while a new one is recorded it would only mislead.
    clear();
    const started = performance.now();
    const ticker = setInterval(() => setRecordedS((performance.now() - started) / 1000), 100);
    try {
      const rec = await startRecording(setLevel);
      setRecording(rec);
      const wav = await rec.done;
      choose(wav, "recording.wav");
    } catch (e) {
      setError(`The microphone could not be used: ${(e as Error).message}`);
    } finally {
      clearInterval(ticker);
      setRecordedS(0);
      setRecording(null);
    }
  };

  /**
   * With a live spotter: the spotter runs in the page on the microphone's chunks and each digit appears as soon as it
   * is confirmed, with no wait for silence (listenBySpotting). Otherwise each utterance is transcribed as it ends, in
   * arrival order (one at a time keeps the transcript in order).
   */
  const toggleListening = async () => {
    if (listening) return listening.stop();
    if (busy) return;
    clear();
    setHeardLive([]);
    setLiveNote(null);
    setLiveWay("pauses");
    if (model.liveSpotter) return await listenBySpotting();
    let queue = Promise.resolve();
    const started = performance.now();
    const ticker = setInterval(() => setRecordedS((performance.now() - started) / 1000), 100);
    try {
      const session = await startListening(({ wav, wordEndedAt }) => {
        queue = queue.then(async () => {
          try {
            // Transcribed, not predicted: digits said without a pause end as one utterance, and the spotter splits them.
            const t = inBrowser
              ? await (await import(INFERENCE_BUNDLE) as Inference).transcribeInBrowser(wav, model, activeProfile, setStatus)
              : await transcribeOnServer(wav, model.name, activeProfile);
            const latencyMs = performance.now() - wordEndedAt;
            const heard = t.segments.map((s) => ({ label: s.label, confidence: s.confidence, latencyMs, endS: 0 }));
            setHeardLive((list) => [...list, ...heard]);
          } catch (e) {
            setLiveNote(plainWords(e));
          }
        });
      }, setLevel);
      setListening(session);
      await session.done;
    } catch (e) {
      setError(`The microphone could not be used: ${(e as Error).message}`);
    } finally {
      clearInterval(ticker);
      setRecordedS(0);
      setListening(null);
    }
  };

  /**
   * Live mode on the spotter: each digit is shown (provisionally) as soon as the spotter in the page confirms it,
   * with no wait for silence. The endpointer runs on the same audio; when an utterance ends it is transcribed as in
   * the other way (server or page, the taught voice too), and that final answer replaces the provisional digits of
   * its stretch. A digit's latency is when the right digit was first on screen: the provisional one's when the final
   * answer agreed with it, else the final answer's.
   */
  const listenBySpotting = async () => {
    setLiveWay("spotter");
    const started = performance.now();
    const ticker = setInterval(() => setRecordedS((performance.now() - started) / 1000), 100);
    // Made at the first chunk: the microphone's rate is known then.
    let endpointer: Endpointer | undefined;
    let lastPushAt = performance.now();
    let queue = Promise.resolve();
    // Where the last utterance the endpointer handed on ended: a digit the spotter places before it is that
    // utterance's, and its final answer (on its way) stands for it.
    let finalizedUpTo = -Infinity;
    const showProvisional = (digits: SpottedLive[]) => {
      const now = performance.now();
      const heard = digits.filter((d) => d.end_s > finalizedUpTo + END_MARGIN_S).map((d): LiveHeard => ({
        label: String(d.digit),
        confidence: d.confidence,
        latencyMs: now - d.wordEndedAt,
        endS: d.end_s,
        provisional: true,
      }));
      setHeardLive((list) => [...list, ...heard].sort((a, b) => a.endS - b.endS));
    };
    const finalize = (u: StreamUtterance, wav: Blob, wordEndedAt: number) => {
      queue = queue.then(async () => {
        try {
          const t = inBrowser
            ? await (await import(INFERENCE_BUNDLE) as Inference).transcribeInBrowser(wav, model, activeProfile, setStatus)
            : await transcribeOnServer(wav, model.name, activeProfile);
          const now = performance.now();
          setHeardLive((list) => {
            // The spotter places a word's end within ~0.1 s; the utterance holds 0.1 s of padding either side.
            const mine = (h: LiveHeard) => h.provisional && h.endS >= u.startS - END_MARGIN_S && h.endS <= u.endS + END_MARGIN_S;
            const provisional = list.filter(mine);
            const final = t.segments.map((seg, k): LiveHeard => {
              const agreed = provisional.length === t.segments.length && provisional[k].label === seg.label;
              return {
                label: seg.label,
                confidence: seg.confidence,
                latencyMs: agreed ? provisional[k].latencyMs : now - wordEndedAt,
                endS: u.startS + seg.end_s,
              };
            });
            return [...list.filter((h) => !mine(h)), ...final].sort((a, b) => a.endS - b.endS);
          });
        } catch (e) {
          setLiveNote(plainWords(e));
        }
      });
    };
    let spotting: LiveSpotting | null = null;
    let session: Listening | undefined;
    try {
      // Busy while the worker starts (seconds on a first visit): a second click starts nothing.
      setBusy(true);
      setStatus("Starting the live spotter…");
      spotting = await startLiveSpotting(model.name, showProvisional, (message) => setLiveNote(message)).catch((e) => {
        setLiveNote(`The live spotter could not start in this browser (${plainWords(e)}); each digit waits for a pause.`);
        setLiveWay("pauses");
        return null;
      });
      setStatus(null);
      session = await startStreaming((chunk, sampleRate, pushedAt) => {
        lastPushAt = pushedAt;
        endpointer ??= createEndpointer(sampleRate);
        for (const u of endpointer.push(chunk)) {
          finalizedUpTo = u.endS;
          const wordEndedAt = pushedAt - (endpointer.positionS - u.speechEndS) * 1000;
          finalize(u, new Blob([encodeWav16(u.samples, sampleRate)], { type: "audio/wav" }), wordEndedAt);
        }
        // A copy moves to the worker: the endpointer may keep the chunk for the utterance it is gathering.
        spotting?.push(chunk.slice(), sampleRate, pushedAt);
      }, setLevel);
      setListening(session);
      setBusy(false);
      await session.done;
      await spotting?.flush(lastPushAt);
      await queue;
    } catch (e) {
      setError(`The microphone could not be used: ${(e as Error).message}`);
    } finally {
      setBusy(false);
      spotting?.stop();
      clearInterval(ticker);
      setRecordedS(0);
      setListening(null);
    }
  };

  const clear = () => {
    setAudio(null);
    setResult(null);
    setTranscript(null);
    setError(null);
    setWave(null);
    if (fileInput.current) fileInput.current.value = "";
  };

  /** WAI-ARIA tabs: arrow keys, Home and End move between the tabs and select them. */
  const onTabKey = (e: KeyboardEvent) => {
    const at = TABS.indexOf(tab);
    const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: TABS.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    const target = TABS[(next + TABS.length) % TABS.length];
    setTab(target);
    tabButtons.current[target]?.focus();
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
          <div class="tabs" role="tablist" aria-label="Input" onKeyDown=${onTabKey}>
            ${TABS.map((name) =>
              html`
                <button role="tab" id=${`tab-${name}`} key=${name} aria-selected=${tab === name} aria-controls=${`panel-${name}`}
                  tabIndex=${tab === name ? 0 : -1} ref=${(el: HTMLButtonElement | null) => (tabButtons.current[name] = el)}
                  onClick=${() => setTab(name)}>${name === "upload" ? "Upload" : "Record"}</button>
              `
            )}
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
              <input type="file" ref=${fileInput} accept="audio/*,.wav,.mp3,.ogg,.opus,.webm,.flac,.m4a" aria-label="Audio file"
                onChange=${(e: Event) => {
                  const f = (e.target as HTMLInputElement).files?.[0];
                  if (f) choose(f, f.name);
                }} />
            </label>
          </div>
          <div id="panel-record" role="tabpanel" aria-labelledby="tab-record" hidden=${tab !== "record"}>
            ${live
              ? html`<button class=${`record${listening ? " active" : ""}`} onClick=${toggleListening}>${
                listening ? "Stop listening" : "Start listening"
              }</button>`
              : html`<button class=${`record${recording ? " active" : ""}`} onClick=${toggleRecording}>${
                recording ? "Stop" : "Start recording"
              }</button>`}
            <meter class="level" min="0" max="1" value=${level} aria-label="Microphone level"></meter>
            ${recording && html`<span class="elapsed" role="timer">Recording… ${recordedS.toFixed(1)} s</span>`}
            ${listening && html`<span class="elapsed" role="timer">Listening… ${recordedS.toFixed(1)} s</span>`}
            <label class="toggle"><input type="checkbox" checked=${live} onChange=${(e: Event) =>
              !listening && !recording &&
              setLive((e.target as HTMLInputElement).checked)} /> Live: listen continuously, each digit as you say it</label>
            <p class="hint">${live
              ? (model.liveSpotter
                ? `Say digits, with or without pauses: each appears as you say it (grey: the spotter in this page), then is confirmed when you pause. Stops after ${MAX_LIVE_S} s.`
                : `Say digits with a short pause between them; each appears as soon as you stop. Stops after ${MAX_LIVE_S} s.`)
              : `Say one digit, or a few in a row. Recording stops by itself after ${MAX_RECORDING_S} s.`}</p>
            ${live && (heardLive.length > 0 || listening) &&
              html`<div class="live-transcript" data-testid="live-transcript" aria-live="polite">
              <div class="digits">${
                heardLive.some((h) => h.label !== "unknown")
                  ? heardLive.filter((h) => h.label !== "unknown").map((h) =>
                    html`<span class=${h.provisional ? "provisional" : "final"} title=${
                      h.provisional ? "heard by the spotter; the final answer comes when you pause" : "final"
                    }>${h.label}</span>`
                  )
                  : "…"
              }</div>
              ${
                heardLive.length > 0 && html`
                  <p
                    class="hint">Last: ${heardLive[heardLive.length - 1].label === "unknown"
                      ? "not a digit"
                      : heardLive[heardLive.length - 1].label} (${(heardLive[heardLive.length - 1].confidence * 100)
                      .toFixed(0)}%), on screen ${Math.round(
                        heardLive[heardLive.length - 1].latencyMs,
                      )} ms after the word ended (median ${Math.round(
                        [...heardLive].map((h) => h.latencyMs).sort((a, b) => a - b)[Math.floor(heardLive.length / 2)],
                      )} ms; ${liveWay === "spotter"
                      ? "the spotter in this page, no wait for silence; grey digits are its provisional ones"
                      : `includes the ${DEFAULT_ENDPOINTER.hangoverS * 1000} ms of silence that marks a word's end`}).</p>
                `
              }
              ${liveNote && html`<p class="note">${liveNote}</p>`}
            </div>`}
          </div>
          ${audio &&
            html`<div class="chosen"><span>${audio.name}</span>${
              audioUrl && html`<audio controls src=${audioUrl} aria-label="Play the chosen audio"></audio>`
            }</div>`}
          <div class="actions">
            <button class="primary" onClick=${() => submit()} aria-disabled=${busy || !!recording}>${busy ? "Working…" : "Submit"}</button>
            <button onClick=${() => !busy && clear()} aria-disabled=${busy}>Clear</button>
          </div>
          ${busy && status && html`<p class="status" role="status">${status}</p>`}
          ${models.length > 1 && html`<label class="model-picker">Model
            <select value=${modelName} onChange=${(e: Event) => {
            setModelName((e.target as HTMLSelectElement).value);
            setResult(null);
          }}>
              ${models.map((m) => html`<option value=${m.name} key=${m.name}>${m.label}</option>`)}
            </select></label>`}
          <label class="toggle"><input type="checkbox" checked=${inBrowser} onChange=${(e: Event) =>
            setInBrowser((e.target as HTMLInputElement).checked)} />
            Run in this browser (WebGPU; nothing is uploaded)</label>
          ${profile && html`<label class="toggle"><input type="checkbox" checked=${useProfile} onChange=${(e: Event) => {
            setUseProfile((e.target as HTMLInputElement).checked);
            setResult(null);
          }} /> Use my voice profile (${profile.takes.reduce((a, b) => a + b, 0)} takes)</label>`}
          ${examples.length > 0 && html`<div class="examples"><h3>Examples</h3>
        ${
            (["real", "synthetic"] as const).map((kind) => {
              const some = examples.filter((ex) => ex.kind === kind);
              return some.length > 0 && html`<h4>${kind === "real" ? "Real voices" : "Synthetic voices"}</h4>${
                some.map((ex) =>
                  html`<button class="example" key=${ex.url} onClick=${() => runExample(ex)} aria-disabled=${busy}>${ex.label}</button>`
                )
              }`;
            })
          }
        <p class="hint credits">Real voices: six speakers of <a href="https://github.com/soerenab/AudioMNIST">AudioMNIST</a> (Becker et al. 2018, MIT
          licence; five men, one woman, none a native English speaker) and four test takes of the <a href="https://github.com/Jakobovski/free-spoken-digit-dataset">Free Spoken Digit Dataset</a> (CC BY-SA 4.0). Synthetic voices:
          made by this project with espeak-ng and flite. Some real ones are answered wrongly: that is the honest picture.</p></div>`}
        </section>
      <section class="panel output-panel" aria-labelledby="output-title" aria-live="polite" ref=${resultPanel}>
          <h2 id="output-title">Result</h2>
          ${error && html`<p class="error" role="alert">${error}</p>`}
          ${!result && !error && html`<p class="placeholder">The digit will appear here.</p>`}
          ${transcript && html`
            <div class="transcript" data-testid="transcript">
              <div class="digits" aria-label=${`Heard ${transcript.digits.length} digits: ${transcript.text}`}>${transcript.text}</div>
              <ol class="segments">${transcript.segments.map((s, i) =>
                html`<li key=${i}><b>${s.label}</b> ${(s.confidence * 100).toFixed(0)}% <span class="hint">${s.start_s.toFixed(2)}–${
                  s.end_s.toFixed(2)
                } s</span></li>`
              )}</ol>
              <p class="hint">${transcript.digits
                .length} digits heard. Below: the loudest one alone, as <code>/predict</code> answers it.</p>
            </div>
          `}
          ${result && html`<div class="result">
        ${
            result.digit === null
              ? html`
                <div class="digit not-digit" data-testid="digit" aria-label="Not a digit">Not a digit</div>
                <div class="confidence">${(result.confidence * 100).toFixed(1)}% sure it is not one of the ten digits</div>
                <p class="hint"
                  data-testid="refusal-why">${refusalWhy(
                    result.probabilities,
                    result.refusal_point,
                  )} <code>?reject=off</code> always answers a digit.</p>
              `
              : html`
                <div class="digit" data-testid="digit" aria-label=${`Recognized digit ${result.digit}`}>${result.digit}</div>
                <div class="confidence">${(result.confidence * 100).toFixed(1)}% sure</div>
              `
          }
        ${
            result.generic && html`
              <p class="profile-note"
                data-testid="profile-note">Answered for your voice (profile). The generic model alone heard ${result.generic.digit ===
                    result.digit
                  ? "the same"
                  : `“${DIGIT_WORDS[result.generic.digit]}”`} (${(result.generic.confidence * 100).toFixed(0)}%).</p>
            `
          }
        <${ProbabilityBars} probabilities=${result.probabilities} unknown=${result.unknown} refusalPoint=${result.refusal_point} />
        ${
            result.spectrogram && html`
              <h3>What the model heard</h3>
              <${SpectrogramCanvas} ...${result.spectrogram} />
            `
          }
        ${
            wave && html`
              <h3>Waveform</h3>
              <${WaveformCanvas} samples=${wave.samples} sampleRate=${wave.sampleRate} speech=${result.speech} regions=${transcript
                ?.segments} />
            `
          }
        <p class="timings">Model ${result.model} · decode ${result.timing_ms.decode.toFixed(1)} ms · features ${
            result.timing_ms.features.toFixed(1)
          } ms ·
          model ${result.timing_ms.inference.toFixed(1)} ms · total ${result.timing_ms.total.toFixed(1)} ms</p>
        ${backendNote && html`<p class="backend" data-testid="backend">${backendNote}</p>`}
      </div>`}
        </section>
      <${TeachPanel} model=${model} inBrowser=${inBrowser} onProfile=${setProfile} hear=${hear} adaptInBrowser=${adaptInBrowser} />
    </div>
  `;
}
