/**
 * Read-only files under a few fixed folders (the model folder for in-browser inference, the islands
 * bundle, CSS, example clips). Paths are checked segment by segment, so "..", encoded or not, hidden
 * files and absolute paths never leave the folder; and the file's real path (links resolved) must lie under
 * the folder's real path, so a symbolic link inside the folder cannot lead out of it (a link to /etc/passwd
 * was served before). Answers carry their Content-Length, HEAD's too (it said 0).
 */
import { Hono } from "hono";
import { ApiError } from "./errors.ts";

const TYPES: Record<string, string> = {
  json: "application/json; charset=utf-8",
  bin: "application/octet-stream",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  wav: "audio/wav",
  map: "application/json; charset=utf-8",
  wasm: "application/wasm",
};

/** The file path below `root` for a URL rest, or null when the rest is not a plain relative path. */
export function safeJoin(root: string, rest: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return null;
  }
  const segments = decoded.split("/");
  const ok = segments.every((s) => s.length > 0 && !s.startsWith(".") && !s.includes("\\") && !s.includes("\0"));
  return ok ? `${root}/${segments.join("/")}` : null;
}

/** Serves one file at a fixed path (the favicon, which browsers ask for at /favicon.ico whatever the page says). */
export function staticFile(path: string, file: string) {
  return new Hono().get(path, async (c) => {
    const type = TYPES[file.split(".").pop() ?? ""];
    const body = await Deno.readFile(file).catch(() => null);
    if (!body || !type) throw new ApiError(404, "not_found", `no such file: ${c.req.path}`);
    return c.body(body, 200, { "content-type": type, "cache-control": "max-age=86400", "content-length": String(body.length) });
  });
}

/** Serves `<prefix>/*` from `root`; only the listed file types, with long caching off (files change on retrain). */
export function staticFolder(prefix: string, root: string) {
  let realRoot: Promise<string> | undefined;
  return new Hono().get(`${prefix}/*`, async (c) => {
    const rest = c.req.path.slice(prefix.length + 1);
    const path = safeJoin(root, rest);
    const type = TYPES[rest.split(".").pop() ?? ""];
    if (!path || !type) throw new ApiError(404, "not_found", `no such file: ${c.req.path}`);
    try {
      realRoot ??= Deno.realPath(root);
      const real = await Deno.realPath(path);
      if (!real.startsWith(`${await realRoot}/`)) throw new Error("outside the folder");
      const body = await Deno.readFile(real);
      return c.body(body, 200, { "content-type": type, "cache-control": "no-cache", "content-length": String(body.length) });
    } catch {
      realRoot = undefined; // the folder may not exist yet (islands are built later): ask again next time
      throw new ApiError(404, "not_found", `no such file: ${c.req.path}`);
    }
  });
}
