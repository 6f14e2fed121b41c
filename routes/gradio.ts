/**
 * The Gradio HTTP protocol, so that Gradio's own clients (`gradio_client` in Python, `@gradio/client` in
 * JavaScript) call this Space as they call any Gradio Space:
 *
 *   GET  /config                        the app: components, and the endpoints ("dependencies") with api_name
 *   GET  /gradio_api/info               each endpoint's parameters and returns (what view_api() prints)
 *   POST /gradio_api/upload             multipart field "files" -> their paths, to send back as inputs
 *   POST /gradio_api/queue/join         {data, fn_index, session_hash} -> {event_id}; the work starts at once
 *   GET  /gradio_api/queue/data?session_hash=   server-sent events: process_starts, then process_completed
 *                                       with the outputs (or an error), then close_stream once the session
 *                                       has nothing left to deliver
 *   POST /gradio_api/cancel, /reset     accepted and ignored: a recognition takes milliseconds
 *
 * Written from what the clients send and read (gradio_client 2.7.2 client.py/utils.py, @gradio/client 2.7.0
 * src/), not from the gradio server. Endpoints: /predict, /transcribe, /adapt, each the REST route's work
 * through the same functions (routes/predict.ts prepareRecognition, routes/adapt.ts adaptToFiles), so the
 * model choice, profile checks, decoding limits and answers are the REST API's. Our errors come back as
 * Gradio errors: the event completes with success false, its title our error code and its message
 * "code: message" (gradio_client raises AppError, @gradio/client rejects with an Error).
 *
 * What it keeps, all in memory and bounded: uploads (UploadStore: a fixed byte bound, each file read once and
 * dropped, or dropped UPLOAD_TTL_MS after upload; paths are 128-bit random ids and nothing serves a file back,
 * so no caller can read another's upload), and per session the events not yet delivered (at most MAX_EVENTS
 * in all, each session dropped RESULT_TTL_MS after its last activity when no stream reads it).
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { AudioError } from "../dsp/errors.ts";
import { MAX_TAKES_PER_DIGIT } from "../models/profile.ts";
import type { ServedModels } from "../models/served.ts";
import type { Inference } from "./inference.ts";
import { adaptToFiles, type Take } from "./adapt.ts";
import { type BodyLimits, parseMultipart, readBodyBytes } from "./body.ts";
import { REJECT_OFF, REJECT_PATTERN } from "./contract.ts";
import type { AudioDecoder } from "./decoding.ts";
import { ApiError, type ApiErrorCode, FROM_AUDIO } from "./errors.ts";
import { pickModel, prepareRecognition } from "./predict.ts";

/** Where the clients find everything but /config (the config's `api_prefix`). */
export const GRADIO_PREFIX = "/gradio_api";
/** The Gradio version the config claims: the clients compare it only with 3.36.1 (/info) and 4.29.0 (/cancel). */
const GRADIO_VERSION = "6.0.0";
/** Uploads live at most this long unread (the issue's bound is 10 minutes). */
export const UPLOAD_TTL_MS = 5 * 60_000;
/** Bytes of uploads held at once, at least (a single upload may be as large as the body limit). */
export const UPLOAD_STORE_BYTES = 64 * 2 ** 20;
/** Events joined and not yet delivered, in all sessions together; past it a join is answered 503 (queue full). */
export const MAX_EVENTS = 256;
/** A session that no stream reads is dropped, undelivered results with it, this long after its last activity. */
export const RESULT_TTL_MS = 2 * 60_000;
/**
 * Once a session has nothing left to deliver, its stream waits this long for another join before it sends
 * close_stream. Both clients read every call of a session from one stream and open a new one only after
 * close_stream: closing at once would race the next back-to-back call's join against the close.
 */
const STREAM_GRACE_MS = 500;
const HEARTBEAT_MS = 15_000;
/** A join's JSON: the inputs (uploaded files travel as paths) and a profile of at most 128 KB. */
const JOIN_MAX_BYTES = 256 * 1024;
/** Files one upload request may carry (the clients send one per request; /adapt's takes are 50 at most). */
const MAX_UPLOAD_PARTS = 10 * MAX_TAKES_PER_DIGIT;
const SESSION_HASH = /^[A-Za-z0-9_.-]{1,128}$/;

