/** Headless Debian Chromium for the ui_* tests (playwright-core drives it; no browser is downloaded). */
import { type Browser, chromium } from "playwright-core";

const BASE_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
];

export async function launch(extraArgs: string[] = []): Promise<Browser> {
  return await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: [...BASE_FLAGS, ...extraArgs] });
}
