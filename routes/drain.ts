/**
 * Stopping without dropping anything (containers and Spaces restart with SIGTERM, then SIGKILL ~10 s later):
 * once draining, requests already in flight finish, new ones get 503 `shutting_down` with Retry-After and
 * Connection: close (a load balancer sends them elsewhere), and the listener is closed as soon as nothing is in
 * flight, or at the deadline whatever is left. main.ts wires it to SIGTERM.
 */
import type { MiddlewareHandler } from "hono";
import { errorResponse } from "./errors.ts";

/** Seconds a refused client is told to wait: a restarted server is up in about this long. */
export const RETRY_AFTER_S = 5;

export interface Drain {
  readonly draining: boolean;
  /** Requests being answered (those refused while draining not counted). */
  readonly inFlight: number;
  /** Mount first: counts requests in flight, and refuses new ones once draining. */
  middleware: MiddlewareHandler;
  /** Starts draining; resolves when nothing is in flight, or after `deadlineMs` ("timeout"). */
  drain(deadlineMs: number): Promise<"drained" | "timeout">;
}

export function createDrain(): Drain {
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  return {
    get draining() {
      return draining;
    },
    get inFlight() {
      return inFlight;
    },
    middleware: async (c, next) => {
      if (draining) {
        return errorResponse(c, 503, "shutting_down", "the server is restarting; try again in a few seconds", {
          "retry-after": String(RETRY_AFTER_S),
          connection: "close",
        });
      }
      inFlight++;
      try {
        await next();
      } finally {
        inFlight--;
        if (inFlight === 0) idle?.();
      }
    },
    drain(deadlineMs: number) {
      draining = true;
      if (inFlight === 0) return Promise.resolve("drained");
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve("timeout"), deadlineMs);
        idle = () => {
          clearTimeout(timer);
          resolve("drained");
        };
      });
    },
  };
}

/**
 * On SIGTERM: drain (up to `deadlineMs`), close the listener (up to 1 s more), run `cleanup`, exit: 0 when every
 * request was answered, 1 when some were cut off at the deadline. 7 s + 1 s keeps within the usual 10 s grace.
 */
export function exitOnSigterm(drain: Drain, server: { shutdown(): Promise<void> }, cleanup: () => void, deadlineMs = 7000) {
  Deno.addSignalListener("SIGTERM", async () => {
    const how = await drain.drain(deadlineMs);
    const left = drain.inFlight;
    await Promise.race([server.shutdown(), new Promise((r) => setTimeout(r, 1000))]);
    cleanup();
    console.log(
      `SIGTERM: ${how === "drained" ? "every request answered" : `${left} request(s) cut off at the deadline`}; exiting`,
    );
    Deno.exit(how === "drained" ? 0 : 1);
  });
}
