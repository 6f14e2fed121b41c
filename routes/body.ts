/**
 * Reading a request body under limits: at most `maxBytes` (413 too_large, checked against Content-Length
 * first and again while reading), and all of it within `timeoutMs` (408 timeout), so a client that stops
 * mid-body or sends a byte a second cannot hold a socket and its buffers for as long as it likes.
 *
 * The body is read into one buffer (a BYOB reader: the runtime writes into it; sized from Content-Length,
 * else grown by doubling, up to the limit). Read the default way, every read is a fresh 64 KB buffer however
 * little it holds: a body trickled in 20,000 one-byte chunks cost ~45 KB a chunk (RSS 159 -> 1,072 MB). And
 * past MIN_READS reads, a body arriving at under MIN_BYTES_PER_READ bytes a read on average is refused.
 */
import { ApiError, type ApiErrorCode } from "./errors.ts";

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

/** A body may take this many reads whatever their size ... */
export const MIN_READS = 256;
/** ... and beyond that must average this many bytes a read (a 10 MB body in 1,460-byte TCP segments: 7,200 reads). */
export const MIN_BYTES_PER_READ = 256;
/**
 * A read is never offered less room than this: Deno 2.9's BYOB read of a chunked body never returns the end
 * of the stream into a view of a few bytes (it waits until the deadline).
 */
const MIN_VIEW_BYTES = 64 * 1024;
/** The buffer's first size when Content-Length does not say (x16 at most when it does: a declared size is not yet a body). */
const FIRST_BUFFER_BYTES = 64 * 1024;

export async function readBodyBytes(req: Request, limits: BodyLimits): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  // Closing the connection keeps the runtime from reading (draining) a body it was told is too large.
  if (declared > limits.maxBytes) throw tooLarge(limits, { connection: "close" });
  if (!req.body) return new Uint8Array(0);
  const reader = bodyReader(req.body);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject before cancelling: the cancelled read resolves as "done", and must not pass for a whole body.
      reject(
        new ApiError(408, "timeout", `the request body did not arrive within ${limits.timeoutMs / 1000} s`, { connection: "close" }),
      );
      reader.cancel();
    }, limits.timeoutMs);
  });
  const known = Number.isSafeInteger(declared) && declared >= 0;
  // Room for one more read past the limit: a body without Content-Length shows it is too large by passing it.
  const capacity = limits.maxBytes + MIN_VIEW_BYTES;
  let buffer = new ArrayBuffer(Math.min(known ? declared + MIN_VIEW_BYTES : FIRST_BUFFER_BYTES, FIRST_BUFFER_BYTES * 16, capacity));
  let total = 0;
  let reads = 0;
  try {
    while (total <= limits.maxBytes) {
      if (buffer.byteLength - total < MIN_VIEW_BYTES) {
        const grown = new Uint8Array(Math.min(capacity, Math.max(total + MIN_VIEW_BYTES, 2 * buffer.byteLength)));
        grown.set(new Uint8Array(buffer, 0, total));
        buffer = grown.buffer;
      }
      const { done, value } = await Promise.race([reader.read(new Uint8Array(buffer, total)), deadline]);
      if (value) buffer = value.buffer as ArrayBuffer;
      if (done || !value) break;
      total += value.byteLength;
      reads++;
      if (reads > MIN_READS && total < reads * MIN_BYTES_PER_READ) {
        throw new ApiError(
          400,
          "undecodable",
          `the body arrived in ${reads} pieces of ${(total / reads).toFixed(0)} bytes on average; ` +
            `send it in larger pieces (at least ${MIN_BYTES_PER_READ} bytes on average after ${MIN_READS})`,
          { connection: "close" },
        );
      }
    }
    if (total > limits.maxBytes) throw tooLarge(limits);
  } catch (e) {
    reader.cancel();
    if (e instanceof ApiError) throw e;
    // The client went away or broke the stream: nothing useful arrived.
    throw new ApiError(400, "undecodable", `the request body could not be read: ${(e as Error)?.message ?? e}`);
  } finally {
    clearTimeout(timer);
  }
  return total === buffer.byteLength ? new Uint8Array(buffer) : new Uint8Array(buffer.slice(0, total));
}

/** Reads into the caller's buffer: a BYOB reader where the stream is a byte stream, else a default one copying into it. */
function bodyReader(body: ReadableStream<Uint8Array>) {
  try {
    const byob = body.getReader({ mode: "byob" });
    return {
      read: (into: Uint8Array<ArrayBuffer>) => byob.read(into),
      cancel: () => byob.cancel().catch(() => {}),
    };
  } catch {
    // Not a byte stream (a Request built in process from another stream): copy each chunk in, keeping none.
    const plain = body.getReader();
    let pending: Uint8Array | undefined;
    return {
      read: async (into: Uint8Array<ArrayBuffer>): Promise<{ done: boolean; value?: Uint8Array<ArrayBuffer> }> => {
        let chunk = pending;
        pending = undefined;
        if (!chunk) {
          const next = await plain.read();
          if (next.done) return { done: true, value: into.subarray(0, 0) };
          chunk = next.value;
        }
        const n = Math.min(chunk.length, into.length);
        into.set(chunk.subarray(0, n));
        if (n < chunk.length) pending = chunk.subarray(n);
        return { done: false, value: into.subarray(0, n) };
      },
      cancel: () => plain.cancel().catch(() => {}),
    };
  }
}

