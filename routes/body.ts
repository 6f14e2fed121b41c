/**
 * Reading a request body under limits: at most `maxBytes` (413 too_large, checked against Content-Length
 * first and again while reading), and all of it within `timeoutMs` (408 timeout), so a client that stops
 * mid-body or sends a byte a second cannot hold a socket and its buffers for as long as it likes.
 */
import { ApiError } from "./errors.ts";

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

export async function readBodyBytes(req: Request, limits: BodyLimits): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > limits.maxBytes) throw tooLarge(limits);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject before cancelling: the cancelled read resolves as "done", and must not pass for a whole body.
      reject(
        new ApiError(408, "timeout", `the request body did not arrive within ${limits.timeoutMs / 1000} s`, { connection: "close" }),
      );
      reader.cancel().catch(() => {});
    }, limits.timeoutMs);
  });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await Promise.race([reader.read(), deadline]);
      if (done) break;
      total += value.length;
      if (total > limits.maxBytes) {
        reader.cancel().catch(() => {});
        throw tooLarge(limits);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    // The client went away or broke the stream: nothing useful arrived.
    throw new ApiError(400, "undecodable", `the request body could not be read: ${(e as Error)?.message ?? e}`);
  } finally {
    clearTimeout(timer);
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

function tooLarge(limits: BodyLimits): ApiError {
  return new ApiError(413, "too_large", `the body is over the limit of ${limits.maxBytes} bytes`);
}

/**
 * A multipart/form-data body, parsed from bytes already read under the limits. A body without its closing
 * boundary (cut short, or a part never terminated) is refused as unparseable rather than read as a form
 * that merely lacks fields.
 */
export async function parseMultipart(bytes: Uint8Array, contentType: string): Promise<FormData> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const unparseable = (why: string) => new ApiError(400, "undecodable", `the multipart/form-data body could not be parsed: ${why}`);
  if (!boundary) throw unparseable("the Content-Type names no boundary");
  const closing = new TextEncoder().encode(`--${boundary[1] ?? boundary[2]}--`);
  if (indexOf(bytes, closing) < 0) throw unparseable("it ends before its closing boundary (cut short, or a part is not terminated)");
  try {
    return await new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": contentType } }).formData();
  } catch (e) {
    throw unparseable((e as Error)?.message ?? String(e));
  }
}

/** Index of `needle` in `haystack`, searched from the end (the closing boundary is the last thing in a form). */
function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = haystack.length - needle.length; i >= 0; i--) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
