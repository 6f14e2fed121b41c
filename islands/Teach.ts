/**
 * "Teach it your voice": guided takes of each digit (recorded or chosen from files), each checked as it comes
 * (speech found, what the generic model hears), then a profile made on the server (/adapt) or in this browser,
 * kept in IndexedDB per model, with Export, Import and Reset. Rendered inside the Recognizer island, which
 * passes the model, the mode and what to do with the profile.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.ts";
import { type Adaptation, adaptOnServer, type HeardTake, plainWords, type Prediction } from "./api.ts";
import { startRecording } from "./recorder.ts";
import { deleteProfile, loadProfile, profileFile, readProfileFile, saveProfile, type StoredProfile } from "./profile_store.ts";
import type { ModelChoice } from "./Recognizer.ts";

export const DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

interface Take {
  digit: number;
  blob: Blob | null;
  /** What the generic model heard when the take came in. */
  heard?: { digit: number | null; confidence: number };
}

export interface TeachProps {
  model: ModelChoice;
  inBrowser: boolean;
  /** The stored profile of `model` (or null) whenever it changes. */
  onProfile: (profile: StoredProfile | null) => void;
  /** Recognize one take with the generic model (server or browser, as the page is set). */
  hear: (blob: Blob) => Promise<Prediction>;
  adaptInBrowser: (takes: { digit: number; blob: Blob }[]) => Promise<Adaptation>;
}

/** Every digit `perDigit` times, in a random order (so a take is not just a copy of the one before). */
function promptOrder(perDigit: number): Take[] {
  const takes = Array.from({ length: 10 * perDigit }, (_, i) => ({ digit: i % 10, blob: null }));
  for (let i = takes.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [takes[i], takes[j]] = [takes[j], takes[i]];
  }
  return takes;
}

