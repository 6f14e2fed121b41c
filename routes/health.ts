/**
 * GET /health: liveness plus what is serving (the Docker HEALTHCHECK and load balancers call it).
 * `tensors` is tfjs's live tensor count (this thread's and every inference worker's): constant between requests, or
 * something leaks.
 */
import type { ServedModels } from "../models/served.ts";
import { modelId } from "../models/model_format.ts";
import { apiApp, type ApiDefinitions } from "./definitions.ts";

export function healthRoutes(
  definitions: ApiDefinitions,
  served: ServedModels,
  runtime: { backend: string; simd: boolean },
  tensors: () => number,
) {
  const { identity } = served.default.classifier;
  return apiApp().openapi(definitions.health, (c) =>
    c.json(
      {
        status: "ok",
        /** The default model, name@version. */
        model: modelId(identity),
        /** Every model `?model=` takes, the default first. */
        models: served.models.map((m) => m.name),
        backend: runtime.backend,
        simd: runtime.simd,
        tensors: tensors(),
      } as const,
      200,
    ));
}
