/**
 * GET /health: liveness plus what is serving (the Docker HEALTHCHECK and load balancers call it).
 * `tensors` is tfjs's live tensor count: constant between requests, or something leaks.
 */
import { Hono } from "hono";
import { tf } from "../models/tfjs.ts";
import type { Classifier } from "../models/classifier.ts";

export function healthRoutes(classifier: Classifier, runtime: { backend: string; simd: boolean }) {
  return new Hono().get("/health", (c) =>
    c.json({
      status: "ok",
      model: `${classifier.identity.name}@${classifier.identity.version}`,
      backend: runtime.backend,
      simd: runtime.simd,
      tensors: tf.memory().numTensors,
    }));
}
