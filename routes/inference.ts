/**
 * Inference off the event loop and on every core: a pool of Web Workers (routes/inference_worker.ts), each with
 * its own tfjs WASM backend and its own copy of the served models, runs everything after decoding (features, the
 * networks, profiles, refusal) for /predict, /transcribe and /adapt. The event loop only reads bodies, decodes
 * small WAVs and writes JSON, so /health and short requests answer while long ones run.
 *
 * Chosen over `deno serve --parallel` by measurement (2 cores, cnn, 1 s clips; README "Inference workers"):
 * --parallel runs a whole server per core, so a long request still holds every request of its instance (/health
 * p50 1.2 s under 16 heavy requests, as with one instance), memory doubles (360 MB idle, 820 MB under load), it
 * served 281 requests/s at concurrency 16 against the workers' 520, and /metrics and SIGTERM's drain would each
 * see one instance.
 *
 * Each job goes to the worker with the least work outstanding (in samples). A job has a time budget from its
 * submission (`timeoutMs`: waiting included): past it the caller gets 503 `timeout` and the worker drops the job at
 * its next step. Jobs waiting are bounded (`maxQueue`): past it, 503 `busy` at once. A worker that dies is
 * replaced; its jobs answer 500.
 */
import { AudioError } from "../dsp/errors.ts";
import { type InferenceJob, type JobAnswer, jobCost, jobSteps, TakeError } from "../models/jobs.ts";
import type { ServedModels } from "../models/served.ts";
import { round } from "../models/recognize.ts";
import { runSteps } from "../models/steps.ts";
import { tf } from "../models/tfjs.ts";
import { ApiError } from "./errors.ts";
import type { InferenceReply, InferenceRequest } from "./inference_worker.ts";

export interface InferenceOptions {
  /** Model folders, as served (each worker loads every one). */
  modelDirs: string[];
  workers: number;
  /** A job's budget from its submission, ms. */
  timeoutMs: number;
  /** Jobs that may wait beyond one per worker; past it, 503 busy. */
  maxQueue: number;
}

export interface InferenceLoad {
  workers: number;
  /** Workers with a job. */
  busy: number;
  /** Jobs submitted and not yet answered. */
  jobs: number;
  /** Of those, jobs beyond one per busy worker: waiting for a core. */
  queued: number;
  /** Refused since start: queue full (busy) or past the budget (timeout). */
  refused: { busy: number; timeout: number };
}

export interface Inference {
  run<J extends InferenceJob>(job: J): Promise<JobAnswer<J>>;
  /** Resolves once every worker has loaded and warmed its models. */
  ready: Promise<void>;
  load(): InferenceLoad;
  /** Live tfjs tensors: this thread's and every worker's (as each last said). */
  tensors(): number;
  close(): void;
}