// ---------------------------------------------------------------------------------------------------------
// Uploads

interface Upload {
  bytes: Uint8Array;
  name: string;
  expires: number;
}

/**
 * Uploaded files, in memory only: at most `maxBytes` together (an upload that would pass it is refused, 503),
 * each dropped `ttlMs` after it arrived or when read (`take`), whichever is first. Keys are 128-bit random
 * hex ids: a path cannot be guessed, and nothing lists or serves the files.
 */
export class UploadStore {
  readonly #files = new Map<string, Upload>();
  #bytes = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly maxBytes: number,
    readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    /** The largest upload a request can carry (the body limit): only said in errors. */
    readonly maxFileBytes = maxBytes,
  ) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#files.size;
  }

  /** Stores the files together or not at all; returns their paths (id/name). */
  put(files: { bytes: Uint8Array; name: string }[]): string[] {
    this.sweep();
    const total = files.reduce((sum, f) => sum + f.bytes.length, 0);
    if (this.#bytes + total > this.maxBytes) {
      throw new ApiError(503, "busy", `the upload store is full (${this.maxBytes} bytes held for a few minutes); try again shortly`);
    }
    const paths = files.map(({ bytes, name }) => {
      const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
      this.#files.set(id, { bytes, name, expires: this.now() + this.ttlMs });
      this.#bytes += bytes.length;
      return `${id}/${name}`;
    });
    this.#schedule();
    return paths;
  }

  /** The file at `path` (as put() returned it), removed from the store; undefined if unknown or expired. */
  take(path: string): Upload | undefined {
    this.sweep();
    const id = path.split("/", 1)[0];
    const file = this.#files.get(id);
    if (!file) return undefined;
    this.#drop(id, file);
    return file;
  }

  /** Drops every expired file. */
  sweep(): void {
    const now = this.now();
    for (const [id, file] of this.#files) if (file.expires <= now) this.#drop(id, file);
  }

  #drop(id: string, file: Upload) {
    this.#files.delete(id);
    this.#bytes -= file.bytes.length;
    if (this.#files.size === 0) this.#unschedule();
  }

  /** While anything is stored, a sweep every few seconds (unref'd: it never keeps the process alive). */
  #schedule() {
    if (this.#timer !== undefined || this.#files.size === 0) return;
    const timer = setInterval(() => this.sweep(), Math.min(10_000, Math.max(1, this.ttlMs / 4)));
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #unschedule() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.#unschedule();
    this.#files.clear();
    this.#bytes = 0;
  }
}

/** A file name as the upload gave it, made safe to echo: its last segment, plain characters, at most 80. */
function safeName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  return base.replace(/[^A-Za-z0-9._-]/g, "_").slice(-80) || "file";
}

// ---------------------------------------------------------------------------------------------------------
// The app's description: components and endpoints

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Param {
  name: string;
  component: "Audio" | "File" | "Textbox" | "Dropdown";
  /** JSON schema of the value. */
  type: Record<string, Json>;
  python: string;
  description: string;
  /** Present: the parameter may be left out (this is its value then). */
  default?: Json;
  example: Json;
  props?: Record<string, Json>;
}

interface Output {
  name: string;
  component: "Textbox" | "JSON";
  type: Record<string, Json>;
  python: string;
  description: string;
}

interface Endpoint {
  name: string;
  description: string;
  inputs: Param[];
  outputs: Output[];
  run(values: unknown[]): Promise<Json[]>;
}