export function TeachPanel({ model, inBrowser, onProfile, hear, adaptInBrowser }: TeachProps) {
  const [stored, setStored] = useState<StoredProfile | null>(null);
  const [perDigit, setPerDigit] = useState(1);
  const [takes, setTakes] = useState<Take[] | null>(null);
  const [at, setAt] = useState(0);
  const [recording, setRecording] = useState<{ stop(): void } | null>(null);
  const [level, setLevel] = useState(0);
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<HeardTake[] | null>(null);
  const takeFile = useRef<HTMLInputElement>(null);
  const importFile = useRef<HTMLInputElement>(null);

  useEffect(() => {
    let current = true;
    setOutcome(null);
    loadProfile(model.id).then((p) => {
      if (!current) return;
      setStored(p ?? null);
      onProfile(p ?? null);
    });
    return () => (current = false);
  }, [model.id]);

  const keep = async (next: StoredProfile | null) => {
    if (next) await saveProfile(next);
    else await deleteProfile(model.id);
    setStored(next);
    onProfile(next);
  };

  const accept = async (blob: Blob) => {
    if (!takes) return;
    setBusy("Checking the take…");
    setMessage(null);
    try {
      const heard = await hear(blob);
      const next = takes.map((t, i) => (i === at ? { ...t, blob, heard: { digit: heard.digit, confidence: heard.confidence } } : t));
      setTakes(next);
      const missing = next.findIndex((t) => !t.blob);
      setAt(missing < 0 ? next.length : missing);
    } catch (e) {
      setMessage(`That take was not kept: ${plainWords(e)}`);
    } finally {
      setBusy(null);
    }
  };

  const toggleRecording = async () => {
    if (recording) return recording.stop();
    if (busy) return;
    try {
      const rec = await startRecording(setLevel);
      setRecording(rec);
      const wav = await rec.done;
      setRecording(null);
      await accept(wav);
    } catch (e) {
      setRecording(null);
      setMessage(`The microphone could not be used: ${(e as Error).message}`);
    }
  };

  const teach = async () => {
    const ready = (takes ?? []).filter((t): t is Take & { blob: Blob } => !!t.blob);
    if (ready.length === 0 || busy) return;
    setBusy(inBrowser ? "Learning your voice in this browser…" : "Learning your voice…");
    setMessage(null);
    try {
      const adaptation = inBrowser ? await adaptInBrowser(ready) : await adaptOnServer(ready, model.name);
      await keep({ profile: adaptation.profile, model: adaptation.model, takes: adaptation.takes, savedAt: new Date().toISOString() });
      setOutcome(adaptation.heard);
      setTakes(null);
    } catch (e) {
      setMessage(plainWords(e));
    } finally {
      setBusy(null);
    }
  };

  const importProfile = async (file: File) => {
    try {
      const read = await readProfileFile(file);
      if (read.model !== model.id) {
        return setMessage(`That profile was made for ${read.model}; this page runs ${model.id}. Teach it again for this model.`);
      }
      await keep(read);
      setMessage("Profile imported.");
    } catch (e) {
      setMessage((e as Error).message);
    }
  };

  const exportProfile = () => {
    if (!stored) return;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(profileFile(stored));
    a.download = `voice-profile-${model.name}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };

  const current = takes && at < takes.length ? takes[at] : null;
  const count = (list: HeardTake[], pick: (h: HeardTake) => number) => list.filter((h) => pick(h) === h.digit).length;
  return html`
    <section class="panel teach-panel" aria-labelledby="teach-title">
      <h2 id="teach-title">Teach it your voice</h2>
      <p class="hint">Say each digit once or a few times: it learns how <em>you</em> say them and answers for your voice from then on.
        The profile stays in this browser (${inBrowser
          ? "and is made here: nothing is uploaded"
          : "the takes are sent once to the server, which keeps nothing"}).</p>
      <p class="profile-status" data-testid="profile-status">${stored
        ? `Your voice profile for ${model.name}: ${stored.takes.reduce((a, b) => a + b, 0)} takes of ${
          stored.takes.filter((n) => n > 0).length
        } digits, in use.`
        : `No voice profile for ${model.name} yet: answers come from the generic model.`}</p>
      <div class="actions">
        ${!takes && html`
          <label>Takes per digit <select value=${perDigit} onChange=${(e: Event) => setPerDigit(+(e.target as HTMLSelectElement).value)}>${[
            1,
            2,
            3,
          ].map((n) => html`<option value=${n}>${n}</option>`)}</select></label>
          <button class="primary" onClick=${() => {
            setTakes(promptOrder(perDigit));
            setAt(0);
            setOutcome(null);
            setMessage(null);
          }}>${stored ? "Teach it again" : "Start teaching"}</button>
        `}
        ${stored && !takes && html`<button onClick=${exportProfile}>Export</button>`}
        ${!takes && html`
          <button onClick=${() => importFile.current?.click()}>Import</button>
          <input type="file" hidden ref=${importFile} accept=".json,application/json" aria-label="Voice profile file" onChange=${(
            e: Event,
          ) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) importProfile(f);
            (e.target as HTMLInputElement).value = "";
          }} />
        `}
        ${stored && !takes && html`<button onClick=${() => keep(null).then(() => setOutcome(null))}>Reset</button>`}
      </div>
      ${takes && html`
        <div class="enrol">
          ${current
            ? html`
              <p class="prompt" aria-live="polite">Say <strong>“${DIGIT_WORDS[current.digit]}”</strong> <span class="hint">(take ${at +
                1} of ${takes.length})</span></p>
              <button class=${`record${recording ? " active" : ""}`} onClick=${toggleRecording} aria-disabled=${!!busy}>${recording
                ? "Stop"
                : "Record the take"}</button>
              <meter class="level" min="0" max="1" value=${level} aria-label="Microphone level"></meter>
              <button onClick=${() => takeFile.current?.click()} aria-disabled=${!!busy || !!recording}>…or choose a file</button>
              <input type="file" hidden ref=${takeFile} accept="audio/*,.wav,.mp3,.ogg,.opus,.webm,.flac,.m4a" aria-label="Take file"
                onChange=${(
                  e: Event,
                ) => {
                  const f = (e.target as HTMLInputElement).files?.[0];
                  if (f) accept(f);
                  (e.target as HTMLInputElement).value = "";
                }} />
            `
            : html`<p class="prompt">All ${takes.length} takes are in.</p>`}
          <ol class="takes">${takes.map((t, i) =>
            html`<li key=${i} class=${i === at ? "current" : ""}>
            <button class="take" onClick=${() => !busy && !recording && setAt(i)} title="Record this take again">
              ${DIGIT_WORDS[t.digit]}${
              t.heard
                ? html`
                  · heard <b class=${t.heard.digit === t.digit ? "right" : "wrong"}>${t.heard.digit ?? "not a digit"}</b>
                `
                : " · to do"
            }</button></li>`
          )}</ol>
          <div class="actions">
            <button class="primary" onClick=${teach} aria-disabled=${!!busy || !takes.some((t) => t.blob)}>Make my profile</button>
            <button onClick=${() => setTakes(null)} aria-disabled=${!!busy}>Cancel</button>
          </div>
        </div>
      `}
      ${busy && html`<p class="status" role="status">${busy}</p>`}
      ${message && html`<p class="note" role="alert">${message}</p>`}
      ${outcome && html`<div class="teach-outcome" data-testid="teach-outcome">
        <p>On your own takes, each judged by a profile made of the <em>other</em> takes: <b>${
        count(outcome, (h) => h.answer)
      } of ${outcome.length}</b> right before teaching, <b>${count(outcome, (h) => h.taught)} of ${outcome.length}</b> after.</p>
        ${
        outcome.length < 20 &&
        html`
          <p
            class="hint">With one take per digit there is no other take of the same digit to learn from: teach two or three to see the difference.</p>
        `
      }
      </div>`}
    </section>
  `;
}