interface Pending {
  cost: number;
  resolve: (answer: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
  /** Its caller has had its answer (a timeout); the job is still counted until the worker lets it go. */
  answered: boolean;
}

class Slot {
  worker!: Worker;
  ready!: Promise<void>;
  tensors = 0;
  /** Messages posted to the worker, in memory it shares: it turns its event loop between steps only when it lags. */
  readonly posted = new Int32Array(new SharedArrayBuffer(4));
  readonly jobs = new Map<number, Pending>();
  constructor(private readonly modelDirs: string[], private readonly onReply: (slot: Slot, reply: InferenceReply) => void) {
    this.spawn();
  }
  get cost() {
    let n = 0;
    for (const job of this.jobs.values()) n += job.cost;
    return n;
  }
  spawn() {
    this.worker = new Worker(new URL("./inference_worker.ts", import.meta.url).href, { type: "module" });
    this.ready = new Promise((resolve, reject) => {
      this.worker.onmessage = ({ data }: MessageEvent<InferenceReply>) => {
        if ("ready" in data) return (this.tensors = data.tensors, resolve());
        if ("fatal" in data) return reject(new Error(`an inference worker could not start: ${data.fatal}`));
        this.onReply(this, data);
      };
    });
    Atomics.store(this.posted, 0, 0);
    this.worker.postMessage({ init: { modelDirs: this.modelDirs, posted: this.posted } } satisfies InferenceRequest);
  }
  post(message: InferenceRequest, transfer: Transferable[] = []) {
    // Counted first: the worker may read the message before this line would run after posting it.
    Atomics.add(this.posted, 0, 1);
    this.worker.postMessage(message, transfer);
  }
}

/** The samples' buffer, when the array owns all of it (then it can be moved to the worker instead of copied). */
function ownBuffer(samples: Float32Array): Transferable[] {
  return samples.byteOffset === 0 && samples.byteLength === samples.buffer.byteLength ? [samples.buffer as ArrayBuffer] : [];
}

function failure(reply: Extract<InferenceReply, { ok: false }>): Error {
  if (reply.code === "internal") return new Error(`inference failed: ${reply.message}`);
  if (reply.code === "timeout") return new Error("inference timed out after its caller was answered");
  const error = new AudioError(reply.code, reply.message);
  return reply.take === undefined ? error : new TakeError(reply.take, error);
}

export function createInference(options: InferenceOptions): Inference {
  let nextId = 1;
  const refused = { busy: 0, timeout: 0 };
  const onReply = (slot: Slot, reply: InferenceReply) => {
    if (!("id" in reply)) return;
    slot.tensors = reply.tensors;
    const pending = slot.jobs.get(reply.id);
    if (!pending) return;
    slot.jobs.delete(reply.id);
    clearTimeout(pending.timer);
    if (pending.answered) return;
    if (reply.ok) pending.resolve(reply.answer);
    else pending.reject(failure(reply));
  };
  const slots = Array.from({ length: Math.max(1, options.workers) }, () => new Slot(options.modelDirs, onReply));
  for (const slot of slots) {
    slot.worker.onerror = (e) => {
      e.preventDefault();
      console.error("an inference worker failed:", e.message);
      slot.worker.terminate();
      for (const pending of slot.jobs.values()) {
        clearTimeout(pending.timer);
        if (!pending.answered) pending.reject(new Error(`an inference worker failed: ${e.message}`));
      }
      slot.jobs.clear();
      slot.spawn();
      slot.ready.catch((error) => console.error(error.message));
    };
  }
  const jobs = () => slots.reduce((n, s) => n + s.jobs.size, 0);
  const busy = () => slots.filter((s) => s.jobs.size > 0).length;

  return {
    ready: Promise.all(slots.map((s) => s.ready)).then(() => {}),
    load: () => ({ workers: slots.length, busy: busy(), jobs: jobs(), queued: jobs() - busy(), refused: { ...refused } }),
    tensors: () => tf.memory().numTensors + slots.reduce((n, s) => n + s.tensors, 0),
    run<J extends InferenceJob>(job: J): Promise<JobAnswer<J>> {
      if (jobs() - busy() >= options.maxQueue) {
        refused.busy++;
        return Promise.reject(
          new ApiError(503, "busy", `every core is busy and ${options.maxQueue} requests are waiting; try again in a moment`, {
            "retry-after": "1",
          }),
        );
      }
      const submitted = performance.now();
      const id = nextId++;
      const cost = jobCost(job);
      const slot = slots.reduce((a, b) => (b.cost < a.cost ? b : a));
      return new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.answered = true;
          refused.timeout++;
          slot.post({ cancel: id });
          reject(
            new ApiError(503, "timeout", `the models took longer than ${options.timeoutMs / 1000} s (waiting included); try again later`, {
              "retry-after": "1",
            }),
          );
        }, options.timeoutMs);
        const pending: Pending = { cost, resolve, reject, timer, answered: false };
        slot.jobs.set(id, pending);
        const samples = job.kind === "adapt" ? job.takes.map((t) => t.samples) : [job.audio.samples];
        slot.post({ id, job, budgetMs: options.timeoutMs }, samples.flatMap(ownBuffer));
      }).then((answer) => withTotal(answer, job, submitted) as JobAnswer<J>);
    },
    close() {
      for (const slot of slots) {
        for (const pending of slot.jobs.values()) clearTimeout(pending.timer);
        slot.worker.terminate();
      }
    },
  };
}

/** timing_ms.total: decoding, and from the job's submission to its answer (waiting for a core included). */
function withTotal(answer: unknown, job: InferenceJob, submitted: number): unknown {
  if (job.kind === "adapt") return answer;
  const timed = answer as { timing_ms: { total: number } };
  timed.timing_ms.total = round(job.decodeMs + performance.now() - submitted, 3);
  return answer;
}

/** The same jobs run on the calling thread (tools and tests that build the app in process; no worker, no budget). */
export function inlineInference(served: ServedModels): Inference {
  return {
    ready: Promise.resolve(),
    load: () => ({ workers: 0, busy: 0, jobs: 0, queued: 0, refused: { busy: 0, timeout: 0 } }),
    tensors: () => tf.memory().numTensors,
    run<J extends InferenceJob>(job: J): Promise<JobAnswer<J>> {
      const model = served.byName(job.model);
      if (!model) return Promise.reject(new Error(`no model named ${job.model}`));
      try {
        return Promise.resolve(runSteps(jobSteps(model.classifier, job)) as JobAnswer<J>);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    close() {},
  };
}
