/// <reference lib="dom" />
/**
 * The page in headless Debian Chromium (playwright-core, never a downloaded browser): it loads cleanly,
 * an uploaded FSDD clip gives the right digit, the fake microphone records one, in-browser inference
 * gives the same answer without calling /predict, and it fits a 360 px screen. Screenshots go to
 * test-output/ (not committed).
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launch } from "./ui_helpers.ts";
import { decodeAudio } from "../dsp/decode.ts";
import { resample } from "../dsp/resample.ts";
import { encodeWav16 } from "../dsp/wav.ts";
import { clipPath, FSDD, toolOrSkip } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";

const HAVE_CHROMIUM = toolOrSkip("/usr/bin/chromium", ["--version"]);
const ready = !!FSDD && HAVE_CHROMIUM;
const OUT = "test-output";
const opts = { sanitizeResources: false, sanitizeOps: false, ignore: !ready };
/** Collects console errors, failed requests and /predict calls of a page. */
function watch(page: Page) {
  const problems: string[] = [];
  const predictCalls: string[] = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    // The <audio> element's blob: URL is revoked when another file is chosen; its aborted load is expected.
    if (r.url().startsWith("blob:") && r.failure()?.errorText === "net::ERR_ABORTED") return;
    problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  page.on("request", (r) => r.url().includes("/predict") && predictCalls.push(r.url()));
  return { problems, predictCalls };
}

/** The page's ten bars carry the same probabilities as `expected` (the server's), within 1e-3. */
async function assertBarsMatch(page: Page, expected: number[]) {
  const bars = await page.locator(".bar").evaluateAll((els) =>
    els.map((e) => [Number((e as HTMLElement).dataset.digit), Number((e as HTMLElement).dataset.p)])
  );
  assert.equal(bars.length, 10);
  for (const [digit, p] of bars) {
    assert.ok(Math.abs(p - expected[digit]) < 1e-3, `digit ${digit}: browser ${p}, server ${expected[digit]}`);
  }
}

let server: Awaited<ReturnType<typeof startServer>> | undefined;
let browser: Browser | undefined;
if (ready) {
  await Deno.mkdir(OUT, { recursive: true });
  server = await startServer();
  browser = await launch();
}

