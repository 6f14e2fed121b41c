/**
 * Work in steps: recognize(), transcribe() and adaptToTakes() are generators that yield between stages (and
 * between batches of clips), so that the server's inference workers (routes/inference_worker.ts) can run a
 * short request's steps between a long one's. Everywhere else (the browser, the batch command, the lab) they are
 * run straight through with runSteps: the same code, the same answers.
 */

/** A computation that yields between its steps and returns T. */
export type Steps<T> = Generator<void, T, void>;

/** Runs every step at once and returns the result. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * How clips are batched between steps: `stepMs` absent, all in one batch (the fastest straight through); else
 * batches sized so that one takes about `stepMs` (from the time the last one took per clip).
 */
export interface Batching {
  stepMs?: number;
}

/**
 * Applies `judge` to `items` in batches (see Batching), yielding after each batch; returns every result in order
 * and the time spent inside `judge` (ms), waiting between steps not counted.
 */
export function* inBatches<I, O>(items: I[], judge: (batch: I[]) => O[], batching: Batching = {}): Steps<{ results: O[]; ms: number }> {
  if (batching.stepMs === undefined) {
    const started = performance.now();
    const results = judge(items);
    return { results, ms: performance.now() - started };
  }
  const results: O[] = [];
  let ms = 0;
  let size = 2;
  for (let at = 0; at < items.length;) {
    const batch = items.slice(at, at + size);
    const started = performance.now();
    results.push(...judge(batch));
    const took = performance.now() - started;
    ms += took;
    at += batch.length;
    size = Math.max(1, Math.min(64, Math.floor(batching.stepMs / Math.max(took / batch.length, 0.01))));
    if (at < items.length) yield;
  }
  return { results, ms };
}
