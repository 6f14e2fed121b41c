/// <reference lib="dom" />
/**
 * Digit strings on the page, in headless Chromium: an uploaded string shows every digit with its place on
 * the waveform; the in-browser transcription splits run-together digits as the server does; live mode hears
 * Chromium's fake microphone and writes each digit as it is said (by the spotter in the page, or per utterance).
 */
import assert from "node:assert/strict";
import { decodeAudio } from "../dsp/decode.ts";
import { resample } from "../dsp/resample.ts";
import { encodeWav16 } from "../dsp/wav.ts";
import { DEFAULT_SPEECH } from "../dsp/config.ts";
import { findSpeech } from "../dsp/speech.ts";
import { clipPath, FSDD, toolOrSkip } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";
import { launch } from "./ui_helpers.ts";

const ready = !!FSDD && toolOrSkip("/usr/bin/chromium", ["--version"]);
const opts = { sanitizeResources: false, sanitizeOps: false, ignore: !ready };
const OUT = "test-output";
const server = ready ? await startServer() : undefined;

/** The clips at `rate`, `pauseS` apart, with `leadS` of silence before and `tailS` after. */
async function string(names: string[], rate: number, pauseS: number, leadS: number, tailS: number): Promise<Uint8Array<ArrayBuffer>> {
  const clips = await Promise.all(
    names.map(async (n) => resample((await decodeAudio(await Deno.readFile(clipPath(n)))).samples, 8000, rate)),
  );
  const out = new Float32Array(Math.round((leadS + tailS + pauseS * names.length) * rate) + clips.reduce((n, c) => n + c.length, 0));
  let at = Math.round(leadS * rate);
  for (const clip of clips) (out.set(clip, at), at += clip.length + Math.round(pauseS * rate));
  return new Uint8Array(encodeWav16(out, rate));
}

const CLIPS = ["3_jackson_20.wav", "9_jackson_21.wav", "1_jackson_22.wav"];

Deno.test({
  ...opts,
  name: "ui: an uploaded string of three digits shows all three, in order, as /transcribe reads them",
  fn: async () => {
    await Deno.mkdir(OUT, { recursive: true });
    const file = `${OUT}/string.wav`;
    await Deno.writeFile(file, await string(CLIPS, 16000, 0.4, 0.3, 0.3));
    const expected = await (await fetch(`${server!.url}/transcribe`, { method: "POST", body: await Deno.readFile(file) })).json();
    assert.equal(expected.digits.length, 3);
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.goto(server!.url, { waitUntil: "networkidle" });
      await page.setInputFiles('input[aria-label="Audio file"]', file);
      await page.getByRole("button", { name: "Submit" }).click();
      await page.getByTestId("transcript").waitFor();
      assert.equal((await page.locator(".transcript .digits").textContent())?.trim(), expected.text);
      assert.equal(await page.locator(".segments li").count(), 3);
      assert.match(await page.locator("canvas.waveform").getAttribute("aria-label") ?? "", new RegExp(expected.digits.join(" ")));
      await page.screenshot({ path: `${OUT}/string.png`, fullPage: true });
      // The README's picture (static/screenshot.png) is this one, copied by hand when the page changes.
      await page.locator(".recognizer").screenshot({ path: `${OUT}/readme_screenshot.png` });
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  ...opts,
  name: "ui: in the page, two digits said without a pause are split by embed's spotter as the server splits them",
  fn: async () => {
    // Two official test takes cut to their speech and joined end to end (no pause): one utterance to the energy segmenter.
    const speech = await Promise.all(["4_yweweler_0.wav", "2_yweweler_0.wav"].map(async (n) => {
      const { samples } = await decodeAudio(await Deno.readFile(clipPath(n)));
      const cut = findSpeech(samples, 8000, { ...DEFAULT_SPEECH, padS: 0 });
      return samples.slice(cut.start, cut.end);
    }));
    const joined = new Float32Array(4000 + speech[0].length + speech[1].length + 4000);
    joined.set(speech[0], 4000);
    joined.set(speech[1], 4000 + speech[0].length);
    const wav = new Uint8Array(encodeWav16(joined, 8000));
    const fromServer = await (await fetch(`${server!.url}/transcribe?model=embed`, { method: "POST", body: wav })).json();
    assert.deepEqual(fromServer.digits, [4, 2], JSON.stringify(fromServer));
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.goto(server!.url, { waitUntil: "networkidle" });
      const inPage = await page.evaluate(async (bytes) => {
        const inference = await import(["/static", "build", "inference.js"].join("/"));
        const choice = { name: "embed", id: "embed@page", label: "embed", rejectHead: false, spotter: true, liveSpotter: false };
        const t = await inference.transcribeInBrowser(new Blob([new Uint8Array(bytes)], { type: "audio/wav" }), choice);
        return { digits: t.digits, probabilities: t.segments.map((s: { probabilities: number[] }) => s.probabilities) };
      }, Array.from(wav));
      assert.deepEqual(inPage.digits, fromServer.digits);
      inPage.probabilities.forEach((row: number[], i: number) =>
        row.forEach((p, d) => assert.ok(Math.abs(p - fromServer.segments[i].probabilities[d]) < 1e-3, `segment ${i}, digit ${d}`))
      );
    } finally {
      await browser.close();
    }
  },
});