Deno.test({
  ...opts,
  name: "ui: the page loads with no console errors and no failed requests, and hydrates",
  fn: async () => {
    const page = await browser!.newPage();
    const { problems } = watch(page);
    await page.goto(server!.url, { waitUntil: "networkidle" });
    assert.equal(await page.locator("h1").textContent(), "Spoken Digits");
    // Hydrated: the Record tab reacts to a click (only the island's JS can do that).
    await page.getByRole("tab", { name: "Record" }).click();
    await page.getByRole("button", { name: "Start recording" }).waitFor();
    // The API snippets name this page's own origin, ready to paste.
    for (const snippet of await page.locator(".snippet").allTextContents()) {
      assert.ok(snippet.includes(server!.url) && snippet.includes("/predict"), snippet);
    }
    assert.deepEqual(problems, []);
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: "ui: uploading an FSDD clip shows the right digit, ten bars and the spectrogram",
  fn: async () => {
    const page = await browser!.newPage({ viewport: { width: 1200, height: 1100 } });
    const { problems, predictCalls } = watch(page);
    await page.goto(server!.url, { waitUntil: "networkidle" });
    await page.setInputFiles('input[aria-label="Audio file"]', clipPath("7_jackson_32.wav"));
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("digit").waitFor();
    assert.equal((await page.getByTestId("digit").textContent())?.trim(), "7");
    assert.equal(await page.locator(".bar").count(), 10);
    assert.equal(await page.locator("canvas.spectrogram").count(), 1);
    assert.equal(predictCalls.length, 1);
    await page.screenshot({ path: `${OUT}/ui_result.png`, fullPage: true });
    await page.locator(".recognizer").screenshot({ path: `${OUT}/recognizer.png` });
    assert.deepEqual(problems, []);
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: "ui: a server error is shown in plain words",
  fn: async () => {
    const page = await browser!.newPage();
    await page.goto(server!.url, { waitUntil: "networkidle" });
    const silence = await Deno.makeTempFile({ suffix: ".wav" });
    await Deno.writeFile(silence, encodeWav16(new Float32Array(16000), 8000));
    await page.setInputFiles('input[aria-label="Audio file"]', silence);
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").textContent() ?? "", /No speech found/);
    await Deno.remove(silence);
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: "ui: recording from Chromium's fake microphone gives the right digit",
  fn: async () => {
    // The fake device loops its file: one digit, then silence long enough to stop before it comes round again.
    // A take both models answer at >= 0.99 as WAV and as Opus: this is about the recording path, not a hard clip
    // (4_nicolas_2, used before, is one the CNN is 54% sure of even as a clean WAV).
    const clip = await decodeAudio(await Deno.readFile(clipPath("4_george_0.wav")));
    const at48k = resample(clip.samples, 8000, 48000);
    const file = new Float32Array(48000 * 6);
    file.set(at48k, 48000 * 0.3);
    const micFile = `${OUT}/fake_mic.wav`;
    await Deno.writeFile(micFile, encodeWav16(file, 48000));
    const micBrowser = await launch([
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${Deno.realPathSync(micFile)}`,
    ]);
    try {
      const context = await micBrowser.newContext();
      await context.grantPermissions(["microphone"], { origin: server!.url });
      const page = await context.newPage();
      await page.goto(server!.url, { waitUntil: "networkidle" });
      // A result on screen first: recording must take it away, since it belongs to other audio.
      await page.locator(".example").first().click();
      await page.getByTestId("digit").waitFor();
      await page.getByRole("tab", { name: "Record" }).click();
      await page.getByRole("button", { name: "Start recording" }).click();
      await page.getByRole("timer").waitFor();
      assert.equal(await page.getByTestId("digit").count(), 0, "the old result is still shown while recording");
      await page.waitForTimeout(2500);
      assert.match(await page.getByRole("timer").textContent() ?? "", /Recording… [1-9]\.\d s/);
      await page.getByRole("button", { name: "Stop" }).click();
      await page.locator(".chosen").waitFor();
      await page.getByRole("button", { name: "Submit" }).click();
      await page.getByTestId("digit").waitFor();
      assert.equal((await page.getByTestId("digit").textContent())?.trim(), "4");
    } finally {
      await micBrowser.close();
    }
  },
});

Deno.test({
  ...opts,
  name: "ui: ?inference=browser gives the same digit and probabilities with no /predict call, and names its backend",
  fn: async () => {
    const page = await browser!.newPage();
    const { problems, predictCalls } = watch(page);
    await page.goto(`${server!.url}/?inference=browser`, { waitUntil: "networkidle" });
    assert.equal(await page.getByRole("checkbox", { name: /Run in this browser/ }).isChecked(), true);
    await page.setInputFiles('input[aria-label="Audio file"]', clipPath("3_theo_2.wav"));
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("digit").waitFor({ timeout: 60_000 });
    assert.equal((await page.getByTestId("digit").textContent())?.trim(), "3");
    assert.equal(predictCalls.length, 0, "nothing was sent to /predict");
    const backendNote = await page.getByTestId("backend").textContent() ?? "";
    console.log(`in-browser inference: ${backendNote}`);
    assert.match(backendNote, /Ran in this browser on (WebGPU|WEBGL|WASM)/);
    // The same probabilities as the server for the same clip, within 1e-3.
    const fromServer =
      await (await fetch(`${server!.url}/predict`, { method: "POST", body: await Deno.readFile(clipPath("3_theo_2.wav")) })).json();
    await assertBarsMatch(page, fromServer.probabilities);
    assert.deepEqual(problems, []);
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: "ui: in the page, the speech embedding gives onnxruntime's vectors to 1e-4 (the tfjs backend the browser picked)",
  fn: async () => {
    const fixture = JSON.parse(await Deno.readTextFile(new URL("./fixtures/speech_embedding_reference.json", import.meta.url)));
    const page = await browser!.newPage();
    await page.goto(server!.url, { waitUntil: "networkidle" });
    for (const [name, signal] of Object.entries<{ mel: number[]; vectors: number[] }>(fixture.signals)) {
      const { vectors, backend } = await page.evaluate(async ({ mel, frames }) => {
        const inference = await import(["/static", "build", "inference.js"].join("/"));
        return await inference.embedMel("speech_embedding", Float32Array.from(mel), frames);
      }, { mel: signal.mel, frames: fixture.frames });
      assert.equal(vectors.length, signal.vectors.length);
      const worst = vectors.reduce((w: number, v: number, i: number) => Math.max(w, Math.abs(v - signal.vectors[i])), 0);
      console.log(`in-page embedding (${backend}), ${name}: largest difference ${worst.toExponential(2)}`);
      assert.ok(worst <= 1e-4, `${name} on ${backend}: largest difference ${worst}`);
    }
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: "ui: at 360 px wide nothing overflows sideways",
  fn: async () => {
    const page = await browser!.newPage({ viewport: { width: 360, height: 800 } });
    await page.goto(server!.url, { waitUntil: "networkidle" });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${overflow}px of horizontal scroll`);
    await page.screenshot({ path: `${OUT}/ui_360px.png`, fullPage: true });
    await page.close();
  },
});

/** Counts the pixels of a canvas that are painted and not all one colour: a blank canvas scores 0. */
async function paintedPixels(page: Page, selector: string): Promise<number> {
  return await page.locator(selector).evaluate((el) => {
    const canvas = el as HTMLCanvasElement;
    const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] | data[i + 1] | data[i + 2]) !== 0) painted++;
    return painted;
  });
}

Deno.test({
  ...opts,
  name: "ui: a 55 s clip, then a short one: both spectrograms and waveforms are drawn (pixels), no page error",
  fn: async () => {
    // 55 s of FSDD takes back to back: one long stretch of speech, 220,000 spectrogram values.
    const names = [...Deno.readDirSync(`${FSDD}/recordings`)].map((e) => e.name).sort().slice(0, 200);
    const parts: Float32Array[] = [];
    let total = 0;
    for (const name of names) {
      if (total >= 55 * 8000) break;
      const { samples } = await decodeAudio(await Deno.readFile(clipPath(name)));
      parts.push(samples);
      total += samples.length;
    }
    const long = new Float32Array(Math.min(total, 55 * 8000));
    let at = 0;
    for (const part of parts) {
      long.set(part.subarray(0, long.length - at), at);
      at += Math.min(part.length, long.length - at);
    }
    const longFile = `${OUT}/long_55s.wav`;
    await Deno.writeFile(longFile, encodeWav16(long, 8000));
    const page = await browser!.newPage({ viewport: { width: 1200, height: 1100 } });
    const { problems } = watch(page);
    await page.goto(server!.url, { waitUntil: "networkidle" });
    for (const [file, digit] of [[longFile, null], [clipPath("9_yweweler_2.wav"), "9"]] as const) {
      await page.setInputFiles('input[aria-label="Audio file"]', file);
      await page.getByRole("button", { name: "Submit" }).click();
      await page.getByTestId("digit").waitFor();
      if (digit) assert.equal((await page.getByTestId("digit").textContent())?.trim(), digit);
      await page.locator("canvas.waveform").waitFor();
      assert.ok(await paintedPixels(page, "canvas.spectrogram") > 1000, `${file}: the spectrogram is blank`);
      assert.ok(await paintedPixels(page, "canvas.waveform") > 100, `${file}: the waveform is blank`);
    }
    assert.deepEqual(problems, []);
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: "ui: Clear empties the file box; Enter on an example keeps focus on it; arrow keys move between the tabs",
  fn: async () => {
    const page = await browser!.newPage();
    await page.goto(server!.url, { waitUntil: "networkidle" });
    await page.setInputFiles('input[aria-label="Audio file"]', clipPath("7_jackson_32.wav"));
    await page.getByRole("button", { name: "Clear" }).click();
    assert.equal(await page.locator('input[aria-label="Audio file"]').inputValue(), "");
    assert.equal(await page.locator(".chosen").count(), 0);

    const example = page.locator(".example").first();
    await example.focus();
    await page.keyboard.press("Enter");
    await page.getByTestId("digit").waitFor();
    assert.equal(await example.evaluate((el) => el === document.activeElement), true, "focus left the example button");

    await page.getByRole("tab", { name: "Upload" }).focus();
    await page.keyboard.press("ArrowRight");
    const record = page.getByRole("tab", { name: "Record" });
    assert.equal(await record.getAttribute("aria-selected"), "true");
    assert.equal(await record.evaluate((el) => el === document.activeElement), true);
    await page.keyboard.press("Home");
    assert.equal(await page.getByRole("tab", { name: "Upload" }).getAttribute("aria-selected"), "true");
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: "ui: at 360 px the result is scrolled into view when it arrives",
  fn: async () => {
    const page = await browser!.newPage({ viewport: { width: 360, height: 740 } });
    await page.goto(server!.url, { waitUntil: "networkidle" });
    await page.setInputFiles('input[aria-label="Audio file"]', clipPath("7_jackson_32.wav"));
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("digit").waitFor();
    await page.waitForFunction(
      () => {
        const box = document.querySelector("[data-testid=digit]")!.getBoundingClientRect();
        return box.top >= 0 && box.bottom <= innerHeight;
      },
      null,
      { timeout: 5000 },
    );
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: "ui: in-browser mode shows its progress on a first run, and errors in the same plain words as server mode",
  fn: async () => {
    const page = await browser!.newPage();
    await page.goto(`${server!.url}/?inference=browser`, { waitUntil: "networkidle" });
    // Record every status line the page shows, however briefly.
    await page.evaluate(() => {
      const seen: string[] = ((globalThis as unknown as { statuses: string[] }).statuses = []);
      new MutationObserver(() => {
        const text = document.querySelector(".status")?.textContent;
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.setInputFiles('input[aria-label="Audio file"]', clipPath("3_theo_2.wav"));
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("digit").waitFor({ timeout: 60_000 });
    const statuses = await page.evaluate(() => (globalThis as unknown as { statuses: string[] }).statuses);
    assert.ok(statuses.some((s) => /Downloading the \w+ model/.test(s)), JSON.stringify(statuses));

    const garbage = await Deno.makeTempFile({ suffix: ".mp3" });
    await Deno.writeFile(garbage, new TextEncoder().encode("ID3 this is not really an mp3 file at all ".repeat(20)));
    await page.setInputFiles('input[aria-label="Audio file"]', garbage);
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").textContent() ?? "", /could not be read as audio/);
    await Deno.remove(garbage);
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: "ui: the model picker chooses the model; in-browser mode runs the picked CNN with the server's probabilities",
  fn: async () => {
    const page = await browser!.newPage();
    const { problems, predictCalls } = watch(page);
    await page.goto(server!.url, { waitUntil: "networkidle" });
    const clip = clipPath("5_nicolas_0.wav");
    for (const name of ["mlp", "cnn"]) {
      await page.getByRole("combobox", { name: "Model" }).selectOption(name);
      await page.setInputFiles('input[aria-label="Audio file"]', clip);
      await page.getByRole("button", { name: "Submit" }).click();
      await page.getByTestId("digit").waitFor();
      assert.match(await page.locator(".timings").textContent() ?? "", new RegExp(`Model ${name}@`));
    }
    assert.ok(predictCalls.every((url) => /model=(mlp|cnn)/.test(url)) && predictCalls.length === 2, predictCalls.join(" "));
    await page.getByRole("checkbox", { name: /Run in this browser/ }).check();
    await page.getByRole("combobox", { name: "Model" }).selectOption("cnn");
    await page.setInputFiles('input[aria-label="Audio file"]', clip);
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("backend").waitFor({ timeout: 60_000 });
    assert.equal(predictCalls.length, 2, "in-browser mode called /predict");
    const fromServer = await (await fetch(`${server!.url}/predict?model=cnn`, { method: "POST", body: await Deno.readFile(clip) })).json();
    await assertBarsMatch(page, fromServer.probabilities);
    assert.deepEqual(problems, []);
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: 'ui: an answer of "not a digit" is shown as a result in its own right, with its bar beside the ten digits',
  fn: async () => {
    const page = await browser!.newPage();
    // The server's own answer for a clip, with the refusal point moved so that it is refused: the page must show it.
    const clip = await Deno.readFile(clipPath("2_george_5.wav"));
    const refused =
      await (await fetch(`${server!.url}/predict?model=cnn&include=spectrogram&reject=0.000001`, { method: "POST", body: clip })).json();
    assert.equal(refused.label, "unknown", JSON.stringify(refused)); // cnn's refusal head (models/cnn/reject.json)
    await page.route("**/predict?*", (route) => route.fulfill({ json: refused }));
    await page.goto(server!.url, { waitUntil: "networkidle" });
    await page.setInputFiles('input[aria-label="Audio file"]', clipPath("2_george_5.wav"));
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("digit").waitFor();
    assert.equal(await page.getByTestId("digit").textContent(), "Not a digit");
    assert.match(await page.locator(".confidence").textContent() ?? "", /sure it is not one of the ten digits/);
    // Why: the closest digit and the point it reached.
    const best = refused.probabilities.indexOf(Math.max(...refused.probabilities));
    assert.match(await page.getByTestId("refusal-why").textContent() ?? "", new RegExp(`Closest digit: ${best} .*refusal point, 0%`));
    assert.equal(await page.getByTestId("unknown-bar").count(), 1);
    assert.equal(await page.locator(".bar").count(), 10);
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: 'ui: with refusal off, a high "not a digit" beside an answered digit says refusal is off (no contradiction on screen)',
  fn: async () => {
    const page = await browser!.newPage();
    const clip = await Deno.readFile(clipPath("2_george_5.wav"));
    const answer = await (await fetch(`${server!.url}/predict?include=spectrogram&reject=off`, { method: "POST", body: clip })).json();
    assert.equal(answer.refusal_point, null, JSON.stringify(answer.refusal_point));
    // The server's answer with refusal off, its "not a digit" score raised: the digit stands, the bar says why.
    await page.route("**/predict?*", (route) => route.fulfill({ json: { ...answer, unknown: 0.995 } }));
    await page.goto(server!.url, { waitUntil: "networkidle" });
    await page.setInputFiles('input[aria-label="Audio file"]', clipPath("2_george_5.wav"));
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("digit").waitFor();
    assert.equal(await page.getByTestId("digit").textContent(), "2");
    assert.equal(await page.getByTestId("unknown-bar").locator(".bar-label").textContent(), "not a digit (refusal off)");
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: "ui: close the browser and the server",
  fn: async () => {
    await browser?.close();
    await server?.stop();
  },
});
