/**
 * deno task predict <files and folders…> [--out results.csv|results.jsonl] [--transcribe] [--profile FILE] [--jobs N] [--model DIR]
 * Labels every audio file found (folders recursively) without a server: the same decoding, speech finding,
 * features and model as /predict, in process, on every core (one worker per job). One row per file, written
 * as it is done; a file that fails gets its error code in its row and the run goes on. Exit status 0 unless
 * no file at all could be labelled.
 */
import { parseArgs } from "node:util";
import { extname, join } from "node:path";
import { defaultModelDir, findModelFolders } from "../served.ts";
import { csvHeader, csvRow, jsonLine, type LabelJob, type LabelRow, type WorkerMessage } from "./rows.ts";

const AUDIO = new Set([".wav", ".wave", ".mp3", ".ogg", ".oga", ".opus", ".webm", ".flac", ".m4a", ".mp4", ".aac"]);
const BATCH = 32;

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: "string" },
    transcribe: { type: "boolean", default: false },
    profile: { type: "string" },
    jobs: { type: "string", default: String(navigator.hardwareConcurrency || 1) },
    model: { type: "string" },
    reject: { type: "string" },
    "max-audio-seconds": { type: "string", default: "60" },
    "max-bytes": { type: "string", default: String(50 * 1024 * 1024) },
    help: { type: "boolean", short: "h" },
  },
});

if (args.help || positionals.length === 0) {
  console.log(`deno task predict <files and folders…> [options]
  Labels every audio file (WAV, MP3, OGG/Opus, WebM, FLAC, M4A; folders are searched recursively) in process.
  --out FILE        results.csv or results.jsonl (default: CSV on stdout)
  --transcribe      also read every digit of each file (the string, as POST /transcribe)
  --profile FILE    answer for one speaker: a profile from POST /adapt (the string) or the page's Export file
  --jobs N          workers (default: one per core)
  --model DIR       a model folder (default: the one the server answers with)
  --reject off|P    "not a digit" refusal: off (always a digit) or a refusal point 0-1 (default: the model's own)
  --max-audio-seconds S, --max-bytes N   longer or larger files get an error row (default 60 s, 50 MB)`);
  Deno.exit(positionals.length === 0 && !args.help ? 2 : 0);
}

function* audioFiles(path: string, seen = new Set<string>()): Generator<string> {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    yield path; // reported as not_found in its row
    return;
  }
  if (info.isFile) {
    yield path;
    return;
  }
  // A folder reached twice (through a link back up the tree) is read once.
  const real = Deno.realPathSync(path);
  if (seen.has(real)) return;
  seen.add(real);
  const entries = [...Deno.readDirSync(path)].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const child = join(path, entry.name);
    // A link counts as what it points to (a dataset folder of links is common); a broken one is skipped.
    let { isDirectory, isFile } = entry;
    if (entry.isSymlink) {
      try {
        ({ isDirectory, isFile } = Deno.statSync(child));
      } catch {
        continue;
      }
    }
    if (isDirectory) yield* audioFiles(child, seen);
    else if (isFile && AUDIO.has(extname(entry.name).toLowerCase())) yield child;
  }
}

function parseReject(value: string | undefined): number | "off" | undefined {
  if (value === undefined || value === "off") return value;
  const p = Number(value);
  if (!(p > 0 && p <= 1)) throw new Error(`--reject is "off" or a number in (0, 1], not ${value}`);
  return p;
}

/** A profile file: the raw string /adapt returned, or the page's exported JSON holding it. */
function readProfile(file: string): string {
  const text = Deno.readTextFileSync(file).trim();
  if (!text.startsWith("{")) return text;
  const parsed = JSON.parse(text);
  if (typeof parsed?.profile !== "string") throw new Error(`${file} holds no "profile"`);
  return parsed.profile;
}