const FILE_DATA: Record<string, Json> = {
  type: "object",
  title: "FileData",
  properties: {
    path: { type: "string" },
    url: { anyOf: [{ type: "string" }, { type: "null" }], default: null },
    size: { anyOf: [{ type: "integer" }, { type: "null" }], default: null },
    orig_name: { anyOf: [{ type: "string" }, { type: "null" }], default: null },
    mime_type: { anyOf: [{ type: "string" }, { type: "null" }], default: null },
    is_stream: { type: "boolean", default: false },
    meta: { type: "object", default: { _type: "gradio.FileData" } },
  },
  required: ["path"],
  additionalProperties: false,
};
const EXAMPLE_FILE: Json = {
  path: "https://github.com/gradio-app/gradio/raw/main/test/test_files/audio_sample.wav",
  meta: { _type: "gradio.FileData" },
};

/** What the three endpoints need from the server. */
interface Deps {
  served: ServedModels;
  decoder: AudioDecoder;
  inference: Inference;
  store: UploadStore;
  maxBodyBytes: number;
}

function endpoints({ served, decoder, inference, store, maxBodyBytes }: Deps): Endpoint[] {
  const models = served.models.map((m) => m.name);
  const audio: Param = {
    name: "audio",
    component: "Audio",
    type: FILE_DATA,
    python: "filepath",
    description: `the recording, any format the REST API reads: handle_file("clip.wav")`,
    example: EXAMPLE_FILE,
    props: { type: "filepath", sources: ["upload", "microphone"] },
  };
  const profile: Param = {
    name: "profile",
    component: "Textbox",
    type: { type: "string" },
    python: "str",
    description: "a speaker profile from /adapt, or empty",
    default: "",
    example: "",
  };
  const model: Param = {
    name: "model",
    component: "Dropdown",
    type: { type: "string", enum: models },
    python: `Literal[${models.map((m) => `'${m}'`).join(", ")}]`,
    description: "the model that answers",
    default: served.default.name,
    example: served.default.name,
    props: { choices: models.map((m) => [m, m]) },
  };
  const reject: Param = {
    name: "reject",
    component: "Textbox",
    type: { type: "string" },
    python: "str",
    description: `"not a digit" refusal point in (0, 1], "${REJECT_OFF}", or empty for the model's own`,
    default: "",
    example: "",
  };
  const answer = (description: string): Output => ({
    name: "answer",
    component: "JSON",
    type: {},
    python: "Dict(str, Any)",
    description,
  });

  /** The REST route's path for one clip: read the upload, check the inputs, decode. */
  const prepare = (values: unknown[]) => {
    const started = performance.now();
    const file = takeUpload(store, values[0], "audio");
    if (!file) throw new ApiError(400, "empty_body", "no audio: pass the recording as the first input (handle_file(path) in Python)");
    return prepareRecognition(served, decoder, {
      bytes: file.bytes,
      profile: readText(values[1], "profile", "bad_profile"),
      model: readModel(values[2], models),
      reject: readRejectValue(values[3]),
    }, started);
  };

  const digitInputs = Array.from({ length: 10 }, (_, d): Param => ({
    name: `digit_${d}`,
    component: "File",
    type: { anyOf: [{ type: "array", items: FILE_DATA } as Json, { type: "null" }] },
    python: "list[filepath]",
    description: `1-${MAX_TAKES_PER_DIGIT} takes of "${d}": [handle_file("${d}_a.wav"), ...]`,
    default: null,
    example: null,
    props: { file_count: "multiple", file_types: ["audio"] },
  }));

  return [
    {
      name: "predict",
      description: "One digit: the loudest utterance (POST /predict).",
      inputs: [audio, profile, model, reject],
      outputs: [
        { name: "label", component: "Textbox", type: { type: "string" }, python: "str", description: '"0".."9", or "unknown"' },
        answer("the REST API's /predict answer"),
      ],
      run: async (values) => {
        const { classifier, audio, speaker, reject, decodeMs } = await prepare(values);
        const model = classifier.identity.name;
        const prediction = await inference.run({ kind: "predict", model, audio, decodeMs, profile: speaker, reject });
        return [prediction.label, prediction as unknown as Json];
      },
    },
    {
      name: "transcribe",
      description: "A digit string: every utterance (POST /transcribe).",
      inputs: [audio, profile, model, reject],
      outputs: [
        { name: "text", component: "Textbox", type: { type: "string" }, python: "str", description: 'the digits heard, e.g. "4207"' },
        answer("the REST API's /transcribe answer"),
      ],
      run: async (values) => {
        const { classifier, audio, speaker, reject, decodeMs } = await prepare(values);
        const model = classifier.identity.name;
        const transcription = await inference.run({ kind: "transcribe", model, audio, decodeMs, profile: speaker, reject });
        return [transcription.text, transcription as unknown as Json];
      },
    },
    {
      name: "adapt",
      description: "Teach it a voice: takes per digit -> a profile for /predict and /transcribe (POST /adapt).",
      inputs: [...digitInputs, model],
      outputs: [
        { name: "profile", component: "Textbox", type: { type: "string" }, python: "str", description: "the profile string" },
        answer("the REST API's /adapt answer"),
      ],
      run: async (values) => {
        const { classifier } = pickModel(served, readModel(values[10], models));
        const takes: Take[] = [];
        let bytes = 0;
        for (let digit = 0; digit < 10; digit++) {
          const given = values[digit];
          const files = given === null || given === undefined ? [] : Array.isArray(given) ? given : [given];
          if (files.length > MAX_TAKES_PER_DIGIT) {
            throw new ApiError(400, "bad_takes", `more than ${MAX_TAKES_PER_DIGIT} takes of "${digit}"`);
          }
          files.forEach((value, i) => {
            const file = takeUpload(store, value, `digit_${digit}`);
            if (!file) throw new ApiError(400, "bad_takes", `take ${i + 1} of "${digit}" is not a file`);
            bytes += file.bytes.length;
            takes.push({ digit, take: i + 1, file: new File([file.bytes as Uint8Array<ArrayBuffer>], file.name) });
          });
        }
        // The REST route reads all takes as one body under the body limit: the same bound here.
        if (bytes > maxBodyBytes) throw new ApiError(413, "too_large", `the takes are over the limit of ${maxBodyBytes} bytes together`);
        if (takes.length === 0) throw new ApiError(400, "empty_body", "no takes: pass files as digit_0 .. digit_9");
        const adapted = await adaptToFiles(classifier, decoder, inference, takes);
        return [adapted.profile, adapted as unknown as Json];
      },
    },
  ];
}

