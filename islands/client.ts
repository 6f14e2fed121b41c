/**
 * The browser entry (bundled to static/build/islands.js): hydrates every element the server marked with
 * data-island, using the props it serialized beside it. Only islands ship JavaScript.
 */
import { hydrate } from "preact";
import { html } from "./html.ts";
import { Recognizer } from "./Recognizer.ts";

const islands = { Recognizer } as const;

for (const el of document.querySelectorAll<HTMLElement>("[data-island]")) {
  const name = el.dataset.island as keyof typeof islands;
  const props = JSON.parse(el.dataset.props ?? "{}");
  hydrate(html`<${islands[name]} ...${props} />`, el);
}

// The API snippets are rendered with a placeholder origin (data-origin); show the one this page came from.
for (const el of document.querySelectorAll<HTMLElement>(".snippet[data-origin]")) {
  el.textContent = el.textContent!.replaceAll(el.dataset.origin!, location.origin);
}
