/**
 * Runs in a Web Worker of routes/inference.ts: its own tfjs (WASM backend) and its own copy of every served model,
 * loaded and warmed here, so that inference never runs on the server's event loop and every core can run it.
 *
 * A worker holds several jobs at once and runs them a step at a time (models/steps.ts: features, a batch of
 * clips through the network, ...; ~10 ms each), the smallest job's step first, and between steps it reads its
 * messages: a 1 s clip that arrives while a 60 s /transcribe runs waits one step, not the whole transcription.
 * A job past its budget is dropped at its next step (the pool has already answered its caller 503 timeout).
 */
/// <reference lib="deno.worker" />
import { resample } from "../dsp/index.ts";
import { featuresFromAudio } from "../dsp/index.ts";
import { AudioError } from "../dsp/errors.ts";
import { type Classifier, classifyClips } from "../models/classifier.ts";
import { loadClassifier } from "../models/files.ts";
import { type InferenceJob, jobCost, jobSteps, TakeError } from "../models/jobs.ts";
import { embedClips } from "../models/profile.ts";
import type { Steps } from "../models/steps.ts";
import { initTf, tf } from "../models/tfjs.ts";

export type InferenceRequest =
  | { init: { modelDirs: string[]; posted: Int32Array } }
  | { id: number; job: InferenceJob; budgetMs: number }
  | { cancel: number };

export type InferenceReply =
  | { ready: true; tensors: number }
  | { fatal: string }
  | { id: number; ok: true; answer: unknown; tensors: number }
  | { id: number; ok: false; code: AudioError["code"] | "timeout" | "internal"; message: string; take?: number; tensors: number };

/** A step of a batch of clips should take about this long (ms): what a short request may wait for a core. */
const STEP_MS = 10;
/** Jobs of at most this much audio (s) run to their end once started: they take a few ms. */
const SHORT_S = 3;

interface Task {
  id: number;
  steps: Steps<unknown>;
  cost: number;
  /** Arrival order: among jobs of one size, the first come runs first. */
  seq: number;
  deadline: number;
}

const classifiers = new Map<string, Classifier>();
const tasks = new Map<number, Task>();
let seq = 0;
let running = false;

/**
 * The first prediction compiles tfjs kernels, builds the resampler's tables for the input's rate and lets the JIT
 * see the DSP code: pay it now, with a tone burst at the common microphone rates, rather than on a user's request.
 */
function warmUp(classifier: Classifier) {
  const burst = Float32Array.from({ length: 8000 }, (_, i) => (i > 2000 && i < 6000 ? 0.5 * Math.sin(i / 3) : 0));
  for (let round = 0; round < 5; round++) {
    for (const rate of [8000, 16000, 22050, 44100, 48000]) {
      const views = featuresFromAudio(resample(burst, 8000, rate), rate, classifier.features.config).views;
      // Both paths: the plain network, and the one with the embedding (profiles, the refusal head).
      classifyClips(classifier, [views]);
      embedClips(classifier, [views]);
    }
  }
}

async function init(modelDirs: string[]) {
  await initTf();
  for (const dir of modelDirs) {
    const classifier = await loadClassifier(dir);
    classifiers.set(classifier.identity.name, classifier);
    warmUp(classifier);
  }
}

/**
 * Messages the pool has posted (a counter it increments in shared memory) and those read here. Between steps
 * the worker turns its event loop only when one is waiting: a macrotask turn costs ~2.5 ms (a MessageChannel
 * turn is cheaper but lets no message from the pool in, measured), and a step ~10 ms.
 */
let posted: Int32Array | undefined;
let received = 0;
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

const reply = (message: InferenceReply) => self.postMessage(message);

function failure(id: number, e: unknown): InferenceReply {
  const tensors = tf.memory().numTensors;
  if (e instanceof TakeError) return { id, ok: false, code: e.code, message: e.message, take: e.take, tensors };
  if (e instanceof AudioError) return { id, ok: false, code: e.code, message: e.message, tensors };
  return { id, ok: false, code: "internal", message: String((e as Error)?.stack ?? e), tensors };
}

/** The task with the least audio, the first come among equals. */
function smallest(): Task {
  let task: Task | undefined;
  for (const t of tasks.values()) if (!task || t.cost < task.cost || (t.cost === task.cost && t.seq < task.seq)) task = t;
  return task!;
}

async function runTasks() {
  if (running) return;
  running = true;
  try {
    while (tasks.size > 0) {
      // A message waiting may be a shorter job than any here: read it first, unless what runs next is short itself.
      if (posted && Atomics.load(posted, 0) !== received && smallest().cost > SHORT_S) await nextTurn();
      const { id, steps, deadline } = smallest();
      if (performance.now() > deadline) {
        tasks.delete(id);
        steps.return(undefined);
        reply({ id, ok: false, code: "timeout", message: "past its budget", tensors: tf.memory().numTensors });
      } else {
        try {
          const step = steps.next();
          if (step.done) {
            tasks.delete(id);
            reply({ id, ok: true, answer: step.value, tensors: tf.memory().numTensors });
          }
        } catch (e) {
          tasks.delete(id);
          reply(failure(id, e));
        }
      }
    }
  } finally {
    running = false;
  }
}

let ready: Promise<void> | undefined;

self.onmessage = async ({ data }: MessageEvent<InferenceRequest>) => {
  if ("init" in data) {
    posted = data.init.posted;
    ready = init(data.init.modelDirs);
    try {
      await ready;
      reply({ ready: true, tensors: tf.memory().numTensors });
    } catch (e) {
      reply({ fatal: String((e as Error)?.message ?? e) });
    }
    return;
  }
  received++;
  if ("cancel" in data) {
    const task = tasks.get(data.cancel);
    if (task) task.deadline = -Infinity; // dropped (and answered) at its next turn
    return;
  }
  // The pool's clock started when it posted the job: so does this one.
  const deadline = performance.now() + data.budgetMs;
  await ready;
  const classifier = classifiers.get(data.job.model);
  if (!classifier) return reply(failure(data.id, new Error(`no model named ${data.job.model} in this worker`)));
  tasks.set(data.id, {
    id: data.id,
    steps: jobSteps(classifier, data.job, { stepMs: STEP_MS }),
    cost: jobCost(data.job),
    seq: seq++,
    deadline,
  });
  runTasks();
};