/** An input that should be an uploaded file (FileData, or its path), read from the store; undefined when empty. */
function takeUpload(store: UploadStore, value: unknown, name: string): Upload | undefined {
  if (value === null || value === undefined) return undefined;
  const path = typeof value === "string" ? value : (value as { path?: unknown })?.path;
  if (typeof path !== "string" || path === "") {
    // @gradio/client sends a file whose upload was refused (over the size limit: 413) as an empty object.
    throw new ApiError(
      400,
      "bad_parameter",
      `${name} must be an uploaded file (handle_file(path) in Python, a Blob or handle_file() in JavaScript); ` +
        `if it was one, its upload was refused: files over ${store.maxFileBytes} bytes are`,
    );
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    throw new ApiError(400, "bad_parameter", `${name}: this Space reads uploaded files only; it does not fetch URLs`);
  }
  const file = store.take(path);
  if (!file) {
    throw new ApiError(
      400,
      "bad_parameter",
      `${name}: no upload at "${path.slice(0, 60)}" (uploads are read once, and dropped ${UPLOAD_TTL_MS / 60_000} minutes after upload)`,
    );
  }
  return file;
}

function readText(value: unknown, name: string, code: ApiErrorCode): string | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  if (typeof value !== "string") throw new ApiError(400, code, `${name} must be a string`);
  return value;
}

function readModel(value: unknown, models: string[]): string | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  if (typeof value !== "string" || !models.includes(value)) {
    throw new ApiError(
      400,
      "unknown_model",
      `no model named ${JSON.stringify(String(value).slice(0, 40))}; this server has: ${models.join(", ")}`,
    );
  }
  return value;
}

