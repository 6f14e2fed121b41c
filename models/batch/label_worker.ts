/**
 * A worker of `deno task predict`: loads the model once, then labels the files it is sent, in process (no
 * HTTP): read -> decode (dsp/) -> recognize or transcribe (the server's own functions). A file that fails
 * gives a row with its error code; the worker carries on.
 */
/// <reference lib="deno.worker" />
import { decodeAudio, warmDecoders } from "../../dsp/decode.ts";
import { AudioError } from "../../dsp/errors.ts";
import { loadClassifier } from "../files.ts";
import { decodeProfile, type Profile, ProfileError } from "../profile.ts";
import { recognize } from "../recognize.ts";
import { initTf } from "../tfjs.ts";
import { transcribe } from "../transcribe.ts";
import type { LabelJob, LabelRow, WorkerMessage } from "./rows.ts";

let setup: Promise<{ label: (path: string) => Promise<LabelRow> }> | undefined;

async function start({ modelDir, profile: profileText, transcribe: withTranscript, reject, maxAudioS, maxBytes }: LabelJob) {
  await initTf();
  await warmDecoders();
  const classifier = await loadClassifier(modelDir);
  const profile: Profile | undefined = profileText ? decodeProfile(profileText, classifier) : undefined;
  return {
    async label(path: string): Promise<LabelRow> {
      try {
        const { size } = await Deno.stat(path);
        if (size > maxBytes) return { path, error: "too_large", message: `${size} bytes, over the limit of ${maxBytes}` };
        const started = performance.now();
        const decoded = await decodeAudio(await Deno.readFile(path), { maxDurationS: maxAudioS });
        const audio = { samples: decoded.samples, sampleRate: decoded.sampleRate, format: decoded.format, channels: decoded.channels };
        const decodeMs = performance.now() - started;
        const prediction = recognize(classifier, audio, decodeMs, { profile, reject });
        const row: LabelRow = { path, prediction };
        if (withTranscript) row.transcription = transcribe(classifier, audio, decodeMs, profile, reject);
        return row;
      } catch (e) {
        if (e instanceof AudioError) return { path, error: e.code === "empty" ? "empty_body" : e.code, message: e.message };
        return { path, error: e instanceof Deno.errors.NotFound ? "not_found" : "internal", message: (e as Error)?.message ?? String(e) };
      }
    },
  };
}

self.onmessage = async ({ data }: MessageEvent<LabelJob>) => {
  try {
    setup ??= start(data);
    const { label } = await setup;
    const rows: LabelRow[] = [];
    for (const path of data.paths) rows.push(await label(path));
    self.postMessage({ rows } satisfies WorkerMessage);
  } catch (e) {
    const message = e instanceof ProfileError ? e.message : `the worker could not start: ${(e as Error)?.message ?? e}`;
    self.postMessage({ fatal: message } satisfies WorkerMessage);
  }
};
