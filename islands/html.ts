/** htm bound to Preact's h: JSX-like templates with no compile step, the same on server and client. */
import { h, type VNode } from "preact";
import htmModule from "htm";

type Htm = { bind(factory: typeof h): (strings: TemplateStringsArray, ...values: unknown[]) => VNode };
// htm's .d.ts declares an ES default export inside a CommonJS package, which Deno types as the module
// object; at run time the default import is the htm function itself.
const htm = htmModule as unknown as Htm;

export const html = htm.bind(h);