function readRejectValue(value: unknown): string | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || !new RegExp(REJECT_PATTERN).test(text)) {
    throw new ApiError(
      400,
      "bad_parameter",
      `reject may not be ${JSON.stringify(String(value).slice(0, 40))}: "${REJECT_OFF}" or a number in (0, 1]`,
    );
  }
  return text;
}

/** GET /config: components (one per input and output of each endpoint) and the endpoints as dependencies. */
function configDocument(list: Endpoint[], maxBodyBytes: number) {
  const components: Record<string, Json>[] = [];
  const component = (p: Param | Output, kind: "input" | "output") => {
    const id = components.length + 1;
    components.push({
      id,
      type: p.component.toLowerCase(),
      props: {
        label: p.name,
        info: p.description,
        ...(kind === "input" && "default" in p ? { value: p.default ?? null } : {}),
        ...("props" in p ? p.props : {}),
      },
      api_info: p.type,
      skip_api: false,
      component_class_id: p.component,
    });
    return id;
  };
  const dependencies = list.map((endpoint, id) => {
    const inputs = endpoint.inputs.map((p) => component(p, "input"));
    const outputs = endpoint.outputs.map((p) => component(p, "output"));
    return {
      id,
      targets: [],
      inputs,
      outputs,
      api_name: endpoint.name,
      api_visibility: "public",
      show_api: true,
      description: endpoint.description,
      backend_fn: true,
      js: null,
      queue: true,
      types: { generator: false, cancel: false },
      trigger_mode: "once",
      connection: "sse",
    };
  });
  return {
    version: GRADIO_VERSION,
    mode: "blocks",
    title: "Spoken Digits",
    protocol: "sse_v3",
    api_prefix: GRADIO_PREFIX,
    app_id: APP_ID,
    enable_queue: true,
    connect_heartbeat: false,
    max_file_size: maxBodyBytes,
    show_error: true,
    components,
    dependencies,
  };
}
const APP_ID = Math.floor(Math.random() * 2 ** 48);

/** GET <prefix>/info: what view_api() prints, per endpoint. */
function apiInfo(list: Endpoint[]) {
  const named: Record<string, Json> = {};
  for (const endpoint of list) {
    named[`/${endpoint.name}`] = {
      parameters: endpoint.inputs.map((p) => ({
        label: p.name,
        parameter_name: p.name,
        parameter_has_default: "default" in p,
        parameter_default: p.default ?? null,
        type: { ...p.type, description: p.description },
        python_type: { type: p.python, description: p.description },
        component: p.component,
        example_input: p.example,
      })),
      returns: endpoint.outputs.map((p) => ({
        label: p.name,
        type: { ...p.type, description: p.description },
        python_type: { type: p.python, description: p.description },
        component: p.component,
      })),
      api_visibility: "public",
      description: endpoint.description,
    };
  }
  return { named_endpoints: named, unnamed_endpoints: {} };
}

// ---------------------------------------------------------------------------------------------------------
// The queue: events per session, delivered as server-sent events

type Message = Record<string, Json>;

interface Session {
  /** Events joined whose process_completed has not been sent yet. */
  pending: Set<string>;
  /** Messages waiting for the session's stream. */
  messages: Message[];
  /** Wakes the stream that reads this session, if one does. */
  wake?: () => void;
  /** Set while a stream reads this session; a newer stream replaces it. */
  reader?: symbol;
  touched: number;
}

/**
 * Sessions and their events: at most MAX_EVENTS joined and not yet delivered (503 busy past it); a session no
 * stream reads is dropped RESULT_TTL_MS after its last activity, undelivered results with it.
 */
export class Queue {
  readonly sessions = new Map<string, Session>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(readonly now: () => number = Date.now) {}

  get events(): number {
    let n = 0;
    for (const session of this.sessions.values()) n += session.pending.size;
    return n;
  }

  join(sessionHash: string): { session: Session; eventId: string } {
    this.sweep();
    if (this.events >= MAX_EVENTS) throw new ApiError(503, "busy", "the queue is full; try again shortly");
    let session = this.sessions.get(sessionHash);
    if (!session) {
      session = { pending: new Set(), messages: [], touched: this.now() };
      this.sessions.set(sessionHash, session);
    }
    const eventId = crypto.randomUUID().replaceAll("-", "");
    session.pending.add(eventId);
    this.#schedule();
    return { session, eventId };
  }

