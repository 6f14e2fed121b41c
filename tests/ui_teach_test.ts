/// <reference lib="dom" />
/**
 * "Teach it your voice" in headless Chromium: takes given as files at the prompts, a profile made on the
 * server and, in in-browser mode, in the page with nothing uploaded; it is used, survives a reload, and resets.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { clipPath, FSDD, toolOrSkip } from "./helpers.ts";
import { startServer } from "./server_helpers.ts";
import { launch } from "./ui_helpers.ts";

const ready = !!FSDD && toolOrSkip("/usr/bin/chromium", ["--version"]);
const opts = { sanitizeResources: false, sanitizeOps: false, ignore: !ready };
const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const server = ready ? await startServer() : undefined;
const browser = ready ? await launch() : undefined;

/** Answers every prompt with the speaker's take of the prompted digit, then makes the profile. */
async function teach(page: Page, speaker: string) {
  await page.getByRole("button", { name: "Start teaching" }).click();
  for (let i = 0; i < 10; i++) {
    const prompt = await page.locator(".prompt strong").textContent();
    const digit = WORDS.indexOf(prompt!.replace(/[“”]/g, ""));
    assert.ok(digit >= 0, `prompt ${prompt}`);
    await page.setInputFiles('input[aria-label="Take file"]', clipPath(`${digit}_${speaker}_1.wav`));
    await page.locator(".takes li").nth(i).getByText(/heard/).waitFor({ timeout: 60_000 });
  }
  await page.getByText("All 10 takes are in.").waitFor();
  await page.getByRole("button", { name: "Make my profile" }).click();
  await page.getByTestId("teach-outcome").waitFor({ timeout: 60_000 });
}

Deno.test({
  ...opts,
  name: "ui: teach on the server, the answer says it used the profile; kept over a reload; Export, Reset, Import give the same answer",
  fn: async () => {
    const page = await browser!.newPage();
    const calls: string[] = [];
    page.on("request", (r) => calls.push(new URL(r.url()).pathname));
    await page.goto(server!.url, { waitUntil: "networkidle" });
    await page.getByText(/No voice profile for/).waitFor();
    await teach(page, "yweweler");
    assert.equal(calls.filter((c) => c === "/adapt").length, 1);
    await Deno.mkdir("test-output", { recursive: true });
    await page.screenshot({ path: "test-output/teach.png", fullPage: true });
    assert.match(await page.getByTestId("profile-status").textContent() ?? "", /10 takes of 10 digits, in use/);
    await page.setInputFiles('input[aria-label="Audio file"]', clipPath("6_yweweler_3.wav"));
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("profile-note").waitFor();
    await page.reload({ waitUntil: "networkidle" });
    await page.getByText(/10 takes of 10 digits, in use/).waitFor();
    await page.getByRole("checkbox", { name: /Use my voice profile/ }).uncheck();
    await page.setInputFiles('input[aria-label="Audio file"]', clipPath("6_yweweler_3.wav"));
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("digit").waitFor();
    assert.equal(await page.getByTestId("profile-note").count(), 0);
    // Export, Reset, Import: the same profile back, the same answer with it.
    await page.getByRole("checkbox", { name: /Use my voice profile/ }).check();
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("profile-note").waitFor();
    const before = await page.locator(".bar").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.p).join());
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export" }).click()]);
    const file = `${await Deno.makeTempDir()}/profile.json`;
    await download.saveAs(file);
    await page.getByRole("button", { name: "Reset" }).click();
    await page.getByText(/No voice profile for/).waitFor();
    await page.setInputFiles('input[aria-label="Voice profile file"]', file);
    await page.getByText(/10 takes of 10 digits, in use/).waitFor();
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("profile-note").waitFor();
    const after = await page.locator(".bar").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.p).join());
    assert.equal(after, before);
    await page.getByRole("button", { name: "Reset" }).click();
    await page.getByText(/No voice profile for/).waitFor();
    await page.close();
  },
});

Deno.test({
  ...opts,
  name: "ui: in-browser mode teaches and answers with the profile without sending a take or a clip to the server",
  fn: async () => {
    const page = await browser!.newPage();
    const calls: string[] = [];
    page.on("request", (r) => calls.push(new URL(r.url()).pathname));
    await page.goto(`${server!.url}/?inference=browser`, { waitUntil: "networkidle" });
    await teach(page, "lucas");
    await page.setInputFiles('input[aria-label="Audio file"]', clipPath("2_lucas_4.wav"));
    await page.getByRole("button", { name: "Submit" }).click();
    await page.getByTestId("profile-note").waitFor({ timeout: 60_000 });
    assert.deepEqual(calls.filter((c) => c === "/adapt" || c === "/predict"), []);
    await page.close();
  },
});

Deno.test({ ...opts, name: "ui: close the browser and the server", fn: async () => (await browser?.close(), await server?.stop()) });
