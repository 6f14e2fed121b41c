/**
 * A Web Worker that trains one ensemble member (training.ts trainMember) on its own tfjs-wasm instance, so
 * that `deno task train --jobs N` uses N cores: tfjs-wasm has no threads under Deno, but each isolate has one.
 */
import { initTf } from "../tfjs.ts";
import { type MemberWorkerMessage, type MemberWorkerRequest, trainMember } from "./training.ts";

const scope = self as unknown as {
  onmessage: (event: MessageEvent<MemberWorkerRequest>) => void;
  postMessage(message: MemberWorkerMessage, transfer?: Transferable[]): void;
};

scope.onmessage = async ({ data: { clips, config, options } }) => {
  try {
    await initTf();
    const result = await trainMember(clips, config, options, (report) => scope.postMessage({ kind: "epoch", report }));
    const buffers = [
      ...result.member.layers.flatMap((layer) => [layer.kernel.buffer, layer.bias.buffer]),
      ...(result.member.network?.weights.map((w) => w.values.buffer) ?? []),
    ] as ArrayBuffer[];
    scope.postMessage({ kind: "done", result }, buffers);
  } catch (e) {
    scope.postMessage({ kind: "failed", error: e instanceof Error ? e.stack ?? e.message : String(e) });
  }
};