  send(session: Session, message: Message) {
    session.messages.push(message);
    session.touched = this.now();
    session.wake?.();
  }

  /** Drops sessions no stream reads that have been idle past RESULT_TTL_MS. */
  sweep() {
    const now = this.now();
    for (const [hash, session] of this.sessions) {
      if (!session.reader && now - session.touched > RESULT_TTL_MS) this.sessions.delete(hash);
    }
    if (this.sessions.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #schedule() {
    if (this.#timer !== undefined) return;
    const timer = setInterval(() => this.sweep(), 10_000);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }
}

/**
 * The stream of one session: its messages as they come; after each process_completed, once nothing is
 * pending and no join arrives within STREAM_GRACE_MS, close_stream (both clients wait for it, and then open
 * a new stream with their next join).
 */
function sessionStream(queue: Queue, hash: string, session: Session): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const me = Symbol(hash);
  let closed = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      // A stream already reading this session is told to close; this one takes over.
      session.wake?.();
      session.reader = me;
      const write = (message: Message) => controller.enqueue(encoder.encode(`data: ${JSON.stringify(message)}\n\n`));
      const wait = (ms: number) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => finish(false), ms);
          const finish = (woken: boolean) => {
            clearTimeout(timer);
            if (session.wake === wake) session.wake = undefined;
            resolve(woken);
          };
          const wake = () => finish(true);
          session.wake = wake;
        });
      (async () => {
        while (!closed && session.reader === me) {
          while (session.messages.length > 0) {
            const message = session.messages.shift()!;
            write(message);
            if (message.msg === "process_completed") session.pending.delete(message.event_id as string);
          }
          session.touched = queue.now();
          if (session.pending.size === 0) {
            if (await wait(STREAM_GRACE_MS)) continue;
            if (session.pending.size > 0 || session.messages.length > 0) continue;
            break;
          }
          if (!(await wait(HEARTBEAT_MS)) && !closed) write({ msg: "heartbeat" });
        }
        if (closed) return;
        write({ msg: "close_stream" });
        controller.close();
        if (session.reader === me) {
          session.reader = undefined;
          if (session.pending.size === 0 && session.messages.length === 0) queue.sessions.delete(hash);
        }
      })().catch(() => {});
    },
    cancel() {
      // The client went away: what is left waits for its next stream, or expires.
      closed = true;
      session.wake?.();
      if (session.reader !== me) return;
      session.reader = undefined;
      session.touched = queue.now();
      if (session.pending.size === 0 && session.messages.length === 0) queue.sessions.delete(hash);
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// The routes

export interface GradioOptions {
  maxBodyBytes: number;
  bodyTimeoutS: number;
}

/** Our error, as Gradio puts an error in a completed event (gradio_client raises AppError(message, title=...)). */
function gradioError(e: unknown): Message {
  let code: ApiErrorCode = "internal";
  let message = "internal error; the server logged it";
  if (e instanceof ApiError) [code, message] = [e.code, e.message];
  else if (e instanceof AudioError) [code, message] = [FROM_AUDIO[e.code][1], e.message];
  else console.error("gradio event failed:", e);
  return { error: `${code}: ${message}`, title: code, duration: null, visible: true };
}

/** An HTTP-level error (upload, join): our error shape, plus FastAPI's "detail" that the clients print. */
function httpError(c: Context, e: unknown) {
  if (!(e instanceof ApiError)) {
    console.error(`${c.req.method} ${c.req.path} failed:`, e);
    e = new ApiError(500, "internal", "internal error; the server logged it");
  }
  const { status, code, message, headers } = e as ApiError;
  return c.json({ error: { code, message }, detail: `${code}: ${message}` }, status, headers);
}

/**
 * The Gradio sub-app. Mount it twice: at GRADIO_PREFIX (every route), and its /config at the root, where the
 * clients look first. Returns the app and what it holds (for tests and shutdown).
 */
export function gradioRoutes(served: ServedModels, decoder: AudioDecoder, inference: Inference, limits: BodyLimits) {
  const store = new UploadStore(Math.max(UPLOAD_STORE_BYTES, limits.maxBytes), UPLOAD_TTL_MS, Date.now, limits.maxBytes);
  const queue = new Queue();
  const list = endpoints({ served, decoder, inference, store, maxBodyBytes: limits.maxBytes });
  const config = configDocument(list, limits.maxBytes);
  const info = apiInfo(list);
  const app = new Hono();
  app.onError((e, c) => httpError(c, e));
  app.notFound((c) => httpError(c, new ApiError(404, "not_found", `no Gradio route for ${c.req.method} ${c.req.path}`)));

  app.get("/config", (c) => c.json(config));
  app.get("/info", (c) => c.json(info));

  app.post("/upload", async (c) => {
    const type = c.req.header("content-type") ?? "";
    if (!type.toLowerCase().startsWith("multipart/form-data")) {
      throw new ApiError(400, "empty_body", 'send multipart/form-data with the files in fields named "files"');
    }
    const form = await parseMultipart(await readBodyBytes(c.req.raw, limits), type, MAX_UPLOAD_PARTS);
    const files: { bytes: Uint8Array; name: string }[] = [];
    for (const value of form.getAll("files")) {
      if (!(value instanceof File)) throw new ApiError(400, "empty_body", 'the "files" field must hold files, not text');
      files.push({ bytes: new Uint8Array(await value.arrayBuffer()), name: safeName(value.name) });
    }
    if (files.length === 0) throw new ApiError(400, "empty_body", 'the form has no field named "files"');
    return c.json(store.put(files));
  });

  app.post("/queue/join", async (c) => {
    const text = new TextDecoder().decode(await readBodyBytes(c.req.raw, { ...limits, maxBytes: JOIN_MAX_BYTES }));
    let body: { data?: unknown; fn_index?: unknown; session_hash?: unknown };
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(400, "bad_parameter", "the body must be JSON: {data, fn_index, session_hash}");
    }
    const endpoint = typeof body?.fn_index === "number" ? list[body.fn_index] : undefined;
    if (!endpoint) throw new ApiError(400, "bad_parameter", `fn_index must be one of 0..${list.length - 1}`);
    if (typeof body.session_hash !== "string" || !SESSION_HASH.test(body.session_hash)) {
      throw new ApiError(400, "bad_parameter", "session_hash must be 1-128 letters, digits, '_', '-' or '.'");
    }
    const data = body.data ?? [];
    if (!Array.isArray(data) || data.length > endpoint.inputs.length) {
      throw new ApiError(400, "bad_parameter", `data must be a list of at most ${endpoint.inputs.length} inputs`);
    }
    const values = endpoint.inputs.map((p, i) => data[i] === undefined ? p.default : data[i]);
    const { session, eventId } = queue.join(body.session_hash);
    // The work starts now; its messages wait for the session's stream.
    queue.send(session, { msg: "process_starts", event_id: eventId, eta: null });
    const started = performance.now();
    endpoint.run(values).then(
      (outputs) => ({ output: { data: outputs, is_generating: false, duration: (performance.now() - started) / 1000 }, success: true }),
      (e) => ({ output: gradioError(e), success: false }),
    ).then((result) => queue.send(session, { msg: "process_completed", event_id: eventId, ...result } as Message));
    return c.json({ event_id: eventId });
  });

  app.get("/queue/data", (c) => {
    const hash = c.req.query("session_hash") ?? "";
    const session = queue.sessions.get(hash);
    if (!session) return c.json({ detail: "Session not found." }, 404);
    return new Response(sessionStream(queue, hash, session), {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" },
    });
  });

  // A job cannot be stopped midway (it takes milliseconds); both are accepted so that a client's cancel() works.
  app.post("/cancel", (c) => c.json({ success: true }));
  app.post("/reset", (c) => c.json({ success: true }));

  return { app, store, queue };
}