const paths = positionals.flatMap((p) => [...audioFiles(p)]);
const modelDir = args.model ?? join("models", defaultModelDir(findModelFolders("models").map((n) => join("models", n))).split("/").pop()!);
const format = args.out?.toLowerCase().endsWith(".jsonl") ? "jsonl" : "csv";
const output = args.out ? await Deno.open(args.out, { write: true, create: true, truncate: true }) : Deno.stdout;
const encoder = new TextEncoder();
const write = async (text: string) => {
  const bytes = encoder.encode(text);
  for (let at = 0; at < bytes.length;) at += await output.write(bytes.subarray(at));
};
if (format === "csv") await write(csvHeader(args.transcribe) + "\n");

const job: Omit<LabelJob, "paths"> = {
  modelDir,
  profile: args.profile ? readProfile(args.profile) : undefined,
  transcribe: args.transcribe,
  reject: parseReject(args.reject),
  maxAudioS: +args["max-audio-seconds"],
  maxBytes: +args["max-bytes"],
};
const progress = progressReporter(paths.length);
let labelled = 0, failed = 0;
let next = 0;
let writing = Promise.resolve();

/** One worker: takes batches until none are left. Rows are written as each batch comes back. */
function runWorker(): Promise<void> {
  const worker = new Worker(new URL("./label_worker.ts", import.meta.url).href, { type: "module" });
  return new Promise((resolve, reject) => {
    const send = () => {
      if (next >= paths.length) {
        worker.terminate();
        return resolve();
      }
      const batch = paths.slice(next, next + BATCH);
      next += batch.length;
      worker.postMessage({ ...job, paths: batch } satisfies LabelJob);
    };
    worker.onmessage = ({ data }: MessageEvent<WorkerMessage>) => {
      if ("fatal" in data) {
        worker.terminate();
        return reject(new Error(data.fatal));
      }
      const rows: LabelRow[] = data.rows;
      for (const row of rows) row.error ? failed++ : labelled++;
      writing = writing.then(() => write(rows.map((r) => (format === "csv" ? csvRow(r, args.transcribe) : jsonLine(r)) + "\n").join("")));
      progress(labelled + failed, failed);
      send();
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      reject(new Error(e.message));
    };
    send();
  });
}

const started = performance.now();
try {
  const jobs = Math.max(1, Math.min(+args.jobs || 1, Math.ceil(paths.length / BATCH) || 1));
  await Promise.all(Array.from({ length: jobs }, runWorker));
  await writing;
} catch (e) {
  console.error(`deno task predict: ${(e as Error).message}`);
  Deno.exit(2);
} finally {
  if (args.out) output.close();
}
const seconds = (performance.now() - started) / 1000;
console.error(
  `${labelled} labelled, ${failed} failed, ${paths.length} files in ${seconds.toFixed(1)} s (${
    Math.round((labelled + failed) / seconds * 60)
  } files/min) with ${modelDir}${args.out ? ` -> ${args.out}` : ""}`,
);
Deno.exit(labelled > 0 ? 0 : 1);

/** A bar with ETA on a terminal; elsewhere a plain line every 10% (logs stay readable). */
function progressReporter(total: number): (done: number, failed: number) => void {
  const tty = Deno.stderr.isTerminal();
  const t0 = performance.now();
  let lastTenth = 0;
  return (done, failed) => {
    const seconds = (performance.now() - t0) / 1000;
    const rate = done / Math.max(seconds, 1e-3);
    const eta = rate > 0 ? Math.round((total - done) / rate) : 0;
    if (tty) {
      const width = 30;
      const filled = Math.round((done / Math.max(total, 1)) * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      Deno.stderr.writeSync(encoder.encode(`\r[${bar}] ${done}/${total} files, ${Math.round(rate)}/s, ETA ${eta} s, ${failed} failed `));
      if (done === total) Deno.stderr.writeSync(encoder.encode("\n"));
    } else if (Math.floor((done / Math.max(total, 1)) * 10) > lastTenth || done === total) {
      lastTenth = Math.floor((done / Math.max(total, 1)) * 10);
      console.error(`${done}/${total} files, ${Math.round(rate)}/s, ETA ${eta} s, ${failed} failed`);
    }
  };
}