/**
 * Live mode on the fake microphone (Chromium loops the file: three digits, then silence long enough to stop before
 * they come round again). `model` picks the way: embed has a live spotter that runs in the page (no request per
 * utterance); cnn has none, so each utterance the endpointer hands on is sent to /transcribe.
 */
async function liveTest(
  model: string,
  pauseS: number,
): Promise<{ heard: string; note: string; transcriptions: number; provisionalSeen: boolean }> {
  const micFile = `${OUT}/fake_mic_string_${model}.wav`;
  await Deno.writeFile(micFile, await string(CLIPS, 48000, pauseS, 0.5, 8));
  const browser = await launch([
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    `--use-file-for-fake-audio-capture=${Deno.realPathSync(micFile)}`,
  ]);
  try {
    const context = await browser.newContext();
    await context.grantPermissions(["microphone"], { origin: server!.url });
    const page = await context.newPage();
    let transcriptions = 0;
    page.on("request", (r) => r.url().includes("/transcribe") && transcriptions++);
    await page.goto(server!.url, { waitUntil: "networkidle" });
    await page.getByRole("combobox", { name: "Model" }).selectOption(model);
    await page.getByRole("tab", { name: "Record" }).click();
    await page.getByRole("checkbox", { name: /Live/ }).check();
    // A digit the spotter shows before the utterance's final answer (grey), then three final digits.
    let provisionalSeen = false;
    page.on("console", (m) => m.text() === "provisional" && (provisionalSeen = true));
    await page.evaluate(() => {
      const seen = () => document.querySelector(".live-transcript .digits .provisional") && console.log("provisional");
      new MutationObserver(seen).observe(document.body, { childList: true, subtree: true });
    });
    await page.getByRole("button", { name: "Start listening" }).click();
    await page.waitForFunction(
      () =>
        document.querySelectorAll(".live-transcript .digits .final").length >= 3 ||
        (!document.querySelector(".live-transcript .digits span") &&
          (document.querySelector(".live-transcript .digits")?.textContent ?? "").replace("…", "").length >= 3),
      null,
      { timeout: 30_000 },
    );
    await page.getByRole("button", { name: "Stop listening" }).click();
    const heard = (await page.locator(".live-transcript .digits").textContent())!.trim();
    const note = await page.getByTestId("live-transcript").textContent() ?? "";
    console.log(`live (${model}): ${note}`);
    return { heard, note, transcriptions, provisionalSeen };
  } finally {
    await browser.close();
  }
}

Deno.test({
  ...opts,
  name: "ui: live mode with the spotter (embed) hears three digits in the page as they are said, with their latency",
  fn: async () => {
    // 0.15 s between the digits: shorter than the 200 ms of silence the endpointer waits for, so the three are one
    // utterance to it, whose final answer comes only after the third; the spotter shows each before that.
    const { heard, note, transcriptions, provisionalSeen } = await liveTest("embed", 0.15);
    const micFile = `${OUT}/fake_mic_string_embed.wav`;
    const expected = await (await fetch(`${server!.url}/transcribe?model=embed`, { method: "POST", body: await Deno.readFile(micFile) }))
      .json();
    assert.equal(heard.slice(0, 3), expected.text, `live heard ${heard}, /transcribe ${expected.text}`);
    assert.ok(provisionalSeen, "no provisional digit was shown before the final answer");
    assert.match(note, /on screen -?\d+ ms after the word ended .*the spotter in this page/);
    assert.ok(transcriptions >= 1, "the utterance's final answer comes from /transcribe");
  },
});

Deno.test({
  ...opts,
  name: "ui: live mode without a live spotter (cnn) sends each utterance to /transcribe as it ends",
  fn: async () => {
    const micFile = `${OUT}/fake_mic_string_cnn.wav`;
    const { heard, note, transcriptions } = await liveTest("cnn", 0.5);
    const expected = await (await fetch(`${server!.url}/transcribe?model=cnn`, { method: "POST", body: await Deno.readFile(micFile) }))
      .json();
    assert.equal(heard.slice(0, 3), expected.text, `live heard ${heard}, /transcribe ${expected.text}`);
    assert.match(note, /on screen \d+ ms after the word ended/);
    assert.ok(transcriptions >= 3, `${transcriptions} requests to /transcribe`);
  },
});

Deno.test({ ...opts, name: "ui: stop the server", fn: async () => await server?.stop() });