function tooLarge(limits: BodyLimits, headers: Record<string, string> = {}): ApiError {
  return new ApiError(413, "too_large", `the body is over the limit of ${limits.maxBytes} bytes`, headers);
}

/**
 * A multipart/form-data body (RFC 7578), parsed from bytes already read under the limits, by our own parser:
 * one pass that slices the parts out of the bytes, counting them as it goes, so a form of more than
 * `maxParts` parts is refused at the first part too many (before: 150,000 parts cost 4 s of the event loop
 * and 190 MB before the handler could say no), and a 10 MB form costs ~10 ms instead of the runtime's
 * `formData()`, 120-300 ms on the event loop. A body without its closing boundary (cut short, or a part never
 * terminated) is refused as unparseable rather than read as a form that merely lacks fields. Fields with a
 * filename are Files, the others text (UTF-8), as `Request.formData()` gives them.
 */
export function parseMultipart(
  bytes: Uint8Array,
  contentType: string,
  maxParts: number,
  code: ApiErrorCode = "undecodable",
): Promise<FormData> {
  try {
    return Promise.resolve(parseForm(bytes, contentType, maxParts, code));
  } catch (e) {
    return Promise.reject(e);
  }
}

function parseForm(bytes: Uint8Array, contentType: string, maxParts: number, code: ApiErrorCode): FormData {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!boundary) throw unparseable("the Content-Type names no boundary");
  const dashed = ascii(`--${boundary[1] ?? boundary[2]}`);
  const delimiter = ascii(`\r\n--${boundary[1] ?? boundary[2]}`);
  const form = new FormData();
  // The first delimiter opens the body, or follows a preamble and a line break.
  let opening = 0;
  if (!startsWith(bytes, dashed, 0)) {
    const found = find(bytes, delimiter, 0);
    if (found < 0) throw bytes.length === 0 ? cutShort() : unparseable("no boundary line opens it");
    opening = found + 2;
  }
  let at = opening + dashed.length;
  for (let parts = 0;; parts++) {
    if (bytes[at] === 0x2d && bytes[at + 1] === 0x2d) return form; // "--": the closing boundary
    while (bytes[at] === 0x20 || bytes[at] === 0x09) at++; // transport padding
    if (at >= bytes.length) throw cutShort();
    if (bytes[at] !== 0x0d || bytes[at + 1] !== 0x0a) throw unparseable("a boundary line goes on after the boundary");
    at += 2;
    if (parts === maxParts) throw new ApiError(400, code, `the form has more than ${maxParts} parts; this route reads at most ${maxParts}`);
    const headersEnd = bytes[at] === 0x0d && bytes[at + 1] === 0x0a ? at : find(bytes, CRLF2, at);
    if (headersEnd < 0 || headersEnd - at > MAX_PART_HEADER_BYTES) {
      throw headersEnd < 0 ? cutShort() : unparseable("a part's headers are too long");
    }
    const bodyStart = headersEnd === at ? at + 2 : headersEnd + 4;
    const bodyEnd = find(bytes, delimiter, bodyStart);
    if (bodyEnd < 0) throw cutShort();
    addPart(form, UTF8.decode(bytes.subarray(at, headersEnd)), bytes.subarray(bodyStart, bodyEnd));
    at = bodyEnd + delimiter.length;
  }
}

/** A part's headers are a few hundred bytes; more is not a browser's or a client library's form. */
const MAX_PART_HEADER_BYTES = 16 * 1024;
const CRLF2 = ascii("\r\n\r\n");
const UTF8 = new TextDecoder();

function unparseable(why: string): ApiError {
  return new ApiError(400, "undecodable", `the multipart/form-data body could not be parsed: ${why}`);
}

function cutShort(): ApiError {
  return unparseable("it ends before its closing boundary (cut short, or a part is not terminated)");
}

function addPart(form: FormData, headers: string, body: Uint8Array): void {
  let disposition = "";
  let type = "";
  for (const line of headers.split("\r\n")) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === "content-disposition") disposition = line.slice(colon + 1);
    else if (name === "content-type") type = line.slice(colon + 1).trim();
  }
  const params = new Map<string, string>();
  for (const m of disposition.matchAll(/;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g)) {
    params.set(m[1].toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3].trim());
  }
  const name = params.get("name");
  if (!/^\s*form-data\s*(;|$)/i.test(disposition) || name === undefined) {
    throw unparseable("a part has no Content-Disposition: form-data with a name");
  }
  const filename = params.get("filename");
  if (filename === undefined) form.append(name, UTF8.decode(body));
  else form.append(name, new File([body as Uint8Array<ArrayBuffer>], filename, { type }));
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0) & 0xff);
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let j = 0; j < prefix.length; j++) if (bytes[at + j] !== prefix[j]) return false;
  return true;
}

/** Index of `needle` in `bytes` from `from`, or -1: the runtime's indexOf finds each candidate first byte. */
function find(bytes: Uint8Array, needle: Uint8Array, from: number): number {
  const last = bytes.length - needle.length;
  for (let i = bytes.indexOf(needle[0], from); i >= 0 && i <= last; i = bytes.indexOf(needle[0], i + 1)) {
    if (startsWith(bytes, needle, i)) return i;
  }
  return -1;
}
